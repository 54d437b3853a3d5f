/* fds.h - a target's file descriptors, from /proc/PID/fd. */
#ifndef LEAKTOP_FDS_H
#define LEAKTOP_FDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net.h"

enum fd_kind {
	FDK_REG, FDK_DIR, FDK_CHR, FDK_BLK, FDK_FIFO, FDK_SOCK, FDK_LNK, FDK_ANON, FDK_UNKNOWN,
	FDK_COUNT
};

struct fd_entry {
	int fd;
	enum fd_kind kind;
	char target[256];   /* what readlink says */
	char mode;          /* 'r', 'w', 'u' (read-write), '?' unknown */
	int have_info;      /* /proc/PID/fdinfo/N was read */
	long long pos;
	unsigned flags;     /* open flags, as fdinfo prints them */
	uint64_t inode;     /* sockets: the socket inode */
	char detail[160];   /* eventfd, epoll, timerfd, inotify specifics */
	const struct sock_info *sock;  /* decoded socket, or NULL */
};

struct fd_table {
	struct fd_entry *v;  /* ascending by fd */
	size_t n;
	struct sock_table socks;
};

/* Read the descriptor table.  Returns 0, or -1 with errno (ENOENT: the
 * process is gone, EACCES: not ours to read). */
int fd_table_read(pid_t pid, struct fd_table *out);
void fd_table_free(struct fd_table *t);
/* A copy of from in to (its own memory); 0. */
int fd_table_copy(const struct fd_table *from, struct fd_table *to);
/* REG DIR CHR BLK FIFO SOCK LNK anon_inode unknown (lsof's names). */
const char *fd_kind_name(enum fd_kind k);
/* Kind from what readlink says and, for paths, the file's mode bits. */
enum fd_kind fd_kind_of(const char *link, unsigned mode, int have_mode);
/* Parse the text of /proc/PID/fdinfo/N into e (pos, flags, mode, detail). */
void fd_parse_info(struct fd_entry *e, const char *text);
/* "O_RDONLY|O_CLOEXEC" */
void fd_flags_str(unsigned flags, char *buf, size_t max);
/* The target as lsof would name it: the decoded socket, else readlink. */
void fd_describe(const struct fd_entry *e, char *buf, size_t max);
/* A group of similar descriptors, to count growth by: files by directory
 * and extension, sockets by peer or by listening address ("SOCK tcp
 * ->10.0.0.5:5432", "SOCK tcp LISTEN 127.0.0.1:8080"), "FIFO pipe",
 * "anon_inode [eventpoll]". */
void fd_group(const struct fd_entry *e, char *buf, size_t max);

struct census;
/* Count descriptors as a census: a row "kind REG" per kind and a row
 * "group REG ..." per group, so a history can track their growth. */
void fd_census(const struct fd_table *t, struct census *out);

#endif
