/* proc.h - what /proc says about a process: maps, tasks, status, command.
 *
 * Parsing functions take text so unit tests can feed fixtures; the readers
 * around them fetch the text from /proc/PID. */
#ifndef LEAKTOP_PROC_H
#define LEAKTOP_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start, end, offset;
	char perms[5];       /* "r-xp" */
	uint64_t inode;
	char *path;          /* "" for anonymous mappings, "[heap]" etc. */
};

struct proc_maps {
	struct proc_map *v;
	size_t n;
};

/* Parse the text of /proc/PID/maps.  Malformed lines are skipped.
 * Returns 0, or -1 if text holds no mapping at all. */
int proc_maps_parse(const char *text, struct proc_maps *out);
/* Read and parse /proc/PID/maps.  -1 with lt_error on failure. */
int proc_maps_read(pid_t pid, struct proc_maps *out);
void proc_maps_free(struct proc_maps *m);
/* The mapping that contains addr, or NULL. */
const struct proc_map *proc_maps_find(const struct proc_maps *m, uint64_t addr);

struct proc_status {
	char state;          /* 'R', 'S', 't', 'T', 'Z' ... */
	pid_t tracer_pid;
	uid_t uid_real, uid_eff;
	char name[64];
};

/* Parse the text of /proc/PID/status. Returns 0, -1 if required fields are missing. */
int proc_status_parse(const char *text, struct proc_status *out);
/* Returns 0, or -1 with errno (ENOENT: no such process). */
int proc_status_read(pid_t pid, struct proc_status *out);

/* The command line with arguments joined by spaces (at most max-1 bytes). */
void proc_cmdline(pid_t pid, char *buf, size_t max);
/* readlink /proc/PID/exe (" (deleted)" kept), "" if unreadable. */
void proc_exe(pid_t pid, char *buf, size_t max);

/* Thread ids in /proc/PID/task.  Returns the count (>= 0) or -1 with errno. */
long proc_tasks(pid_t pid, pid_t **out);

/* 1 if the process exists (even if we cannot trace it), 0 if not. */
int proc_exists(pid_t pid);
/* 1 if it is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags). */
int proc_is_kernel_thread(pid_t pid);
/* 1 if it is gone or a zombie (exited, not yet reaped), 0 if it runs: the
 * process (its main thread), or one thread tid of it. */
int proc_exited(pid_t pid);
int proc_task_exited(pid_t pid, pid_t tid);
/* Waits up to ms milliseconds for proc_exited(pid); returns it. */
int proc_wait_exit(pid_t pid, int ms);

/* One mapping of /proc/PID/smaps: its maps line and its resident size. */
struct proc_smap {
	uint64_t start, end, offset, inode;
	char perms[5];       /* "rw-p" */
	const char *path;    /* "" anonymous, "[heap]" ...; valid during the call only */
	uint64_t rss;        /* Rss, in bytes (never more than end - start) */
};

/* Called per mapping, in the order smaps lists them (ascending). */
typedef void (*proc_smap_fn)(void *arg, const struct proc_smap *m);

/* A streaming parser of smaps text: feed it lines (without their newline;
 * NULL for a line too long to keep), then end it.  Lines it does not know
 * are ignored; a mapping whose maps line does not parse is skipped with
 * the fields after it.  Holds one mapping at a time, whatever the size of
 * the text. */
struct proc_smaps_parser {
	proc_smap_fn fn;
	void *arg;
	struct proc_smap cur;
	int have;            /* cur is a mapping whose fields are being read */
	uint64_t mappings;   /* passed to fn so far */
	char path[4096 + 64];
};

void proc_smaps_begin(struct proc_smaps_parser *p, proc_smap_fn fn, void *arg);
void proc_smaps_line(struct proc_smaps_parser *p, const char *line, size_t len);
/* Passes the last mapping; returns the number of mappings passed. */
uint64_t proc_smaps_end(struct proc_smaps_parser *p);
/* The whole text at once (unit tests): the number of mappings. */
uint64_t proc_smaps_parse(const char *text, proc_smap_fn fn, void *arg);
/* Stream /proc/PID/smaps through fn, in fixed-size reads.  Returns the
 * number of mappings (> 0), or -1 with lt_error (gone, not allowed, empty,
 * or interrupted by a signal). */
long proc_smaps_read(pid_t pid, proc_smap_fn fn, void *arg);

/* A thread's stack pointer, from the text of /proc/PID/task/TID/syscall
 * ("NR ARGS... SP PC" in a system call, "-1 SP PC" blocked outside one,
 * "running" when it was running).  0 with *sp set, or -1. */
int proc_syscall_sp_parse(const char *text, uint64_t *sp);
int proc_task_sp(pid_t pid, pid_t tid, uint64_t *sp);

/* Resident set size in bytes (VmRSS), 0 if unknown. */
uint64_t proc_rss_bytes(pid_t pid);
/* Open descriptors (entries of /proc/PID/fd), -1 if unreadable. */
long proc_count_fds(pid_t pid);

/* pid's root directory, for a process in a chroot or another mount
 * namespace (a container).  Returns 0 when it is ours; 1 when it differs,
 * with `through` set to "/proc/PID/root" (a way to open its files from
 * here) and `prefix` to where its root lies in our view when that is
 * reachable (a chroot: the paths we read for it start with it), else "".
 * -1 when the process is gone or not ours to look at. */
int proc_root(pid_t pid, char *through, size_t tmax, char *prefix, size_t pmax);

/* path as the process sees it: without prefix (from proc_root) when it
 * starts with it; path itself otherwise. */
const char *proc_in_root(const char *prefix, const char *path);

/* The PID of pid in its own (innermost) PID namespace (NSpid), or pid. */
pid_t proc_nspid(pid_t pid);

/* /proc/sys/kernel/yama/ptrace_scope, or -1 when Yama is absent. */
int proc_ptrace_scope(void);

#endif
