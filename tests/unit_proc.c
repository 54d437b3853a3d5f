/* unit_proc.c - /proc parsers and interpreter names, on fixture text. */
#include "config.h"
#include "proc.h"
#include "target.h"
#include "util.h"
#include "tap.h"

#include <stdlib.h>

static char *fixture(const char *name)
{
	static char buf[1 << 16];
	const char *dir = getenv("LEAKTOP_FIXTURES");
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fixtures", name);
	if (lt_read_file(path, buf, sizeof(buf)) < 0) {
		printf("Bail out! cannot read fixture %s\n", path);
		exit(1);
	}
	return buf;
}

static void test_maps(void)
{
	struct proc_maps m;
	const struct proc_map *hit;

	TAP_OK(proc_maps_parse(fixture("maps.txt"), &m) == 0, "maps fixture parses");
	TAP_EQ_U(m.n, 9, "malformed line skipped, 9 mappings kept");
	TAP_EQ_U(m.v[0].start, 0x55d0c5a00000ull, "start address");
	TAP_EQ_U(m.v[5].offset, 0xc4000, "file offset");
	TAP_EQ_S(m.v[5].perms, "r-xp", "permissions");
	TAP_EQ_S(m.v[3].path, "", "anonymous mapping has an empty path");
	TAP_EQ_S(m.v[6].path, "/tmp/a file with spaces (deleted)", "path with spaces kept whole");
	TAP_EQ_S(m.v[8].path, "[vsyscall]", "64-bit high address parses");
	hit = proc_maps_find(&m, 0x7f2b1e2c4000ull + 10);
	TAP_OK(hit && hit->offset == 0xc4000, "find: address inside a mapping");
	TAP_OK(proc_maps_find(&m, 0x7f2b1e52a000ull) == NULL, "find: end is exclusive");
	TAP_OK(proc_maps_find(&m, 0x1000) == NULL, "find: below every mapping");
	proc_maps_free(&m);
	TAP_OK(proc_maps_parse("garbage\n\n", &m) == -1, "no mapping at all is an error");
}

static void test_status(void)
{
	struct proc_status st;

	TAP_OK(proc_status_parse(fixture("status.txt"), &st) == 0, "status fixture parses");
	TAP_OK(st.state == 't', "state letter");
	TAP_EQ_U(st.tracer_pid, 777, "TracerPid");
	TAP_EQ_U(st.uid_real, 1000, "real uid");
	TAP_EQ_U(st.uid_eff, 1001, "effective uid");
	TAP_EQ_S(st.name, "python3.12", "name");
	TAP_OK(proc_status_parse("Name:\tx\n", &st) == -1, "missing fields are an error");
}

static void test_names(void)
{
	static const struct { const char *path; int ok, minor, ft; } cases[] = {
		{ "/usr/bin/python3.11", 1, 11, 0 },
		{ "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0", 1, 8, 0 },
		{ "/usr/lib/libpython3.13t.so.1.0", 1, 13, 1 },
		{ "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", 1, 11, 0 },
		{ "/opt/python3.12/bin/app", 0, 0, 0 },  /* only the file name counts */
		{ "/usr/bin/python3", 0, 0, 0 },
		{ "/usr/bin/python2.7", 0, 0, 0 },
		{ "/usr/bin/sleep", 0, 0, 0 },
	};

	for (size_t i = 0; i < LT_ARRAY_SIZE(cases); i++) {
		int maj = 0, min = 0, ft = 0;
		int rc = target_version_from_name(cases[i].path, &maj, &min, &ft);

		if (cases[i].ok)
			TAP_OK(rc == 0 && maj == 3 && min == cases[i].minor && ft == cases[i].ft,
			       "version from name %s", cases[i].path);
		else
			TAP_OK(rc == -1, "no version in name %s", cases[i].path);
	}
}

int main(void)
{
	test_maps();
	test_status();
	test_names();
	return tap_done();
}
