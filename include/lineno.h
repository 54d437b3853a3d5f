/* lineno.h - the line a frame or a suspended generator is at.
 *
 * Decodes each version's line table the way PyCode_Addr2Line does:
 * co_lnotab (3.8, 3.9), co_linetable pairs (3.10), the location table
 * (3.11+).  Every function returns the line, or -1 when it cannot tell. */
#ifndef LEAKTOP_LINENO_H
#define LEAKTOP_LINENO_H

#include <stdint.h>

struct pyctx;

/* The line of the instruction at byte offset addr of code. */
int lineno_addr2line(struct pyctx *c, uint64_t code, int64_t addr);
/* A 3.11+ interpreter frame running code. */
int lineno_iframe(struct pyctx *c, uint64_t iframe, uint64_t code);
/* A 3.8-3.10 frame object running code. */
int lineno_oldframe(struct pyctx *c, uint64_t frame, uint64_t code);
/* Where generator (or coroutine) gen, running code, is suspended. */
int lineno_gen(struct pyctx *c, uint64_t gen, uint64_t code);

#endif
