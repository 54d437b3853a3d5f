/* refs.h - the objects an object refers to.
 *
 * Knows the core containers (list, tuple, dict keys and values, set and
 * frozenset), instance attributes (__dict__, managed dicts, inline values)
 * and __slots__, types, functions, code, cells, methods, modules,
 * properties, class/static methods, descriptors, builtin functions, frames
 * and generators.  Other objects have no known references here. */
#ifndef LEAKTOP_REFS_H
#define LEAKTOP_REFS_H

#include <stdint.h>

struct pyctx;
struct pytype;

/* Called per referent; return 0 to go on, non-zero to stop. */
typedef int (*ref_fn)(void *arg, uint64_t ref);

/* Returns 0 when done, -1 if obj could not be read, or what fn returned. */
int refs_each(struct pyctx *c, uint64_t obj, struct pytype *t, ref_fn fn, void *arg);

/* The references of a 3.11+ interpreter frame (code, globals, builtins,
 * locals, function, live locals and stack), same convention. */
int refs_frame_each(struct pyctx *c, uint64_t iframe, ref_fn fn, void *arg);

#endif
