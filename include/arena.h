/* arena.h - objects found by scanning pymalloc's arenas.
 *
 * Objects held only from C (a C extension's state, an iterator type
 * leaktop does not know) are not reached through references; if they are
 * small (<= 512 bytes) they live in pymalloc's pools, where every live block
 * can be examined.  A block is taken for an object only if its type pointer
 * is a real type, its reference count is positive (type freelists hold
 * count 0), and its size fits the block's size class. */
#ifndef LEAKTOP_ARENA_H
#define LEAKTOP_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct pytype;
struct target;

/* Called per untracked object found in a block. */
typedef void (*arena_fn)(void *arg, uint64_t obj, struct pytype *t);

struct arena_stats {
	uint64_t arenas, pools, blocks, objects;
};

/* Walk the arenas of every interpreter; seen (may be NULL) says which
 * objects are counted already, asked in ascending address order within an
 * arena.  Returns 0, or -1 when the allocator's state cannot be found (why
 * says what and what it means). */
int arena_walk(struct pyctx *c, struct target *t, uint64_t runtime, arena_fn fn,
	       int (*seen)(void *arg, uint64_t obj), void *arg, struct arena_stats *st, char *why,
	       size_t whylen);

/* An arena as the memory accounting sees it (memacct.h). */
struct arena_span {
	uint64_t start, len;   /* the arena's mapping: [start, start + len) */
	uint64_t carved;       /* from start to the first pool never handed out */
	uint64_t used;         /* bytes of its blocks in use: each pool's count
				* times its block size, from the pool headers */
};

/* The arenas of every interpreter, each once, ascending, in *out (the
 * caller frees it; NULL when none); reads the arena tables and the pool
 * headers only, not the blocks.  Returns how many, or -1 (why says). */
long arena_list(struct pyctx *c, struct target *t, uint64_t runtime, struct arena_span **out,
		char *why, size_t whylen);

#endif
