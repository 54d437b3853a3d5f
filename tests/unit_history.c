/* unit_history.c - the snapshot ring and the growth signal. */
#include "config.h"
#include "census.h"
#include "history.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static void add(struct history *h, uint64_t grow, uint64_t churn, uint64_t flat)
{
	struct census c;

	census_init(&c);
	census_add(&c, "app.Grow", grow, grow, grow * 48);
	if (churn)
		census_add(&c, "app.Churn", churn, churn, churn * 48);
	census_add(&c, "builtins.dict", flat, flat, flat * 64);
	census_finish(&c);
	history_add(h, &c, 0, 0, 0, 0, -1);
	census_free(&c);
}

static const struct type_stat *find(const struct type_stat *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

int main(void)
{
	struct history h;
	struct type_stat *st;
	size_t n;
	const struct type_stat *g, *c, *f;
	uint64_t series[8];

	history_init(&h);
	/* Grow climbs 100 a step; Churn jumps between 0 and 5,000. */
	for (int i = 0; i < 8; i++)
		add(&h, 1000 + 100 * (uint64_t)i, i % 2 ? 5000 : 0, 700);
	n = history_stats(&h, SORT_GROWTH, &st);
	g = find(st, n, "app.Grow");
	c = find(st, n, "app.Churn");
	f = find(st, n, "builtins.dict");
	TAP_OK(g && c && f, "all three types have stats");
	TAP_EQ_S(st[0].name, "app.Grow", "steady growth ranks first");
	TAP_OK(g && c && g->growth > c->growth, "growth beats churn");
	TAP_OK(c && c->growth == 0, "churn (up as often as down) has no growth");
	TAP_OK(f && f->growth == 0 && f->d_count == 0, "a flat type neither grows nor changes");
	TAP_EQ_U(g ? g->d_count : 0, 100, "change since the previous snapshot");
	TAP_EQ_U(g ? g->d_base_count : 0, 700, "change since the baseline");
	TAP_OK(g && g->slope > 99.9 && g->slope < 100.1, "least-squares slope of a straight line");
	TAP_OK(c && c->count == 5000 && c->d_count == 5000, "churn now and its last jump");
	free(st);

	/* Churn is gone in the last snapshot: still listed, with count 0. */
	add(&h, 1800, 0, 700);
	n = history_stats(&h, SORT_NAME, &st);
	c = find(st, n, "app.Churn");
	TAP_OK(c && c->count == 0 && c->d_count == -5000, "a vanished type shows its drop");
	TAP_EQ_S(st[0].name, "app.Churn", "sort by name");
	free(st);

	history_reset_baseline(&h);
	n = history_stats(&h, SORT_GROWTH, &st);
	g = find(st, n, "app.Grow");
	TAP_OK(g && g->d_base_count == 0, "baseline reset: no change since it");
	free(st);

	TAP_EQ_U(history_series(&h, (uint32_t)history_type_id(&h, "app.Grow"), 3, series, NULL), 3,
		 "series of the last 3 points");
	TAP_EQ_U(series[2], 1800, "newest point last");
	TAP_EQ_U(series[0], 1600, "oldest of them first");

	/* The ring is bounded: thinning keeps it under the cap, oldest kept. */
	for (int i = 0; i < HISTORY_MAX_SNAPSHOTS * 2; i++)
		add(&h, 2000 + (uint64_t)i, 0, 700);
	TAP_OK(h.len <= HISTORY_MAX_SNAPSHOTS, "ring stays within %d snapshots (%zu)",
	       HISTORY_MAX_SNAPSHOTS, h.len);
	TAP_EQ_U(h.ring[0].seq, 0, "thinning keeps the very first snapshot");
	TAP_EQ_U(history_latest(&h)->seq, 9 + 2 * HISTORY_MAX_SNAPSHOTS - 1, "and the newest");
	history_free(&h);
	return tap_done();
}
