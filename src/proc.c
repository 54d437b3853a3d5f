/* proc.c - /proc parsing. */
#include "config.h"
#include "proc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* One maps line: "start-end perms offset dev inode   path". */
static int parse_map_line(const char *line, size_t len, struct proc_map *m)
{
	char buf[4096 + 256];
	unsigned long long start, end, offset, inode;
	char perms[8];
	int pos = 0;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "%llx-%llx %7s %llx %*x:%*x %llu%n",
		   &start, &end, perms, &offset, &inode, &pos) != 5)
		return -1;
	if (end <= start || strlen(perms) != 4)
		return -1;
	while (buf[pos] == ' ' || buf[pos] == '\t')
		pos++;
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->inode = inode;
	memcpy(m->perms, perms, 5);
	m->path = xstrdup(buf + pos);
	return 0;
}

int proc_maps_parse(const char *text, struct proc_maps *out)
{
	size_t cap = 0;

	out->v = NULL;
	out->n = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		struct proc_map m;

		if (parse_map_line(text, len, &m) == 0) {
			if (out->n == cap) {
				cap = cap ? cap * 2 : 64;
				out->v = xreallocarray(out->v, cap, sizeof(*out->v));
			}
			out->v[out->n++] = m;
		}
		text += len + (nl ? 1 : 0);
	}
	return out->n ? 0 : -1;
}

int proc_maps_read(pid_t pid, struct proc_maps *out)
{
	char path[64];
	size_t cap = 1 << 16, len = 0;
	char *text;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		lt_error(errno == ENOENT ? LT_ERR_GONE : LT_ERR_PERM,
			 "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	text = xmalloc(cap);
	for (;;) {
		size_t n = fread(text + len, 1, cap - len - 1, f);

		len += n;
		if (len < cap - 1)
			break;
		if (cap >= (64u << 20))  /* 64 MiB of maps is not a real process */
			break;
		cap *= 2;
		text = xrealloc(text, cap);
	}
	fclose(f);
	text[len] = '\0';
	rc = proc_maps_parse(text, out);
	free(text);
	if (rc < 0)
		lt_error(LT_ERR_GONE, "%s is empty: the process has exited", path);
	return rc;
}

void proc_maps_free(struct proc_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/* /proc lists mappings in ascending address order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

int proc_status_parse(const char *text, struct proc_status *out)
{
	int have = 0;

	memset(out, 0, sizeof(*out));
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		char line[256];

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, text, len);
		line[len] = '\0';
		if (strncmp(line, "Name:", 5) == 0) {
			const char *v = line + 5;

			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out->name, sizeof(out->name), "%.63s", v);
		} else if (strncmp(line, "State:", 6) == 0) {
			const char *v = line + 6;

			while (*v == ' ' || *v == '\t')
				v++;
			out->state = *v;
			have |= 1;
		} else if (strncmp(line, "TracerPid:", 10) == 0) {
			out->tracer_pid = (pid_t)strtol(line + 10, NULL, 10);
			have |= 2;
		} else if (strncmp(line, "Uid:", 4) == 0) {
			unsigned long r = 0, e = 0;

			if (sscanf(line + 4, "%lu %lu", &r, &e) == 2) {
				out->uid_real = (uid_t)r;
				out->uid_eff = (uid_t)e;
				have |= 4;
			}
		}
		text += len + (nl ? 1 : 0);
	}
	return have == 7 ? 0 : -1;
}

static int status_read_at(const char *path, struct proc_status *out)
{
	char text[4096];

	if (lt_read_file(path, text, sizeof(text)) < 0)
		return -1;
	if (proc_status_parse(text, out) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int proc_status_read(pid_t pid, struct proc_status *out)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return status_read_at(path, out);
}

void proc_cmdline(pid_t pid, char *buf, size_t max)
{
	char path[64];
	long n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = lt_read_file(path, buf, max);
	if (n <= 0) {
		if (max)
			buf[0] = '\0';
		return;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (long i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n' || buf[i] == '\t')
			buf[i] = ' ';
	buf[n] = '\0';
}

void proc_exe(pid_t pid, char *buf, size_t max)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, max - 1);
	buf[n > 0 ? n : 0] = '\0';
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

long proc_tasks(pid_t pid, pid_t **out)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	size_t n = 0, cap = 16;
	pid_t *v;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	v = xmalloc(cap * sizeof(*v));
	while ((e = readdir(d)) != NULL) {
		char *end;
		long tid = strtol(e->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		if (n == cap) {
			cap *= 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = (pid_t)tid;
	}
	closedir(d);
	lt_sort(v, n, sizeof(*v), cmp_pid);
	*out = v;
	return (long)n;
}

int proc_exists(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

int proc_is_kernel_thread(pid_t pid)
{
	char path[64], text[1024], *p;
	unsigned long flags;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (lt_read_file(path, text, sizeof(text)) <= 0 || !(p = strrchr(text, ')')))
		return 0;
	/* after "comm)": state, ppid, pgrp, session, tty_nr, tpgid, flags */
	for (int field = 0; field < 7 && p; field++)
		p = strchr(p + 1, ' ');
	return p && sscanf(p, " %lu", &flags) == 1 && (flags & 0x00200000UL);  /* PF_KTHREAD */
}

int proc_root(pid_t pid, char *through, size_t tmax, char *prefix, size_t pmax)
{
	struct stat ours, theirs;
	ssize_t n;

	through[0] = prefix[0] = '\0';
	snprintf(through, tmax, "/proc/%d/root", (int)pid);
	if (stat(through, &theirs) < 0 || stat("/", &ours) < 0) {
		through[0] = '\0';
		return -1;
	}
	if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) {
		through[0] = '\0';
		return 0;
	}
	/* A chroot reads as the directory's path; a root outside our mount
	 * tree (pivot_root in another namespace) as "/", which says nothing. */
	n = readlink(through, prefix, pmax - 1);
	prefix[n > 1 ? n : 0] = '\0';
	return 1;
}

const char *proc_in_root(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (n && strncmp(path, prefix, n) == 0 && path[n] == '/')
		return path + n;
	return path;
}

pid_t proc_nspid(pid_t pid)
{
	char path[64], text[4096], *line;
	long v = pid;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (lt_read_file(path, text, sizeof(text)) <= 0 || !(line = strstr(text, "\nNSpid:")))
		return pid;
	line += 7;
	/* The last number on the line is the innermost namespace's. */
	for (char *end; *line && *line != '\n';) {
		long x = strtol(line, &end, 10);

		if (end == line)
			break;
		v = x;
		line = end;
	}
	return (pid_t)v;
}

int proc_task_exited(pid_t pid, pid_t tid)
{
	char path[64];
	struct proc_status st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	return status_read_at(path, &st) < 0 || st.state == 'Z' || st.state == 'X';
}

int proc_exited(pid_t pid)
{
	return proc_task_exited(pid, pid);
}

int proc_wait_exit(pid_t pid, int ms)
{
	for (int waited = 0;; waited += 5) {
		if (proc_exited(pid))
			return 1;
		if (waited >= ms)
			return 0;
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

int proc_ptrace_scope(void)
{
	char buf[32];

	if (lt_read_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

uint64_t proc_rss_bytes(pid_t pid)
{
	char path[64], text[4096];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (lt_read_file(path, text, sizeof(text)) < 0)
		return 0;
	p = strstr(text, "VmRSS:");
	return p ? strtoull(p + 6, NULL, 10) * 1024 : 0;
}

long proc_count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- smaps: streamed, one mapping held at a time ---- */

/* Bytes of one read() of smaps; a line longer than the parser's path
 * buffer is not a line smaps writes, and is dropped. */
#define SMAPS_CHUNK (64 * 1024)

static void smaps_flush(struct proc_smaps_parser *p)
{
	if (!p->have)
		return;
	p->have = 0;
	p->mappings++;
	p->fn(p->arg, &p->cur);
}

void proc_smaps_begin(struct proc_smaps_parser *p, proc_smap_fn fn, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->arg = arg;
	p->cur.path = p->path;
}

/* "start-end perms offset dev inode   path" into p->cur; -1 if it is not one. */
static int smaps_header(struct proc_smaps_parser *p, const char *line, size_t len)
{
	unsigned long long start, end, offset, inode;
	char perms[8];
	int pos = 0;

	if (len >= sizeof(p->path))
		return -1;
	memcpy(p->path, line, len);
	p->path[len] = '\0';
	if (sscanf(p->path, "%llx-%llx %7s %llx %*x:%*x %llu%n", &start, &end, perms, &offset,
		   &inode, &pos) != 5 || end <= start || strlen(perms) != 4)
		return -1;
	while (p->path[pos] == ' ' || p->path[pos] == '\t')
		pos++;
	memmove(p->path, p->path + pos, strlen(p->path + pos) + 1);
	p->cur.start = start;
	p->cur.end = end;
	p->cur.offset = offset;
	p->cur.inode = inode;
	memcpy(p->cur.perms, perms, 5);
	p->cur.rss = 0;
	return 0;
}

void proc_smaps_line(struct proc_smaps_parser *p, const char *line, size_t len)
{
	if (!line || !len)
		return;
	if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
		/* A maps line: the fields that follow are its own.  (Field
		 * names start with a capital letter.) */
		smaps_flush(p);
		p->have = smaps_header(p, line, len) == 0;
		return;
	}
	if (p->have && len > 4 && memcmp(line, "Rss:", 4) == 0) {
		uint64_t kb = 0;
		size_t i = 4;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
			kb = kb < (UINT64_MAX / 10 - 10) ? kb * 10 + (uint64_t)(line[i] - '0') : UINT64_MAX;
		/* Resident bytes never exceed the mapping (hostile or damaged
		 * text cannot make them). */
		p->cur.rss = kb > (p->cur.end - p->cur.start) / 1024 ? p->cur.end - p->cur.start : kb * 1024;
	}
}

uint64_t proc_smaps_end(struct proc_smaps_parser *p)
{
	smaps_flush(p);
	return p->mappings;
}

uint64_t proc_smaps_parse(const char *text, proc_smap_fn fn, void *arg)
{
	struct proc_smaps_parser *p = xmalloc(sizeof(*p));
	uint64_t n;

	proc_smaps_begin(p, fn, arg);
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);

		proc_smaps_line(p, text, len);
		text += len + (nl ? 1 : 0);
	}
	n = proc_smaps_end(p);
	free(p);
	return n;
}

long proc_smaps_read(pid_t pid, proc_smap_fn fn, void *arg)
{
	char path[64];
	struct proc_smaps_parser *p;
	char *buf;
	size_t have = 0;
	int fd, skipping = 0, failed = 0;
	uint64_t n;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lt_error(errno == ENOENT || errno == ESRCH ? LT_ERR_GONE : LT_ERR_PERM,
			 "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	p = xmalloc(sizeof(*p));
	buf = xmalloc(SMAPS_CHUNK);
	proc_smaps_begin(p, fn, arg);
	for (;;) {
		ssize_t got = read(fd, buf + have, SMAPS_CHUNK - have);
		char *line = buf, *end, *nl;

		if (got < 0 && errno == EINTR && !lt_stop_requested)
			continue;
		if (got < 0 || lt_stop_requested) {
			failed = lt_stop_requested ? EINTR : errno;
			break;
		}
		if (got == 0)
			break;
		end = buf + have + got;
		while ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
			proc_smaps_line(p, skipping ? NULL : line, (size_t)(nl - line));
			skipping = 0;
			line = nl + 1;
		}
		have = (size_t)(end - line);
		if (have == SMAPS_CHUNK) {
			/* A line longer than a chunk: drop it to its end. */
			skipping = 1;
			have = 0;
		} else if (have && line != buf) {
			memmove(buf, line, have);
		}
	}
	if (have && !skipping && !failed)
		proc_smaps_line(p, buf, have);   /* the last line had no newline */
	close(fd);
	n = proc_smaps_end(p);
	free(p);
	free(buf);
	if (failed) {
		lt_error(failed == ESRCH ? LT_ERR_GONE : failed == EINTR ? LT_ERR_OTHER : LT_ERR_PERM,
			 "cannot read %s: %s", path, strerror(failed));
		return -1;
	}
	if (!n) {
		lt_error(LT_ERR_GONE, "%s is empty: the process has exited", path);
		return -1;
	}
	return n > (uint64_t)LONG_MAX ? LONG_MAX : (long)n;
}

int proc_syscall_sp_parse(const char *text, uint64_t *sp)
{
	unsigned long long w[9];
	int n = 0;
	const char *p = text;

	/* "running", or numbers: 9 in a system call, 3 blocked outside one. */
	while (n < 9 && *p) {
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		errno = 0;
		w[n] = strtoull(p, &end, 0);
		if (end == p || errno)
			return -1;
		n++;
		p = end;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p || (n != 9 && n != 3))
		return -1;
	*sp = w[n - 2];
	return *sp ? 0 : -1;
}

int proc_task_sp(pid_t pid, pid_t tid, uint64_t *sp)
{
	char path[80], text[256];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (lt_read_file(path, text, sizeof(text)) <= 0)
		return -1;
	return proc_syscall_sp_parse(text, sp);
}
