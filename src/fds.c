/* fds.c - /proc/PID/fd, classified the way lsof does. */
#include "config.h"
#include "fds.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* More descriptors than this is not a real process (the kernel's nr_open
 * default is 1,048,576). */
#define MAX_FDS (1 << 20)

static const char *const kind_names[FDK_COUNT] = {
	[FDK_REG] = "REG", [FDK_DIR] = "DIR", [FDK_CHR] = "CHR", [FDK_BLK] = "BLK",
	[FDK_FIFO] = "FIFO", [FDK_SOCK] = "SOCK", [FDK_LNK] = "LNK",
	[FDK_ANON] = "anon_inode", [FDK_UNKNOWN] = "unknown",
};

const char *fd_kind_name(enum fd_kind k)
{
	return k < FDK_COUNT ? kind_names[k] : "unknown";
}

enum fd_kind fd_kind_of(const char *link, unsigned mode, int have_mode)
{
	if (strncmp(link, "socket:", 7) == 0)
		return FDK_SOCK;
	if (strncmp(link, "pipe:", 5) == 0)
		return FDK_FIFO;
	if (strncmp(link, "anon_inode:", 11) == 0)
		return FDK_ANON;
	if (!have_mode)
		return FDK_UNKNOWN;
	switch (mode & S_IFMT) {
	case S_IFREG: return FDK_REG;
	case S_IFDIR: return FDK_DIR;
	case S_IFCHR: return FDK_CHR;
	case S_IFBLK: return FDK_BLK;
	case S_IFIFO: return FDK_FIFO;
	case S_IFSOCK: return FDK_SOCK;
	case S_IFLNK: return FDK_LNK;
	default: return FDK_UNKNOWN;
	}
}

static int by_fd(const void *a, const void *b)
{
	int x = ((const struct fd_entry *)a)->fd, y = ((const struct fd_entry *)b)->fd;

	return (x > y) - (x < y);
}

int fd_table_read(pid_t pid, struct fd_table *out)
{
	char dir[64];
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL && out->n < MAX_FDS) {
		char path[96];
		struct fd_entry *f;
		struct stat st;
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		ssize_t n;

		if (*end || fd < 0 || e->d_name[0] == '\0')
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			out->v = xreallocarray(out->v, cap, sizeof(*out->v));
		}
		f = &out->v[out->n];
		f->fd = (int)fd;
		snprintf(path, sizeof(path), "%s/%ld", dir, fd);
		n = readlink(path, f->target, sizeof(f->target) - 1);
		if (n < 0)
			continue;  /* closed meanwhile */
		f->target[n] = '\0';
		int have = stat(path, &st) == 0;

		f->kind = fd_kind_of(f->target, have ? st.st_mode : 0, have);
		out->n++;
	}
	closedir(d);
	qsort(out->v, out->n, sizeof(*out->v), by_fd);
	return 0;
}

void fd_table_free(struct fd_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
