/* history.h - census snapshots over time, and what grows.
 *
 * A bounded ring of snapshots (per type: count and bytes).  When the ring is
 * full the older half is thinned (every second snapshot dropped), so memory
 * stays capped while the history still reaches back to the first snapshot
 * at a coarser resolution.  The baseline (the first snapshot, or the one
 * taken when the user reset it) is kept apart and never thinned. */
#ifndef LEAKTOP_HISTORY_H
#define LEAKTOP_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct census;

/* Snapshots kept at full resolution before thinning starts: an hour at the
 * default 2 s interval. */
#define HISTORY_MAX_SNAPSHOTS 1800
/* Memory the per-type points may take; fewer snapshots are kept when a
 * process has very many types. */
#define HISTORY_MAX_BYTES ((size_t)64 << 20)
/* Intervals the growth signal looks back over. */
#define HISTORY_GROWTH_WINDOW 10

struct hist_point {
	uint64_t count, bytes;
};

struct hist_snap {
	time_t wall;                 /* when it was taken */
	uint64_t mono_us;
	uint64_t pause_us;
	uint64_t objects, bytes;
	uint64_t rss_bytes;          /* of the target, from /proc; 0 unknown */
	long nfds;                   /* open descriptors; -1 unknown */
	uint32_t seq;                /* 0, 1, 2 ... as taken (thinning leaves gaps) */
	uint32_t ntypes;             /* points[] covers type ids 0..ntypes-1 */
	struct hist_point *points;   /* indexed by type id; missing = 0 */
};

struct hist_type {
	char *name;
};

struct history {
	struct hist_type *types;     /* id -> name */
	size_t ntypes, types_cap;
	size_t *index;               /* open-addressing name -> id + 1 */
	size_t index_cap;
	struct hist_snap *ring;      /* oldest first, len of them */
	size_t len, cap;
	struct hist_snap baseline;
	int have_baseline;
	uint32_t next_seq;
	size_t point_bytes;          /* memory in points, for the cap */
	int growth_on_bytes;         /* the growth signal follows bytes, not counts, and
				      * only what never (or seldom) shrinks grows */
};

/* What the presenters need about one type, now. */
struct type_stat {
	uint32_t id;
	const char *name;
	uint64_t count, bytes;
	int64_t d_count, d_bytes;            /* since the previous snapshot */
	int64_t d_base_count, d_base_bytes;  /* since the baseline */
	double slope;                        /* objects (or bytes) per interval (least squares) */
	int ups, downs, window;              /* intervals that grew / shrank */
	double growth;                       /* slope weighted by how steady it is */
};

enum stat_sort {
	SORT_GROWTH = 0, SORT_COUNT, SORT_BYTES, SORT_DELTA, SORT_DELTA_BASE, SORT_NAME,
	SORT_COUNT_OF
};

void history_init(struct history *h);
void history_free(struct history *h);
/* Record a census.  rss/nfds describe the target at that time. */
void history_add(struct history *h, const struct census *c, time_t wall, uint64_t mono_us,
		 uint64_t pause_us, uint64_t rss_bytes, long nfds);
/* Make the latest snapshot the baseline. */
void history_reset_baseline(struct history *h);
const struct hist_snap *history_latest(const struct history *h);

/* Per-type stats for every type seen in the latest snapshot or the
 * baseline, sorted.  Returns the count; *out is malloc'd. */
size_t history_stats(const struct history *h, enum stat_sort sort, struct type_stat **out);
/* The last n points of one type (oldest first) into counts/bytes (either may
 * be NULL); returns how many were written. */
size_t history_series(const struct history *h, uint32_t id, size_t n, uint64_t *counts,
		      uint64_t *bytes);
/* Likewise for the totals (objects, bytes, rss, nfds). */
size_t history_series_totals(const struct history *h, size_t n, uint64_t *objects,
			     uint64_t *bytes);
/* Id of a type name, or -1 if never seen. */
long history_type_id(const struct history *h, const char *name);

#endif
