/* gens.h - suspended generators and coroutines, grouped by where they wait.
 *
 * "generator 5040" does not say which code leaks; "5,000 x produce
 * suspended at app.py:40" does.  Generators are grouped by their code and
 * the instruction they are suspended at while the walk meets them (cheap),
 * and named once per group at the end. */
#ifndef LEAKTOP_GENS_H
#define LEAKTOP_GENS_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct pytype;

/* Distinct (code, position) pairs followed at most. */
#define GENS_MAX_SITES 65536

struct gen_site {
	uint64_t code;
	int64_t offset;         /* byte offset of the instruction; -1 not started */
	char type[64];          /* builtins.generator, builtins.coroutine ... */
	uint64_t count, bytes;
	/* filled by gen_sites_finish */
	char name[128];         /* the code's qualified name */
	char file[256];
	int line;               /* -1 when unknown */
};

struct gen_sites {
	struct gen_site *v;
	size_t n, cap;
	uint32_t *slots;        /* (code, offset) -> index + 1 */
	size_t nslots;
	int overflow;
};

/* Count the generator, coroutine or async generator gen (of type t, size
 * bytes) if it is suspended or not started yet. */
void gen_sites_add(struct gen_sites *gs, struct pyctx *c, uint64_t gen, struct pytype *t,
		   int64_t size);
/* Name the groups (reads the target: call while it is stopped), merge
 * those on the same line, and sort them by count, largest first. */
void gen_sites_finish(struct gen_sites *gs, struct pyctx *c);
void gen_sites_free(struct gen_sites *gs);

#endif
