/* net.c - /proc/PID/net/{tcp,udp,unix,...} by socket inode. */
#include "config.h"
#include "net.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More sockets than this in one namespace is not worth listing. */
#define MAX_SOCKETS (1 << 20)

static const char *const tcp_states[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
};

static struct sock_info *push(struct sock_table *t, size_t *cap)
{
	if (t->n >= MAX_SOCKETS)
		return NULL;
	if (t->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		t->v = xreallocarray(t->v, *cap, sizeof(*t->v));
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	return &t->v[t->n++];
}

/* "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), each 32-bit word in host
 * order, port in hex: to "127.0.0.1:8080" / "[::1]:8080". */
static int format_addr(const char *hex, char *out, size_t max, int *is_any)
{
	const char *colon = strchr(hex, ':');
	size_t len = colon ? (size_t)(colon - hex) : 0;
	unsigned port;
	char host[INET6_ADDRSTRLEN];

	if (!colon || sscanf(colon + 1, "%x", &port) != 1)
		return -1;
	if (len == 8) {
		struct in_addr a;
		unsigned long v = strtoul(hex, NULL, 16);

		a.s_addr = (uint32_t)v;  /* the kernel prints the raw word */
		inet_ntop(AF_INET, &a, host, sizeof(host));
		snprintf(out, max, "%s:%u", host, port);
		*is_any = a.s_addr == 0 && port == 0;
	} else if (len == 32) {
		struct in6_addr a;
		char word[9];

		for (int i = 0; i < 4; i++) {
			uint32_t w;

			memcpy(word, hex + 8 * i, 8);
			word[8] = '\0';
			w = (uint32_t)strtoul(word, NULL, 16);
			memcpy(&a.s6_addr[4 * i], &w, 4);
		}
		inet_ntop(AF_INET6, &a, host, sizeof(host));
		snprintf(out, max, "[%s]:%u", host, port);
		*is_any = IN6_IS_ADDR_UNSPECIFIED(&a) && port == 0;
	} else {
		return -1;
	}
	return 0;
}

static size_t parse_inet(const char *proto, const char *text, struct sock_table *out,
			 size_t *cap)
{
	const char *line = strchr(text, '\n');  /* skip the header */
	int udp = strncmp(proto, "udp", 3) == 0 || strncmp(proto, "raw", 3) == 0;
	size_t added = 0;

	while (line && *++line) {
		char local[64], remote[64];
		unsigned st;
		unsigned long long inode;
		struct sock_info *s;
		int any_l, any_r;

		if (sscanf(line, "%*s %63s %63s %x %*s %*s %*s %*s %*s %llu", local, remote, &st,
			   &inode) == 4 && (s = push(out, cap)) != NULL) {
			snprintf(s->proto, sizeof(s->proto), "%s", proto);
			s->inode = inode;
			if (format_addr(local, s->local, sizeof(s->local), &any_l) < 0)
				s->local[0] = '\0';
			if (format_addr(remote, s->remote, sizeof(s->remote), &any_r) < 0 || any_r)
				s->remote[0] = '\0';
			if (udp)
				snprintf(s->state, sizeof(s->state), "%s",
					 st == 1 ? "ESTABLISHED" : st == 7 ? "UNCONN" : "?");
			else
				snprintf(s->state, sizeof(s->state), "%s",
					 st < LT_ARRAY_SIZE(tcp_states) ? tcp_states[st] : "?");
			added++;
		}
		line = strchr(line, '\n');
	}
	return added;
}

static size_t parse_unix(const char *text, struct sock_table *out, size_t *cap)
{
	const char *line = strchr(text, '\n');
	size_t added = 0;

	while (line && *++line) {
		unsigned long flags;
		unsigned type, st;
		unsigned long long inode;
		int pos = 0;
		struct sock_info *s;

		if (sscanf(line, "%*s %*s %*s %lx %x %x %llu%n", &flags, &type, &st, &inode, &pos) == 4 &&
		    (s = push(out, cap)) != NULL) {
			const char *path = line + pos;
			const char *end = strchr(path, '\n');
			size_t plen;

			while (*path == ' ')
				path++;
			plen = end ? (size_t)(end - path) : strlen(path);
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
			added++;
		}
		line = strchr(line, '\n');
	}
	return added;
}

/* netlink: sk Eth Pid Groups ... Inode; packet: sk RefCnt Type Proto Iface R Rmem User Inode */
static size_t parse_other(const char *proto, const char *text, struct sock_table *out,
			  size_t *cap)
{
	const char *line = strchr(text, '\n');
	int netlink = strcmp(proto, "netlink") == 0;
	size_t added = 0;

	while (line && *++line) {
		unsigned long long inode;
		unsigned eth = 0;
		struct sock_info *s;
		int ok = netlink ?
			 sscanf(line, "%*s %u %*s %*s %*s %*s %*s %*s %*s %llu", &eth, &inode) == 2 :
			 sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %llu", &inode) == 1;

		if (ok && (s = push(out, cap)) != NULL) {
			snprintf(s->proto, sizeof(s->proto), "%s", proto);
			s->inode = inode;
			if (netlink)
				snprintf(s->type, sizeof(s->type), "%u", eth);
			added++;
		}
		line = strchr(line, '\n');
	}
	return added;
}

size_t net_parse(const char *proto, const char *text, struct sock_table *out)
{
	size_t cap = out->n;  /* push grows from the current size */

	if (strcmp(proto, "unix") == 0)
		return parse_unix(text, out, &cap);
	if (strcmp(proto, "netlink") == 0 || strcmp(proto, "packet") == 0)
		return parse_other(proto, text, out, &cap);
	return parse_inet(proto, text, out, &cap);
}

static int by_inode(const void *a, const void *b)
{
	uint64_t x = ((const struct sock_info *)a)->inode, y = ((const struct sock_info *)b)->inode;

	return (x > y) - (x < y);
}

void net_sort(struct sock_table *t)
{
	qsort(t->v, t->n, sizeof(*t->v), by_inode);
}

int net_read(pid_t pid, struct sock_table *out)
{
	static const char *const files[] = { "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix",
					     "netlink", "packet" };
	size_t max = 8 << 20;
	char *text = xmalloc(max);

	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < LT_ARRAY_SIZE(files); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)pid, files[i]);
		if (lt_read_file(path, text, max) < 0) {
			if (errno == ENOENT && i == 0 && !out->n) {
				free(text);
				return -1;  /* no /proc/PID/net: the process is gone */
			}
			continue;
		}
		net_parse(files[i], text, out);
	}
	free(text);
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
