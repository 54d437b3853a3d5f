/* tasks.c - asyncio's tasks in a snapshot: what each one waits on (tasks.h). */
#include "config.h"
#include "tasks.h"
#include "aio.h"
#include "census.h"
#include "lineno.h"
#include "pyobj.h"
#include "remote.h"
#include "snapshot.h"
#include "stacks.h"
#include "util.h"
#include "why.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_NONE = -1, KIND_UNKNOWN = 0, KIND_FUTURE = 1, KIND_TASK = 2 };

/* Chains made at once (each holds its steps, a few KiB). */
#define CHAIN_BATCH 1024

static const char *const TASK_TYPES[] = { "_asyncio.Task", "asyncio.tasks.Task" };
static const char *const FUTURE_TYPES[] = { "_asyncio.Future", "asyncio.futures.Future" };

/* Containers a waiter future sits in on its way from its owner (an Event's
 * deque of waiters, a timer's tuple of arguments). */
static const char *const CONTAINERS[] = {
	"builtins.list", "builtins.tuple", "builtins.dict", "builtins.set",
	"collections.deque", "collections.OrderedDict",
};

/* What the owner of a waiter future is, by its class (or a base). */
static const struct {
	const char *type;
	const char *kind;
} OWNERS[] = {
	{ "asyncio.locks.Event", "event" },
	{ "asyncio.locks.Condition", "condition" },
	{ "asyncio.locks.Semaphore", "semaphore" },
	{ "asyncio.locks.Lock", "lock" },
	{ "asyncio.locks.Barrier", "barrier" },
	{ "asyncio.queues.Queue", "queue" },
	{ "asyncio.events.TimerHandle", "sleep" },
	{ "asyncio.events.Handle", "callback" },
	{ "asyncio.streams.StreamReader", "stream read" },
	{ "asyncio.tasks._GatheringFuture", "gather" },
};

/* Interned strings: one copy of each, kept until tasks_free. */
struct strpool {
	char **slot;            /* open addressing, a power of two */
	size_t cap, n;
	char **all;             /* in order, to free */
	size_t nall;
};

static const char *intern(struct strpool *p, const char *s)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	char clean[1024];
	size_t len = 0;

	if (!s || !*s)
		return "";
	/* the target's strings reach terminals: no control bytes */
	for (; s[len] && len + 1 < sizeof(clean); len++)
		clean[len] = (unsigned char)s[len] < 0x20 || s[len] == 0x7f ? '?' : s[len];
	clean[len] = '\0';
	s = clean;
	for (const char *q = s; *q; q++)
		h = (h ^ (unsigned char)*q) * 1099511628211ull;
	if ((p->n + 1) * 2 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		char **slot = xcalloc(cap, sizeof(*slot));

		for (size_t k = 0; k < p->cap; k++) {
			uint64_t hk = 1469598103934665603ull;

			if (!p->slot[k])
				continue;
			for (const char *q = p->slot[k]; *q; q++)
				hk = (hk ^ (unsigned char)*q) * 1099511628211ull;
			for (i = hk & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = p->slot[k];
		}
		free(p->slot);
		p->slot = slot;
		p->cap = cap;
	}
	for (i = h & (p->cap - 1); p->slot[i]; i = (i + 1) & (p->cap - 1))
		if (strcmp(p->slot[i], s) == 0)
			return p->slot[i];
	p->slot[i] = xstrdup(s);
	p->n++;
	return p->slot[i];
}

static void strpool_free(struct strpool *p)
{
	if (!p)
		return;
	for (size_t k = 0; k < p->cap; k++)
		free(p->slot[k]);
	free(p->slot);
	free(p);
}

const char *task_state_name(enum task_state st)
{
	switch (st) {
	case TASK_PENDING: return "pending";
	case TASK_CANCELLED: return "cancelled";
	case TASK_DONE: return "done";
	default: return "unknown";
	}
}

/* Task, Future or neither: memoized in t->task_kind. */
static int kind_of(struct pyctx *c, struct pytype *t)
{
	if (!t->task_kind) {
		if (pytype_is_a(c, t, TASK_TYPES, LT_ARRAY_SIZE(TASK_TYPES)) >= 0)
			t->task_kind = KIND_TASK;
		else if (pytype_is_a(c, t, FUTURE_TYPES, LT_ARRAY_SIZE(FUTURE_TYPES)) >= 0)
			t->task_kind = KIND_FUTURE;
		else
			t->task_kind = KIND_NONE;
	}
	return t->task_kind;
}

/* Attribute name of obj (its dict, 3.11+'s inline values, or its class's):
 * 0 when it has none or it cannot be read. */
static uint64_t attr(struct pyctx *c, uint64_t obj, const char *name)
{
	struct pytype *t = obj ? pyobj_type(c, obj) : NULL;
	uint64_t v;

	if (!t)
		return 0;
	if (pyobj_attr_get(c, obj, t, name, &v) == 0)
		return v;
	/* a class attribute, as the pure-Python Future's _state = PENDING */
	if (pytype_mro_find(c, t, name, &v) == 1)
		return v;
	return 0;
}

/* A field of a Future or Task: the C word, or the pure-Python attribute,
 * named alike; 0 when unset or unreadable. */
static uint64_t field(struct pyctx *c, uint64_t obj, struct pytype *t, const char *name)
{
	struct aio_words w;
	uint64_t v = 0;

	if (aio_c_layout(c, t, &w)) {
		int64_t off = aio_word(&w, name);

		if (off < 0 || remote_read_cached(c->mem, obj + (uint64_t)off, &v, 8) < 0)
			return 0;
		return v;
	}
	return attr(c, obj, name);
}

/* The value of an int object (not None, not anything else). */
static int int_of(struct pyctx *c, uint64_t obj, long long *v)
{
	struct pytype *t = obj ? pyobj_type(c, obj) : NULL;

	return t && t->kind == PK_INT ? pylong_read(c, obj, v) : -1;
}

static enum task_state state_of(struct pyctx *c, uint64_t obj, struct pytype *t)
{
	struct aio_words w;
	char buf[16];
	int32_t st;

	if (aio_c_layout(c, t, &w)) {
		if (w.state < 0 || remote_read_cached(c->mem, obj + (uint64_t)w.state, &st, 4) < 0)
			return TASK_UNKNOWN;
		return st == AIO_PENDING ? TASK_PENDING : st == AIO_CANCELLED ? TASK_CANCELLED :
		       st == AIO_FINISHED ? TASK_DONE : TASK_UNKNOWN;
	}
	if (pystr_read(c, attr(c, obj, "_state"), buf, sizeof(buf)) < 0)
		return TASK_UNKNOWN;
	return strcmp(buf, "PENDING") == 0 ? TASK_PENDING :
	       strcmp(buf, "CANCELLED") == 0 ? TASK_CANCELLED :
	       strcmp(buf, "FINISHED") == 0 ? TASK_DONE : TASK_UNKNOWN;
}

static void type_name(struct pyctx *c, uint64_t obj, char *buf, size_t max)
{
	struct pytype *t = obj ? pyobj_type(c, obj) : NULL;

	snprintf(buf, max, "%s", t ? t->name : "");
}

/* A task's name: a str, or (C tasks not yet asked) the counter that
 * becomes "Task-N". */
static void name_of(struct pyctx *c, uint64_t name, char *buf, size_t max)
{
	long long n;

	buf[0] = '\0';
	if (!name || pystr_read(c, name, buf, max) >= 0)
		return;
	buf[0] = '\0';
	if (int_of(c, name, &n) == 0)
		snprintf(buf, max, "Task-%lld", n);
}

/* A generator's or coroutine's __qualname__ (3.8-3.10 code objects have
 * only co_name), over what buf holds when it cannot be read. */
static void gen_qualname(struct pyctx *c, uint64_t gen, char *buf, size_t max)
{
	char name[128];
	uint64_t q;

	if (c->lay->gen_qualname >= 0 &&
	    remote_read_cached(c->mem, gen + (uint64_t)c->lay->gen_qualname, &q, 8) == 0 &&
	    pystr_read(c, q, name, sizeof(name)) >= 0)
		snprintf(buf, max, "%s", name);
}

/* The coroutine stack from coro, through what each one awaits. */
static void read_stack(struct pyctx *c, struct strpool *pool, uint64_t obj, struct task *tk)
{
	struct task_frame v[TASKS_MAX_STACK];
	size_t n = 0;

	while (obj && n < TASKS_MAX_STACK) {
		struct pytype *t = pyobj_type(c, obj);
		char name[128], file[256];
		uint64_t code, next = 0;
		int64_t at;

		if (!t || t->kind != PK_GEN || pygen_code(c, obj, &code) < 0)
			break;
		pycode_describe(c, code, name, sizeof(name), file, sizeof(file));
		gen_qualname(c, obj, name, sizeof(name));
		at = lineno_gen_offset(c, obj, code);
		v[n].qualname = intern(pool, name);
		v[n].file = intern(pool, file);
		v[n].line = at < 0 ? -1 : lineno_addr2line(c, code, at);
		n++;
		if (pygen_awaiting(c, obj, &next) < 0)
			break;
		obj = next;
	}
	if (n) {
		tk->stack = xmalloc(n * sizeof(*tk->stack));
		memcpy(tk->stack, v, n * sizeof(*v));
	}
	tk->nstack = n;
}

static int matches(struct pyctx *c, struct pytype *t, const char *name)
{
	const char *const names[] = { name };

	return t && pytype_is_a(c, t, names, 1) >= 0;
}

/* What the future a task waits on is, and who holds it: along its chain
 * from the end, past the containers it sits in, the first object that is
 * none (an Event, a Queue, a timer, a stream reader). */
static void describe_wait(struct pyctx *c, struct strpool *pool, struct task *tk,
			  const struct why_chain *ch)
{
	struct pytype *wt = pyobj_type(c, tk->waits);
	size_t owner = ch->nsteps, k;
	const char *via = "";
	char buf[512];

	tk->waits_kind = "future";
	if (wt && kind_of(c, wt) == KIND_TASK)
		tk->waits_kind = "task";
	else if (matches(c, wt, "asyncio.tasks._GatheringFuture"))
		tk->waits_kind = "gather";
	if (!ch->nsteps)
		return;
	for (k = ch->nsteps - 1; k > 0 && owner == ch->nsteps; k--) {
		struct pytype *st = pyobj_type(c, ch->steps[k - 1].addr);
		int container = 0;

		for (size_t i = 0; st && i < LT_ARRAY_SIZE(CONTAINERS); i++)
			container |= strcmp(st->name, CONTAINERS[i]) == 0;
		via = ch->steps[k].via;
		if (!container)
			owner = k - 1;
	}
	if (strcmp(tk->waits_kind, "future") != 0 || owner == ch->nsteps) {
		why_chain_path(ch, ch->nsteps, buf, sizeof(buf));
		tk->holder = intern(pool, buf);
		return;
	}
	tk->waits_owner = ch->steps[owner].addr;
	type_name(c, tk->waits_owner, buf, sizeof(buf));
	tk->owner_type = intern(pool, buf);
	why_chain_path(ch, owner + 1, buf, sizeof(buf));
	tk->holder = intern(pool, buf);
	for (size_t i = 0; i < LT_ARRAY_SIZE(OWNERS); i++) {
		if (!matches(c, pyobj_type(c, tk->waits_owner), OWNERS[i].type))
			continue;
		if (strcmp(OWNERS[i].kind, "queue") == 0)
			tk->waits_kind = strcmp(via, "_putters") == 0 ? "queue put" : "queue get";
		else
			tk->waits_kind = OWNERS[i].kind;
		break;
	}
	if (strcmp(tk->waits_kind, "stream read") == 0) {
		long long fd;

		if (int_of(c, attr(c, attr(c, tk->waits_owner, "_transport"), "_sock_fd"), &fd) == 0)
			tk->fd = fd;
	}
}

/* Pending tasks alike: the same stack, the same kind of wait, the same
 * holder but for its indexes ("[3]" counts as "[]"). */
static void group_key(const struct task *tk, char *buf, size_t max)
{
	size_t n = 0;

	n += (size_t)snprintf(buf + n, max - n, "%s|", tk->waits_kind);
	for (size_t k = 0; k < tk->nstack && n < max; k++)
		n += (size_t)snprintf(buf + n, max - n, "%s:%d>", tk->stack[k].qualname,
				      tk->stack[k].line);
	for (const char *p = tk->holder; *p && n + 1 < max; p++) {
		buf[n++] = *p;
		if (*p == '[')
			while (p[1] >= '0' && p[1] <= '9')
				p++;
	}
	buf[n < max ? n : max - 1] = '\0';
}

struct keyed {
	const char *key;        /* interned: equal keys, equal pointers */
	size_t task;
};

static int by_key(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return (uintptr_t)x->key < (uintptr_t)y->key ? -1 : 1;
	return x->task < y->task ? -1 : x->task > y->task;
}

static int by_count(const void *a, const void *b)
{
	const struct task_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->example < y->example ? -1 : x->example > y->example;
}

static void make_groups(struct tasks_result *r)
{
	struct keyed *v = xcalloc(r->n ? r->n : 1, sizeof(*v));
	struct strpool *keys = xcalloc(1, sizeof(*keys));   /* freed here */
	size_t n = 0;
	char key[1024];

	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].state != TASK_PENDING)
			continue;
		group_key(&r->v[i], key, sizeof(key));
		v[n].key = intern(keys, key);
		v[n++].task = i;
	}
	lt_sort(v, n, sizeof(*v), by_key);
	r->groups = xcalloc(n ? n : 1, sizeof(*r->groups));
	for (size_t i = 0; i < n; i++) {
		struct task_group *gr;

		if (!i || v[i].key != v[i - 1].key)   /* sorted by task too: the first is the example */
			r->groups[r->ngroups++] = (struct task_group){ 0, 0, v[i].task };
		gr = &r->groups[r->ngroups - 1];
		gr->count++;
		gr->retained += r->v[v[i].task].retained;
	}
	free(v);
	strpool_free(keys);
	lt_sort(r->groups, r->ngroups, sizeof(*r->groups), by_count);
}

/* A task's address and its index (by_addr sorts these by address too). */
struct addr_index {
	uint64_t addr;
	size_t index;
};

static int by_addr(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The frame a coroutine runs in (its own, 3.11+; its frame object before). */
static uint64_t coro_frame(struct pyctx *c, uint64_t coro)
{
	uint64_t f = 0;

	if (!coro)
		return 0;
	if (c->minor >= 11)
		return coro + (uint64_t)c->lay->gen_iframe;
	remote_read_cached(c->mem, coro + (uint64_t)c->lay->gen_frame_old, &f, 8);
	return f;
}

/* A frame on a thread's stack, by address. */
struct frame_at {
	uint64_t frame;
	uint64_t tid;
};

static int by_frame(const void *a, const void *b)
{
	uint64_t x = ((const struct frame_at *)a)->frame, y = ((const struct frame_at *)b)->frame;

	return x < y ? -1 : x > y;
}

static int by_loop_addr(const void *a, const void *b)
{
	uint64_t x = ((const struct task_loop *)a)->addr, y = ((const struct task_loop *)b)->addr;

	return x < y ? -1 : x > y;
}

static struct task_loop *loop_of(struct tasks_result *r, uint64_t addr)
{
	size_t lo = 0, hi = r->loops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->loopv[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->loops && r->loopv[lo].addr == addr ? &r->loopv[lo] : NULL;
}

/* Each loop (by address, sorted), with the thread that runs it (its
 * ident), its tasks, and the task that thread runs now: the one whose
 * outermost coroutine's frame is on the thread's stack.  Sorted lookups:
 * a hostile heap may give every task a loop of its own. */
static void find_loops(struct pyctx *c, struct tasks_result *r, const struct stacks *st,
		       const uint64_t *coros)
{
	struct frame_at *fr = NULL;
	size_t nfr = 0, n = 0;

	r->loopv = xcalloc(r->n ? r->n : 1, sizeof(*r->loopv));
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].loop)
			r->loopv[n++] = (struct task_loop){ r->v[i].loop, r->v[i].loop_thread, 0, "", 0,
							   0, SIZE_MAX };
	lt_sort(r->loopv, n, sizeof(*r->loopv), by_loop_addr);
	r->loops = 0;
	for (size_t i = 0; i < n; i++)
		if (!r->loops || r->loopv[r->loops - 1].addr != r->loopv[i].addr)
			r->loopv[r->loops++] = r->loopv[i];
	for (size_t i = 0; i < r->n; i++) {
		struct task_loop *lp = r->v[i].loop ? loop_of(r, r->v[i].loop) : NULL;

		if (lp) {
			lp->tasks++;
			lp->pending += r->v[i].state == TASK_PENDING;
		}
	}
	if (!st)
		return;
	/* threads by ident (frame: the ident, tid: the thread's index) */
	fr = xcalloc(st->n ? st->n : 1, sizeof(*fr));
	for (size_t t = 0; t < st->n; t++)
		fr[t] = (struct frame_at){ st->threads[t].ident, t };
	lt_sort(fr, st->n, sizeof(*fr), by_frame);
	for (size_t k = 0; k < r->loops; k++) {
		struct task_loop *lp = &r->loopv[k];
		size_t lo = 0, hi = st->n;

		while (lp->ident >= 0 && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (fr[mid].frame < (uint64_t)lp->ident)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lp->ident < 0 || lo == st->n || fr[lo].frame != (uint64_t)lp->ident)
			continue;
		lp->tid = st->threads[fr[lo].tid].tid;
		lp->thread_name = intern(r->pool, st->threads[fr[lo].tid].name);
	}
	free(fr);
	for (size_t t = 0; t < st->n; t++)
		nfr += st->threads[t].n;
	fr = xcalloc(nfr ? nfr : 1, sizeof(*fr));
	nfr = 0;
	for (size_t t = 0; t < st->n; t++)
		for (size_t k = 0; k < st->threads[t].n; k++)
			if (st->threads[t].frames[k].kind == FRAME_PYTHON)
				fr[nfr++] = (struct frame_at){ st->threads[t].frames[k].addr,
							       st->threads[t].tid ? st->threads[t].tid : 1 };
	lt_sort(fr, nfr, sizeof(*fr), by_frame);
	for (size_t i = 0; i < r->n; i++) {
		uint64_t f = r->v[i].state == TASK_PENDING ? coro_frame(c, coros[i]) : 0;
		size_t lo = 0, hi = nfr;
		struct task_loop *lp;

		if (!f)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (fr[mid].frame < f)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == nfr || fr[lo].frame != f)
			continue;
		r->v[i].running_in = fr[lo].tid;
		if ((lp = r->v[i].loop ? loop_of(r, r->v[i].loop) : NULL) != NULL)
			lp->current = i;
	}
	free(fr);
}

void tasks_analyze(struct tasks_result *r, struct session *s, struct graph *g,
		   struct graph_paths *p, const struct stacks *st)
{
	struct pyctx *c = &s->ctx;
	uint32_t *wait_nodes;
	size_t *task_of;
	size_t nwait = 0, cap = 0;
	uint64_t *waits;
	struct addr_index *byaddr;
	struct why_chain *chains;
	uint64_t *coros = NULL;
	char buf[256];

	memset(r, 0, sizeof(*r));
	r->pool = xcalloc(1, sizeof(*r->pool));
	for (uint32_t i = 0; i < g->n; i++) {
		struct graph_node *nd = &g->nodes[i];
		struct task *tk;
		int kind = nd->t ? kind_of(c, nd->t) : KIND_NONE;

		if (kind == KIND_FUTURE)
			r->futures++;
		if (kind != KIND_TASK)
			continue;
		if (r->n >= TASKS_MAX) {
			snprintf(r->note, sizeof(r->note), "only the first %u tasks are listed",
				 TASKS_MAX);
			break;
		}
		if (r->n == cap) {
			cap = cap ? cap * 2 : 64;
			r->v = xreallocarray(r->v, cap, sizeof(*r->v));
			coros = xreallocarray(coros, cap, sizeof(*coros));
		}
		tk = &r->v[r->n++];
		*tk = (struct task){ .addr = nd->addr, .fd = -1, .loop_thread = -1, .type = "",
				     .name = "", .exception = "", .coro = "", .waits_type = "",
				     .waits_name = "", .waits_kind = "", .owner_type = "", .holder = "" };
		tk->type = intern(r->pool, nd->t->name);
		tk->state = state_of(c, nd->addr, nd->t);
		name_of(c, field(c, nd->addr, nd->t, "_name"), buf, sizeof(buf));
		tk->name = intern(r->pool, buf);
		{
			uint64_t coro = field(c, nd->addr, nd->t, "_coro"), code;
			char file[8];

			buf[0] = '\0';
			if (coro && pygen_code(c, coro, &code) == 0) {
				pycode_describe(c, code, buf, sizeof(buf), file, sizeof(file));
				gen_qualname(c, coro, buf, sizeof(buf));
			}
			tk->coro = intern(r->pool, buf);
			coros[r->n - 1] = coro;
			if (tk->state == TASK_PENDING)
				read_stack(c, r->pool, coro, tk);
		}
		if (tk->state == TASK_DONE) {
			type_name(c, field(c, nd->addr, nd->t, "_exception"), buf, sizeof(buf));
			tk->exception = intern(r->pool, buf);
		}
		if (tk->state == TASK_PENDING) {
			tk->waits = field(c, nd->addr, nd->t, "_fut_waiter");
			type_name(c, tk->waits, buf, sizeof(buf));
			tk->waits_type = intern(r->pool, buf);
		}
		tk->loop = field(c, nd->addr, nd->t, "_loop");
		{
			long long tid;

			if (int_of(c, attr(c, tk->loop, "_thread_id"), &tid) == 0)
				tk->loop_thread = tid;
		}
		if (g->retained)
			tk->retained = g->retained[i];
	}
	/* Who awaits each task, and the name of a task one waits on: sorted
	 * lookups, as a hostile heap may make every task wait on one. */
	waits = xcalloc(r->n ? r->n : 1, sizeof(*waits));
	byaddr = xcalloc(r->n ? r->n : 1, sizeof(*byaddr));
	for (size_t i = 0; i < r->n; i++) {
		waits[i] = r->v[i].waits;
		byaddr[i] = (struct addr_index){ r->v[i].addr, i };
		r->pending += r->v[i].state == TASK_PENDING;
		r->done += r->v[i].state == TASK_DONE;
		r->cancelled += r->v[i].state == TASK_CANCELLED;
	}
	lt_sort(waits, r->n, sizeof(*waits), by_addr);
	lt_sort(byaddr, r->n, sizeof(*byaddr), by_addr);
	for (size_t i = 0; i < r->n; i++) {
		size_t lo = 0, hi = r->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (waits[mid] < r->v[i].addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < r->n && waits[lo] == r->v[i].addr) {
			r->v[i].awaited_by++;
			lo++;
		}
		for (lo = 0, hi = r->n; r->v[i].waits && lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (byaddr[mid].addr < r->v[i].waits)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (r->v[i].waits && lo < r->n && byaddr[lo].addr == r->v[i].waits)
			r->v[i].waits_name = r->v[byaddr[lo].index].name;
	}
	free(waits);
	free(byaddr);
	find_loops(c, r, st, coros);
	free(coros);
	/* The chains to what the pending tasks wait on, a batch at a time (a
	 * chain's steps take a few KiB each). */
	wait_nodes = xcalloc(CHAIN_BATCH, sizeof(*wait_nodes));
	task_of = xcalloc(CHAIN_BATCH, sizeof(*task_of));
	chains = xcalloc(CHAIN_BATCH, sizeof(*chains));
	for (size_t i = 0; i < r->n;) {
		static const struct why_chain none;

		nwait = 0;
		for (; i < r->n && nwait < CHAIN_BATCH; i++) {
			if (!r->v[i].waits)
				continue;
			wait_nodes[nwait] = graph_find(g, r->v[i].waits);
			if (wait_nodes[nwait] == GRAPH_NONE)
				describe_wait(c, r->pool, &r->v[i], &none);
			else
				task_of[nwait++] = i;
		}
		why_chains_for(s, g, p, wait_nodes, nwait, chains);
		for (size_t k = 0; k < nwait; k++) {
			describe_wait(c, r->pool, &r->v[task_of[k]], &chains[k]);
			why_chain_free(&chains[k]);
		}
	}
	free(chains);
	free(task_of);
	free(wait_nodes);
	make_groups(r);
}

void task_stack_text(char *buf, size_t max, const struct task *tk)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < tk->nstack && n < max; k++)
		n += (size_t)snprintf(buf + n, max - n, "%s%s", k ? " > " : "", tk->stack[k].qualname);
	if (!tk->nstack)
		snprintf(buf, max, "%s", tk->coro[0] ? tk->coro : "?");
}

/* What a task waits on, for people: "event __main__.SHUTDOWN",
 * "stream read fd 7 ...", "task Task-3". */
void task_wait_text(char *buf, size_t max, const struct tasks_result *r,
			   const struct task *tk)
{
	size_t n;

	if (!tk->waits) {
		if (tk->running_in)
			snprintf(buf, max, "(running in thread %llu)", (unsigned long long)tk->running_in);
		else
			snprintf(buf, max, "%s", tk->state == TASK_PENDING ? "(ready to run)" : "");
		return;
	}
	n = (size_t)snprintf(buf, max, "%s", tk->waits_kind);
	if (n < max && tk->waits_name[0])
		n += (size_t)snprintf(buf + n, max - n, " %s", tk->waits_name);
	if (n < max && tk->fd >= 0)
		n += (size_t)snprintf(buf + n, max - n, " fd %lld", (long long)tk->fd);
	if (n < max && tk->holder[0])
		snprintf(buf + n, max - n, " %s", tk->holder);
}

void task_group_label(const struct tasks_result *r, size_t g, char *buf, size_t max)
{
	const struct task *tk = &r->v[r->groups[g].example];
	char stack[512], wait[512];
	size_t n = 0;

	task_stack_text(stack, sizeof(stack), tk);
	task_wait_text(wait, sizeof(wait), r, tk);
	/* indexes out ("_scheduled[3]" as "_scheduled[]"): one label per group */
	for (const char *p = wait; *p && n + 1 < sizeof(wait); p++) {
		wait[n++] = *p;
		if (*p == '[')
			while (p[1] >= '0' && p[1] <= '9')
				p++;
	}
	wait[n] = '\0';
	snprintf(buf, max, "%s -> %s", stack, wait);
}

void tasks_census(const struct tasks_result *r, struct census *out)
{
	char label[1024];

	census_init(out);
	for (size_t g = 0; g < r->ngroups; g++) {
		task_group_label(r, g, label, sizeof(label));
		census_add(out, label, r->groups[g].count, 0, r->groups[g].retained);
	}
	census_finish(out);
}

void tasks_free(struct tasks_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].stack);
	free(r->v);
	free(r->groups);
	free(r->loopv);
	strpool_free(r->pool);
	memset(r, 0, sizeof(*r));
}
