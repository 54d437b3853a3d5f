/* lineno.h - the line a frame or a suspended generator is at.
 *
 * Decodes each version's line table the way PyCode_Addr2Line does:
 * co_lnotab (3.8, 3.9), co_linetable pairs (3.10), the location table
 * (3.11+).  A line is -1 when it cannot be told. */
#ifndef LEAKTOP_LINENO_H
#define LEAKTOP_LINENO_H

#include <stdint.h>

struct pyctx;

/* The line of the instruction at byte offset addr of code (-1 for addr < 0). */
int lineno_addr2line(struct pyctx *c, uint64_t code, int64_t addr);

/* Byte offset of the instruction a frame is at: a 3.11+ interpreter frame
 * running code, a 3.8-3.10 frame object, or generator gen (its frame,
 * wherever it is).  -1 before the first instruction, -2 if unreadable or
 * (a 3.8-3.10 generator) finished. */
int64_t lineno_iframe_offset(struct pyctx *c, uint64_t iframe, uint64_t code);
int64_t lineno_oldframe_offset(struct pyctx *c, uint64_t frame);
int64_t lineno_gen_offset(struct pyctx *c, uint64_t gen, uint64_t code);

#endif
