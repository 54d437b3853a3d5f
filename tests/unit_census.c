/* unit_census.c - aggregation and ordering of census rows. */
#include "config.h"
#include "census.h"
#include "report.h"
#include "tap.h"

int main(void)
{
	struct census c;
	char buf[32];

	census_init(&c);
	census_add(&c, "builtins.dict", 10, 10, 1000);
	census_add(&c, "__main__.Leaky", 5, 5, 5000);
	census_add(&c, "builtins.dict", 2, 1, 200);     /* a second type object, same name */
	census_add(&c, "builtins.list", 7, 7, 1000);
	census_add(&c, "builtins.tuple", 1, 1, 1000);
	census_finish(&c);
	TAP_EQ_U(c.n, 4, "same-named rows merge");
	TAP_EQ_S(c.rows[0].type, "__main__.Leaky", "largest bytes first");
	TAP_EQ_S(c.rows[1].type, "builtins.dict", "then by bytes");
	TAP_EQ_U(c.rows[1].count, 12, "merged count");
	TAP_EQ_U(c.rows[1].gc_tracked, 11, "merged gc_tracked");
	TAP_EQ_U(c.rows[1].bytes, 1200, "merged bytes");
	TAP_EQ_S(c.rows[2].type, "builtins.list", "equal bytes: more objects first");
	TAP_EQ_S(c.rows[3].type, "builtins.tuple", "equal bytes: fewer objects last");
	TAP_EQ_U(c.objects, 25, "total objects");
	TAP_EQ_U(c.bytes, 8200, "total bytes");
	TAP_OK(census_find(&c, "builtins.list") == &c.rows[2], "find by name");
	TAP_OK(census_find(&c, "nope") == NULL, "find a missing name");
	census_free(&c);

	report_human_bytes(buf, sizeof(buf), 512);
	TAP_EQ_S(buf, "512 B", "bytes below 1 KiB");
	report_human_bytes(buf, sizeof(buf), 47395635);
	TAP_EQ_S(buf, "45.2 MiB", "MiB with one decimal");
	return tap_done();
}
