/* heap.c - the GC list walk. */
#include "config.h"
#include "heap.h"
#include "pyobj.h"
#include "remote.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NGENERATIONS 3

static int rd_u64(struct pyctx *c, uint64_t addr, uint64_t *v)
{
	return remote_read_cached(c->mem, addr, v, sizeof(*v));
}

static int target_gone(void)
{
	if (errno == ESRCH) {
		lt_error(LT_ERR_GONE, "the target exited during the walk; nothing to report");
		return 1;
	}
	return 0;
}

uint64_t *heap_interpreters(struct pyctx *c, uint64_t runtime, int *count, char *note, size_t max)
{
	const struct py_layout *l = c->lay;
	struct lt_loop loop;
	uint64_t interp, *v;
	int n = 0;

	*count = -1;
	if (rd_u64(c, runtime + (uint64_t)l->rt_interp_head, &interp) < 0)
		return NULL;
	v = xmalloc(HEAP_MAX_INTERPRETERS * sizeof(*v));
	lt_loop_init(&loop, interp);
	while (interp) {
		if (n == HEAP_MAX_INTERPRETERS) {
			snprintf(note, max, "more than %d interpreters: the list was cut there",
				 HEAP_MAX_INTERPRETERS);
			break;
		}
		v[n++] = interp;
		if (rd_u64(c, interp + (uint64_t)l->is_next, &interp) < 0) {
			snprintf(note, max, "the interpreter list could not be read past 0x%llx",
				 (unsigned long long)v[n - 1]);
			break;
		}
		if (interp && lt_loop_seen(&loop, interp)) {
			snprintf(note, max, "the interpreter list loops back to 0x%llx: each was "
				 "walked once", (unsigned long long)interp);
			break;
		}
	}
	*count = n;
	return v;
}

/* heap_interpreters, or NULL with lt_error. */
static uint64_t *interpreters(struct pyctx *c, uint64_t runtime, int *n, char *note, size_t max)
{
	uint64_t *v = heap_interpreters(c, runtime, n, note, max);

	if (!v && !target_gone())
		lt_error(LT_ERR_READ, "cannot read the interpreter list at 0x%llx",
			 (unsigned long long)(runtime + (uint64_t)c->lay->rt_interp_head));
	return v;
}

static uint64_t gc_state(struct pyctx *c, uint64_t runtime, uint64_t interp)
{
	if (c->lay->is_gc >= 0)
		return interp + (uint64_t)c->lay->is_gc;
	return runtime + (uint64_t)c->lay->rt_gc;  /* 3.8: one collector per runtime */
}

int heap_gc_collecting(struct pyctx *c, uint64_t runtime)
{
	char note[128];
	int n, r = 0;
	uint64_t *interp = interpreters(c, runtime, &n, note, sizeof(note));

	if (!interp)
		return -1;
	/* 3.8 has one collector for the whole runtime: one look is enough. */
	for (int i = 0; i < (c->lay->is_gc < 0 && n ? 1 : n) && !r; i++) {
		int32_t collecting;

		if (remote_read(c->mem, gc_state(c, runtime, interp[i]) + (uint64_t)c->lay->gcs_collecting,
				&collecting, sizeof(collecting)) < 0) {
			if (!target_gone())
				lt_error(LT_ERR_READ, "cannot read the collector state");
			r = -1;
		} else if (collecting) {
			r = 1;
		}
	}
	free(interp);
	return r;
}

/* Walk a circular list from head, forward (following _gc_next, checking
 * each node's _gc_prev) or backward (the other way round), until back at
 * head or at stop.  Returns 0 when it got there, 1 when a link was broken
 * (*n nodes visited), -1 when the visitor stopped or the target is gone. */
static int walk_dir(struct pyctx *c, uint64_t head, uint64_t stop, int forward,
		    heap_visit_fn fn, void *arg, struct heap_stats *st, uint64_t *n,
		    uint64_t *last)
{
	const struct py_layout *l = c->lay;
	int32_t ahead = forward ? l->gc_next : l->gc_prev, behind = forward ? l->gc_prev : l->gc_next;
	uint64_t from = head, node;

	*last = head;
	if (rd_u64(c, head + (uint64_t)ahead, &node) < 0)
		return target_gone() ? -1 : 1;
	node &= GC_PTR_MASK;
	while (node != head && (!stop || node != stop)) {
		uint64_t w[4];  /* _gc_next, _gc_prev, ob_refcnt, ob_type (3.8-3.13 order) */

		if (!node || remote_read_cached(c->mem, node, w, sizeof(w)) < 0 ||
		    (w[behind / 8] & GC_PTR_MASK) != from)
			return target_gone() ? -1 : 1;
		if (fn(arg, node + (uint64_t)l->gc_head_size, w[(l->gc_head_size + l->ob_type) / 8]) < 0)
			return -1;
		st->objects++;
		if (++*n > HEAP_MAX_OBJECTS)
			return 1;
		*last = from = node;
		node = w[ahead / 8] & GC_PTR_MASK;
	}
	return 0;
}

/* Walk one circular list whose head node is at head.  If a link is broken,
 * walk back from the list's end to the break, so one bad node costs only
 * what lies between. */
static int walk_list(struct pyctx *c, uint64_t head, const char *what, heap_visit_fn fn,
		     void *arg, struct heap_stats *st)
{
	uint64_t n = 0, m = 0, last, last_back;
	int r = walk_dir(c, head, 0, 1, fn, arg, st, &n, &last);

	if (r <= 0)
		return r;
	st->corrupt = 1;
	if (n > HEAP_MAX_OBJECTS) {
		snprintf(st->corrupt_note, sizeof(st->corrupt_note),
			 "the %s list holds more than %llu objects: treated as corrupt", what,
			 (unsigned long long)HEAP_MAX_OBJECTS);
		return 0;
	}
	r = walk_dir(c, head, last, 0, fn, arg, st, &m, &last_back);
	if (r < 0)
		return r;
	snprintf(st->corrupt_note, sizeof(st->corrupt_note),
		 "the %s list is broken after %llu objects (at 0x%llx); %llu more were walked "
		 "back from its end %s", what, (unsigned long long)n, (unsigned long long)last,
		 (unsigned long long)m, r ? "up to a bad link: objects between the two breaks, if "
		 "any, were not walked" : "to the break");
	return 0;
}

int heap_walk_gc(struct pyctx *c, uint64_t runtime, heap_visit_fn fn, void *arg,
		 struct heap_stats *st)
{
	const struct py_layout *l = c->lay;
	char note[sizeof(st->corrupt_note)] = "";
	int n, r = 0;
	uint64_t *interp;

	memset(st, 0, sizeof(*st));
	interp = interpreters(c, runtime, &n, note, sizeof(note));
	if (!interp)
		return -1;
	st->interpreters = (uint64_t)n;
	/* 3.8 keeps one collector for the whole runtime: walk it once. */
	for (int i = 0; i < (l->is_gc < 0 && n ? 1 : n) && r == 0; i++) {
		uint64_t gcs = gc_state(c, runtime, interp[i]);

		for (int g = 0; g < NGENERATIONS && r == 0; g++) {
			uint64_t head = gcs + (uint64_t)l->gcs_generations + (uint64_t)(g * l->gen_size) +
					(uint64_t)l->gen_head;
			char what[32];

			snprintf(what, sizeof(what), "generation %d", g);
			r = walk_list(c, head, what, fn, arg, st);
		}
		if (r == 0)
			r = walk_list(c, gcs + (uint64_t)l->gcs_permanent + (uint64_t)l->gen_head,
				      "permanent generation", fn, arg, st);
	}
	free(interp);
	if (r == 0 && note[0] && !st->corrupt) {
		st->corrupt = 1;
		memcpy(st->corrupt_note, note, sizeof(note));
	}
	return r;
}
