/* unit_proc.c - /proc parsers and interpreter names, on fixture text. */
#include "config.h"
#include "census.h"
#include "fds.h"
#include "memacct.h"
#include "net.h"
#include "proc.h"
#include "target.h"
#include "util.h"
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	/* ok: 1 a Python 3 name, 2 a Python 2 one, 0 no version */
	static const struct { const char *path; int ok, minor, ft; } cases[] = {
		{ "/usr/bin/python3.11", 1, 11, 0 },
		{ "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0", 1, 8, 0 },
		{ "/usr/lib/libpython3.13t.so.1.0", 1, 13, 1 },
		{ "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", 1, 11, 0 },
		{ "/opt/python3.12/bin/app", 0, 0, 0 },  /* only the file name counts */
		{ "/usr/bin/python3", 0, 0, 0 },
		{ "/usr/bin/python2.7", 2, 7, 0 },
		{ "/usr/bin/sleep", 0, 0, 0 },
	};

	for (size_t i = 0; i < LT_ARRAY_SIZE(cases); i++) {
		int maj = 0, min = 0, ft = 0;
		int rc = target_version_from_name(cases[i].path, &maj, &min, &ft);

		if (cases[i].ok)
			TAP_OK(rc == 0 && maj == (cases[i].ok == 2 ? 2 : 3) && min == cases[i].minor &&
			       ft == cases[i].ft,
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

	TAP_EQ_U(net_parse("tcp", fixture("net_tcp.txt"), NULL, 0, &t), 2,
		 "tcp: two sockets, junk skipped");
	TAP_EQ_U(net_parse("tcp6", fixture("net_tcp6.txt"), NULL, 0, &t), 2, "tcp6: two sockets");
	TAP_EQ_U(net_parse("unix", fixture("net_unix.txt"), NULL, 0, &t), 3, "unix: three sockets");
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

/* The other tables, and lines a kernel should not print but might. */
static void test_net_tables(void)
{
	static const uint64_t some[] = { 3002, 2001, 3002 };
	struct sock_table t = { 0 };
	const struct sock_info *s;
	char buf[256];

	TAP_EQ_U(net_parse("udp", fixture("net_udp.txt"), NULL, 0, &t), 3,
		 "udp: bad inode, short line and overflowing inode skipped");
	TAP_EQ_U(net_parse("raw", fixture("net_raw.txt"), NULL, 0, &t), 1, "raw: one socket");
	TAP_EQ_U(net_parse("packet", fixture("net_packet.txt"), NULL, 0, &t), 1,
		 "packet: one socket, short line skipped");
	TAP_EQ_U(net_parse("netlink", fixture("net_netlink.txt"), NULL, 0, &t), 2,
		 "netlink: two sockets, bad protocol skipped");
	TAP_EQ_U(net_parse("unix", fixture("net_unix_odd.txt"), NULL, 0, &t), 3,
		 "unix: bad type skipped");
	net_sort(&t);
	s = net_find(&t, 3001);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:50268") == 0 && strcmp(s->state, "UNCONN") == 0 &&
	       !s->remote[0], "udp bound: UNCONN, no remote");
	s = net_find(&t, 3002);
	TAP_OK(s && strcmp(s->remote, "127.0.0.1:50268") == 0 && strcmp(s->state, "ESTABLISHED") == 0,
	       "udp connected: remote and state");
	TAP_OK(net_find(&t, 30) == NULL && net_find(&t, 9815) == NULL,
	       "no inode from a partial number or from the next line");
	s = net_find(&t, 3006);
	TAP_OK(s && !s->local[0] && !s->remote[0], "bad hex address and port > 65535: no address");
	if (s) {
		net_describe(s, buf, sizeof(buf));
		TAP_EQ_S(buf, "udp socket", "a socket without an address described by its protocol");
	}
	s = net_find(&t, 3101);
	TAP_OK(s && strcmp(s->proto, "raw") == 0 && strcmp(s->local, "0.0.0.0:1") == 0, "raw socket");
	s = net_find(&t, 3201);
	TAP_OK(s && strcmp(s->proto, "packet") == 0, "packet socket");
	s = net_find(&t, 3302);
	TAP_OK(s && strcmp(s->type, "4") == 0, "netlink protocol number");
	if (s) {
		net_describe(s, buf, sizeof(buf));
		TAP_EQ_S(buf, "netlink protocol 4", "netlink description");
	}
	s = net_find(&t, 3401);
	TAP_OK(s && strcmp(s->local, "@abs seq") == 0 && strcmp(s->type, "SEQPACKET") == 0,
	       "unix path with a space, SEQPACKET");
	s = net_find(&t, 3402);
	TAP_OK(s && strlen(s->local) == sizeof(s->local) - 1 && strncmp(s->local, "/run/ppp", 8) == 0,
	       "unix path longer than sock_info.local: the start kept");
	s = net_find(&t, 3404);
	TAP_OK(s && !s->local[0] && strcmp(s->type, "DGRAM") == 0, "unix socket without a path");
	net_free(&t);

	TAP_EQ_U(net_parse("udp", fixture("net_udp.txt"), some, LT_ARRAY_SIZE(some), &t), 1,
		 "only the wanted inode kept, a duplicate wanted once");
	TAP_OK(t.n == 1 && t.v[0].inode == 3002, "the wanted udp socket");
	net_free(&t);
	TAP_EQ_U(net_parse("udp", fixture("net_udp.txt"), some, 0, &t), 0,
		 "an empty wanted list keeps nothing");
	net_free(&t);
}

#define BIG_LINES 200000
#define BIG_INODE0 500000

static size_t big_line(char *p, size_t max, unsigned i, uint64_t inode, const char *tail)
{
	return (size_t)snprintf(p, max, "%6u: 0100007F:%04X 0100007F:1F90 %02X 00000000:00000000 "
				"00:00000000 00000000  1000        0 %llu 1 0000000000000000 20 4 "
				"30 10 -1%s\n", i, i & 0xffff, i % 3 ? 1 : 10,
				(unsigned long long)inode, tail);
}

/* A tcp table as a busy host has it, with a line longer than any buffer
 * (whose inode is wanted: it must not be found) in the middle, and a line
 * naming a wanted inode a second time. */
static char *big_table(size_t *len, const char *junk)
{
	size_t max = (size_t)BIG_LINES * 160 + strlen(junk) + 1024, n;
	char *text = xmalloc(max);

	n = (size_t)snprintf(text, max, "  sl  local_address rem_address   st tx_queue rx_queue tr "
			     "tm->when retrnsmt   uid  timeout inode\n");
	for (unsigned i = 0; i < BIG_LINES; i++) {
		if (i == BIG_LINES / 2)
			n += big_line(text + n, max - n, i, 42, junk);
		n += big_line(text + n, max - n, i, BIG_INODE0 + i, "");
		if (i == BIG_LINES / 4)
			n += big_line(text + n, max - n, i + 1, BIG_INODE0 + 7, "");
	}
	*len = n;
	return text;
}

static void check_big(const struct sock_table *t, const char *how)
{
	const struct sock_info *s;

	TAP_EQ_U(t->n, 4, "%s: exactly the four wanted sockets present", how);
	s = net_find(t, BIG_INODE0 + 7);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:7") == 0 && strcmp(s->state, "ESTABLISHED") == 0 &&
	       strcmp(s->remote, "127.0.0.1:8080") == 0, "%s: an early socket, its first line", how);
	s = net_find(t, BIG_INODE0 + BIG_LINES / 2);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:34464") == 0,
	       "%s: the line after the long line", how);
	s = net_find(t, BIG_INODE0 + BIG_LINES - 1);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:3391") == 0 && strcmp(s->state, "ESTABLISHED") == 0,
	       "%s: the last line", how);
	s = net_find(t, BIG_INODE0 + 3);
	TAP_OK(s && strcmp(s->local, "127.0.0.1:3") == 0 && strcmp(s->state, "LISTEN") == 0,
	       "%s: a listener", how);
	TAP_OK(net_find(t, 42) == NULL, "%s: the long line skipped", how);
	TAP_OK(net_find(t, 7) == NULL, "%s: an inode in no line", how);
}

static void test_net_big(void)
{
	static const uint64_t want[] = {
		BIG_INODE0 + BIG_LINES - 1, 42, BIG_INODE0 + 7, 7, BIG_INODE0 + BIG_LINES / 2,
		BIG_INODE0 + 3, BIG_INODE0 + 7,
	};
	struct sock_table t = { 0 };
	size_t len, jlen = 100000;
	char *junk = xmalloc(jlen + 1);
	char *text;
	FILE *f = tmpfile();
	uint64_t t0;

	memset(junk, 'x', jlen);
	junk[0] = ' ';
	junk[jlen] = '\0';
	text = big_table(&len, junk);
	t0 = lt_now_us();
	TAP_EQ_U(net_parse("tcp", text, want, LT_ARRAY_SIZE(want), &t), 4,
		 "200,000-line tcp table: four wanted sockets added");
	printf("# parsed %zu bytes in %llu ms\n", len, (unsigned long long)(lt_now_us() - t0) / 1000);
	net_sort(&t);
	check_big(&t, "text");
	net_free(&t);

	TAP_OK(f && fwrite(text, 1, len, f) == len && fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0,
	       "table written to a temporary file");
	if (f) {
		t0 = lt_now_us();
		TAP_EQ_U(net_parse_fd("tcp", fileno(f), want, LT_ARRAY_SIZE(want), &t), 4,
			 "the same table streamed from a file: four wanted sockets");
		printf("# streamed %zu bytes in %llu ms\n", len,
		       (unsigned long long)(lt_now_us() - t0) / 1000);
		net_sort(&t);
		check_big(&t, "stream");
		net_free(&t);
		fclose(f);
	}
	free(text);
	free(junk);
}

/* Lines cut across the stream buffer, a last line without a newline, a
 * long line at the very end. */
static void test_net_stream_edges(void)
{
	static const uint64_t want[] = { 2001, 2002, 2003 };
	char *text = xmalloc(200000);
	struct sock_table t = { 0 };
	size_t n = (size_t)snprintf(text, 200000, "%s", fixture("net_unix.txt"));
	FILE *f = tmpfile();

	TAP_OK(n > 0 && text[n - 1] == '\n', "unix fixture ends with a newline");
	text[n - 1] = '\0';  /* the last line loses its newline */
	n--;
	TAP_OK(f && fwrite(text, 1, n, f) == n && fseek(f, 0, SEEK_SET) == 0, "temporary file");
	if (f) {
		TAP_EQ_U(net_parse_fd("unix", fileno(f), want, 3, &t), 3,
			 "stream: a last line without a newline is parsed");
		net_sort(&t);
		TAP_OK(net_find(&t, 2003) && strcmp(net_find(&t, 2003)->local, "@abstract-name") == 0,
		       "stream: its path is whole");
		net_free(&t);
		/* Now a 150,000-byte last line, without a newline either. */
		memset(text + n, '/', 150000);
		text[n] = ' ';
		text[n + 150000] = '\0';
		TAP_OK(fseek(f, 0, SEEK_SET) == 0 && fwrite(text, 1, n + 150000, f) == n + 150000 &&
		       fseek(f, 0, SEEK_SET) == 0, "temporary file rewritten");
		TAP_EQ_U(net_parse_fd("unix", fileno(f), want, 3, &t), 2,
			 "stream: a long last line is skipped, the others kept");
		net_free(&t);
		fclose(f);
	}
	TAP_EQ_U(net_parse("unix", text, want, 3, &t), 2, "text: the same long last line skipped");
	net_free(&t);
	free(text);
}

/* The real tables, for our own sockets only. */
static void test_net_read(void)
{
	int pair[2], udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	uint64_t want[3];
	struct stat st;
	struct sock_table t = { 0 };
	const struct sock_info *s;
	char local[64];
	pid_t child;

	TAP_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0 && udp >= 0 &&
	       bind(udp, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	       getsockname(udp, (struct sockaddr *)&a, &alen) == 0, "own sockets made");
	want[0] = fstat(pair[0], &st) == 0 ? st.st_ino : 0;
	want[1] = fstat(udp, &st) == 0 ? st.st_ino : 0;
	want[2] = 1;  /* no socket has it */
	TAP_OK(net_read(getpid(), want, 3, &t) == 0, "net_read of our own process");
	TAP_EQ_U(t.n, 2, "exactly our two sockets");
	s = net_find(&t, want[0]);
	TAP_OK(s && strcmp(s->proto, "unix") == 0 && strcmp(s->state, "CONNECTED") == 0 &&
	       strcmp(s->type, "STREAM") == 0, "socketpair end: unix STREAM CONNECTED");
	s = net_find(&t, want[1]);
	snprintf(local, sizeof(local), "0.0.0.0:%u", (unsigned)ntohs(a.sin_port));
	TAP_OK(s && strcmp(s->proto, "udp") == 0 && strcmp(s->local, local) == 0 &&
	       strcmp(s->state, "UNCONN") == 0, "udp socket: %s UNCONN", local);
	net_free(&t);
	close(pair[0]);
	close(pair[1]);
	close(udp);

	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	errno = 0;
	TAP_OK(net_read(child, want, 3, &t) == -1 && errno == ENOENT && t.n == 0,
	       "net_read of a process gone: -1, ENOENT");
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

struct smaps_seen {
	struct proc_smap v[8];
	char paths[8][64];
	size_t n;
};

static void smaps_keep(void *arg, const struct proc_smap *m)
{
	struct smaps_seen *s = arg;

	if (s->n < 8) {
		s->v[s->n] = *m;
		snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", m->path);
		s->v[s->n].path = s->paths[s->n];
		s->n++;
	}
}

static void test_smaps(void)
{
	static const char text[] =
		"55d0c5a00000-55d0c5a01000 r--p 00000000 fe:00 18624   /usr/bin/python3.11\n"
		"Size:                  4 kB\n"
		"Rss:                   4 kB\n"
		"Pss:                   2 kB\n"
		"VmFlags: rd mr mw me \n"
		"55d0c6000000-55d0c6200000 rw-p 00000000 00:00 0     [heap]\n"
		"Rss:                1544 kB\n"
		"deadbeef-not a mapping\n"
		"Rss:                   8 kB\n"
		"7f2345ae7000-7f2345ae8000 rw-p 00000000 00:00 0 \n"
		"Rss:              999999 kB\n"
		"7f2345ae9000-7f2345aea000 rw-p 00000000 00:00 0      /tmp/a file (deleted)\n"
		"Rss:                   4 kB";
	struct smaps_seen s = { .n = 0 };
	struct mem_account m = { 0 };
	struct census c = { 0 };
	int cells[MEM_NPARTS];
	uint64_t sp = 0, n;

	n = proc_smaps_parse(text, smaps_keep, &s);
	TAP_EQ_U(n, 4, "smaps: four mappings (a line that is none is skipped with its fields)");
	TAP_EQ_U(s.v[0].rss, 4096, "smaps: Rss in bytes");
	TAP_EQ_S(s.v[0].path, "/usr/bin/python3.11", "smaps: the path");
	TAP_EQ_U(s.v[1].rss, 1544 * 1024, "smaps: a bad maps line's fields are not the mapping before's");
	TAP_EQ_S(s.v[2].path, "", "smaps: anonymous");
	TAP_EQ_U(s.v[2].rss, 4096, "smaps: Rss never more than the mapping");
	TAP_EQ_S(s.v[3].path, "/tmp/a file (deleted)", "smaps: path with spaces");
	TAP_EQ_U(s.v[3].rss, 4096, "smaps: the last line without its newline");

	TAP_OK(proc_syscall_sp_parse("230 0x1 0x1 0x7ffdec6c4ba0 0x0 0x0 0x0 0x7ffdec6c4b60 "
				     "0x7ff6bc8ed545\n", &sp) == 0 && sp == 0x7ffdec6c4b60ull,
	       "syscall: SP of a thread in a system call");
	TAP_OK(proc_syscall_sp_parse("-1 0x7ffd00001000 0x401000\n", &sp) == 0 &&
	       sp == 0x7ffd00001000ull, "syscall: SP of one blocked outside a system call");
	TAP_OK(proc_syscall_sp_parse("running\n", &sp) < 0, "syscall: running: no SP");
	TAP_OK(proc_syscall_sp_parse("1 2 3 4\n", &sp) < 0, "syscall: a count of words it never has");

	/* 100 resident: heap 60 (arenas 20, used 15), files 30, stacks 4, other 6. */
	m.known = 1;
	m.rss = 100;
	m.arena_rss = 20;
	m.arena_used = 15;
	m.heap_rss = 40;
	m.file_rss = 30;
	m.stack_rss = 4;
	m.anon_rss = 6;
	c.bytes = 50;
	c.buffer_bytes = 10;
	memacct_finish(&m, &c);
	TAP_OK(m.part[MEM_OBJECTS] == 40 && m.part[MEM_BUFFERS] == 10 &&
	       m.part[MEM_PYMALLOC_FREE] == 5 && m.part[MEM_MALLOC_OTHER] == 5 &&
	       m.part[MEM_FILES] == 30 && m.part[MEM_STACKS] == 4 && m.part[MEM_ANON_OTHER] == 6 &&
	       !m.nnotes, "memacct: the parts of a heap that holds its objects");
	TAP_EQ_U(memacct_bar(&m, 10, cells), 10, "memacct: a bar of 10 cells");
	TAP_OK(cells[MEM_OBJECTS] == 4 && cells[MEM_FILES] == 3 && cells[MEM_BUFFERS] == 1,
	       "memacct: cells in proportion");
	memset(m.part, 0, sizeof(m.part));
	c.bytes = 70;   /* 60 objects + 10 buffers + 5 free: 15 more than the heap */
	memacct_finish(&m, &c);
	TAP_OK(m.borrowed == 6 && m.part[MEM_ANON_OTHER] == 0 && m.unresident == 9 &&
	       m.part[MEM_OBJECTS] == 51 && m.part[MEM_MALLOC_OTHER] == 0 && m.nnotes == 2,
	       "memacct: objects beyond the heap take other anonymous memory, then are cut, said");
	n = 0;
	for (int i = 0; i < MEM_NPARTS; i++)
		n += m.part[i];
	TAP_EQ_U(n, 100, "memacct: the parts still add up to the RSS");
}

int main(void)
{
	test_net();
	test_net_tables();
	test_net_big();
	test_net_stream_edges();
	test_net_read();
	test_fdinfo();
	test_maps();
	test_status();
	test_names();
	test_smaps();
	return tap_done();
}
