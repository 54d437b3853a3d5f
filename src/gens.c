/* gens.c - suspended generators by code and line. */
#include "config.h"
#include "gens.h"
#include "lineno.h"
#include "pyobj.h"
#include "remote.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 3.11+ frame states below this are "not running" (created, suspended). */

static size_t site_slot(uint64_t code, int64_t off, size_t cap)
{
	return (size_t)(((code >> 3) ^ ((uint64_t)off << 20)) * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
}

static void rehash(struct gen_sites *gs)
{
	size_t cap = gs->nslots ? gs->nslots * 2 : 256;

	free(gs->slots);
	gs->slots = xcalloc(cap, sizeof(*gs->slots));
	gs->nslots = cap;
	for (size_t k = 0; k < gs->n; k++) {
		size_t i = site_slot(gs->v[k].code, gs->v[k].offset, cap);

		while (gs->slots[i])
			i = (i + 1) & (cap - 1);
		gs->slots[i] = (uint32_t)k + 1;
	}
}

/* The code a generator runs and the byte offset it waits at (-1: not
 * started); -1 if it is running or finished (nothing to report). */
static int where(struct pyctx *c, uint64_t gen, uint64_t *code, int64_t *offset)
{
	enum gen_state state = GEN_SUSPENDED;

	if (c->minor >= 11 &&
	    (pygen_state(c, gen, &state) < 0 || state == GEN_RUNNING || state == GEN_DONE))
		return -1;
	if (pygen_code(c, gen, code) < 0 || (*offset = lineno_gen_offset(c, gen, *code)) < -1)
		return -1;
	if (state == GEN_CREATED)
		*offset = -1;  /* not started */
	return 0;
}

void gen_sites_add(struct gen_sites *gs, struct pyctx *c, uint64_t gen, struct pytype *t,
		   int64_t size)
{
	uint64_t code;
	int64_t off;
	size_t i;

	if (where(c, gen, &code, &off) < 0 || !code)
		return;
	if (2 * (gs->n + 1) > gs->nslots)
		rehash(gs);
	for (i = site_slot(code, off, gs->nslots); gs->slots[i]; i = (i + 1) & (gs->nslots - 1)) {
		struct gen_site *s = &gs->v[gs->slots[i] - 1];

		if (s->code == code && s->offset == off) {
			s->count++;
			s->bytes += (uint64_t)size;
			return;
		}
	}
	if (gs->n >= GENS_MAX_SITES) {
		gs->overflow = 1;
		return;
	}
	if (gs->n == gs->cap) {
		gs->cap = gs->cap ? gs->cap * 2 : 64;
		gs->v = xreallocarray(gs->v, gs->cap, sizeof(*gs->v));
	}
	memset(&gs->v[gs->n], 0, sizeof(gs->v[gs->n]));
	gs->v[gs->n].code = code;
	gs->v[gs->n].offset = off;
	snprintf(gs->v[gs->n].type, sizeof(gs->v[gs->n].type), "%s", t->name);
	gs->v[gs->n].count = 1;
	gs->v[gs->n].bytes = (uint64_t)size;
	gs->slots[i] = (uint32_t)gs->n + 1;
	gs->n++;
}

static int by_site(const void *a, const void *b)
{
	const struct gen_site *x = a, *y = b;
	int r = strcmp(x->file, y->file);

	if (!r)
		r = (x->line > y->line) - (x->line < y->line);
	if (!r)
		r = strcmp(x->name, y->name);
	if (!r)
		r = strcmp(x->type, y->type);
	if (!r)
		r = (x->offset < 0) - (y->offset < 0);
	return r;
}

static int by_count(const void *a, const void *b)
{
	const struct gen_site *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_site(a, b);
}

void gen_sites_finish(struct gen_sites *gs, struct pyctx *c)
{
	size_t out = 0;

	for (size_t k = 0; k < gs->n; k++) {
		struct gen_site *s = &gs->v[k];

		pycode_describe(c, s->code, s->name, sizeof(s->name), s->file, sizeof(s->file));
		s->line = s->offset < 0 ? -1 : lineno_addr2line(c, s->code, s->offset);
	}
	/* Positions on one line (and not-started ones of one code) are one group. */
	lt_sort(gs->v, gs->n, sizeof(*gs->v), by_site);
	for (size_t k = 0; k < gs->n; k++) {
		if (out && by_site(&gs->v[out - 1], &gs->v[k]) == 0) {
			gs->v[out - 1].count += gs->v[k].count;
			gs->v[out - 1].bytes += gs->v[k].bytes;
			continue;
		}
		gs->v[out++] = gs->v[k];
	}
	gs->n = out;
	lt_sort(gs->v, gs->n, sizeof(*gs->v), by_count);
	free(gs->slots);
	gs->slots = NULL;
	gs->nslots = 0;
}

void gen_sites_free(struct gen_sites *gs)
{
	free(gs->v);
	free(gs->slots);
	memset(gs, 0, sizeof(*gs));
}
