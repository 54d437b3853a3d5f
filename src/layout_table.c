/* layout_table.c - choosing a built-in layout table by exact version. */
#include "config.h"
#include "layout.h"
#include "target.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The micro releases e is for: [*lo, *hi].  0, or -1 if e is for another
 * minor or its version cannot be parsed. */
static int entry_range(const struct layout_table *e, int major, int minor, int *lo, int *hi)
{
	int ma, mi, n = 0;
	const char *v = e->version;

	/* "3.14": every micro of the minor. */
	if (sscanf(v, "%d.%d%n", &ma, &mi, &n) != 2 || ma != major || mi != minor)
		return -1;
	*lo = 0;
	*hi = 1 << 30;
	if (v[n] == '\0')
		return 0;
	/* "3.13.18", "3.14.5+" or "3.14.0-3.14.4" */
	v += n;
	if (sscanf(v, ".%d%n", lo, &n) != 1 || *lo < 0)
		return -1;
	v += n;
	if (*v == '\0')
		*hi = *lo;
	else if (strcmp(v, "+") == 0)
		*hi = 1 << 30;
	else if (sscanf(v, "-%d.%d.%d%n", &ma, &mi, hi, &n) != 3 || v[n] != '\0' ||
		 ma != major || mi != minor || *hi < *lo)
		return -1;
	return 0;
}

int layout_table_covers(const struct layout_table *e, int major, int minor, int micro)
{
	int lo, hi;

	if (entry_range(e, major, minor, &lo, &hi) < 0)
		return 0;
	return micro < 0 || (micro >= lo && micro <= hi);
}

/* Append the entries of kind `debug` (-1: any) to out, best first. */
static size_t rank(const struct layout_table *tables, size_t n, int major, int minor, int micro,
		   int debug, const struct layout_table **out, size_t k, size_t max)
{
	/* Covering verified, covering unverified, then by distance in micro
	 * releases, verified first at equal distance. */
	for (int pass = 0; pass < 2 && k < max; pass++) {
		for (size_t i = 0; i < n && k < max; i++)
			if (tables[i].verified == !pass && (debug < 0 || tables[i].debug == debug) &&
			    layout_table_covers(&tables[i], major, minor, micro))
				out[k++] = &tables[i];
	}
	if (micro < 0)
		return k;
	for (int dist = 1; dist < 256 && k < max; dist++) {
		for (int pass = 0; pass < 2 && k < max; pass++) {
			for (size_t i = 0; i < n && k < max; i++) {
				const struct layout_table *e = &tables[i];
				int lo, hi, d;

				if (e->verified != !pass || (debug >= 0 && e->debug != debug) ||
				    entry_range(e, major, minor, &lo, &hi) < 0)
					continue;
				d = micro < lo ? lo - micro : micro > hi ? micro - hi : 0;
				if (d == dist)
					out[k++] = e;
			}
		}
	}
	return k;
}

size_t layout_table_candidates(const struct layout_table *tables, size_t n, int major,
			       int minor, int micro, int debug, const struct layout_table **out,
			       size_t max)
{
	size_t k;

	if (debug < 0)
		return rank(tables, n, major, minor, micro, -1, out, 0, max);
	k = rank(tables, n, major, minor, micro, debug, out, 0, max);
	return rank(tables, n, major, minor, micro, !debug, out, k, max);
}

const struct layout_table *layout_table_pick(const struct layout_table *tables, size_t n,
					     int major, int minor, int micro)
{
	const struct layout_table *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct layout_table *e = &tables[i];

		if (!layout_table_covers(e, major, minor, micro))
			continue;
		/* verified first, then the ones from ordinary builds */
		if (!best || e->verified > best->verified ||
		    (e->verified == best->verified && best->debug && !e->debug))
			best = e;
	}
	return best;
}

const struct layout_table *layout_table_find(int major, int minor, int micro)
{
	return layout_table_pick(layout_tables, layout_tables_count, major, minor, micro);
}

#define MAX_CANDIDATES 16

/* A Py_DEBUG build defines _Py_NegativeRefcount. */
static int target_is_debug(const struct target *t)
{
	return target_has_function((struct target *)t, "_Py_NegativeRefcount");
}

size_t layout_table_ncandidates(const struct target *t)
{
	const struct layout_table *c[MAX_CANDIDATES];

	return layout_table_candidates(layout_tables, layout_tables_count, t->major, t->minor,
				       t->micro, target_is_debug(t), c, MAX_CANDIDATES);
}

int layout_from_table(struct target *t, struct py_layout *lay, size_t k)
{
	const struct layout_table *c[MAX_CANDIDATES];
	size_t n = layout_table_candidates(layout_tables, layout_tables_count, t->major, t->minor,
					   t->micro, target_is_debug(t), c, MAX_CANDIDATES);

	if (k >= n) {
		char want[32];

		snprintf(want, sizeof(want), t->micro >= 0 ? "%d.%d.%d" : "%d.%d", t->major,
			 t->minor, t->micro);
		if (n == 0)
			lt_error(LT_ERR_LAYOUT, "--layout table: leaktop has no built-in layout for "
				 "Python %s; use --layout dwarf with its debug symbols", want);
		return -1;
	}
	*lay = c[k]->lay;
	lay->source = LAYOUT_TABLE;
	lay->table_version = c[k]->version;
	lay->table_nearest = !layout_table_covers(c[k], t->major, t->minor, t->micro);
	return 0;
}
