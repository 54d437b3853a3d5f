/* history.c - a bounded ring of censuses and the growth signal. */
#include "config.h"
#include "history.h"
#include "census.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void history_init(struct history *h)
{
	memset(h, 0, sizeof(*h));
}

static void snap_free(struct hist_snap *s)
{
	free(s->points);
	s->points = NULL;
}

void history_free(struct history *h)
{
	for (size_t i = 0; i < h->ntypes; i++)
		free(h->types[i].name);
	free(h->types);
	free(h->index);
	for (size_t i = 0; i < h->len; i++)
		snap_free(&h->ring[i]);
	free(h->ring);
	snap_free(&h->baseline);
	memset(h, 0, sizeof(*h));
}

static uint64_t hash_name(const char *s)
{
	uint64_t x = 1469598103934665603ull;

	while (*s)
		x = (x ^ (unsigned char)*s++) * 1099511628211ull;
	return x;
}

long history_type_id(const struct history *h, const char *name)
{
	if (!h->index_cap)
		return -1;
	for (size_t i = hash_name(name) & (h->index_cap - 1); h->index[i];
	     i = (i + 1) & (h->index_cap - 1))
		if (strcmp(h->types[h->index[i] - 1].name, name) == 0)
			return (long)(h->index[i] - 1);
	return -1;
}

static void index_insert(struct history *h, size_t id)
{
	size_t i = hash_name(h->types[id].name) & (h->index_cap - 1);

	while (h->index[i])
		i = (i + 1) & (h->index_cap - 1);
	h->index[i] = id + 1;
}

static uint32_t intern(struct history *h, const char *name)
{
	long id = history_type_id(h, name);

	if (id >= 0)
		return (uint32_t)id;
	if (2 * (h->ntypes + 1) > h->index_cap) {
		free(h->index);
		h->index_cap = h->index_cap ? h->index_cap * 2 : 1024;
		h->index = xcalloc(h->index_cap, sizeof(*h->index));
		for (size_t k = 0; k < h->ntypes; k++)
			index_insert(h, k);
	}
	if (h->ntypes == h->types_cap) {
		h->types_cap = h->types_cap ? h->types_cap * 2 : 256;
		h->types = xreallocarray(h->types, h->types_cap, sizeof(*h->types));
	}
	h->types[h->ntypes].name = xstrdup(name);
	index_insert(h, h->ntypes);
	return (uint32_t)h->ntypes++;
}

static void snap_copy(struct hist_snap *dst, const struct hist_snap *src)
{
	*dst = *src;
	dst->points = xcalloc(src->ntypes ? src->ntypes : 1, sizeof(*dst->points));
	memcpy(dst->points, src->points, src->ntypes * sizeof(*dst->points));
}

/* Drop every second snapshot of the older half of the ring. */
static void thin(struct history *h)
{
	size_t half = h->len / 2, out = 0;

	for (size_t i = 0; i < h->len; i++) {
		if (i < half && (i & 1)) {
			h->point_bytes -= h->ring[i].ntypes * sizeof(struct hist_point);
			snap_free(&h->ring[i]);
			continue;
		}
		h->ring[out++] = h->ring[i];
	}
	h->len = out;
}

void history_add(struct history *h, const struct census *c, time_t wall, uint64_t mono_us,
		 uint64_t pause_us, uint64_t rss_bytes, long nfds)
{
	struct hist_snap s;

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < c->n; i++)
		intern(h, c->rows[i].type);
	s.wall = wall;
	s.mono_us = mono_us;
	s.pause_us = pause_us;
	s.objects = c->objects;
	s.bytes = c->bytes;
	s.rss_bytes = rss_bytes;
	s.nfds = nfds;
	s.seq = h->next_seq++;
	s.ntypes = (uint32_t)h->ntypes;
	s.points = xcalloc(s.ntypes ? s.ntypes : 1, sizeof(*s.points));
	for (size_t i = 0; i < c->n; i++) {
		uint32_t id = (uint32_t)history_type_id(h, c->rows[i].type);

		s.points[id].count += c->rows[i].count;
		s.points[id].bytes += c->rows[i].bytes;
	}
	while (h->len >= HISTORY_MAX_SNAPSHOTS ||
	       (h->len > 16 && h->point_bytes + s.ntypes * sizeof(*s.points) > HISTORY_MAX_BYTES))
		thin(h);
	if (h->len == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->ring = xreallocarray(h->ring, h->cap, sizeof(*h->ring));
	}
	h->ring[h->len++] = s;
	h->point_bytes += s.ntypes * sizeof(*s.points);
	if (!h->have_baseline) {
		snap_copy(&h->baseline, &s);
		h->have_baseline = 1;
	}
}

void history_reset_baseline(struct history *h)
{
	if (!h->len)
		return;
	snap_free(&h->baseline);
	snap_copy(&h->baseline, &h->ring[h->len - 1]);
	h->have_baseline = 1;
}

const struct hist_snap *history_latest(const struct history *h)
{
	return h->len ? &h->ring[h->len - 1] : NULL;
}

static struct hist_point point_of(const struct hist_snap *s, uint32_t id)
{
	struct hist_point zero = { 0, 0 };

	return s && id < s->ntypes ? s->points[id] : zero;
}

/* Least-squares slope of y over x = 0..n-1. */
static double slope_of(const double *y, size_t n)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++) {
		sx += (double)i;
		sy += y[i];
		sxx += (double)i * (double)i;
		sxy += (double)i * y[i];
	}
	return ((double)n * sxy - sx * sy) / ((double)n * sxx - sx * sx);
}

static void growth_of(const struct history *h, uint32_t id, struct type_stat *st)
{
	size_t w = h->len > 1 ? h->len - 1 : 0;
	double y[HISTORY_GROWTH_WINDOW + 1];

	if (w > HISTORY_GROWTH_WINDOW)
		w = HISTORY_GROWTH_WINDOW;
	st->window = (int)w;
	st->ups = st->downs = 0;
	for (size_t k = 0; k <= w; k++) {
		const struct hist_snap *s = &h->ring[h->len - 1 - w + k];

		y[k] = (double)(h->growth_on_bytes ? point_of(s, id).bytes : point_of(s, id).count);
		if (k > 0 && y[k] > y[k - 1])
			st->ups++;
		else if (k > 0 && y[k] < y[k - 1])
			st->downs++;
	}
	st->slope = slope_of(y, w + 1);
	/* Steady growth: it grew in at least two thirds of the intervals and
	 * trends up; the slope is weighted by how much more often it grew than
	 * shrank.  Churn (up about as often as down) scores 0. */
	st->growth = 0;
	if (w > 0 && st->slope > 0 && 3 * st->ups >= 2 * (int)w)
		st->growth = st->slope * (double)(st->ups - st->downs) / (double)w;
	/* A holder's memory (growth_on_bytes) leaks by accumulating: it must
	 * have grown over two intervals at least and shrunk in at most one in
	 * five.  A cache that evicts, a buffer that is drained, shrinks. */
	if (h->growth_on_bytes && (w < 2 || 5 * st->downs > (int)w))
		st->growth = 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return (a < b) - (a > b);  /* descending */
}

static int cmp_stat(const void *pa, const void *pb, void *arg)
{
	const struct type_stat *a = pa, *b = pb;
	enum stat_sort sort_key = *(const enum stat_sort *)arg;
	int r = 0;

	switch (sort_key) {
	case SORT_GROWTH:
		if (a->growth != b->growth)
			return a->growth < b->growth ? 1 : -1;
		r = cmp_i64(a->d_base_count, b->d_base_count);
		break;
	case SORT_COUNT:
		r = cmp_i64((int64_t)a->count, (int64_t)b->count);
		break;
	case SORT_BYTES:
		r = cmp_i64((int64_t)a->bytes, (int64_t)b->bytes);
		break;
	case SORT_DELTA:
		r = cmp_i64(a->d_count, b->d_count);
		break;
	case SORT_DELTA_BASE:
		r = cmp_i64(a->d_base_count, b->d_base_count);
		break;
	case SORT_NAME:
	case SORT_COUNT_OF:
		return strcmp(a->name, b->name);
	}
	if (!r)
		r = cmp_i64((int64_t)a->bytes, (int64_t)b->bytes);
	return r ? r : strcmp(a->name, b->name);
}

size_t history_stats(const struct history *h, enum stat_sort sort, struct type_stat **out)
{
	const struct hist_snap *now = history_latest(h);
	const struct hist_snap *prev = h->len > 1 ? &h->ring[h->len - 2] : NULL;
	const struct hist_snap *base = h->have_baseline ? &h->baseline : NULL;
	struct type_stat *v;
	size_t n = 0;

	*out = NULL;
	if (!now)
		return 0;
	v = xcalloc(h->ntypes ? h->ntypes : 1, sizeof(*v));
	for (uint32_t id = 0; id < h->ntypes; id++) {
		struct hist_point p = point_of(now, id);
		struct hist_point q = prev ? point_of(prev, id) : p;
		struct hist_point b = base ? point_of(base, id) : p;
		struct type_stat *st;

		/* A holder that is no container (an Event, a logger, a
		 * session) has no length: its bytes say it is there. */
		if (!p.count && !q.count && !b.count && !p.bytes && !q.bytes && !b.bytes)
			continue;
		st = &v[n++];
		st->id = id;
		st->name = h->types[id].name;
		st->count = p.count;
		st->bytes = p.bytes;
		st->d_count = (int64_t)(p.count - q.count);
		st->d_bytes = (int64_t)(p.bytes - q.bytes);
		st->d_base_count = (int64_t)(p.count - b.count);
		st->d_base_bytes = (int64_t)(p.bytes - b.bytes);
		growth_of(h, id, st);
	}
	if (n > 1)
		qsort_r(v, n, sizeof(*v), cmp_stat, &sort);
	*out = v;
	return n;
}

size_t history_series(const struct history *h, uint32_t id, size_t n, uint64_t *counts,
		      uint64_t *bytes)
{
	size_t start = h->len > n ? h->len - n : 0;

	for (size_t i = start; i < h->len; i++) {
		struct hist_point p = point_of(&h->ring[i], id);

		if (counts)
			counts[i - start] = p.count;
		if (bytes)
			bytes[i - start] = p.bytes;
	}
	return h->len - start;
}

size_t history_series_totals(const struct history *h, size_t n, uint64_t *objects,
			     uint64_t *bytes)
{
	size_t start = h->len > n ? h->len - n : 0;

	for (size_t i = start; i < h->len; i++) {
		if (objects)
			objects[i - start] = h->ring[i].objects;
		if (bytes)
			bytes[i - start] = h->ring[i].bytes;
	}
	return h->len - start;
}
