/* image.h - a snapshot image: the target's memory, copied during a short stop.
 *
 * The walkers read an address space (remote.h); an image is one source of
 * it.  The stop only copies: image_plan() decides, while the target runs,
 * which ranges to copy (its private writable mappings, resident pages only,
 * minus the payload of large buffers), image_copy() copies them while the
 * target is stopped, and the walk reads the copy after the target was let
 * go.  Reads the image cannot answer fall through to the live target
 * (remote.c counts them as late pages when the memory could have changed).
 *
 * Everything read from /proc or the target is untrusted and bounded: the
 * plan never holds more ranges than IMAGE_MAX_RANGES and the copy never
 * runs past its deadline.
 *
 * Return convention: 0 on success, -1 with lt_error (LT_ERR_GONE when the
 * target exited, LT_ERR_PERM when its memory may not be read). */
#ifndef LEAKTOP_IMAGE_H
#define LEAKTOP_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "remote.h"

/* A glibc mmap'd chunk larger than this whose first words are not object
 * references (a numpy array's data, a large bytes payload) is a payload:
 * only its first page is copied. */
#define IMAGE_LARGE_CHUNK (1u << 20)
#define IMAGE_MAX_RANGES (1u << 20)

struct pages;

struct image_seg {
	uint64_t addr, len;   /* [addr, addr+len) of the target ... */
	uint64_t off;         /* ... is at buf + off */
};

struct image_stats {
	uint64_t planned_bytes;   /* what the plan asked for */
	uint64_t copied_bytes;    /* what was copied */
	uint64_t copy_us;         /* time spent copying (inside the stop) */
	uint64_t plan_us;         /* time spent planning (target running) */
	uint64_t replan_us;       /* time spent planning again, inside the stop */
	uint64_t replanned_bytes; /* what that plan asked for */
	uint64_t swapped_bytes;   /* of the plan, swapped out: the copy reads them in */
	uint64_t payload_bytes;   /* resident bytes of large buffers left out */
	uint64_t hole_bytes;      /* planned but unreadable (unmapped since planning) */
	uint64_t ranges;          /* ranges copied */
	unsigned copiers;         /* threads that copied */
	int cut;                  /* the deadline stopped the copy early */
};

struct image {
	struct proc_maps maps;    /* the target's mappings when planned */
	struct image_seg *plan;   /* what to copy, ascending and disjoint */
	size_t nplan, plancap;
	struct image_seg *excl;   /* resident pages left out: large payloads */
	size_t nexcl, exclcap;
	struct image_seg *seg;    /* what was copied, ascending */
	size_t nseg, segcap;
	unsigned char *buf;       /* the copied bytes (mmap'd, kept between snapshots) */
	size_t cap;
	size_t warm;              /* buf[0, warm) has been written by a copy */
	int file_backed;
	size_t hint;              /* the segment found last */
	struct image_stats st;
	pid_t pid;                /* whose (0: none yet) */
	int pagemap;              /* its /proc/PID/pagemap, or -1 */
	struct pages *pages;      /* what the copy lacks, read without touching it */
	int pages_stale;          /* a copy was made since its mappings were read */
	uint64_t replan_estimate_us;  /* the last plan's maps and pagemap time */
	uint64_t untouched_reads; /* reads so answered since the copy, and the first's address */
	uint64_t untouched_first;
};

void image_init(struct image *im);
void image_free(struct image *im);

/* Decide what to copy from pid and make room for it; the target is running
 * and is not stopped by this. */
int image_plan(struct image *im, pid_t pid);

/* Plan again and copy from pid, which must be stopped.  Stops early (st.cut) when
 * the monotonic clock passes deadline_us (0: no deadline).  Ranges that
 * became unreadable since planning are skipped (st.hole_bytes).  -1 only when
 * the target is gone or its memory cannot be read at all. */
int image_copy(struct image *im, pid_t pid, uint64_t deadline_us);

/* Drop what was copied (the plan and buffer are kept for reuse). */
void image_clear(struct image *im);

/* The copy of [addr, addr+len), or NULL when the image does not hold all of
 * it. */
const unsigned char *image_find(struct image *im, uint64_t addr, size_t len);

/* 1 if addr lay in a mapping the target could not write when planned
 * (code, read-only data): reading it later gives the same bytes. */
int image_is_constant(const struct image *im, uint64_t addr);

/* The image as a source for remote_use_source(). */
void image_source(struct image *im, struct remote_source *out);

/* The pages mem recorded as read live (remote_record_live) that the image
 * lacks, as the walk read them, into *buf (free it), as segments of *runs
 * (free it; off into *buf), ascending; returns how many. */
size_t image_live_runs(struct image *im, struct remote *mem, unsigned char **buf,
		       struct image_seg **runs);

#endif
