/* refs.h - the objects an object refers to.
 *
 * Knows the core containers (list, tuple, dict keys and values, set and
 * frozenset) and instance attributes (__dict__, managed dicts, inline
 * values).  Other objects have no known references here yet. */
#ifndef LEAKTOP_REFS_H
#define LEAKTOP_REFS_H

#include <stdint.h>

struct pyctx;
struct pytype;

/* Called per referent; return 0 to go on, non-zero to stop. */
typedef int (*ref_fn)(void *arg, uint64_t ref);

/* Returns 0 when done, -1 if obj could not be read, or what fn returned. */
int refs_each(struct pyctx *c, uint64_t obj, const struct pytype *t, ref_fn fn, void *arg);

#endif
