/* fds.c - /proc/PID/fd, classified the way lsof does. */
#include "config.h"
#include "fds.h"
#include "proc.h"
#include "census.h"
#include "util.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

/* glibc defines O_LARGEFILE as 0 on 64-bit targets (it is implied), but the
 * kernel still shows its bit in fdinfo. */
#if defined(__x86_64__) || defined(__i386__)
#define KERNEL_O_LARGEFILE 0100000
#else
#define KERNEL_O_LARGEFILE O_LARGEFILE
#endif

void fd_flags_str(unsigned flags, char *buf, size_t max)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" },
		{ O_TRUNC, "O_TRUNC" }, { O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_SYNC, "O_SYNC" }, { O_DSYNC, "O_DSYNC" }, { O_ASYNC, "O_ASYNC" },
		{ O_DIRECT, "O_DIRECT" }, { KERNEL_O_LARGEFILE, "O_LARGEFILE" },
		{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" },
		{ O_NOATIME, "O_NOATIME" }, { O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },
	};
	unsigned acc = flags & O_ACCMODE;
	size_t len;

	snprintf(buf, max, "%s", acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" :
		 acc == O_RDWR ? "O_RDWR" : "O_ACCMODE");
	for (size_t i = 0; i < LT_ARRAY_SIZE(names); i++) {
		/* O_SYNC includes O_DSYNC's bit: name each once */
		if (!names[i].bit || (flags & names[i].bit) != names[i].bit)
			continue;
		if (names[i].bit == O_DSYNC && (flags & O_SYNC) == O_SYNC)
			continue;
		len = strlen(buf);
		snprintf(buf + len, max - len, "|%s", names[i].name);
	}
}

static void append(char *buf, size_t max, const char *fmt, ...) LT_PRINTF(3, 4);
static void append(char *buf, size_t max, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len + 1 >= max)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, max - len, fmt, ap);
	va_end(ap);
}

void fd_parse_info(struct fd_entry *e, const char *text)
{
	int tfds = 0, watches = 0;

	e->detail[0] = '\0';
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char line[256];
		unsigned long long v;
		int n;

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, text, len);
		line[len] = '\0';
		if (sscanf(line, "pos: %lld", &e->pos) == 1) {
			e->have_info = 1;
		} else if (sscanf(line, "flags: %o", &e->flags) == 1) {
			unsigned acc = e->flags & O_ACCMODE;

			e->mode = acc == O_RDONLY ? 'r' : acc == O_WRONLY ? 'w' : acc == O_RDWR ? 'u' : '?';
		} else if (sscanf(line, "ino: %llu", &v) == 1) {
			if (!e->inode)
				e->inode = v;
		} else if (sscanf(line, "eventfd-count: %llx", &v) == 1) {
			append(e->detail, sizeof(e->detail), "eventfd count %llu", v);
		} else if (sscanf(line, "tfd: %d", &n) == 1) {
			append(e->detail, sizeof(e->detail), "%s%d", tfds++ ? "," : "epoll watches fd ", n);
		} else if (strncmp(line, "clockid:", 8) == 0) {
			append(e->detail, sizeof(e->detail), "timerfd clock %s", line + 9);
		} else if (strncmp(line, "it_value:", 9) == 0) {
			append(e->detail, sizeof(e->detail), " value %s", line + 10);
		} else if (strncmp(line, "it_interval:", 12) == 0) {
			append(e->detail, sizeof(e->detail), " interval %s", line + 13);
		} else if (strncmp(line, "inotify wd:", 11) == 0) {
			watches++;
		}
		text += len + (nl ? 1 : 0);
	}
	if (watches)
		append(e->detail, sizeof(e->detail), "inotify, %d watch%s", watches,
		       watches == 1 ? "" : "es");
}

void fd_describe(const struct fd_entry *e, char *buf, size_t max)
{
	if (e->sock)
		net_describe(e->sock, buf, max);
	else
		snprintf(buf, max, "%s", e->target);
}

void fd_group(const struct fd_entry *e, char *buf, size_t max)
{
	const char *kind = fd_kind_name(e->kind);
	char path[256];
	const char *slash, *dot;
	size_t len;

	switch (e->kind) {
	case FDK_REG:
	case FDK_DIR:
		snprintf(path, sizeof(path), "%s", e->target);
		len = strlen(path);
		if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0)
			path[len - 10] = '\0';
		slash = strrchr(path, '/');
		dot = slash ? strrchr(slash, '.') : NULL;
		if (!slash)
			snprintf(buf, max, "%s %s", kind, path);
		else if (dot && dot > slash + 1 && strlen(dot) <= 8)
			snprintf(buf, max, "%s %.*s/*%s", kind, (int)(slash - path), path, dot);
		else
			snprintf(buf, max, "%s %.*s/*", kind, (int)(slash - path), path);
		return;
	case FDK_FIFO:
		snprintf(buf, max, "%s %s", kind, strncmp(e->target, "pipe:", 5) == 0 ? "pipe" : e->target);
		return;
	case FDK_ANON:
		snprintf(buf, max, "%s %s", kind, e->target + (strncmp(e->target, "anon_inode:", 11) ? 0 : 11));
		return;
	case FDK_SOCK:
		if (!e->sock)
			snprintf(buf, max, "%s", kind);
		else if (strcmp(e->sock->proto, "unix") == 0)
			snprintf(buf, max, "%s unix %s%s%s", kind, e->sock->type,
				 e->sock->local[0] ? " " : "", e->sock->local);
		else if (strcmp(e->sock->state, "LISTEN") == 0 || !e->sock->remote[0])
			snprintf(buf, max, "%s %s %s %s", kind, e->sock->proto, e->sock->state,
				 e->sock->local);
		else
			snprintf(buf, max, "%s %s ->%s", kind, e->sock->proto, e->sock->remote);
		return;
	default:
		snprintf(buf, max, "%s %s", kind, e->target);
		return;
	}
}

void fd_census(const struct fd_table *t, struct census *out)
{
	census_init(out);
	for (size_t i = 0; i < t->n; i++) {
		char group[320], name[336];

		snprintf(name, sizeof(name), "kind %s", fd_kind_name(t->v[i].kind));
		census_add(out, name, 1, 0, 0);
		fd_group(&t->v[i], group, sizeof(group));
		snprintf(name, sizeof(name), "group %s", group);
		census_add(out, name, 1, 0, 0);
	}
	census_finish(out);
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

	int sockets = 0;
	char through[64], prefix[PATH_MAX];

	memset(out, 0, sizeof(*out));
	/* In a chroot, paths read in our view: show them as the target sees them. */
	proc_root(pid, through, sizeof(through), prefix, sizeof(prefix));
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
		memset(f, 0, sizeof(*f));
		f->fd = (int)fd;
		f->mode = '?';
		snprintf(path, sizeof(path), "%s/%ld", dir, fd);
		n = readlink(path, f->target, sizeof(f->target) - 1);
		if (n < 0)
			continue;  /* closed meanwhile */
		f->target[n] = '\0';
		if (prefix[0] && proc_in_root(prefix, f->target) != f->target)
			memmove(f->target, f->target + strlen(prefix), (size_t)n - strlen(prefix) + 1);
		int have = stat(path, &st) == 0;

		f->kind = fd_kind_of(f->target, have ? st.st_mode : 0, have);
		if (f->kind == FDK_SOCK) {
			sockets++;
			f->inode = strtoull(f->target + 8, NULL, 10);  /* "socket:[N]" */
		}
		char info[4096];

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", (int)pid, fd);
		if (lt_read_file(path, info, sizeof(info)) > 0)
			fd_parse_info(f, info);
		out->n++;
	}
	closedir(d);
	lt_sort(out->v, out->n, sizeof(*out->v), by_fd);
	if (sockets) {
		/* Only our sockets: the host's may be a million. */
		uint64_t *want = xreallocarray(NULL, out->n, sizeof(*want));
		size_t nwant = 0;

		for (size_t i = 0; i < out->n; i++)
			if (out->v[i].kind == FDK_SOCK)
				want[nwant++] = out->v[i].inode;
		if (net_read(pid, want, nwant, &out->socks) == 0)
			for (size_t i = 0; i < out->n; i++)
				if (out->v[i].kind == FDK_SOCK)
					out->v[i].sock = net_find(&out->socks, out->v[i].inode);
		free(want);
	}
	return 0;
}

int fd_table_copy(const struct fd_table *from, struct fd_table *to)
{
	memset(to, 0, sizeof(*to));
	to->n = from->n;
	to->v = xmemdup(from->v, from->n * sizeof(*from->v));
	to->socks.n = from->socks.n;
	to->socks.v = xmemdup(from->socks.v, from->socks.n * sizeof(*from->socks.v));
	for (size_t i = 0; i < to->n; i++)
		if (to->v[i].sock)
			to->v[i].sock = to->socks.v + (to->v[i].sock - from->socks.v);
	return 0;
}

void fd_table_free(struct fd_table *t)
{
	net_free(&t->socks);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
