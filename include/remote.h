/* remote.h - reading another process's memory.
 *
 * The lowest layer: all target memory goes through here, from a source
 * that answers first when one is set (a snapshot image, image.h), else from
 * the live process.  Reads use
 * process_vm_readv with many ranges per call and fall back to /proc/PID/mem
 * when that syscall is unavailable or refused.  Nothing here ever writes to
 * the target.
 *
 * Return convention: 0 on success, -1 on failure with errno telling why:
 *   EFAULT  the address range is not (fully) mapped in the target
 *   ESRCH   the target is gone
 *   EPERM   not allowed to read the target
 *   ECANCELED  the read budget is spent (remote_set_budget)
 *   EINTR   a signal asked leaktop to stop
 * Read failures do not record an lt_error (an unmapped pointer is a normal
 * event when walking untrusted data); callers decide what it means. */
#ifndef LEAKTOP_REMOTE_H
#define LEAKTOP_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct remote;

struct remote_stats {
	uint64_t syscalls;     /* read syscalls issued */
	uint64_t bytes;        /* bytes transferred from the target */
	uint64_t hits, misses; /* block-cache lookups */
	uint64_t late_pages;   /* with a source: changeable pages it lacked, read live */
};

/* Open the memory of process pid.  Never fails for a live pid (access is
 * checked by the first read); returns NULL only when pid is invalid. */
struct remote *remote_open(pid_t pid);
void remote_close(struct remote *r);
/* Memory with no process behind it: only a source answers (a fuzz
 * harness's synthetic image, later a snapshot file or a core). */
struct remote *remote_open_offline(void);

/* Bound the reads from now on to max (0: no bound).  Past it every read
 * fails with ECANCELED and remote_exhausted() is 1: however the target's
 * counts and links lie, a walk ends.  Reads also fail (EINTR) once
 * lt_stop_requested is set, so a signal ends a walk at once. */
void remote_set_budget(struct remote *r, uint64_t max);
int remote_exhausted(const struct remote *r);
uint64_t remote_reads(const struct remote *r);

/* Exact, uncached read of len bytes at addr. */
int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len);

/* Read through a cache of large aligned blocks (the source first, when one
 * is set).  The cache assumes memory does not change until
 * remote_cache_drop(): right for a source or a stopped target, and for the
 * few late pages of one snapshot read from a running one. */
int remote_read_cached(struct remote *r, uint64_t addr, void *buf, size_t len);
void remote_cache_drop(struct remote *r);
/* Off: remote_read_cached reads exactly what is asked, for a few hundred
 * scattered reads in a stop (a block and its read-ahead cost more). */
void remote_set_cached(struct remote *r, int on);

/* Read a NUL-terminated string of at most max-1 bytes; the result is always
 * terminated.  Returns its length, or -1 (errno) when the first byte cannot be
 * read. */
long remote_read_cstr(struct remote *r, uint64_t addr, char *buf, size_t max);

/* Convenience: one pointer-sized / int-sized word. */
int remote_read_u64(struct remote *r, uint64_t addr, uint64_t *out);

const struct remote_stats *remote_stats(const struct remote *r);

/* Memory that answers reads before the live target does: a snapshot image
 * (image.h); a core file or a saved snapshot can be one too. */
struct remote_source {
	/* The bytes at [addr, addr+len), or NULL when the source lacks them. */
	const unsigned char *(*find)(void *arg, uint64_t addr, size_t len);
	/* 1 if the target's memory at addr cannot have changed since the
	 * source was made (code, read-only data). */
	int (*constant)(void *arg, uint64_t addr);
	/* Optional, for what find lacks, [addr, addr+len) within one page:
	 * 0 its bytes are in buf, had without touching the target (a page it
	 * never touched: zeros or its file's; a file's page: the file's);
	 * 1 read it live; -1 it was not mapped when the source was made.  A
	 * live read of a page the target never touched would give it one. */
	int (*untouched)(void *arg, uint64_t addr, void *buf, size_t len);
	void *arg;
};

/* Answer reads from src from now on; what it lacks is read from the live
 * target, and each distinct page of changeable memory read that way is
 * counted in late_pages (it may be newer than the source).  NULL goes back
 * to the live target only.  Resets late_pages. */
void remote_use_source(struct remote *r, const struct remote_source *src);

/* For a snapshot file (and the fuzz harness's seeds): with on, keep from
 * now on every page that a read the source lacked took from the live
 * target, constant or not, as it was read (up to 64 Ki pages), and answer
 * later reads of it from that copy, so that what is kept is what the walk
 * saw; 0 stops and forgets them.  Survives remote_use_source.  Costs
 * nothing on reads the source answers. */
void remote_record_live(struct remote *r, int on);
/* The pages kept: their numbers (addr >> 12), ascending, and their bytes
 * (4096 each, in that order), in new arrays (free them); returns how many. */
size_t remote_recorded(const struct remote *r, uint64_t **pages, unsigned char **bytes);

#endif
