/* net.c - /proc/PID/net/{tcp,udp,unix,...} by socket inode.
 *
 * A busy host lists hundreds of thousands of sockets in these tables and the
 * target owns a handful: each table is streamed line by line through one
 * fixed buffer, each line is split by hand within its own length, and only
 * the lines whose inode the caller asked for are kept. */
#include "config.h"
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* When every socket is kept (no wanted inodes), more than this in one
 * namespace is not worth listing. */
#define MAX_SOCKETS (1 << 20)
/* One read() of a table; a line that does not fit is longer than
 * NET_LINE_MAX anyway. */
#define NET_CHUNK (64 * 1024)
/* The most whitespace-separated fields any table's line needs. */
#define MAX_FIELDS 10

static const char *const tcp_states[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
};

/* The inodes to keep: sorted, unique, each taken once. */
struct want {
	uint64_t *v;          /* NULL: keep every socket */
	unsigned char *found;
	size_t n, left;
};

enum table_kind { TK_TCP, TK_DGRAM, TK_UNIX, TK_NETLINK, TK_PACKET };

/* One table being parsed, line by line. */
struct parser {
	const char *proto;
	enum table_kind kind;
	struct want *want;
	struct sock_table *out;
	size_t cap;
	size_t added;
	unsigned long lines;  /* seen so far; the first is the header */
};

struct fields {
	const char *s[MAX_FIELDS];
	size_t len[MAX_FIELDS];
	int n;
	const char *rest, *end;  /* after the last field split */
};

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void want_init(struct want *w, const uint64_t *inodes, size_t n)
{
	size_t kept = 0;

	memset(w, 0, sizeof(*w));
	if (!inodes)
		return;
	w->v = xreallocarray(NULL, n ? n : 1, sizeof(*w->v));
	if (n)
		memcpy(w->v, inodes, n * sizeof(*w->v));
	lt_sort(w->v, n, sizeof(*w->v), by_u64);
	for (size_t i = 0; i < n; i++)
		if (!kept || w->v[kept - 1] != w->v[i])
			w->v[kept++] = w->v[i];
	w->n = w->left = kept;
	w->found = xcalloc(kept ? kept : 1, 1);
}

static void want_free(struct want *w)
{
	free(w->v);
	free(w->found);
	memset(w, 0, sizeof(*w));
}

static int want_done(const struct want *w)
{
	return w->v && !w->left;
}

/* Is inode wanted and not seen yet?  Marks it seen. */
static int want_take(struct want *w, uint64_t inode)
{
	size_t lo = 0, hi = w->n;

	if (!w->v)
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->v[mid] < inode) {
			lo = mid + 1;
		} else if (w->v[mid] > inode) {
			hi = mid;
		} else {
			if (w->found[mid])
				return 0;  /* named twice: the first line wins */
			w->found[mid] = 1;
			w->left--;
			return 1;
		}
	}
	return 0;
}

static struct sock_info *push(struct parser *p)
{
	struct sock_table *t = p->out;

	if (t->n >= MAX_SOCKETS)
		return NULL;
	if (t->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		t->v = xreallocarray(t->v, p->cap, sizeof(*t->v));
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	p->added++;
	return &t->v[t->n++];
}

/* Split up to max fields of [line, line+len) at spaces and tabs. */
static void split(const char *line, size_t len, int max, struct fields *f)
{
	const char *p = line, *end = line + len;

	f->n = 0;
	while (f->n < max) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		f->s[f->n] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		f->len[f->n] = (size_t)(p - f->s[f->n]);
		f->n++;
	}
	f->rest = p;
	f->end = end;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The whole of s[0..len) as hex, at most 16 digits. */
static int parse_hex(const char *s, size_t len, uint64_t *v)
{
	*v = 0;
	if (len == 0 || len > 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

/* The whole of s[0..len) as decimal, without overflow. */
static int parse_dec(const char *s, size_t len, uint64_t *v)
{
	*v = 0;
	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || *v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	return 0;
}

/* "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), each 32-bit word in host
 * order, port in hex: to "127.0.0.1:8080" / "[::1]:8080". */
static int format_addr(const char *hex, size_t len, char *out, size_t max, int *is_any)
{
	const char *colon = memchr(hex, ':', len);
	size_t hlen = colon ? (size_t)(colon - hex) : 0;
	uint64_t port, w;
	char host[INET6_ADDRSTRLEN];

	if (!colon || parse_hex(colon + 1, len - hlen - 1, &port) < 0 || port > 0xffff)
		return -1;
	if (hlen == 8) {
		struct in_addr a;

		if (parse_hex(hex, 8, &w) < 0)
			return -1;
		a.s_addr = (uint32_t)w;  /* the kernel prints the raw word */
		inet_ntop(AF_INET, &a, host, sizeof(host));
		snprintf(out, max, "%s:%u", host, (unsigned)port);
		*is_any = a.s_addr == 0 && port == 0;
	} else if (hlen == 32) {
		struct in6_addr a;

		for (int i = 0; i < 4; i++) {
			uint32_t word;

			if (parse_hex(hex + 8 * i, 8, &w) < 0)
				return -1;
			word = (uint32_t)w;
			memcpy(&a.s6_addr[4 * i], &word, 4);
		}
		inet_ntop(AF_INET6, &a, host, sizeof(host));
		snprintf(out, max, "[%s]:%u", host, (unsigned)port);
		*is_any = IN6_IS_ADDR_UNSPECIFIED(&a) && port == 0;
	} else {
		return -1;
	}
	return 0;
}

/* sl local remote st tx:rx tr:when retrnsmt uid timeout inode ... */
static void parse_inet(struct parser *p, const char *line, size_t len)
{
	struct fields f;
	uint64_t st, inode;
	struct sock_info *s;
	int any_l, any_r;

	split(line, len, 10, &f);
	if (f.n < 10 || parse_hex(f.s[3], f.len[3], &st) < 0 ||
	    parse_dec(f.s[9], f.len[9], &inode) < 0 || !want_take(p->want, inode) ||
	    (s = push(p)) == NULL)
		return;
	snprintf(s->proto, sizeof(s->proto), "%s", p->proto);
	s->inode = inode;
	if (format_addr(f.s[1], f.len[1], s->local, sizeof(s->local), &any_l) < 0)
		s->local[0] = '\0';
	if (format_addr(f.s[2], f.len[2], s->remote, sizeof(s->remote), &any_r) < 0 || any_r)
		s->remote[0] = '\0';
	if (p->kind == TK_DGRAM)
		snprintf(s->state, sizeof(s->state), "%s",
			 st == 1 ? "ESTABLISHED" : st == 7 ? "UNCONN" : "?");
	else
		snprintf(s->state, sizeof(s->state), "%s",
			 st < LT_ARRAY_SIZE(tcp_states) ? tcp_states[st] : "?");
}

/* Num RefCount Protocol Flags Type St Inode Path */
static void parse_unix(struct parser *p, const char *line, size_t len)
{
	struct fields f;
	uint64_t flags, type, st, inode;
	struct sock_info *s;
	const char *path;
	size_t plen;

	split(line, len, 7, &f);
	if (f.n < 7 || parse_hex(f.s[3], f.len[3], &flags) < 0 ||
	    parse_hex(f.s[4], f.len[4], &type) < 0 || parse_hex(f.s[5], f.len[5], &st) < 0 ||
	    parse_dec(f.s[6], f.len[6], &inode) < 0 || !want_take(p->want, inode) ||
	    (s = push(p)) == NULL)
		return;
	/* The path is the rest of the line, spaces and all; keep what fits. */
	for (path = f.rest; path < f.end && *path == ' '; path++)
		;
	plen = (size_t)(f.end - path);
	if (plen >= sizeof(s->local))
		plen = sizeof(s->local) - 1;
	memcpy(s->local, path, plen);
	s->local[plen] = '\0';
	snprintf(s->proto, sizeof(s->proto), "unix");
	s->inode = inode;
	snprintf(s->type, sizeof(s->type), "%s", type == 1 ? "STREAM" : type == 2 ? "DGRAM" :
		 type == 5 ? "SEQPACKET" : "?");
	/* __SO_ACCEPTCON: a listening socket */
	snprintf(s->state, sizeof(s->state), "%s", (flags & 0x10000) ? "LISTEN" :
		 st == 1 ? "UNCONNECTED" : st == 2 ? "CONNECTING" :
		 st == 3 ? "CONNECTED" : st == 4 ? "DISCONNECTING" : "?");
}

/* netlink: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode;
 * packet: sk RefCnt Type Proto Iface R Rmem User Inode */
static void parse_other(struct parser *p, const char *line, size_t len)
{
	int netlink = p->kind == TK_NETLINK;
	int at = netlink ? 9 : 8;
	struct fields f;
	uint64_t eth = 0, inode;
	struct sock_info *s;

	split(line, len, at + 1, &f);
	if (f.n <= at || (netlink && (parse_dec(f.s[1], f.len[1], &eth) < 0 || eth > 0xffffffffu)) ||
	    parse_dec(f.s[at], f.len[at], &inode) < 0 || !want_take(p->want, inode) ||
	    (s = push(p)) == NULL)
		return;
	snprintf(s->proto, sizeof(s->proto), "%s", p->proto);
	s->inode = inode;
	if (netlink)
		snprintf(s->type, sizeof(s->type), "%u", (unsigned)eth);
}

static void parser_init(struct parser *p, const char *proto, struct want *w,
			struct sock_table *out)
{
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	p->want = w;
	p->out = out;
	p->cap = out->n;  /* push grows from the current size */
	if (strcmp(proto, "unix") == 0)
		p->kind = TK_UNIX;
	else if (strcmp(proto, "netlink") == 0)
		p->kind = TK_NETLINK;
	else if (strcmp(proto, "packet") == 0)
		p->kind = TK_PACKET;
	else if (strncmp(proto, "udp", 3) == 0 || strncmp(proto, "raw", 3) == 0)
		p->kind = TK_DGRAM;
	else
		p->kind = TK_TCP;
}

static int parser_done(const struct parser *p)
{
	return want_done(p->want) || p->out->n >= MAX_SOCKETS;
}

/* One line without its newline; NULL: a line too long to keep. */
static void parser_line(struct parser *p, const char *line, size_t len)
{
	if (p->lines++ == 0 || !line || len > NET_LINE_MAX)
		return;  /* the header, or not a socket line */
	switch (p->kind) {
	case TK_UNIX:
		parse_unix(p, line, len);
		break;
	case TK_NETLINK:
	case TK_PACKET:
		parse_other(p, line, len);
		break;
	default:
		parse_inet(p, line, len);
		break;
	}
}

/* Feed the lines of fd to p through buf (NET_CHUNK bytes), to the end or
 * until every wanted socket is found.  0, or -1 with errno on a read error. */
static int parse_stream(struct parser *p, int fd, char *buf)
{
	size_t have = 0;
	int skipping = 0;  /* in a line longer than NET_LINE_MAX */

	while (!parser_done(p)) {
		ssize_t got = read(fd, buf + have, NET_CHUNK - have);
		char *line = buf, *end, *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		end = buf + have + got;
		while (!parser_done(p) && (nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
			parser_line(p, skipping ? NULL : line, (size_t)(nl - line));
			skipping = 0;
			line = nl + 1;
		}
		have = (size_t)(end - line);
		if (skipping || have > NET_LINE_MAX) {
			skipping = 1;
			have = 0;
		} else {
			memmove(buf, line, have);
		}
	}
	if (have && !parser_done(p))
		parser_line(p, buf, have);  /* the last line had no newline */
	return 0;
}

size_t net_parse(const char *proto, const char *text, const uint64_t *inodes, size_t n,
		 struct sock_table *out)
{
	struct want w;
	struct parser p;
	const char *end = text + strlen(text), *nl;

	want_init(&w, inodes, n);
	parser_init(&p, proto, &w, out);
	for (; text < end && !parser_done(&p); text = nl + 1) {
		nl = memchr(text, '\n', (size_t)(end - text));
		if (!nl)
			nl = end;
		parser_line(&p, text, (size_t)(nl - text));
	}
	want_free(&w);
	return p.added;
}

long net_parse_fd(const char *proto, int fd, const uint64_t *inodes, size_t n,
		  struct sock_table *out)
{
	struct want w;
	struct parser p;
	char *buf = xmalloc(NET_CHUNK);
	int rc;

	want_init(&w, inodes, n);
	parser_init(&p, proto, &w, out);
	rc = parse_stream(&p, fd, buf);
	free(buf);
	want_free(&w);
	return rc < 0 ? -1 : (long)p.added;
}

static int by_inode(const void *a, const void *b)
{
	uint64_t x = ((const struct sock_info *)a)->inode, y = ((const struct sock_info *)b)->inode;

	return (x > y) - (x < y);
}

void net_sort(struct sock_table *t)
{
	lt_sort(t->v, t->n, sizeof(*t->v), by_inode);
}

/* A missing table is a protocol the kernel lacks, unless the whole
 * directory went with the process. */
static int net_gone(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/net", (int)pid);
	return access(path, F_OK) < 0 && errno == ENOENT;
}

int net_read(pid_t pid, const uint64_t *inodes, size_t n, struct sock_table *out)
{
	static const char *const files[] = { "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix",
					     "netlink", "packet" };
	struct want w;
	char *buf;
	int opened = 0;
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	want_init(&w, inodes, n);
	buf = xmalloc(NET_CHUNK);
	for (size_t i = 0; i < LT_ARRAY_SIZE(files) && !want_done(&w); i++) {
		char path[64];
		struct parser p;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, files[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT && !opened && net_gone(pid)) {
				free(buf);
				want_free(&w);
				errno = ENOENT;
				return -1;
			}
			continue;
		}
		opened++;
		parser_init(&p, files[i], &w, out);
		p.cap = cap;
		parse_stream(&p, fd, buf);  /* a read error keeps what came before */
		cap = p.cap;
		close(fd);
	}
	free(buf);
	want_free(&w);
	net_sort(out);
	return 0;
}

void net_free(struct sock_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

const struct sock_info *net_find(const struct sock_table *t, uint64_t inode)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].inode < inode)
			lo = mid + 1;
		else if (t->v[mid].inode > inode)
			hi = mid;
		else
			return &t->v[mid];
	}
	return NULL;
}

void net_describe(const struct sock_info *s, char *buf, size_t max)
{
	if (strcmp(s->proto, "unix") == 0)
		snprintf(buf, max, "%s%stype=%s (%s)", s->local, s->local[0] ? " " : "", s->type,
			 s->state);
	else if (strcmp(s->proto, "netlink") == 0)
		snprintf(buf, max, "netlink protocol %s", s->type);
	else if (!s->local[0])
		snprintf(buf, max, "%s socket", s->proto);
	else if (s->remote[0])
		snprintf(buf, max, "%s->%s (%s)", s->local, s->remote, s->state);
	else
		snprintf(buf, max, "%s (%s)", s->local, s->state);
}
