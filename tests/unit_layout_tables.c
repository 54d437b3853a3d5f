/* unit_layout_tables.c - choosing a built-in layout by exact version, and the
 * 3.14 entries derived from headers (no 3.14 interpreter needed). */
#include "config.h"
#include "layout.h"
#include "tap.h"

/* Fields a layout for 3.<minor> must have (LT_LAYOUT_FIELDS' ranges). */
static int missing_fields(const struct py_layout *l, int minor)
{
	int n = 0;

#define LT_CHECK_FIELD(name, kind, ctype, path, lo, hi) \
	if (minor >= (lo) && minor <= (hi) && l->name < 0) { \
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

int main(void)
{
	const struct layout_table *early = layout_table_find(3, 14, 2);
	const struct layout_table *late = layout_table_find(3, 14, 7);
	const struct layout_table *t13 = layout_table_find(3, 13, 0);

	version_ranges();

	TAP_OK(early && late && early != late, "3.14.2 and 3.14.7 each find their own entry");
	TAP_OK(t13 != NULL, "3.13.0 finds an entry");
	if (!early || !late || !t13)
		return tap_done();
	TAP_EQ_S(early->version, "3.14.0-3.14.4", "3.14.2: the incremental-GC entry");
	TAP_EQ_S(late->version, "3.14.5+", "3.14.7: the generational entry");
	TAP_OK(layout_table_find(3, 14, 4) == early && layout_table_find(3, 14, 5) == late,
	       "the boundary is between 3.14.4 and 3.14.5");
	TAP_OK(!early->verified && !late->verified, "the 3.14 entries are marked unverified");
	TAP_OK(early->lay.minor == 14 && late->lay.minor == 14, "the 3.14 entries are for minor 14");
	TAP_EQ_U(missing_fields(&early->lay, 14), 0, "3.14.0-3.14.4 has every field 3.14 needs");
	TAP_EQ_U(missing_fields(&late->lay, 14), 0, "3.14.5+ has every field 3.14 needs");
	TAP_OK(early->lay.gcs_generations == late->lay.gcs_generations &&
	       early->lay.gen_size == late->lay.gen_size &&
	       early->lay.gcs_permanent == late->lay.gcs_permanent &&
	       early->lay.gcs_collecting == late->lay.gcs_collecting,
	       "young/old[2] and generations[3] sit at the same offsets");
	TAP_OK(early->lay.is_sysdict < late->lay.is_sysdict,
	       "3.14.5+ grew the GC state: interpreter fields after it moved");

	TAP_OK(t13->verified && t13 == layout_table_find(3, 13, 9) && t13->lay.minor == 13,
	       "3.13.x finds the verified 3.13 entry");
	TAP_EQ_U(missing_fields(&t13->lay, 13), 0, "3.13 has every field 3.13 needs");
	TAP_OK(layout_table_find(3, 15, 0) == NULL, "no entry for 3.15");
	return tap_done();
}
