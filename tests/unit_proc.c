/* unit_proc.c - /proc parsers and interpreter names, on fixture text. */
#include "config.h"
#include "fds.h"
#include "net.h"
#include "proc.h"
#include "target.h"
#include "util.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

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

static void test_net(void)
{
	struct sock_table t = { 0 };
	const struct sock_info *s;
	char buf[256];

	TAP_EQ_U(net_parse("tcp", fixture("net_tcp.txt"), &t), 2, "tcp: two sockets, junk skipped");
	TAP_EQ_U(net_parse("tcp6", fixture("net_tcp6.txt"), &t), 2, "tcp6: two sockets");
	TAP_EQ_U(net_parse("unix", fixture("net_unix.txt"), &t), 3, "unix: three sockets");
	net_sort(&t);
	s = net_find(&t, 1001);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:8080") == 0 && strcmp(s->state, "LISTEN") == 0 &&
	       !s->remote[0], "tcp listener: address, port, state, no remote");
	s = net_find(&t, 1002);
	TAP_OK(s && strcmp(s->remote, "127.0.0.1:8080") == 0 && strcmp(s->state, "ESTABLISHED") == 0,
	       "tcp connection: remote and state");
	if (s) {
		net_describe(s, buf, sizeof(buf));
		TAP_EQ_S(buf, "127.0.0.1:50000->127.0.0.1:8080 (ESTABLISHED)", "lsof-style description");
	}
	s = net_find(&t, 4242);
	TAP_OK(s && strcmp(s->local, "[::1]:53") == 0, "tcp6 loopback");
	s = net_find(&t, 4243);
	TAP_OK(s && strcmp(s->local, "[::ffff:127.0.0.1]:8080") == 0, "tcp6 v4-mapped address");
	s = net_find(&t, 2001);
	TAP_OK(s && strcmp(s->local, "/run/app.sock") == 0 && strcmp(s->state, "LISTEN") == 0 &&
	       strcmp(s->type, "STREAM") == 0, "unix listener with a path");
	s = net_find(&t, 2002);
	TAP_OK(s && !s->local[0] && strcmp(s->state, "CONNECTED") == 0, "unix socketpair end");
	s = net_find(&t, 2003);
	TAP_OK(s && strcmp(s->local, "@abstract-name") == 0 && strcmp(s->type, "DGRAM") == 0,
	       "unix abstract datagram socket");
	TAP_OK(net_find(&t, 999) == NULL, "unknown inode");
	net_free(&t);
}

static void test_fdinfo(void)
{
	struct fd_entry e;
	char buf[256];

	memset(&e, 0, sizeof(e));
	fd_parse_info(&e, fixture("fdinfo_epoll.txt"));
	TAP_OK(e.have_info && e.pos == 0 && e.mode == 'u', "fdinfo: pos and mode");
	TAP_EQ_S(e.detail, "epoll watches fd 4,7", "epoll: watched descriptors");
	fd_flags_str(e.flags, buf, sizeof(buf));
	TAP_EQ_S(buf, "O_RDWR|O_CLOEXEC", "flags by name");
	fd_flags_str(O_WRONLY | O_APPEND | O_CREAT, buf, sizeof(buf));
	TAP_EQ_S(buf, "O_WRONLY|O_CREAT|O_APPEND", "write flags by name");

	memset(&e, 0, sizeof(e));
	e.kind = FDK_REG;
	snprintf(e.target, sizeof(e.target), "/data/in/rows-17.csv (deleted)");
	fd_group(&e, buf, sizeof(buf));
	TAP_EQ_S(buf, "REG /data/in/*.csv", "files grouped by directory and extension");
	e.kind = FDK_FIFO;
	snprintf(e.target, sizeof(e.target), "pipe:[4242]");
	fd_group(&e, buf, sizeof(buf));
	TAP_EQ_S(buf, "FIFO pipe", "pipes grouped together");
	TAP_OK(fd_kind_of("anon_inode:[eventfd]", 0, 0) == FDK_ANON, "anon inode kind");
	TAP_OK(fd_kind_of("socket:[1]", 0, 0) == FDK_SOCK, "socket kind");
}

int main(void)
{
	test_net();
	test_fdinfo();
	test_maps();
	test_status();
	test_names();
	return tap_done();
}
