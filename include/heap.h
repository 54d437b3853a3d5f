/* heap.h - walking the object heap of a stopped target.
 *
 * The GC walk visits every object on every interpreter's GC generation lists
 * and the permanent generation, checking list integrity as it goes. */
#ifndef LEAKTOP_HEAP_H
#define LEAKTOP_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct target;

/* A list longer than this is corrupt (or a hostile heap). */
#define HEAP_MAX_OBJECTS (1ull << 30)
/* Interpreters in a linked list longer than this are corrupt. */
#define HEAP_MAX_INTERPRETERS 4096

struct heap_stats {
	uint64_t objects;        /* objects visited */
	uint64_t interpreters;
	uint64_t bad_objects;    /* unreadable object or type */
	int collecting;          /* a collection was running in some interpreter */
	int corrupt;             /* a list broke; the walk stopped early there */
	char corrupt_note[256];
};

/* The interpreters of the runtime at runtime, as linked (newest first), at
 * most HEAP_MAX_INTERPRETERS, in a new array (free it) and *n.  A list that
 * loops or is longer is cut and note says so (else it is left alone).  NULL
 * (*n -1) when the list's head cannot be read (errno). */
uint64_t *heap_interpreters(struct pyctx *c, uint64_t runtime, int *n, char *note, size_t max);

/* Called for each object found; return 0 to go on, -1 to stop the walk. */
typedef int (*heap_visit_fn)(void *arg, uint64_t obj, uint64_t type_addr);

/* 1 if any interpreter's collector is running right now, 0 if not, -1 if
 * the runtime cannot be read (lt_error set). */
int heap_gc_collecting(struct pyctx *c, uint64_t runtime);

/* Visit every GC-tracked object.  Returns 0 (stats say whether it was
 * complete), -1 with lt_error if the runtime itself cannot be read or the
 * target went away. */
int heap_walk_gc(struct pyctx *c, uint64_t runtime, heap_visit_fn fn, void *arg,
		 struct heap_stats *st);

#endif
