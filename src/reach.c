/* reach.c - the untracked part of the heap, through references. */
#include "config.h"
#include "reach.h"
#include "graph.h"
#include "heap.h"
#include "pyobj.h"
#include "refs.h"
#include "remote.h"
#include "stacks.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames and threads in all: more is a damaged heap (the bounds are on the
 * total, so that threads times frames cannot multiply). */
#define MAX_FRAMES 1000000
#define MAX_THREADS 100000
#define FRAME_OWNED_BY_CSTACK 3

void reach_init(struct reach *r, struct pyctx *c, reach_fn fn, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->fn = fn;
	r->arg = arg;
}

void reach_free(struct reach *r)
{
	free(r->seen);
	free(r->stack);
	free(r->leaves);
	memset(r, 0, sizeof(*r));
}

static size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
}

/* 1 if addr was not in the set (and is now). */
static int mark(struct reach *r, uint64_t addr)
{
	size_t i;

	if (2 * (r->nseen + 1) > r->seen_cap) {
		uint64_t *old = r->seen;
		size_t oldcap = r->seen_cap;

		r->seen_cap = oldcap ? oldcap * 2 : 1 << 16;
		r->seen = xcalloc(r->seen_cap, sizeof(*r->seen));
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k])
				continue;
			for (i = slot_of(old[k], r->seen_cap); r->seen[i]; i = (i + 1) & (r->seen_cap - 1))
				;
			r->seen[i] = old[k];
		}
		free(old);
	}
	for (i = slot_of(addr, r->seen_cap); r->seen[i]; i = (i + 1) & (r->seen_cap - 1))
		if (r->seen[i] == addr)
			return 0;
	r->seen[i] = addr;
	r->nseen++;
	return 1;
}

static int is_static_type(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	uint64_t flags;

	if (t->kind != PK_TYPE)
		return 0;
	return remote_read_cached(c->mem, obj + (uint64_t)c->lay->tp_flags, &flags, 8) == 0 &&
	       !(flags & PY_TPFLAGS_HEAPTYPE);
}

/* An object with no references to follow (refs.c decides). */
static int is_leaf(const struct pytype *t)
{
	return !refs_may_hold(t);
}

/* LSD radix sort of items by address, 16 bits a pass (user space is 47). */
static void sort_items(struct reach_item *v, size_t n)
{
	struct reach_item *tmp;
	size_t *count;

	/* Nothing to sort, and v may be NULL (a walk that found no leaves):
	 * memcpy must not see it. */
	if (n < 2)
		return;
	tmp = xmalloc(n * sizeof(*tmp));
	count = xmalloc(((size_t)1 << 16) * sizeof(*count));
	for (int shift = 0; shift < 48; shift += 16) {
		size_t sum = 0;

		memset(count, 0, ((size_t)1 << 16) * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(v[i].obj >> shift) & 0xffff]++;
		for (size_t b = 0; b < ((size_t)1 << 16); b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(v[i].obj >> shift) & 0xffff]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(tmp);
	free(count);
}

void reach_finish(struct reach *r)
{
	size_t out = 0;

	sort_items(r->leaves, r->nleaves);
	for (size_t i = 0; i < r->nleaves; i++) {
		if (out && r->leaves[i].obj == r->leaves[out - 1].obj)
			continue;
		r->leaves[out++] = r->leaves[i];
		r->fn(r->arg, r->leaves[i].obj, r->leaves[i].t);
	}
	r->nleaves = out;  /* kept, sorted and unique, for reach_seen */
	r->finished = 1;
}

int reach_seen(struct reach *r, uint64_t addr)
{
	size_t lo = 0, hi = r->nleaves, k = r->cursor;

	if (r->seen_cap) {
		for (size_t i = slot_of(addr, r->seen_cap); r->seen[i]; i = (i + 1) & (r->seen_cap - 1))
			if (r->seen[i] == addr)
				return 1;
	}
	/* Callers mostly ask in ascending order (the arena scan): step on
	 * from the last answer before searching. */
	for (int step = 0; k < r->nleaves && r->leaves[k].obj <= addr && step < 16; step++, k++) {
		if (r->leaves[k].obj == addr) {
			r->cursor = k;
			return 1;
		}
	}
	if (k < r->nleaves && k > 0 && r->leaves[k - 1].obj < addr && r->leaves[k].obj > addr) {
		r->cursor = k;
		return 0;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->leaves[mid].obj < addr)
			lo = mid + 1;
		else if (r->leaves[mid].obj > addr)
			hi = mid;
		else {
			r->cursor = mid;
			return 1;
		}
	}
	r->cursor = lo;
	return 0;
}

/* A referent: count it if the GC does not track it, and follow it. */
static int consider(void *arg, uint64_t ref, int guessed)
{
	struct reach *r = arg;
	struct pyctx *c = r->c;
	uint64_t type, gc_next;
	struct pytype *t;

	if (ref & 7)
		return 0;  /* objects are 8-aligned; this is not one */
	if (remote_read_cached(c->mem, ref + (uint64_t)c->lay->ob_type, &type, 8) < 0 ||
	    !(t = pytype_get(c, type)))
		return 0;
	/* A tracked object is the GC walk's; untracked GC objects (tuples and
	 * dicts of atoms) have _gc_next == 0.  Static type objects have no GC
	 * header at all: never tracked. */
	if ((t->flags & PY_TPFLAGS_HAVE_GC) && !is_static_type(c, ref, t) &&
	    remote_read_cached(c->mem, ref - (uint64_t)c->lay->gc_head_size + (uint64_t)c->lay->gc_next,
			       &gc_next, 8) == 0 && gc_next != 0) {
		if (r->graph)
			graph_edge(r->graph, ref, t, 1, guessed);
		return 0;
	}
	if (r->graph)
		graph_edge(r->graph, ref, t, 0, guessed);
	if (r->nseen + r->nleaves >= REACH_MAX_OBJECTS) {
		r->overflow = 1;
		return 1;
	}
	if (is_leaf(t)) {
		uint64_t *recent = &r->recent[(ref >> 4) & (LT_ARRAY_SIZE(r->recent) - 1)];

		if (*recent == ref)
			return 0;  /* a duplicate the sort would drop anyway */
		*recent = ref;
		if (r->nleaves == r->leaves_cap) {
			r->leaves_cap = r->leaves_cap ? r->leaves_cap * 2 : 1 << 16;
			r->leaves = xreallocarray(r->leaves, r->leaves_cap, sizeof(*r->leaves));
		}
		r->leaves[r->nleaves].obj = ref;
		r->leaves[r->nleaves].t = t;
		r->nleaves++;
		return 0;
	}
	if (!mark(r, ref))
		return 0;
	r->fn(r->arg, ref, t);
	if (r->nstack == r->stack_cap) {
		r->stack_cap = r->stack_cap ? r->stack_cap * 2 : 4096;
		r->stack = xreallocarray(r->stack, r->stack_cap, sizeof(*r->stack));
	}
	r->stack[r->nstack].obj = ref;
	r->stack[r->nstack].t = t;
	r->nstack++;
	return 0;
}

static void drain(struct reach *r)
{
	while (r->nstack > 0 && !r->overflow) {
		r->nstack--;
		if (r->graph)
			graph_source(r->graph, r->stack[r->nstack].obj, r->stack[r->nstack].t, 0);
		refs_each(r->c, r->stack[r->nstack].obj, r->stack[r->nstack].t, consider, r);
	}
}

void reach_from(struct reach *r, uint64_t obj, struct pytype *t)
{
	if (r->overflow)
		return;
	if (r->graph)
		graph_source(r->graph, obj, t, 1);
	refs_each(r->c, obj, t, consider, r);
	drain(r);
}

/* The thread's id as the system knows it: the stacks' (the host's), else
 * what the thread state records (3.11+), else pthread's. */
static uint64_t thread_id(struct reach *r, uint64_t ts)
{
	const struct py_layout *l = r->c->lay;
	uint64_t tid = 0;

	for (size_t i = 0; r->stacks && i < r->stacks->n; i++)
		if (r->stacks->threads[i].tstate == ts && r->stacks->threads[i].tid)
			return r->stacks->threads[i].tid;

	if (l->ts_native_id >= 0)
		remote_read_u64(r->c->mem, ts + (uint64_t)l->ts_native_id, &tid);
	else
		remote_read_u64(r->c->mem, ts + (uint64_t)l->ts_thread_id, &tid);
	return tid;
}

/* The next frame of a chain, or 0 at its end or when it cannot go on: a
 * loop, the total bound, an unreadable link (each noted). */
static uint64_t next_frame(struct reach *r, struct lt_loop *loop, uint64_t f, int32_t link,
			   uint64_t tid)
{
	uint64_t next;

	if (remote_read_u64(r->c->mem, f + (uint64_t)link, &next) < 0)
		return 0;  /* an unmapped link ends the chain; the frames before count */
	if (next && lt_loop_seen(loop, next)) {
		lt_note_first(r->damage, sizeof(r->damage),
			      "the frame chain of thread %llu loops back to 0x%llx: its frames "
			      "were walked once", (unsigned long long)tid, (unsigned long long)next);
		return 0;
	}
	if (next && ++r->frame_steps > MAX_FRAMES) {
		lt_note_first(r->damage, sizeof(r->damage),
			      "more than %llu frames in all threads (thread %llu): the rest were "
			      "not walked", (unsigned long long)MAX_FRAMES, (unsigned long long)tid);
		return 0;
	}
	return next;
}

/* One thread's running frames and what they hold: 3.11+ interpreter
 * frames; before, frame objects.  With a graph they are its thread roots. */
static void thread_frames(struct reach *r, uint64_t ts, const char *name)
{
	const struct py_layout *l = r->c->lay;
	struct remote *m = r->c->mem;
	uint64_t f = 0, tid = thread_id(r, ts);
	struct lt_loop loop;

	if (r->c->minor <= 10) {
		/* Running frames are objects the GC does not track (until
		 * something else refers to them): count and follow them here. */
		remote_read_u64(m, ts + (uint64_t)l->ts_frame, &f);
		for (lt_loop_init(&loop, f); f; f = next_frame(r, &loop, f, l->frame_back, tid)) {
			if (r->graph)
				graph_source(r->graph, 0, NULL, 0);  /* nothing refers to f */
			consider(r, f, 0);
			drain(r);
			r->frames++;
			if (r->graph)
				graph_root(r->graph, ROOT_THREAD, f, tid, name);
		}
		return;
	}
	if (r->c->minor <= 12) {
		uint64_t cframe;

		if (remote_read_u64(m, ts + (uint64_t)l->ts_cframe, &cframe) == 0 && cframe)
			remote_read_u64(m, cframe + (uint64_t)l->cframe_current, &f);
	} else {
		remote_read_u64(m, ts + (uint64_t)l->ts_current_frame, &f);
	}
	for (lt_loop_init(&loop, f); f; f = next_frame(r, &loop, f, l->iframe_previous, tid)) {
		uint8_t owner = 0;

		remote_read_cached(m, f + (uint64_t)l->iframe_owner, &owner, 1);
		/* C-stack frames (3 before 3.14, 4 since) hold nothing of their
		 * own; 3.14's interpreter-owned frames (3) neither. */
		if (r->c->minor >= 14 ? owner < 3 : owner != FRAME_OWNED_BY_CSTACK) {
			if (r->graph)
				graph_frame_source(r->graph, f, tid, name);
			refs_frame_each(r->c, f, consider, r);
			drain(r);
			r->frames++;
		}
	}
}

/* The threads of one interpreter, newest first (the main thread last). */
static void interp_threads(struct reach *r, uint64_t interp, int main_interp)
{
	const struct py_layout *l = r->c->lay;
	int32_t head_at = r->c->minor <= 10 ? l->is_tstate_head : l->is_threads_head;
	uint64_t ts = 0, next;
	struct lt_loop loop;

	remote_read_u64(r->c->mem, interp + (uint64_t)head_at, &ts);
	for (lt_loop_init(&loop, ts); ts; ts = next) {
		if (remote_read_u64(r->c->mem, ts + (uint64_t)l->ts_next, &next) < 0)
			next = 0;
		if (next && lt_loop_seen(&loop, next)) {
			lt_note_first(r->damage, sizeof(r->damage),
			      "the thread list of interpreter 0x%llx loops back to 0x%llx: each "
			      "thread was walked once", (unsigned long long)interp,
			      (unsigned long long)next);
			next = 0;
		}
		if (++r->thread_steps > MAX_THREADS) {
			lt_note_first(r->damage, sizeof(r->damage),
			      "more than %llu threads (interpreter 0x%llx): the rest were not "
			      "walked", (unsigned long long)MAX_THREADS, (unsigned long long)interp);
			return;
		}
		thread_frames(r, ts, !next && main_interp ? "MainThread" : NULL);
	}
}

uint64_t reach_threads(struct reach *r, uint64_t runtime)
{
	int n;
	uint64_t *interp = heap_interpreters(r->c, runtime, &n, r->damage, sizeof(r->damage));

	/* New interpreters go first: the main one is the last. */
	for (int i = 0; i < n; i++)
		interp_threads(r, interp[i], i == n - 1);
	free(interp);
	return r->frames;
}
