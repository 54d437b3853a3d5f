/* unit_layout_tables.c - choosing a built-in layout by exact version, and the
 * 3.14 entries derived from headers (no 3.14 interpreter needed). */
#include "config.h"
#include "layout.h"
#include "tap.h"

/* Fields a layout for 3.<minor> must have (LT_LAYOUT_FIELDS' ranges). */
static int missing_fields(const struct py_layout *l, int minor)
{
	int n = 0;

#define OFF 0
#define SIZE 0
#define ELEM 0
#define OPT 1
#define LT_CHECK_FIELD(name, kind, ctype, path, lo, hi) \
	if (!(kind) && minor >= (lo) && minor <= (hi) && l->name < 0) { \
		printf("#   %s is %d\n", #name, l->name); \
		n++; \
	}
	LT_LAYOUT_FIELDS(LT_CHECK_FIELD)
#undef LT_CHECK_FIELD
	return n;
}

static void version_ranges(void)
{
	struct layout_table any = { .version = "3.14" }, from5 = { .version = "3.14.5+" },
		upto4 = { .version = "3.14.0-3.14.4" }, bad1 = { .version = "3.14.x" },
		bad2 = { .version = "3.14.4-3.14.2" }, bad3 = { .version = "3.14.0-3.15.4" };
	struct layout_table pick[] = {
		{ .version = "3.13", .built_from = "headers", .verified = 0 },
		{ .version = "3.13", .built_from = "reference build", .verified = 1 },
		{ .version = "3.13", .built_from = "another build", .verified = 1 },
	};

	TAP_OK(layout_table_covers(&any, 3, 14, 0) && layout_table_covers(&any, 3, 14, 9),
	       "\"3.14\" covers every micro");
	TAP_OK(!layout_table_covers(&any, 3, 13, 0) && !layout_table_covers(&any, 3, 1, 4),
	       "\"3.14\" covers no other minor");
	TAP_OK(!layout_table_covers(&from5, 3, 14, 4) && layout_table_covers(&from5, 3, 14, 5) &&
	       layout_table_covers(&from5, 3, 14, 40), "\"3.14.5+\" covers 5 and later");
	TAP_OK(layout_table_covers(&upto4, 3, 14, 0) && layout_table_covers(&upto4, 3, 14, 4) &&
	       !layout_table_covers(&upto4, 3, 14, 5), "\"3.14.0-3.14.4\" is inclusive");
	TAP_OK(layout_table_covers(&from5, 3, 14, -1) && layout_table_covers(&upto4, 3, 14, -1),
	       "an unknown micro is covered by every entry of the minor");
	TAP_OK(!layout_table_covers(&bad1, 3, 14, 0) && !layout_table_covers(&bad2, 3, 14, 3) &&
	       !layout_table_covers(&bad3, 3, 14, 3), "malformed ranges cover nothing");
	TAP_EQ_S(layout_table_pick(pick, 3, 3, 13, 1)->built_from, "reference build",
		 "a verified entry wins over an unverified one, then the first listed");
	TAP_OK(layout_table_pick(pick, 1, 3, 13, 1) == &pick[0], "an unverified entry alone is used");
	TAP_OK(layout_table_pick(pick, 3, 3, 12, 1) == NULL, "no entry for another minor");
}

/* The candidates for a version, as "v1 v2d ..." of their version strings
 * ("d" after a debug build's). */
static const char *candidates(int minor, int micro, int debug)
{
	static char buf[256];
	const struct layout_table *c[16];
	size_t n = layout_table_candidates(layout_tables, layout_tables_count, 3, minor, micro, debug,
					   c, 16);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s%s", i ? " " : "",
			 c[i]->version, c[i]->debug ? "d" : "");
	return buf;
}

static void nearest(void)
{
	struct layout_table t[] = {
		{ .version = "3.13.0", .verified = 1 },
		{ .version = "3.13.5", .verified = 1 },
		{ .version = "3.13.18", .verified = 1 },
		{ .version = "3.13.7-3.13.9", .verified = 0 },
	};
	const struct layout_table *c[8];

	TAP_OK(layout_table_covers(&t[1], 3, 13, 5) && !layout_table_covers(&t[1], 3, 13, 6),
	       "\"3.13.5\" covers that release only");
	TAP_EQ_U(layout_table_candidates(t, 4, 3, 13, 5, -1, c, 8), 4, "every entry of the minor is a candidate");
	TAP_OK(c[0] == &t[1] && c[1] == &t[3] && c[2] == &t[0] && c[3] == &t[2],
	       "3.13.5: its own entry, then the nearest (3.13.7-9, 3.13.0, 3.13.18)");
	layout_table_candidates(t, 4, 3, 13, 8, -1, c, 8);
	TAP_OK(c[0] == &t[3] && c[1] == &t[1] && c[2] == &t[0] && c[3] == &t[2],
	       "3.13.8: the unverified range covering it first, then by distance");
	TAP_EQ_U(layout_table_candidates(t, 4, 3, 12, 5, -1, c, 8), 0, "none for another minor");
}

int main(void)
{
	const struct layout_table *early = layout_table_find(3, 14, 2);
	const struct layout_table *t13 = layout_table_find(3, 13, 0);

	version_ranges();
	nearest();

	TAP_OK(early && t13, "3.14.2 and 3.13.0 find entries");
	if (!early || !t13)
		return tap_done();
	TAP_EQ_S(early->version, "3.14.0-3.14.4", "3.14.2: the incremental-GC entry (from headers)");
	TAP_OK(!early->verified && early->lay.minor == 14, "it is marked unverified, for minor 14");
	TAP_EQ_U(missing_fields(&early->lay, 14), 0, "3.14.0-3.14.4 has every field 3.14 needs");
	TAP_EQ_S(candidates(14, 7, 0), "3.14.10 3.14.0-3.14.4 3.14.10d",
		 "3.14.7: the verified 3.14.10 build first, the incremental-GC entry after, "
		 "the debug build's last");
	TAP_EQ_S(candidates(14, 2, 0), "3.14.0-3.14.4 3.14.10 3.14.10d", "3.14.2: the other way round");
	TAP_OK(layout_table_find(3, 14, 10) && layout_table_find(3, 14, 10)->verified &&
	       missing_fields(&layout_table_find(3, 14, 10)->lay, 14) == 0,
	       "3.14.10 is verified and has every field 3.14 needs");
	TAP_OK(early->lay.gcs_generations == layout_table_find(3, 14, 10)->lay.gcs_generations &&
	       early->lay.is_sysdict < layout_table_find(3, 14, 10)->lay.is_sysdict,
	       "young/old[2] sit where generations[3] do; 3.14.5+ grew the GC state after them");

	TAP_OK(t13->verified && t13->lay.minor == 13, "3.13.0 finds its verified entry");
	TAP_EQ_U(missing_fields(&t13->lay, 13), 0, "3.13 has every field 3.13 needs");
	TAP_OK(t13->lay.gcs_generations != layout_table_find(3, 13, 18)->lay.gcs_generations,
	       "the GC generations moved inside 3.13 (3.13.0 and 3.13.18 differ)");
	TAP_EQ_S(candidates(13, 9, 0), "3.13.5 3.13.0 3.13.18 3.13.5d 3.13.18d",
		 "3.13.9: the nearest releases first (3.13.5, then 3.13.0 and 3.13.18)");
	TAP_EQ_S(candidates(13, 18, 1), "3.13.18d 3.13.5d 3.13.18 3.13.5 3.13.0",
		 "a debug 3.13.18: the debug builds' entries first");
	TAP_OK(layout_table_find(3, 15, 2) && missing_fields(&layout_table_find(3, 15, 2)->lay, 15) == 0,
	       "3.15.2 has an entry with every field 3.15 needs");
	return tap_done();
}
