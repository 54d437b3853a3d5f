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

/* Lines longer than this are not socket lines (a unix path is at most 108
 * bytes): they are skipped whole, whatever they hold. */
#define NET_LINE_MAX 4096

/* Read the sockets of pid's namespace whose inodes are among inodes[0..n)
 * (any order, duplicates allowed): the target's own sockets, so that a host
 * with a million sockets costs one pass over its tables and no memory for
 * them.  Each table is streamed whatever its size; missing tables and
 * malformed lines are skipped.  out is overwritten, sorted by inode, with at
 * most one entry per wanted inode (the first line that names it).
 * Returns 0 (possibly with no sockets) or -1 with errno ENOENT when
 * /proc/PID/net is gone (the process exited). */
int net_read(pid_t pid, const uint64_t *inodes, size_t n, struct sock_table *out);
void net_free(struct sock_table *t);
const struct sock_info *net_find(const struct sock_table *t, uint64_t inode);

/* Parse one table's text (unit tests use fixtures).  proto names the file:
 * "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "netlink", "packet".
 * Keeps the sockets whose inodes are among inodes[0..n), or every socket
 * (up to a million) when inodes is NULL.  Appends to out (unsorted); returns
 * sockets added. */
size_t net_parse(const char *proto, const char *text, const uint64_t *inodes, size_t n,
		 struct sock_table *out);
/* The same, streaming the table from fd to its end, as net_read does.
 * Returns sockets added, or -1 with errno if a read failed (out keeps
 * what was parsed before). */
long net_parse_fd(const char *proto, int fd, const uint64_t *inodes, size_t n,
		  struct sock_table *out);
void net_sort(struct sock_table *t);

/* "127.0.0.1:8080 (LISTEN)", "a->b (ESTABLISHED)", "/run/x.sock type=STREAM
 * (CONNECTED)": what lsof would print for it. */
void net_describe(const struct sock_info *s, char *buf, size_t max);

#endif
