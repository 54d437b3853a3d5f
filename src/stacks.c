/* stacks.c - every thread's Python frames, native frames, and both merged. */
#include "config.h"
#include "stacks.h"
#include "attach.h"
#include "heap.h"
#include "lineno.h"
#include "proc.h"
#include "pyobj.h"
#include "refs.h"
#include "remote.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 3.12+: the shim frame each evaluation loop pushes first, a local of
 * that C call, is owned by 3 (FRAME_OWNED_BY_CSTACK to 3.13,
 * FRAME_OWNED_BY_INTERPRETER since; 3.14's CSTACK, 4, is unused).  It
 * runs no code. */
#define OWNED_BY_SHIM 3

/* glibc's struct pthread, where pthread_self() points (3.8-3.10 keep only
 * that): the kernel's thread id lies within its first bytes. */
#define PTHREAD_SCAN 1024

static struct thread_stack *thread_add(struct stacks *st)
{
	struct thread_stack *th;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->threads = xreallocarray(st->threads, st->cap, sizeof(*st->threads));
	}
	th = &st->threads[st->n++];
	memset(th, 0, sizeof(*th));
	th->gil = -1;
	return th;
}

static struct stack_frame *frame_add(struct thread_stack *th)
{
	struct stack_frame *f;

	if (th->n == th->cap) {
		th->cap = th->cap ? th->cap * 2 : 32;
		th->frames = xreallocarray(th->frames, th->cap, sizeof(*th->frames));
	}
	f = &th->frames[th->n++];
	memset(f, 0, sizeof(*f));
	f->line = -1;
	return f;
}

/* --locals: the frame's named locals (cells shown by their contents). */
struct locals_walk {
	struct pyctx *c;
	struct stack_frame *f;
};

static int add_local(void *arg, uint64_t ref, const struct ref_label *how)
{
	struct locals_walk *w = arg;
	struct stack_frame *f = w->f;
	struct stack_local *l;
	struct pytype *t;

	if (how->how != REF_LOCAL || f->nlocals >= STACKS_MAX_LOCALS)
		return 0;
	l = &f->locals[f->nlocals];
	pycode_local_name(w->c, how->key, how->index, l->name, sizeof(l->name));
	if (strcmp(l->name, "(stack)") == 0)
		return 0;
	if (!(t = pyobj_type(w->c, ref)))
		return 0;
	if (t->kind == PK_CELL) {
		ref = pyobj_field(w->c, ref, w->c->lay->cell_ref);
		if (!(t = pyobj_type(w->c, ref)))
			return 0;  /* an empty cell: not bound yet */
	}
	pyobj_repr(w->c, ref, t, l->repr, sizeof(l->repr));
	f->nlocals++;
	return 0;
}

static void read_locals(struct pyctx *c, uint64_t frame, struct stack_frame *f)
{
	struct locals_walk w = { c, f };

	f->locals = xcalloc(STACKS_MAX_LOCALS, sizeof(*f->locals));
	if (c->minor >= 11) {
		refs_frame_each_labelled(c, frame, add_local, &w);
	} else {
		struct pytype *t = pyobj_type(c, frame);

		if (t)
			refs_each_labelled(c, frame, t, add_local, &w);
	}
}

/* One Python frame: a 3.11+ interpreter frame or a 3.8-3.10 frame object. */
static void add_python_frame(struct pyctx *c, struct thread_stack *th, uint64_t frame,
			     uint64_t code, int64_t offset, uint64_t globals, int locals)
{
	struct stack_frame *f = frame_add(th);

	f->kind = FRAME_PYTHON;
	f->addr = frame;
	f->code = code;
	f->instr = offset;
	f->globals = globals;
	if (locals)
		read_locals(c, frame, f);
}

/* The next frame of a chain, or 0 at its end, a loop or the total bound. */
static uint64_t next_frame(struct pyctx *c, struct stacks *st, struct lt_loop *loop, uint64_t f,
			   int32_t link, size_t *steps)
{
	uint64_t next = pyobj_field(c, f, link);

	if (next && lt_loop_seen(loop, next)) {
		lt_note_first(st->note, sizeof(st->note),
			      "a frame chain loops back to 0x%llx: its frames were read once",
			      (unsigned long long)next);
		return 0;
	}
	if (next && ++*steps > STACKS_MAX_FRAMES) {
		lt_note_first(st->note, sizeof(st->note),
			      "more than %d Python frames in all threads: the rest were not read",
			      STACKS_MAX_FRAMES);
		return 0;
	}
	return next;
}

static void thread_frames(struct pyctx *c, struct stacks *st, struct thread_stack *th, int locals,
			  size_t *steps)
{
	const struct py_layout *l = c->lay;
	uint64_t ts = th->tstate, f = 0;
	struct lt_loop loop;

	if (c->minor <= 10) {
		f = pyobj_field(c, ts, l->ts_frame);
		for (lt_loop_init(&loop, f); f; f = next_frame(c, st, &loop, f, l->frame_back, steps)) {
			uint64_t code = pyobj_field(c, f, l->frame_code);

			if (!code)
				break;
			add_python_frame(c, th, f, code, lineno_oldframe_offset(c, f),
					 pyobj_field(c, f, l->frame_globals), locals);
			th->frames[th->n - 1].entry = 1;  /* one evaluation loop per frame */
		}
		return;
	}
	f = c->minor <= 12 ? pyobj_field(c, pyobj_field(c, ts, l->ts_cframe), l->cframe_current)
			   : pyobj_field(c, ts, l->ts_current_frame);
	for (lt_loop_init(&loop, f); f; f = next_frame(c, st, &loop, f, l->iframe_previous, steps)) {
		uint8_t owner = 0, is_entry = 0;
		uint64_t code;
		int64_t offset;

		remote_read(c->mem, f + (uint64_t)l->iframe_owner, &owner, 1);
		if (c->minor >= 12 && owner >= OWNED_BY_SHIM) {
			/* The shim an evaluation loop starts with: the frame
			 * read before it was that loop's outermost. */
			if (th->n && !th->frames[th->n - 1].entry) {
				th->frames[th->n - 1].entry = 1;
				th->frames[th->n - 1].anchor = f;
			}
			continue;
		}
		if (pyframe_code(c, f, &code) < 0)
			break;
		offset = lineno_iframe_offset(c, f, code);
		if (offset == -1)
			continue;  /* not started: sys._current_frames() skips it too */
		add_python_frame(c, th, f, code, offset, pyobj_field(c, f, l->iframe_globals), locals);
		if (c->minor == 11 && l->iframe_is_entry >= 0 &&
		    remote_read(c->mem, f + (uint64_t)l->iframe_is_entry, &is_entry, 1) == 0)
			th->frames[th->n - 1].entry = is_entry != 0;
	}
	if (th->n)
		th->frames[th->n - 1].entry = 1;
}

/* The thread holding the GIL: 3.8-3.11 keep it as the runtime's current
 * thread state; 3.12+ in the interpreter's GIL.  0 none, -1 unknown. */
static int64_t gil_holder(struct pyctx *c, uint64_t runtime, uint64_t interp)
{
	const struct py_layout *l = c->lay;
	uint64_t gil, holder;
	int32_t locked = 0;

	if (c->minor <= 11) {
		if (l->rt_tstate_current < 0 ||
		    remote_read_u64(c->mem, runtime + (uint64_t)l->rt_tstate_current, &holder) < 0)
			return -1;
		return (int64_t)holder;
	}
	if (l->is_ceval_gil < 0 || l->gil_locked < 0 || l->gil_last_holder < 0 ||
	    !(gil = pyobj_field(c, interp, l->is_ceval_gil)) ||
	    remote_read(c->mem, gil + (uint64_t)l->gil_locked, &locked, 4) < 0 ||
	    remote_read_u64(c->mem, gil + (uint64_t)l->gil_last_holder, &holder) < 0)
		return -1;
	return locked ? (int64_t)holder : 0;
}

/* threading's names, by thread ident (pthread_self), of one interpreter. */
struct names {
	struct pyctx *c;
	struct stacks *st;
	uint64_t interp;
};

/* The "_name" attribute of a threading.Thread. */
struct name_attr {
	struct pyctx *c;
	char *buf;
	size_t max;
};

static int name_attr(void *arg, uint64_t key, uint64_t value)
{
	struct name_attr *q = arg;
	char k[8];

	if (pystr_read(q->c, key, k, sizeof(k)) != 5 || strcmp(k, "_name") != 0)
		return 0;
	pystr_read(q->c, value, q->buf, q->max);
	return 1;
}

static int name_thread(void *arg, uint64_t key, uint64_t value)
{
	struct names *nm = arg;
	struct pyctx *c = nm->c;
	long long ident;
	struct pytype *t;

	if (pylong_read(c, key, &ident) < 0 || !(t = pyobj_type(c, value)))
		return 0;
	for (size_t i = 0; i < nm->st->n; i++) {
		struct thread_stack *th = &nm->st->threads[i];
		struct name_attr q = { c, th->name, sizeof(th->name) };

		if (th->interp == nm->interp &&
		    pyobj_field(c, th->tstate, c->lay->ts_thread_id) == (uint64_t)ident) {
			pyobj_attrs_each(c, value, t, name_attr, &q);
			break;
		}
	}
	return 0;
}

static void thread_names(struct pyctx *c, uint64_t interp, struct stacks *st)
{
	uint64_t sysdict = pyobj_field(c, interp, c->lay->is_sysdict), modules, threading, active;
	struct names nm = { c, st, interp };

	if (!sysdict || pydict_get_str(c, sysdict, "modules", &modules) < 0 ||
	    pydict_get_str(c, modules, "threading", &threading) < 0 ||
	    pydict_get_str(c, pyobj_field(c, threading, c->lay->module_dict), "_active", &active) < 0)
		return;
	pydict_each(c, active, name_thread, &nm);
}

size_t stacks_task_ids(pid_t pid, struct tid_pair **out)
{
	pid_t *tids = NULL;
	long n = pid > 0 ? proc_tasks(pid, &tids) : -1;
	int namespaced = n > 0 && proc_nspid(pid) != pid;

	*out = NULL;
	if (n <= 0) {
		free(tids);
		return 0;
	}
	*out = xcalloc((size_t)n, sizeof(**out));
	for (long k = 0; k < n; k++)
		(*out)[k] = (struct tid_pair){ tids[k], namespaced ? proc_nspid(tids[k]) : tids[k] };
	free(tids);
	return (size_t)n;
}

/* 3.8-3.10 know a thread only by pthread_self(): find its id in glibc's
 * struct pthread, at the one offset that fits the most threads (the field
 * does not change while the thread lives: read after the release). */
static void pthread_ids(struct pyctx *c, struct stacks *st, const struct tid_pair *ids, size_t nids)
{
	size_t best_off = 0, best = 0;
	int32_t (*blocks)[PTHREAD_SCAN / 4];

	if (!nids || !st->n)
		return;
	blocks = xcalloc(st->n, sizeof(*blocks));
	for (size_t i = 0; i < st->n; i++) {
		uint64_t self = pyobj_field(c, st->threads[i].tstate, c->lay->ts_thread_id);

		if (!self || remote_read(c->mem, self, blocks[i], sizeof(blocks[i])) < 0)
			memset(blocks[i], 0, sizeof(blocks[i]));
	}
	for (size_t off = 0; off < PTHREAD_SCAN / 4; off++) {
		size_t hits = 0;

		/* Distinct ids only: in a container ids are small numbers, and
		 * a flag that is 1 in every thread would fit them all. */
		for (size_t i = 0; i < st->n; i++) {
			size_t k, j;

			for (k = 0; k < nids && blocks[i][off] != ids[k].own; k++)
				;
			for (j = 0; j < i && blocks[j][off] != blocks[i][off]; j++)
				;
			hits += k < nids && j == i;
		}
		if (hits > best) {
			best = hits;
			best_off = off;
		}
	}
	for (size_t i = 0; best && i < st->n; i++)
		if (st->threads[i].tstate)
			st->threads[i].tid = (uint64_t)(uint32_t)blocks[i][best_off];
	free(blocks);
}

/* The threads' ids as the host knows them: leaktop's PIDs, ptrace's, and
 * the native stacks' are the host's; a target in a container records its
 * own. */
static void thread_ids(struct pyctx *c, struct stacks *st, const struct tid_pair *ids, size_t nids)
{
	if (c->minor <= 10)
		pthread_ids(c, st, ids, nids);
	for (size_t i = 0; i < st->n; i++) {
		size_t k;

		for (k = 0; k < nids && (uint64_t)ids[k].own != st->threads[i].tid; k++)
			;
		/* not one of its threads now: not a thread id after all */
		st->threads[i].tid = k < nids ? (uint64_t)ids[k].host : 0;
	}
}

static void interp_stacks(struct pyctx *c, uint64_t runtime, uint64_t interp, int locals,
			  struct stacks *st, size_t *steps)
{
	const struct py_layout *l = c->lay;
	int32_t head_at = c->minor <= 10 ? l->is_tstate_head : l->is_threads_head;
	uint64_t ts = pyobj_field(c, interp, head_at), next;
	int64_t holder = gil_holder(c, runtime, interp);
	struct lt_loop loop;

	for (lt_loop_init(&loop, ts); ts; ts = next) {
		struct thread_stack *th;

		next = pyobj_field(c, ts, l->ts_next);
		if (next && lt_loop_seen(&loop, next)) {
			lt_note_first(st->note, sizeof(st->note),
			      "the thread list of interpreter 0x%llx loops back to 0x%llx: each "
			      "thread was read once", (unsigned long long)interp, (unsigned long long)next);
			next = 0;
		}
		if (st->n >= STACKS_MAX_THREADS) {
			lt_note_first(st->note, sizeof(st->note),
			      "more than %d threads: the rest were not read", STACKS_MAX_THREADS);
			break;
		}
		th = thread_add(st);
		th->tstate = ts;
		th->interp = interp;
		th->ident = pyobj_field(c, ts, l->ts_thread_id);
		if (c->minor >= 11)
			th->tid = pyobj_field(c, ts, l->ts_native_id);
		th->gil = holder < 0 ? -1 : (uint64_t)holder == ts;
		th->collecting = th->gil == 1 && st->collecting;
		thread_frames(c, st, th, locals, steps);
	}
}

void stacks_read_python(struct pyctx *c, uint64_t runtime, int locals, struct stacks *out)
{
	int n;
	uint64_t *interp = heap_interpreters(c, runtime, &n, out->note, sizeof(out->note));
	size_t steps = 0;

	out->collecting = heap_gc_collecting(c, runtime) > 0;
	for (int i = 0; i < n; i++)
		interp_stacks(c, runtime, interp[i], locals, out, &steps);
	free(interp);
}

void stacks_describe(struct pyctx *c, struct stacks *st, pid_t pid, const struct tid_pair *ids,
		     size_t nids)
{
	/* Module names by globals dict: frames of one module share it. */
	struct { uint64_t globals; char name[128]; } seen[64];
	size_t nseen = 0;

	if (nids)
		thread_ids(c, st, ids, nids);
	for (size_t i = 0; i < st->n; i++) {
		struct thread_stack *th = &st->threads[i];

		if (th->interp && (i == 0 || st->threads[i - 1].interp != th->interp))
			thread_names(c, th->interp, st);
		/* The process's first thread is the main thread also before
		 * (or without) threading, as why's roots call it. */
		if (!th->name[0] && pid > 0 && th->tid == (uint64_t)pid)
			snprintf(th->name, sizeof(th->name), "MainThread");
		for (size_t k = 0; k < th->n; k++) {
			struct stack_frame *f = &th->frames[k];
			size_t m;

			if (f->kind != FRAME_PYTHON || !f->code)
				continue;
			pycode_describe(c, f->code, f->function, sizeof(f->function), f->file,
					sizeof(f->file));
			f->line = f->instr < 0 ? -1 : lineno_addr2line(c, f->code, f->instr);
			for (m = 0; m < nseen && seen[m].globals != f->globals; m++)
				;
			if (m == nseen) {
				uint64_t name;

				m = nseen < LT_ARRAY_SIZE(seen) ? nseen++ : LT_ARRAY_SIZE(seen) - 1;
				seen[m].globals = f->globals;
				seen[m].name[0] = '\0';
				if (f->globals && pydict_get_str(c, f->globals, "__name__", &name) == 0)
					pystr_read(c, name, seen[m].name, sizeof(seen[m].name));
			}
			snprintf(f->module, sizeof(f->module), "%s", seen[m].name);
		}
	}
}

static int is_eval_loop(const char *function)
{
	return strncmp(function, "_PyEval_EvalFrameDefault", 24) == 0;
}

/* Does native frame i of ns run the Python frames from py on?  From 3.12
 * the shim frame each evaluation loop starts with is a local of that call:
 * on its stack, whatever the symbols say; before, and when a shim is
 * missing, by the function's name (the loop is exported). */
static int runs_group(const struct thread_stack *th, size_t py, const struct native_stack *ns,
		      int i, const char *function, int anchored)
{
	uint64_t a;

	if (py >= th->n)
		return 0;
	if (!anchored)
		return is_eval_loop(function);
	for (size_t k = py; k < th->n; k++) {
		if (!th->frames[k].entry)
			continue;
		a = th->frames[k].anchor;
		return a >= ns->sp[i] && (i + 1 >= ns->n || a < ns->sp[i + 1]);
	}
	return 0;
}

/* Thread th's stack with its native frames, the Python ones in place of
 * the evaluation loops that run them. */
static void merge_thread(struct thread_stack *th, struct target *t, const struct native_stack *ns)
{
	struct thread_stack merged = { 0 };
	size_t py = 0;
	int anchored = th->n > 0;

	for (size_t k = 0; k < th->n; k++)
		if (th->frames[k].entry && !th->frames[k].anchor)
			anchored = 0;
	for (int i = 0; i < ns->n; i++) {
		struct native_name nn;
		struct stack_frame *f;

		native_name(t, ns, i, &nn);
		if (runs_group(th, py, ns, i, nn.function, anchored)) {
			/* This loop's Python frames: up to its outermost. */
			do {
				f = frame_add(&merged);
				*f = th->frames[py];
			} while (!th->frames[py++].entry && py < th->n);
			continue;
		}
		f = frame_add(&merged);
		f->kind = FRAME_NATIVE;
		f->addr = ns->ip[i];
		f->offset = nn.offset;
		f->line = nn.line;
		snprintf(f->function, sizeof(f->function), "%s", nn.function[0] ? nn.function : "??");
		snprintf(f->file, sizeof(f->file), "%s", nn.file);
		snprintf(f->module, sizeof(f->module), "%s", nn.module);
	}
	if (py < th->n)
		snprintf(th->native_error, sizeof(th->native_error),
			 "%zu Python frames ran in no evaluation loop the unwind found", th->n - py);
	while (py < th->n)
		*frame_add(&merged) = th->frames[py++];
	if (ns->error[0] && !th->native_error[0])
		snprintf(th->native_error, sizeof(th->native_error), "%s", ns->error);
	free(th->frames);
	th->frames = merged.frames;
	th->n = merged.n;
	th->cap = merged.cap;
	th->native = 1;
}

void stacks_merge(struct stacks *st, struct target *t, struct native_stack *native, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct thread_stack *th = NULL;

		for (size_t i = 0; i < st->n && !th; i++)
			if (st->threads[i].tid == (uint64_t)native[k].tid)
				th = &st->threads[i];
		if (!th) {
			/* A thread that never ran Python (or one not found in
			 * the thread states). */
			th = thread_add(st);
			th->tid = (uint64_t)native[k].tid;
			th->gil = 0;
		}
		if (native[k].n == 0) {
			snprintf(th->native_error, sizeof(th->native_error), "%s", native[k].error);
			continue;
		}
		merge_thread(th, t, &native[k]);
	}
}

int stacks_take(struct session *s, const struct stacks_opts *o, struct stacks *out)
{
	struct pyctx *c = &s->ctx;
	struct attach att = { 0 };
	struct native_stack *native = NULL;
	size_t nnative = 0;

	memset(out, 0, sizeof(*out));
	if (s->off) {
		/* its pid names a process that is gone: never stop that one */
		lt_error(LT_ERR_OTHER, "a %s has no native stacks to unwind", s->off->kind);
		return -1;
	}
	remote_use_source(c->mem, NULL);
	remote_cache_drop(c->mem);
	pyctx_reset(c);
	struct native_unwinder *u = o->native ? native_unwinder_new(&s->t) : NULL;

	if (attach_stop(&att, s->t.pid) < 0) {
		native_unwinder_free(u);
		return -1;
	}
	remote_set_cached(c->mem, 0);
	stacks_read_python(c, s->t.runtime_addr, o->locals, out);
	remote_set_cached(c->mem, 1);
	if (o->native) {
		native = xcalloc(att.n ? att.n : 1, sizeof(*native));
		for (nnative = 0; nnative < att.n && !lt_stop_requested; nnative++)
			native_unwind(u, att.tids[nnative], &native[nnative]);
	}
	attach_release(&att);
	native_unwinder_free(u);
	out->pause_us = attach_pause_us(&att);
	remote_cache_drop(c->mem);
	session_read_version(s);
	if (lt_stop_requested || proc_exited(s->t.pid)) {
		if (lt_stop_requested)
			lt_error(LT_ERR_OTHER, "interrupted");
		else
			lt_error(LT_ERR_GONE, "pid %d exited while leaktop had it stopped", (int)s->t.pid);
		for (size_t k = 0; k < nnative; k++)
			native_stack_free(&native[k]);
		free(native);
		stacks_free(out);
		return -1;
	}
	{
		struct tid_pair *ids;
		size_t nids = stacks_task_ids(s->t.pid, &ids);

		stacks_describe(c, out, s->t.pid, ids, nids);
		free(ids);
	}
	if (o->native)
		stacks_merge(out, &s->t, native, nnative);
	for (size_t k = 0; k < nnative; k++)
		native_stack_free(&native[k]);
	free(native);
	return 0;
}

void stacks_free(struct stacks *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct thread_stack *th = &st->threads[i];

		for (size_t k = 0; k < th->n; k++)
			free(th->frames[k].locals);
		free(th->frames);
	}
	free(st->threads);
	memset(st, 0, sizeof(*st));
}

static int frame_is(const struct stack_frame *f, const char *qualname, const char *name,
		    const char *file_tail)
{
	size_t fl = strlen(f->file), tl = strlen(file_tail);

	return f->kind == FRAME_PYTHON && (strcmp(f->function, qualname) == 0 ||
					   strcmp(f->function, name) == 0) &&
	       fl >= tl && strcmp(f->file + fl - tl, file_tail) == 0;
}

int stacks_thread_loop(const struct thread_stack *th, size_t *running)
{
	size_t loop = SIZE_MAX, run = SIZE_MAX;

	*running = SIZE_MAX;
	for (size_t k = 0; k < th->n && loop == SIZE_MAX; k++) {
		if (frame_is(&th->frames[k], "BaseEventLoop.run_forever", "run_forever",
			     "/asyncio/base_events.py"))
			loop = k;
		else if (run == SIZE_MAX &&
			 frame_is(&th->frames[k], "Handle._run", "_run", "/asyncio/events.py"))
			run = k;
	}
	if (loop == SIZE_MAX)
		return 0;
	/* frames are innermost first: the outermost frame inside the
	 * Handle's call is the one just inside it, past asyncio's task steps */
	for (size_t k = run; run != SIZE_MAX && k-- > 0;) {
		const char *f = th->frames[k].file;
		size_t fl = strlen(f);

		if (th->frames[k].kind == FRAME_PYTHON &&
		    (fl < 17 || strcmp(f + fl - 17, "/asyncio/tasks.py") != 0)) {
			*running = k;
			break;
		}
	}
	return 1;
}
