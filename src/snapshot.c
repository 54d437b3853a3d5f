/* snapshot.c - stop the target, copy its memory, let it go, walk the copy. */
#include "config.h"
#include "snapshot.h"
#include "attach.h"
#include "arena.h"
#include "heap.h"
#include "memacct.h"
#include "proc.h"
#include "reach.h"
#include "remote.h"
#include "retain.h"
#include "tasks.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A collection in progress moves objects onto lists that live on the C
 * stack; let the target finish it, briefly, this many times. */
#define GC_RETRIES 20

/* Once the layout is known, live or not: the object reader, the set
 * dummy key (_PySet_Dummy points to it), the descriptor holders, the
 * version when the target said it. */
static void session_ready(struct session *s)
{
	uint64_t at;

	pyctx_init(&s->ctx, s->t.mem, &s->lay);
	if (target_symbol(&s->t, "_PySet_Dummy", &at) == 0)
		remote_read_u64(s->t.mem, at, &s->ctx.set_dummy);
	s->owner_layouts = owner_layouts_new(&s->t);
	if (s->t.micro >= 0)
		snprintf(s->version, sizeof(s->version), "%d.%d.%d", s->t.major, s->t.minor, s->t.micro);
}

int session_open(struct session *s, pid_t pid, const struct snapshot_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->opts = *o;
	image_init(&s->img);
	if (target_open(&s->t, pid) < 0)
		return -1;
	if (s->t.free_threaded == 1) {
		lt_error(LT_ERR_NOTPYTHON, "pid %d runs a free-threaded CPython 3.%d; leaktop does "
			 "not support free-threaded builds yet", (int)pid, s->t.minor);
		target_close(&s->t);
		return -1;
	}
	if (layout_load(&s->t, o->layout, &s->lay) < 0) {
		target_close(&s->t);
		return -1;
	}
	session_ready(s);
	return 0;
}

int session_open_offline(struct session *s, const struct target *t, const struct py_layout *lay,
			 struct session_offline *off, const struct snapshot_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->opts = *o;
	s->opts.no_block = 0;
	s->opts.native = 0;   /* nothing to unwind: no process */
	image_init(&s->img);
	s->t = *t;
	s->off = off;
	remote_use_source(s->t.mem, &off->src);
	if (lay)
		s->lay = *lay;
	if (lay ? layout_accept(&s->t, &s->lay) < 0 : layout_load(&s->t, o->layout, &s->lay) < 0) {
		session_close(s);
		return -1;
	}
	session_ready(s);
	return 0;
}

static void offline_free(struct session_offline *off)
{
	if (!off)
		return;
	if (off->free)
		off->free(off);
	fd_table_free(&off->fds);
	free(off->tids);
	free(off);
}

/* The two halves of a snapshot after the copy (a stop's, or an offline
 * session's memory): snapshot_begin clears snap; snapshot_walk walks
 * whatever s->ctx.mem answers, collecting (1: a collection was running)
 * adding its note.  Every loop is bounded by a budget of reads that
 * follows the memory's size: past it, or on a signal, the walk ends with
 * census.complete 0 and a note saying where.  Returns 0 or -1 with
 * lt_error (snap freed). */
static void snapshot_begin(struct session *s, struct snapshot *snap);
static int snapshot_walk(struct session *s, struct snapshot *snap, int collecting);
/* snapshot_walk returns 1 (snap freed) when a GC list broke and
 * s->retry_broken_list asks for another stop instead. */

/* A snapshot of an offline session: its memory walked, its facts as
 * recorded (the descriptors copied: each snapshot owns its table). */
static int offline_snapshot(struct session *s, struct snapshot *snap)
{
	struct session_offline *off = s->off;
	uint64_t t0 = lt_now_us();

	snapshot_begin(s, snap);
	snap->taken_at = off->taken_at;
	snap->pause_us = off->pause_us;
	snap->image = off->image;
	snap->gc_retries = off->gc_retries;
	snap->fds_read = off->fds_read && fd_table_copy(&off->fds, &snap->fds) == 0;
	remote_use_source(s->ctx.mem, &off->src);
	if (snapshot_walk(s, snap, off->collecting) < 0)
		return -1;
	if (off->note[0])
		census_note(&snap->census, "%s", off->note);
	if (off->layout_note[0])
		census_note(&snap->census, "%s", off->layout_note);
	if (off->layout_suspect)
		snap->census.complete = 0;
	snap->walk_us = lt_now_us() - t0;
	return 0;
}

void session_close(struct session *s)
{
	offline_free(s->off);
	s->off = NULL;
	owner_layouts_free(s->owner_layouts);
	s->owner_layouts = NULL;
	free(s->sample_type);
	s->sample_type = NULL;
	pyctx_free(&s->ctx);
	image_free(&s->img);
	free(s->stop_sps);
	s->stop_sps = NULL;
	s->nstop_sps = 0;
	target_close(&s->t);
}

/* Value of sys.<name> in the main interpreter (the first one listed): 0
 * with *value set, -1 if it cannot be read. */
static int sys_attr(struct session *s, const char *name, uint64_t *value)
{
	struct pyctx *c = &s->ctx;
	uint64_t interp, sysdict;

	if (remote_read_u64(c->mem, s->t.runtime_addr + (uint64_t)s->lay.rt_interp_head, &interp) < 0 ||
	    !interp ||
	    remote_read_u64(c->mem, interp + (uint64_t)s->lay.is_sysdict, &sysdict) < 0 || !sysdict)
		return -1;
	return pydict_get_str(c, sysdict, name, value);
}

void session_read_version(struct session *s)
{
	struct pyctx *c = &s->ctx;
	uint64_t str;
	char text[64];
	int maj, min, mic;

	if (s->version[0])
		return;
	if (sys_attr(s, "version", &str) == 0 &&
	    pystr_read(c, str, text, sizeof(text)) > 0 &&
	    sscanf(text, "%d.%d.%d", &maj, &min, &mic) == 3 && maj == s->t.major && min == s->t.minor) {
		s->t.micro = mic;
		snprintf(s->version, sizeof(s->version), "%d.%d.%d", maj, min, mic);
	}
}

struct walk_state {
	struct pyctx *c;
	uint64_t bad;
	struct reach reach;
	int follow;              /* count untracked objects too */
	int group_dicts;
	uint64_t from_c;         /* objects found only in the arenas */
	const char *sample_type;
	struct snapshot *snap;
	struct pytype *sample_types[SNAPSHOT_MAX_SAMPLES];
	struct owner_layouts *ol;
};

/* The instance's __dict__ is counted where it is found (as builtins.dict);
 * remember it here so the census can move it to "dict of CLASS". */
static void note_instance_dict(struct walk_state *w, uint64_t obj, struct pytype *t)
{
	struct pyctx *c = w->c;
	uint64_t dict = 0, dtype, gc_next = 0;
	struct pytype *dt;
	int64_t size;

	if (pyobj_instance_dict(c, obj, t, &dict) < 0 || !dict ||
	    remote_read_u64(c->mem, dict + (uint64_t)c->lay->ob_type, &dtype) < 0 ||
	    !(dt = pytype_get(c, dtype)) || strcmp(dt->name, "builtins.dict") != 0 ||
	    (size = pyobj_sizeof(c, dict, dt)) < 0)
		return;
	remote_read_u64(c->mem, dict - (uint64_t)c->lay->gc_head_size + (uint64_t)c->lay->gc_next,
			&gc_next);
	/* In --gc-only mode an untracked dict was never counted: nothing to move. */
	if (!gc_next && !w->follow)
		return;
	t->dicts++;
	t->dicts_bytes += (uint64_t)size;
	if (gc_next) {
		t->dicts_tracked++;
		t->dicts_gc_bytes += (uint64_t)size;
	}
}

static void count_sized(struct walk_state *w, uint64_t obj, struct pytype *t, int tracked,
			int64_t size)
{
	t->count++;
	t->gc_tracked += (uint64_t)tracked;
	t->bytes += (uint64_t)size;
	if (tracked)
		t->gc_bytes += (uint64_t)size;
	if (obj - w->snap->memory.static_lo < w->snap->memory.static_len)
		w->snap->memory.static_objects += (uint64_t)size;  /* in the interpreter's data */
	{
		struct pyowned own;

		if (pyobj_owned(w->c, obj, t, &own) == 0) {
			t->buffer_bytes += own.buffer;
			t->mapped_bytes += own.mapped;
		}
	}
	owners_visit(w->ol, w->c, &w->snap->owners, obj, t);
	if (w->group_dicts && (t->flags & PY_TPFLAGS_HEAPTYPE) && t->kind != PK_TYPE)
		note_instance_dict(w, obj, t);
	if (w->sample_type && w->snap->nsamples < SNAPSHOT_MAX_SAMPLES) {
		if (!t->sampled)
			t->sampled = strcmp(t->name, w->sample_type) == 0 ? 1 : -1;
		if (t->sampled > 0) {
			struct sample *sm = &w->snap->samples[w->snap->nsamples];

			w->sample_types[w->snap->nsamples++] = t;
			sm->addr = obj;
			sm->size = size;
		}
	}
}

static int64_t count_object(struct walk_state *w, uint64_t obj, struct pytype *t, int tracked)
{
	int64_t size = pyobj_sizeof(w->c, obj, t);

	if (size < 0) {
		w->bad++;
		size = 0;
	}
	count_sized(w, obj, t, tracked, size);
	return size;
}

/* Developer aid: LEAKTOP_DEBUG_REACH=TYPE prints where untracked objects of
 * TYPE were found ("reach" or "arena"), to compare with a target's ids. */
static void debug_found(const char *how, const struct pytype *t, uint64_t obj)
{
	static const char *debug;

	if (!debug)
		debug = getenv("LEAKTOP_DEBUG_REACH") ? getenv("LEAKTOP_DEBUG_REACH") : "";
	if (*debug && strcmp(debug, t->name) == 0)
		fprintf(stderr, "%s %s 0x%llx\n", how, t->name, (unsigned long long)obj);
}

static void visit_untracked(void *arg, uint64_t obj, struct pytype *t)
{
	debug_found("reach", t, obj);
	count_object(arg, obj, t, 0);
}

/* An object in a pymalloc block: count it unless references reached it. */
static void visit_arena(void *arg, uint64_t obj, struct pytype *t)
{
	struct walk_state *w = arg;
	int64_t size = pyobj_sizeof(w->c, obj, t);

	if (size < 0)
		return;  /* not an object after all */
	debug_found("arena", t, obj);
	w->from_c++;
	count_sized(w, obj, t, 0, size);
}

static int arena_seen(void *arg, uint64_t obj)
{
	return reach_seen(&((struct walk_state *)arg)->reach, obj);
}

static int visit(void *arg, uint64_t obj, uint64_t type_addr)
{
	struct walk_state *w = arg;
	struct pytype *t = pytype_get(w->c, type_addr);
	int64_t size;

	if (!t) {
		w->bad++;
		return 0;
	}
	size = count_object(w, obj, t, 1);
	if (t->kind == PK_GEN)
		gen_sites_add(&w->snap->gens, w->c, obj, t, size);
	if (w->follow)
		reach_from(&w->reach, obj, t);
	return 0;
}

double snapshot_period(double interval_s, double max_stopped_pct, uint64_t pause_us)
{
	double need = max_stopped_pct > 0 ? (double)pause_us / 1e6 * 100.0 / max_stopped_pct : 0;

	return need > interval_s ? need : interval_s;
}

void session_sample(struct session *s, const char *type)
{
	free(s->sample_type);
	s->sample_type = type ? xstrdup(type) : NULL;
}

/* A holder the GC does not track (epoll, mmap, a plain _socket.socket) may
 * own a descriptor nothing else claims: look among the references of the
 * tracked objects, a second pass, only then. */
static int visit_refs(void *arg, uint64_t obj, uint64_t type_addr)
{
	struct walk_state *w = arg;
	struct pytype *t = pytype_get(w->c, type_addr);

	if (t)
		owners_visit_refs(w->ol, w->c, &w->snap->owners, obj, t);
	return 0;
}

/* Join the descriptors (read right after the release) to their owners. */
static void join_handles(struct session *s, struct walk_state *w, struct snapshot *snap)
{
	struct heap_stats st;
	int unowned = 0;

	owners_finish(&snap->owners);
	for (size_t i = 0; snap->fds_read && i < snap->fds.n && !unowned; i++) {
		size_t n;

		if (!owners_of_fd(&snap->owners, snap->fds.v[i].fd, &n) &&
		    owners_worth_a_ref_scan(s->owner_layouts, &snap->fds.v[i]))
			unowned++;
	}
	if (!unowned)
		return;
	if (w->follow)
		return;  /* the reach walk has seen every referent already */
	heap_walk_gc(w->c, s->t.runtime_addr, visit_refs, w, &st);
	owners_finish(&snap->owners);
}

struct module_roots {
	struct pyctx *c;
	struct graph *g;
	uint64_t main_mod;
};

static int module_root(void *arg, uint64_t key, uint64_t value)
{
	struct module_roots *mr = arg;
	char name[64];

	if (value != mr->main_mod && pystr_read(mr->c, key, name, sizeof(name)) >= 0)
		graph_root(mr->g, ROOT_MODULE, value, 0, name);
	return 0;
}

/* Every module in sys.modules is a root, __main__ first. */
static void add_module_roots(struct session *s, struct graph *g)
{
	struct pyctx *c = &s->ctx;
	uint64_t modules;
	struct module_roots mr = { c, g, 0 };

	if (sys_attr(s, "modules", &modules) < 0)
		return;
	if (pydict_get_str(c, modules, "__main__", &mr.main_mod) == 0)
		graph_root(g, ROOT_MODULE, mr.main_mod, 0, "__main__");
	pydict_each(c, modules, module_root, &mr);
}

/* Reads of memory the target never touched that make a note: a few are
 * ordinary (a type's fields in a .bss page), a megabyte's worth is not. */
#define UNTOUCHED_NOTE 256

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Test hooks: with LEAKTOP_TEST_AFTER_PLAN=FILE, LEAKTOP_TEST_IN_STOP=FILE or
 * LEAKTOP_TEST_AFTER_RELEASE=FILE, create FILE once the copy is planned, the
 * target is stopped, or it was let go, and wait (at most 60 s, or until a
 * signal asks leaktop to stop) until the test removes it: a test can then
 * change the target between plan and copy, signal leaktop while the target
 * is stopped, or watch the target run before leaktop walks. */
static void test_hold(const char *env)
{
	const char *path = getenv(env);
	int fd;

	if (!path || !*path ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return;
	close(fd);
	for (int i = 0; i < 6000 && access(path, F_OK) == 0 && !lt_stop_requested; i++)
		sleep_us(10000);
}

/* Stop the target, copy what the walk will read, let it go.  With
 * --no-block nothing is stopped or copied: the walk reads the live target.
 * Returns 1 if a collection was running (after GC_RETRIES tries), 0, or -1
 * with lt_error; the target runs on return either way. */
/* --native: every stopped thread's native stack, named after the walk. */
static void unwind_threads(struct session *s, struct native_unwinder *u, const struct attach *att)
{
	s->native = xcalloc(att->n ? att->n : 1, sizeof(*s->native));
	for (s->nnative = 0; s->nnative < att->n && !lt_stop_requested; s->nnative++)
		native_unwind(u, att->tids[s->nnative], &s->native[s->nnative]);
}

static void drop_native(struct session *s)
{
	for (size_t k = 0; k < s->nnative; k++)
		native_stack_free(&s->native[k]);
	free(s->native);
	s->native = NULL;
	s->nnative = 0;
}

/* The pause, part by part (snapshot.h: struct stop_stats). */
static void account_stop(struct snapshot *snap, const struct attach *att,
			 const struct image_stats *im, uint64_t unwind_us)
{
	struct stop_stats *st = &snap->stop;
	uint64_t parts;

	st->known = 1;
	st->interrupt_us = att->interrupted_us - att->stop_begin_us;
	st->wait_us = att->stopped_us - att->interrupted_us;
	st->plan_us = im->replan_us;
	st->copy_us = im->copy_us;
	st->unwind_us = unwind_us;
	st->release_us = att->stop_end_us - att->release_begin_us;
	parts = st->interrupt_us + st->wait_us + st->plan_us + st->copy_us + st->unwind_us +
		st->release_us;
	st->other_us = snap->pause_us > parts ? snap->pause_us - parts : 0;
}

static int stop_and_copy(struct session *s, struct snapshot *snap)
{
	struct pyctx *c = &s->ctx;
	struct attach att = { 0 };
	struct remote_source src;
	struct native_unwinder *unwinder = NULL;
	uint64_t unwind_us;
	int collecting;

	remote_use_source(c->mem, NULL);
	remote_cache_drop(c->mem);
	if (s->opts.no_block)
		return heap_gc_collecting(c, s->t.runtime_addr) > 0;
	if (image_plan(&s->img, s->t.pid) < 0)
		return -1;
	if (s->opts.native)
		unwinder = native_unwinder_new(&s->t);
	test_hold("LEAKTOP_TEST_AFTER_PLAN");
	for (int attempt = 0;; attempt++) {
		if (attach_stop(&att, s->t.pid) < 0) {
			native_unwinder_free(unwinder);
			return -1;
		}
		/* A few words: read as they are, not in the cache's blocks
		 * of 512 KiB (0.6 ms of the stop, against 0.04). */
		remote_set_cached(c->mem, 0);
		collecting = heap_gc_collecting(c, s->t.runtime_addr);
		remote_set_cached(c->mem, 1);
		if (collecting < 0)
			break;
		if (!collecting || attempt >= GC_RETRIES)
			break;
		attach_release(&att);
		remote_cache_drop(c->mem);   /* what it read may change while it runs */
		snap->gc_retries++;
		sleep_us(1000L << (attempt < 6 ? attempt : 6));
	}
	if (collecting >= 0)
		test_hold("LEAKTOP_TEST_IN_STOP");
	if (collecting >= 0 &&
	    image_copy(&s->img, s->t.pid, s->opts.max_pause_ms > 0 ?
		       att.stop_begin_us + (uint64_t)s->opts.max_pause_ms * 1000 : 0) < 0)
		collecting = -1;
	/* Where each thread's stack is, from its registers while it holds
	 * still (memacct.h): a microsecond or two per thread. */
	s->nstop_sps = 0;
	if (collecting >= 0) {
		s->stop_sps = xreallocarray(s->stop_sps, att.n ? att.n : 1, sizeof(*s->stop_sps));
		s->nstop_sps = attach_stack_pointers(&att, s->stop_sps, att.n);
		s->nstop_threads = att.n;
	}
	unwind_us = lt_now_us();
	if (collecting >= 0 && unwinder)
		unwind_threads(s, unwinder, &att);
	unwind_us = lt_now_us() - unwind_us;
	attach_release(&att);
	native_unwinder_free(unwinder);
	remote_cache_drop(c->mem);  /* the unwind's reads: the copy answers from now on */
	snap->pause_us = attach_pause_us(&att);
	account_stop(snap, &att, &s->img.st, unwind_us);
	if (collecting >= 0 && lt_stop_requested) {
		lt_error(LT_ERR_OTHER, "interrupted");
		collecting = -1;
	}
	if (collecting < 0)
		return -1;
	if (proc_exited(s->t.pid)) {
		/* Killed while it was stopped: there is no process left to
		 * report on, as if it had died a moment earlier. */
		lt_error(LT_ERR_GONE, "pid %d exited while leaktop had it stopped", (int)s->t.pid);
		return -1;
	}
	snap->image = s->img.st;
	image_source(&s->img, &src);
	remote_use_source(c->mem, &src);
	return collecting;
}

static void snapshot_begin(struct session *s, struct snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	owner_set_init(&snap->owners);
	snap->pid = s->t.pid;
	snap->session = s;
	census_init(&snap->census);
	census_init(&snap->garbage_types);
	pyctx_reset(&s->ctx);
}

/* Stops taken again when a GC list was found broken (session_snapshot). */
#define LIST_RETRIES 1

static int one_snapshot(struct session *s, struct snapshot *snap, uint64_t t0);

int session_snapshot(struct session *s, struct snapshot *snap)
{
	uint64_t t0 = lt_now_us();
	int attempt;

	if (s->off)
		return offline_snapshot(s, snap);
	/* A GC list found broken may have been caught mid-link: a thread was
	 * stopped inside the collector's link or unlink of a node.  The stop
	 * is taken again once; a list broken twice is damaged. */
	for (attempt = 0;; attempt++) {
		int r;

		s->retry_broken_list = attempt < LIST_RETRIES;
		r = one_snapshot(s, snap, t0);
		if (r < 0) {
			s->retry_broken_list = 0;
			return -1;
		}
		if (r == 0)
			break;
		remote_cache_drop(s->ctx.mem);
	}
	s->retry_broken_list = 0;
	snap->list_retries = attempt;
	return 0;
}

static int one_snapshot(struct session *s, struct snapshot *snap, uint64_t t0)
{
	int collecting, r;

	snapshot_begin(s, snap);
	collecting = stop_and_copy(s, snap);
	if (collecting < 0) {
		drop_native(s);
		snapshot_free(snap);
		return -1;
	}
	test_hold("LEAKTOP_TEST_AFTER_RELEASE");
	snap->taken_at = time(NULL);
	/* The kernel's descriptor table is not in the image: read it now, as
	 * close to the copy as can be. */
	snap->fds_read = fd_table_read(s->t.pid, &snap->fds) == 0;
	/* So is where its resident memory lies (memacct.h). */
	memacct_read(&snap->memory, s);
	r = snapshot_walk(s, snap, collecting);
	if (r != 0) {
		drop_native(s);
		return r;       /* 1: walk again from a new stop */
	}
	memacct_finish(&snap->memory, &snap->census);
	if (snap->stacks_read && s->native)
		stacks_merge(&snap->stacks, &s->t, s->native, s->nnative);
	drop_native(s);
	snap->walk_us = lt_now_us() - t0;
	return 0;
}

/* Reads a walk may make: READS_PER_WORD per word of the memory it walks,
 * and never fewer than MIN_READS.  Ordinary heaps need a few reads per word
 * (measured: under 1); only lying counts and links reach the bound. */
#define READS_PER_WORD 8
#define MIN_READS ((uint64_t)1 << 24)

static uint64_t read_budget(struct session *s, struct snapshot *snap)
{
	uint64_t bytes = snap->image.copied_bytes;

	if (!bytes && s->t.pid > 0 && !s->off)
		bytes = proc_rss_bytes(s->t.pid);
	return bytes / 8 * READS_PER_WORD > MIN_READS ? bytes / 8 * READS_PER_WORD : MIN_READS;
}

/* After a phase of the walk: if it spent the read budget, say where. */
static void budget_check(struct pyctx *c, const char *phase, const char **where)
{
	if (!*where && remote_exhausted(c->mem))
		*where = phase;
}

static int snapshot_walk(struct session *s, struct snapshot *snap, int collecting)
{
	struct pyctx *c = &s->ctx;
	struct heap_stats st;
	struct walk_state w = { .c = c, .snap = snap, .ol = s->owner_layouts };
	int rc, arenas_ok = 1;
	struct arena_stats ast;
	char arena_why[256] = "";
	struct graph g;
	const char *spent = NULL;

	snap->collecting = collecting;
	graph_init(&g, c, s->analyze != NULL || s->opts.retainers);
	w.sample_type = s->sample_type;
	remote_set_budget(c->mem, read_budget(s, snap));
	session_read_version(s);
	w.follow = !s->opts.gc_only;
	w.group_dicts = s->opts.group_dicts;
	if (s->opts.stacks) {
		struct tid_pair *ids = NULL;
		size_t nids = s->off ? s->off->ntids : stacks_task_ids(s->t.pid, &ids);

		stacks_read_python(c, s->t.runtime_addr, 0, &snap->stacks);
		stacks_describe(c, &snap->stacks, s->t.pid, s->off ? s->off->tids : ids, nids);
		free(ids);
		snap->stacks.pause_us = snap->pause_us;
		snap->stacks_read = 1;
		budget_check(c, "the threads' stacks", &spent);
	}
	reach_init(&w.reach, c, visit_untracked, &w);
	if (w.follow)
		w.reach.graph = &g;
	if (snap->stacks_read)
		w.reach.stacks = &snap->stacks;  /* chains from threads name them as stacks do */
	rc = heap_walk_gc(c, s->t.runtime_addr, visit, &w, &st);
	budget_check(c, "the GC lists and what they refer to", &spent);
	if (st.corrupt && !spent && s->retry_broken_list) {
		/* Caught mid-link?  The caller stops the target again before
		 * anything is made of this copy (session_snapshot). */
		remote_set_budget(c->mem, 0);
		remote_use_source(c->mem, NULL);
		reach_free(&w.reach);
		graph_free(&g);
		snapshot_free(snap);
		return 1;
	}
	if (rc == 0 && w.follow) {
		reach_threads(&w.reach, s->t.runtime_addr);
		budget_check(c, "the threads' frames and what they hold", &spent);
		reach_finish(&w.reach);
		arenas_ok = arena_walk(c, &s->t, s->t.runtime_addr, visit_arena, arena_seen, &w, &ast,
				       arena_why, sizeof(arena_why)) == 0;
		budget_check(c, "pymalloc's arenas", &spent);
	}
	if (rc == 0)
		join_handles(s, &w, snap);
	if (rc == 0 && w.follow) {
		graph_finish(&g);
		if (getenv("LEAKTOP_TEST_EDGES") && *getenv("LEAKTOP_TEST_EDGES"))
			graph_write_edges(&g, getenv("LEAKTOP_TEST_EDGES"));
		graph_garbage(&g, &snap->garbage);
		snap->garbage_known = !g.overflow && !st.corrupt && !w.reach.overflow && !spent;
		if (s->analyze || s->opts.retainers)
			add_module_roots(s, &g);
		if (s->opts.retainers && !g.overflow) {
			struct graph_paths p;

			graph_paths(&g, &p);
			retainers_compute(&snap->retainers, s, &g, &p, (size_t)s->opts.retainers);
			budget_check(c, "the retained sizes", &spent);
			tasks_analyze(&snap->tasks, s, &g, &p, snap->stacks_read ? &snap->stacks : NULL);
			snap->tasks_known = 1;
			budget_check(c, "asyncio's tasks", &spent);
			graph_paths_free(&p);
		}
		if (s->analyze) {
			s->analyze(s->analyze_arg, s, snap, &g);
			budget_check(c, "the chains from the roots", &spent);
		}
		snap->graph_bytes = graph_bytes(&g);
	}
	gen_sites_finish(&snap->gens, c);
	for (int i = 0; rc == 0 && i < snap->nsamples; i++)
		pyobj_repr(c, snap->samples[i].addr, w.sample_types[i], snap->samples[i].repr,
			   sizeof(snap->samples[i].repr));
	budget_check(c, "the reprs of samples", &spent);
	snap->reads = remote_reads(c->mem);
	remote_set_budget(c->mem, 0);
	if (rc < 0)
		goto fail;
	if (lt_stop_requested) {
		lt_error(LT_ERR_OTHER, "interrupted");
		goto fail;
	}

	PYCTX_FOREACH_TYPE(c, t) {
		if (t->count) {
			struct census_row *r = census_add(&snap->census, t->name, t->count,
							  t->gc_tracked, t->bytes);

			r->gc_bytes = t->gc_bytes;
			r->buffer_bytes = t->buffer_bytes;
			r->mapped_bytes = t->mapped_bytes;
			r->object_only = pytype_python_sizeof(c, t);
		}
		if (t->dicts) {
			/* Moved out of builtins.dict into a row of their own;
			 * census_finish merges the negative row into it. */
			char name[600];

			snprintf(name, sizeof(name), "dict of %s", t->name);
			census_add(&snap->census, name, t->dicts, t->dicts_tracked, t->dicts_bytes)->gc_bytes =
				t->dicts_gc_bytes;
			census_add(&snap->census, "builtins.dict", (uint64_t)-t->dicts,
				   (uint64_t)-t->dicts_tracked, (uint64_t)-t->dicts_bytes)->gc_bytes =
				(uint64_t)-t->dicts_gc_bytes;
		}
	}
	census_finish(&snap->census);
	PYCTX_FOREACH_TYPE(c, t) {
		if (t->garbage)
			census_add(&snap->garbage_types, t->name, t->garbage, t->garbage, t->garbage_bytes);
	}
	census_finish(&snap->garbage_types);
	/* The census read the copy too (which __sizeof__ a type has): now
	 * nothing more is read from it. */
	snap->late_pages = s->off ? s->off->late_pages : remote_stats(c->mem)->late_pages;
	remote_use_source(c->mem, NULL);
	if (!s->off && s->img.untouched_reads >= UNTOUCHED_NOTE)
		census_note(&snap->census, "%llu reads fell in memory the target never touched (the "
			    "first at 0x%llx): read as what it holds there (zeros, or its file's "
			    "bytes) without touching it; a pointer or length into memory it never "
			    "used?", (unsigned long long)s->img.untouched_reads,
			    (unsigned long long)s->img.untouched_first);
	if (s->opts.gc_only)
		census_note(&snap->census, "GC-tracked objects only (--gc-only): str, int, float, "
			    "bytes and other untracked objects are not counted");
	else if (arenas_ok)
		census_note(&snap->census, "untracked objects: reached through references from "
			    "tracked objects and running frames (%" PRIu64 " more found only in "
			    "pymalloc's arenas); large objects held only from C are not counted",
			    w.from_c);
	else {
		snap->census.complete = 0;
		census_note(&snap->census, "%s", arena_why);
	}
	if (w.reach.damage[0]) {
		snap->census.complete = 0;
		census_note(&snap->census, "%s", w.reach.damage);
	}
	if (w.reach.overflow) {
		snap->census.complete = 0;
		census_note(&snap->census, "more than %u untracked objects: the rest were not "
			    "followed", REACH_MAX_OBJECTS);
	}
	if (collecting) {
		snap->census.complete = 0;
		census_note(&snap->census, "a garbage collection was running in the target: "
			    "objects it was examining may be missing");
	}
	if (st.corrupt && !spent) {
		snap->census.complete = 0;
		census_note(&snap->census, "%s", st.corrupt_note);
	}
	if (w.bad && !spent) {
		snap->census.complete = 0;
		census_note(&snap->census, "%llu objects could not be read (bad type or size) "
			    "and were left out", (unsigned long long)w.bad);
	}
	if (s->opts.no_block)
		census_note(&snap->census, "read without stopping the target (--no-block): "
			    "counts may be slightly inconsistent");
	if (s->lay.table_nearest)
		census_note(&snap->census, "layout: leaktop's table for Python %s, the nearest release "
			    "it has to %s, checked against the target", s->lay.table_version, s->version);
	if (snap->image.cut) {
		snap->census.complete = 0;
		census_note(&snap->census, "the copy was cut at --max-pause %ld ms (%llu of %llu MiB "
			    "copied): the rest was read after the target was let go and may be newer",
			    s->opts.max_pause_ms, (unsigned long long)(snap->image.copied_bytes >> 20),
			    (unsigned long long)(snap->image.planned_bytes >> 20));
	}
	if (snap->late_pages)
		census_note(&snap->census, "%llu pages (%llu KiB) the copy did not hold were read after "
			    "the target was let go (a large buffer's, memory shared with another "
			    "process, or the copy was cut): they may be newer than the rest",
			    (unsigned long long)snap->late_pages, (unsigned long long)snap->late_pages * 4);
	if (!snap->fds_read && snap->pid > 0 && !s->off)
		census_note(&snap->census, "the descriptor table could not be read after the copy "
			    "(the target may have exited)");
	if (spent) {
		snap->census.complete = 0;
		census_note(&snap->census, "the walk stopped in %s after %llu reads of the target's "
			    "memory, its bound (%d per word walked): counts, lengths or links there "
			    "are not what they seem (a damaged heap?)", spent,
			    (unsigned long long)snap->reads, READS_PER_WORD);
	}
	reach_free(&w.reach);
	graph_free(&g);
	return 0;

fail:
	remote_use_source(c->mem, NULL);
	reach_free(&w.reach);
	graph_free(&g);
	snapshot_free(snap);
	return -1;
}

void snapshot_free(struct snapshot *snap)
{
	retainers_free(&snap->retainers);
	tasks_free(&snap->tasks);
	stacks_free(&snap->stacks);
	census_free(&snap->census);
	census_free(&snap->garbage_types);
	gen_sites_free(&snap->gens);
	fd_table_free(&snap->fds);
	owner_set_free(&snap->owners);
}
