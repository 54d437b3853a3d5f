/* net.h - sockets of a process's network namespace, from /proc/PID/net. */
#ifndef LEAKTOP_NET_H
#define LEAKTOP_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sock_info {
	uint64_t inode;
	char proto[12];      /* tcp tcp6 udp udp6 raw raw6 unix netlink packet */
	char state[16];      /* LISTEN, ESTABLISHED, UNCONN, CONNECTED ... */
	char local[112];     /* "127.0.0.1:8080", "[::1]:53", a unix path; "" none */
	char remote[112];    /* "" when unconnected */
	char type[12];       /* unix: STREAM DGRAM SEQPACKET; netlink: protocol */
};

struct sock_table {
	struct sock_info *v;  /* sorted by inode */
	size_t n;
};

/* Read every socket table of pid's namespace; missing tables are skipped.
 * Returns 0 (possibly with no sockets) or -1 with errno. */
int net_read(pid_t pid, struct sock_table *out);
void net_free(struct sock_table *t);
const struct sock_info *net_find(const struct sock_table *t, uint64_t inode);

/* Parse one table's text (unit tests use fixtures).  proto names the file:
 * "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "netlink", "packet".
 * Appends to out (unsorted); returns sockets added. */
size_t net_parse(const char *proto, const char *text, struct sock_table *out);
void net_sort(struct sock_table *t);

/* "127.0.0.1:8080 (LISTEN)", "a->b (ESTABLISHED)", "/run/x.sock type=STREAM
 * (CONNECTED)": what lsof would print for it. */
void net_describe(const struct sock_info *s, char *buf, size_t max);

#endif
