/* fds.h - a target's file descriptors, from /proc/PID/fd. */
#ifndef LEAKTOP_FDS_H
#define LEAKTOP_FDS_H

#include <stddef.h>
#include <sys/types.h>

enum fd_kind {
	FDK_REG, FDK_DIR, FDK_CHR, FDK_BLK, FDK_FIFO, FDK_SOCK, FDK_LNK, FDK_ANON, FDK_UNKNOWN,
	FDK_COUNT
};

struct fd_entry {
	int fd;
	enum fd_kind kind;
	char target[256];   /* what readlink says */
};

struct fd_table {
	struct fd_entry *v;  /* ascending by fd */
	size_t n;
};

/* Read the descriptor table.  Returns 0, or -1 with errno (ENOENT: the
 * process is gone, EACCES: not ours to read). */
int fd_table_read(pid_t pid, struct fd_table *out);
void fd_table_free(struct fd_table *t);
/* REG DIR CHR BLK FIFO SOCK LNK anon_inode unknown (lsof's names). */
const char *fd_kind_name(enum fd_kind k);
/* Kind from what readlink says and, for paths, the file's mode bits. */
enum fd_kind fd_kind_of(const char *link, unsigned mode, int have_mode);

#endif
