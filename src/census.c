/* census.c - aggregation and ordering of per-type counts. */
#include "config.h"
#include "census.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void census_init(struct census *c)
{
	memset(c, 0, sizeof(*c));
	c->complete = 1;
}

void census_free(struct census *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->rows[i].type);
	for (size_t i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->rows);
	free(c->notes);
	memset(c, 0, sizeof(*c));
}

struct census_row *census_add(struct census *c, const char *type, uint64_t count,
			      uint64_t gc_tracked, uint64_t bytes)
{
	struct census_row *r;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->rows = xreallocarray(c->rows, c->cap, sizeof(*c->rows));
	}
	r = &c->rows[c->n++];
	r->type = xstrdup(type);
	r->count = count;
	r->gc_tracked = gc_tracked;
	r->bytes = bytes;
	r->gc_bytes = 0;
	r->buffer_bytes = 0;
	r->mapped_bytes = 0;
	r->object_only = 0;
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct census_row *)a)->type, ((const struct census_row *)b)->type);
}

static int by_bytes(const void *a, const void *b)
{
	const struct census_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->type, y->type);
}

void census_finish(struct census *c)
{
	size_t out = 0;

	lt_sort(c->rows, c->n, sizeof(*c->rows), by_name);
	for (size_t i = 0; i < c->n; i++) {
		if (out > 0 && strcmp(c->rows[out - 1].type, c->rows[i].type) == 0) {
			c->rows[out - 1].count += c->rows[i].count;
			c->rows[out - 1].gc_tracked += c->rows[i].gc_tracked;
			c->rows[out - 1].bytes += c->rows[i].bytes;
			c->rows[out - 1].gc_bytes += c->rows[i].gc_bytes;
			c->rows[out - 1].buffer_bytes += c->rows[i].buffer_bytes;
			c->rows[out - 1].mapped_bytes += c->rows[i].mapped_bytes;
			c->rows[out - 1].object_only |= c->rows[i].object_only;
			free(c->rows[i].type);
			continue;
		}
		c->rows[out++] = c->rows[i];
	}
	c->n = out;
	/* A row moved away entirely (unsigned sums wrap back to 0) goes; a
	 * holder's row with no length (an Event, a logger) stays by its bytes. */
	out = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->rows[i].count && !c->rows[i].bytes) {
			free(c->rows[i].type);
			continue;
		}
		c->rows[out++] = c->rows[i];
	}
	c->n = out;
	c->objects = c->bytes = c->gc_tracked = c->buffer_bytes = c->mapped_bytes = 0;
	for (size_t i = 0; i < c->n; i++) {
		c->objects += c->rows[i].count;
		c->gc_tracked += c->rows[i].gc_tracked;
		c->bytes += c->rows[i].bytes;
		c->buffer_bytes += c->rows[i].buffer_bytes;
		c->mapped_bytes += c->rows[i].mapped_bytes;
	}
	lt_sort(c->rows, c->n, sizeof(*c->rows), by_bytes);
}

void census_note(struct census *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		lt_fatal("out of memory");
	va_end(ap);
	c->notes = xreallocarray(c->notes, c->nnotes + 1, sizeof(*c->notes));
	c->notes[c->nnotes++] = s;
}

const struct census_row *census_find(const struct census *c, const char *type)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->rows[i].type, type) == 0)
			return &c->rows[i];
	return NULL;
}
