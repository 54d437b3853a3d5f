/* layout_table.c - choosing a built-in layout table by exact version. */
#include "config.h"
#include "layout.h"
#include "target.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int layout_table_covers(const struct layout_table *e, int major, int minor, int micro)
{
	int ma, mi, lo, hi, n = 0;
	const char *v = e->version;

	/* "3.14": every micro of the minor. */
	if (sscanf(v, "%d.%d%n", &ma, &mi, &n) != 2 || ma != major || mi != minor)
		return 0;
	if (v[n] == '\0')
		return 1;
	/* "3.14.5+" or "3.14.0-3.14.4" */
	v += n;
	if (sscanf(v, ".%d%n", &lo, &n) != 1 || lo < 0)
		return 0;
	v += n;
	if (strcmp(v, "+") == 0)
		hi = 1 << 30;
	else if (sscanf(v, "-%d.%d.%d%n", &ma, &mi, &hi, &n) != 3 || v[n] != '\0' ||
		 ma != major || mi != minor || hi < lo)
		return 0;
	return micro < 0 || (micro >= lo && micro <= hi);
}

const struct layout_table *layout_table_pick(const struct layout_table *tables, size_t n,
					     int major, int minor, int micro)
{
	const struct layout_table *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct layout_table *e = &tables[i];

		if (layout_table_covers(e, major, minor, micro) && (!best || (e->verified && !best->verified)))
			best = e;
	}
	return best;
}

const struct layout_table *layout_table_find(int major, int minor, int micro)
{
	return layout_table_pick(layout_tables, layout_tables_count, major, minor, micro);
}

int layout_from_table(struct target *t, struct py_layout *lay)
{
	const struct layout_table *e = layout_table_find(t->major, t->minor, t->micro);

	if (!e) {
		char want[32];

		snprintf(want, sizeof(want), t->micro >= 0 ? "%d.%d.%d" : "%d.%d", t->major,
			 t->minor, t->micro);
		lt_error(LT_ERR_LAYOUT, "--layout table: leaktop has no built-in layout for Python %s; "
			 "use --layout dwarf with its debug symbols", want);
		return -1;
	}
	*lay = e->lay;
	lay->source = LAYOUT_TABLE;
	return 0;
}
