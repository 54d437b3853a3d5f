/* image.c - plan a copy of the target's memory, copy it in a stop, look it up. */
#include "config.h"
#include "image.h"
#include "pages.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096u
#define PAGEMAP_BATCH 8192u           /* pagemap entries read per pread (64 KiB) */
#define SCAN_BATCH 256u               /* page starts examined per process_vm_readv */
#define SCAN_BYTES 80u                /* chunk header (16) + eight words */
#define COPY_IOVS 512u                /* iovecs per process_vm_readv while copying */
#define COPY_CALL_BYTES (4u << 20)    /* bytes per call (~1 ms): the deadline is checked between calls */
#define COPY_MAX_COPIERS 8u          /* threads copying inside the stop, at most */
#define COPY_MIN_PART (8u << 20)     /* and each with at least this much to copy */
#define MIN_CHUNK (32u << 10)         /* smallest mmap'd chunk glibc makes (M_MMAP_THRESHOLD floor) */
/* Images at least this large live in an unlinked temporary file, so that
 * the kernel can write them out under memory pressure. */
#define FILE_BACKED_MIB 1024u

void image_init(struct image *im)
{
	memset(im, 0, sizeof(*im));
	im->pagemap = -1;
}

static void release_buf(struct image *im)
{
	if (im->buf)
		munmap(im->buf, im->cap);
	im->buf = NULL;
	im->cap = 0;
	im->file_backed = 0;
}

void image_free(struct image *im)
{
	release_buf(im);
	if (im->pagemap >= 0)
		close(im->pagemap);
	pages_close(im->pages);
	proc_maps_free(&im->maps);
	free(im->plan);
	free(im->excl);
	free(im->seg);
	image_init(im);
}

void image_clear(struct image *im)
{
	im->nseg = 0;
}

static int add_range(struct image_seg **v, size_t *n, size_t *cap, uint64_t addr, uint64_t len)
{
	if (!len)
		return 0;
	if (*n && (*v)[*n - 1].addr + (*v)[*n - 1].len == addr) {
		(*v)[*n - 1].len += len;
		return 0;
	}
	if (*n >= IMAGE_MAX_RANGES)
		return -1;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = (struct image_seg){ addr, len, 0 };
	return 0;
}

/* Private writable mappings hold every object and every pointer to one;
 * code, read-only data and shared mappings are read live when needed. */
static int copyable(const struct proc_map *m)
{
	return m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p' &&
	       strcmp(m->path, "[vvar]") != 0 && strcmp(m->path, "[vsyscall]") != 0 &&
	       strncmp(m->path, "[vvar", 5) != 0;
}

/* Ranges of resident pages as one planner finds them, ascending. */
struct found {
	struct image_seg *v;
	size_t n, cap;
	uint64_t swapped;               /* of them, swapped out */
	uint64_t ent[PAGEMAP_BATCH];    /* pagemap entries read */
};

/* PAGEMAP_SCAN (Linux 6.7): the ranges of pages in given states, asked of
 * /proc/PID/pagemap with an ioctl; declared here, as older headers lack
 * it.  Its answer is a range per run of pages, not 8 bytes per page: a
 * fifth of the time (0.85 ms against 4.9 for 100 MiB resident here). */
struct lt_page_region {
	uint64_t start, end, categories;
};
struct lt_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define LT_PAGEMAP_SCAN _IOWR('f', 16, struct lt_pm_scan_arg)
#define LT_PAGE_IS_PRESENT (1u << 3)
#define LT_PAGE_IS_SWAPPED (1u << 4)
#define SCAN_REGIONS 256u
static int scan_missing;   /* the kernel has no PAGEMAP_SCAN */

/* A test hook: the page-by-page read a kernel before 6.7 gets. */
static int scan_off(void)
{
	static int off = -1;

	if (off < 0)
		off = getenv("LEAKTOP_TEST_NO_PAGEMAP_SCAN") != NULL;
	return off;
}

/* The resident ranges of [*at, hi) by PAGEMAP_SCAN; *at is where it got
 * to.  0, -1 (too many ranges), or -2: ask pagemap page by page from *at. */
static int add_resident_scan(struct found *f, int pagemap, uint64_t *at, uint64_t hi)
{
	struct lt_page_region reg[SCAN_REGIONS];

	while (*at < hi) {
		struct lt_pm_scan_arg a = {
			.size = sizeof(a), .start = *at, .end = hi, .vec = (uint64_t)(uintptr_t)reg,
			.vec_len = SCAN_REGIONS,
			.category_anyof_mask = LT_PAGE_IS_PRESENT | LT_PAGE_IS_SWAPPED,
			.return_mask = LT_PAGE_IS_PRESENT | LT_PAGE_IS_SWAPPED,
		};
		long n = ioctl(pagemap, LT_PAGEMAP_SCAN, &a);

		if (n < 0) {
			/* not this kernel's (EINVAL may be one range's: unaligned) */
			if (errno == ENOTTY || errno == EOPNOTSUPP)
				__atomic_store_n(&scan_missing, 1, __ATOMIC_RELAXED);
			return -2;
		}
		if (a.walk_end <= *at || a.walk_end > hi)
			return -2;   /* no progress: page by page from *at, nothing taken */
		for (long k = 0; k < n && k < (long)SCAN_REGIONS; k++) {
			uint64_t s = reg[k].start < *at ? *at : reg[k].start;
			uint64_t e = reg[k].end > a.walk_end ? a.walk_end : reg[k].end;

			if (s >= e)
				continue;
			if (reg[k].categories & LT_PAGE_IS_SWAPPED)
				f->swapped += e - s;
			if (add_range(&f->v, &f->n, &f->cap, s, e - s) < 0)
				return -1;
		}
		*at = a.walk_end;
	}
	return 0;
}

/* Resident (or swapped) pages of [lo, hi), from /proc/PID/pagemap: reading
 * a page the target never touched would only map the zero page into it. */
static int add_resident(struct found *f, int pagemap, uint64_t lo, uint64_t hi)
{
	uint64_t first, last, run = 0, runlen = 0;

	if (pagemap < 0)
		return add_range(&f->v, &f->n, &f->cap, lo, hi - lo);
	if (!__atomic_load_n(&scan_missing, __ATOMIC_RELAXED) && !scan_off()) {
		int r = add_resident_scan(f, pagemap, &lo, hi);

		if (r != -2)
			return r;
	}
	first = lo / PAGE;
	last = hi / PAGE;
	for (uint64_t pg = first; pg < last;) {
		size_t want = last - pg < PAGEMAP_BATCH ? (size_t)(last - pg) : PAGEMAP_BATCH;
		ssize_t got = pread(pagemap, f->ent, want * 8, (off_t)(pg * 8));

		if (got <= 0) {
			/* Unreadable now: take the rest of the mapping whole. */
			if (runlen && add_range(&f->v, &f->n, &f->cap, run * PAGE, runlen * PAGE) < 0)
				return -1;
			return add_range(&f->v, &f->n, &f->cap, pg * PAGE, (last - pg) * PAGE);
		}
		for (size_t i = 0; i < (size_t)got / 8; i++, pg++) {
			if (f->ent[i] >> 62) {   /* bit 63 present, bit 62 swapped */
				if (!(f->ent[i] >> 63))
					f->swapped += PAGE;
				if (!runlen)
					run = pg;
				runlen++;
			} else if (runlen) {
				if (add_range(&f->v, &f->n, &f->cap, run * PAGE, runlen * PAGE) < 0)
					return -1;
				runlen = 0;
			}
		}
	}
	return runlen ? add_range(&f->v, &f->n, &f->cap, run * PAGE, runlen * PAGE) : 0;
}

static int writable_addr(const struct image *im, uint64_t v)
{
	const struct proc_map *m;

	if (!v || (v & 7))
		return 0;
	m = proc_maps_find(&im->maps, v);
	return m && m->perms[1] == 'w';
}

/* Does a large chunk hold what the census reads in full (an array of
 * object pointers: a list's items, a tuple, a set table, dict keys), or a
 * payload it never reads past its header (bytes, numbers)?  head: the first
 * eight words of the chunk's user data; mid: eight words from its middle,
 * where headers no longer matter. */
static int is_payload(const struct image *im, const uint64_t head[8], const uint64_t mid[8])
{
	int ptrs = 0;
	unsigned b0 = (unsigned)(head[1] & 0xff), b1 = (unsigned)((head[1] >> 8) & 0xff),
		 b2 = (unsigned)((head[1] >> 16) & 0xff);

	if (head[0] == 1) {
		/* PyDictKeysObject: 3.8-3.10 {refcnt, dk_size, ...}; 3.11+
		 * {refcnt, log2_size, log2_index_bytes, kind, ...}. */
		if (head[1] >= 8 && head[1] <= (1ull << 40) && !(head[1] & (head[1] - 1)))
			return 0;
		if (b0 >= 3 && b0 <= 48 && b1 >= b0 && b1 <= b0 + 3 && b2 <= 2)
			return 0;
	}
	for (int i = 0; i < 8; i++)
		ptrs += writable_addr(im, mid[i]);
	return ptrs < 2;
}

/* Eight words from the middle of the chunk at addr (0s if unreadable). */
static void read_middle(pid_t pid, uint64_t addr, uint64_t size, uint64_t mid[8])
{
	struct iovec local = { mid, 64 };
	struct iovec remote = { (void *)(uintptr_t)(addr + (size / 2 & ~(uint64_t)63)), 64 };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 64)
		memset(mid, 0, 64);
}

/* In the plan ranges [a, b) of one anonymous mapping, find glibc's mmap'd
 * chunks ({prev_size 0, size | IS_MMAPPED} at a page start) and leave out
 * all but the first page of those that hold a large payload. */
static int drop_payloads(const struct image *im, pid_t pid, const struct image_seg *plan,
			 size_t a, size_t b, uint64_t map_end,
			 struct image_seg **excl, size_t *nexcl, size_t *exclcap)
{
	static unsigned char hdr[SCAN_BATCH][SCAN_BYTES];
	struct iovec local[SCAN_BATCH], remote[SCAN_BATCH];
	uint64_t pages[SCAN_BATCH], skip_until = 0;
	size_t r = a;
	uint64_t p = plan[a].addr;

	while (r < b) {
		size_t n = 0;
		ssize_t got;

		/* The next SCAN_BATCH resident page starts at or after p. */
		while (n < SCAN_BATCH && r < b) {
			const struct image_seg *s = &plan[r];

			if (p < s->addr)
				p = s->addr;
			if (p >= s->addr + s->len) {
				r++;
				continue;
			}
			if (p >= skip_until) {
				pages[n] = p;
				local[n] = (struct iovec){ hdr[n], SCAN_BYTES };
				remote[n] = (struct iovec){ (void *)(uintptr_t)p, SCAN_BYTES };
				n++;
				p += PAGE;
			} else {
				p = skip_until;
			}
		}
		if (!n)
			break;
		got = process_vm_readv(pid, local, n, remote, n, 0);
		if (got < 0) {
			if (errno == ESRCH) {
				lt_error(LT_ERR_GONE, "pid %d exited", (int)pid);
				return -1;
			}
			got = 0;
		}
		for (size_t i = 0; i < (size_t)got / SCAN_BYTES && i < n; i++) {
			uint64_t w[10], mid[8], size;

			if (pages[i] < skip_until)
				continue;
			memcpy(w, hdr[i], sizeof(w));
			/* The size is the mapping's (glibc up to 2.42) or the
			 * request's rounded to 16 (2.43): the mapping ends at
			 * the next page either way. */
			size = (w[1] & ~(uint64_t)7) + (PAGE - 1);
			size &= ~(uint64_t)(PAGE - 1);
			if (w[0] != 0 || (w[1] & 15) != 2 || size < MIN_CHUNK || size > (1ull << 40) ||
			    size > map_end - pages[i])
				continue;
			skip_until = pages[i] + size;
			if (size <= IMAGE_LARGE_CHUNK)
				continue;
			read_middle(pid, pages[i], size, mid);
			if (is_payload(im, w + 2, mid) &&
			    add_range(excl, nexcl, exclcap, pages[i] + PAGE, size - PAGE) < 0)
				return -1;
		}
		if ((size_t)got / SCAN_BYTES < n)   /* stopped at an unreadable page */
			p = pages[(size_t)got / SCAN_BYTES] + PAGE;
		else if (p < skip_until)
			p = skip_until;
	}
	return 0;
}

/* plan minus excl (both ascending and disjoint), in place. */
static void subtract(struct image *im, const struct image_seg *excl, size_t nexcl)
{
	struct image_seg *out = NULL;
	size_t n = 0, cap = 0, e = 0;

	for (size_t i = 0; i < im->nplan; i++) {
		uint64_t lo = im->plan[i].addr, hi = lo + im->plan[i].len;

		while (e < nexcl && excl[e].addr + excl[e].len <= lo)
			e++;
		for (size_t k = e; k < nexcl && excl[k].addr < hi && lo < hi; k++) {
			uint64_t xlo = excl[k].addr, xhi = xlo + excl[k].len;

			if (xlo > lo)
				add_range(&out, &n, &cap, lo, xlo - lo);
			im->st.payload_bytes += (xhi < hi ? xhi : hi) - (xlo > lo ? xlo : lo);
			lo = xhi;
		}
		if (lo < hi)
			add_range(&out, &n, &cap, lo, hi - lo);
	}
	free(im->plan);
	im->plan = out;
	im->nplan = n;
	im->plancap = cap;
}

static unsigned char *map_buffer(size_t len, int *file_backed)
{
	const char *env = getenv("LEAKTOP_IMAGE_FILE_MIB");
	uint64_t file_min = (uint64_t)(env && *env ? strtoull(env, NULL, 10) : FILE_BACKED_MIB) << 20;
	void *p = MAP_FAILED;

	*file_backed = 0;
	if (len >= file_min) {
		const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
		int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

		if (fd >= 0 && ftruncate(fd, (off_t)len) == 0)
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (fd >= 0)
			close(fd);
		*file_backed = p != MAP_FAILED;
	}
	if (p == MAP_FAILED) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			madvise(p, len, MADV_HUGEPAGE);   /* fewer first touches, where THP is on */
	}
	return p == MAP_FAILED ? NULL : p;
}

/* The first mapped address at or after addr in maps, or UINT64_MAX. */
static uint64_t next_mapped(const struct proc_maps *maps, uint64_t addr)
{
	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].end > addr)
			return maps->v[i].start > addr ? maps->v[i].start : addr;
	return UINT64_MAX;
}

/* One pass over plan[from, to) into buf, and what it got. */
struct copier {
	const struct image_seg *plan;
	unsigned char *buf;
	pid_t pid;
	size_t from, to;
	uint64_t deadline_us;
	int record;                   /* inside the stop: keep what arrives, count holes */
	const struct proc_maps *now;  /* the mappings inside the stop (the re-plan's), or NULL: */
	struct proc_maps own;         /* then read here at the first hole */
	struct image_seg *seg;
	size_t nseg, segcap;
	uint64_t copied, holes;
	int cut, err;                 /* err: errno of a failure that ends the copy */
};

/* Append a copied segment, joined to the last one when it continues it
 * both in the target and in the buffer. */
static void append_seg(struct image_seg **v, size_t *n, size_t *cap, struct image_seg s)
{
	struct image_seg *last = *n ? &(*v)[*n - 1] : NULL;

	if (last && last->addr + last->len == s.addr && last->off + last->len == s.off) {
		last->len += s.len;
		return;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = s;
}

/* Copy plan[from, to) with as few process_vm_readv calls as the iovec
 * limit allows.  Inside the stop (cp->record) what arrives is recorded and
 * what cannot be read is a hole; warming just passes over it. */
static void copy_pass(struct copier *cp)
{
	const struct image_seg *plan = cp->plan;
	struct iovec local[COPY_IOVS], remote[COPY_IOVS];
	size_t i = cp->from;
	uint64_t done = 0;    /* bytes of plan[i] handled */

	while (i < cp->to) {
		size_t n = 0, r = i;
		uint64_t d = done, total = 0, left;
		ssize_t got;

		if ((cp->deadline_us && lt_now_us() >= cp->deadline_us) || lt_stop_requested) {
			cp->cut = 1;
			break;
		}
		while (n < COPY_IOVS && r < cp->to && total < COPY_CALL_BYTES) {
			const struct image_seg *s = &plan[r];
			uint64_t len = s->len - d;

			if (len > COPY_CALL_BYTES - total)
				len = COPY_CALL_BYTES - total;
			local[n] = (struct iovec){ cp->buf + s->off + d, (size_t)len };
			remote[n] = (struct iovec){ (void *)(uintptr_t)(s->addr + d), (size_t)len };
			n++;
			total += len;
			d += len;
			if (d == s->len) {
				r++;
				d = 0;
			}
		}
		got = process_vm_readv(cp->pid, local, n, remote, n, 0);
		if (got < 0 && (errno == ESRCH || (cp->record && errno != EFAULT))) {
			cp->err = errno;
			break;
		}
		if (got < 0)
			got = 0;
		for (left = (uint64_t)got; left > 0;) {
			const struct image_seg *s = &plan[i];
			uint64_t take = s->len - done < left ? s->len - done : left;

			if (cp->record) {
				append_seg(&cp->seg, &cp->nseg, &cp->segcap,
					   (struct image_seg){ s->addr + done, take, s->off + done });
				cp->copied += take;
			}
			left -= take;
			done += take;
			if (done == s->len) {
				i++;
				done = 0;
			}
		}
		if ((uint64_t)got == total)
			continue;
		if (!cp->record) {   /* warming: go on after the range that stopped the read */
			i++;
			done = 0;
			continue;
		}
		/* Planned but not readable now: the target unmapped it since.
		 * Skip to what is mapped (it is stopped: its mappings hold still),
		 * or past one unreadable page. */
		if (!cp->now && !cp->own.n && proc_maps_read(cp->pid, &cp->own) < 0 &&
		    lt_last_errkind() == LT_ERR_GONE) {
			cp->err = ESRCH;
			break;
		}
		{
			const struct proc_maps *now = cp->now ? cp->now : &cp->own;
			uint64_t at = plan[i].addr + done;
			uint64_t next = now->n ? next_mapped(now, at) : at;

			if (next == at)
				next = (at | (PAGE - 1)) + 1;
			while (i < cp->to && plan[i].addr + plan[i].len <= next) {
				cp->holes += plan[i].len - done;
				i++;
				done = 0;
			}
			if (i < cp->to && plan[i].addr + done < next) {
				cp->holes += next - (plan[i].addr + done);
				done = next - plan[i].addr;
			}
		}
	}
}

/* How many threads plan again and copy bytes inside the stop: one per CPU leaktop may run
 * on (the target's threads are stopped and use none), at most
 * COPY_MAX_COPIERS, each with COPY_MIN_PART or more.  Into a warmed
 * buffer the copy is the kernel's per-page work, which divides between
 * CPUs: 2 copiers took 118 MiB in 16 ms here where one took 29 (a memcpy:
 * 15).  LEAKTOP_COPIERS sets the count, whatever the size (bench/run
 * compares counts, the tests cut small copies). */
static unsigned copiers_for(uint64_t bytes)
{
	const char *env = getenv("LEAKTOP_COPIERS");
	uint64_t part = COPY_MIN_PART;
	cpu_set_t set;
	unsigned n = 1;

	if (env && *env) {
		n = (unsigned)strtoul(env, NULL, 10);
		part = PAGE;
	} else if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = (unsigned)CPU_COUNT(&set);
	}
	if (n > COPY_MAX_COPIERS)
		n = COPY_MAX_COPIERS;
	if (n > bytes / part)
		n = (unsigned)(bytes / part);
	return n ? n : 1;
}

/* The parts of m to read the pagemap of in the re-plan: outside the
 * payloads already found (their pages are not copied, and reading their
 * pagemap would be most of its cost). */
static void spans_outside(const struct image *im, const struct proc_map *m,
			  struct image_seg **v, size_t *n, size_t *cap)
{
	uint64_t at = m->start;
	size_t lo = 0, hi = im->nexcl;

	while (lo < hi) {   /* the first payload ending after the mapping's start */
		size_t mid = lo + (hi - lo) / 2;

		if (im->excl[mid].addr + im->excl[mid].len <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t e = lo; at < m->end; e++) {
		uint64_t stop = e < im->nexcl && im->excl[e].addr < m->end ? im->excl[e].addr : m->end;

		if (stop > at) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*v = xreallocarray(*v, *cap, sizeof(**v));
			}
			(*v)[(*n)++] = (struct image_seg){ at, stop - at, 0 };
		}
		if (stop >= m->end)
			break;
		at = im->excl[e].addr + im->excl[e].len;
	}
}

/* One thread's part of the re-plan: the resident pages of its spans. */
struct planner {
	const struct image_seg *spans;
	size_t nspans;
	int pagemap, rc;
	struct found *f;
};

static void *planner_run(void *arg)
{
	struct planner *pl = arg;

	for (size_t i = 0; i < pl->nspans && pl->rc == 0; i++)
		pl->rc = add_resident(pl->f, pl->pagemap, pl->spans[i].addr,
				      pl->spans[i].addr + pl->spans[i].len);
	return NULL;
}

/* Start fn(arg[k]) on threads for k in [1, n), their signals blocked
 * (signals stay this thread's); started[k] says which began. */
static void start_helpers(unsigned n, void *(*fn)(void *), void *args, size_t argsize,
			  pthread_t *th, int *started)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned k = 1; k < n; k++)
		started[k] = pthread_create(&th[k], NULL, fn, (char *)args + k * argsize) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Run fn(arg[0]) here, then wait for the helpers (or run, here, those
 * that did not start). */
static void join_helpers(unsigned n, void *(*fn)(void *), void *args, size_t argsize,
			 const pthread_t *th, const int *started)
{
	fn(args);
	for (unsigned k = 1; k < n; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		else
			fn((char *)args + k * argsize);
	}
}

/* The re-plan's pagemap reads, cut into n parts of about as many pages,
 * read at once (the kernel's work per pagemap entry, about 150 ns here,
 * divides between CPUs like the copy's), joined into f. */
static int replan_resident(struct image *im, struct found *f, unsigned n)
{
	struct image_seg *spans = NULL, *cut;
	size_t nspans = 0, cap = 0, m = 0, bound[COPY_MAX_COPIERS + 1];
	struct planner pl[COPY_MAX_COPIERS];
	pthread_t th[COPY_MAX_COPIERS];
	int started[COPY_MAX_COPIERS] = { 0 }, rc = 0;
	uint64_t total = 0, done = 0;
	unsigned k = 1;

	for (size_t i = 0; i < im->maps.n; i++)
		if (copyable(&im->maps.v[i]))
			spans_outside(im, &im->maps.v[i], &spans, &nspans, &cap);
	for (size_t i = 0; i < nspans; i++)
		total += spans[i].len;
	/* spans cut at n-1 page boundaries (a span crossing one becomes two) */
	cut = xreallocarray(NULL, nspans + n, sizeof(*cut));
	bound[0] = 0;
	for (size_t i = 0; i < nspans; i++) {
		struct image_seg sp = spans[i];

		while (k < n) {
			uint64_t at = (total / n * k) & ~(uint64_t)(PAGE - 1);

			if (at >= done + sp.len)
				break;
			if (at > done) {
				cut[m++] = (struct image_seg){ sp.addr, at - done, 0 };
				sp.addr += at - done;
				sp.len -= at - done;
				done = at;
			}
			bound[k++] = m;
		}
		cut[m++] = sp;
		done += sp.len;
	}
	while (k <= n)
		bound[k++] = m;
	free(spans);
	for (k = 0; k < n; k++) {
		pl[k] = (struct planner){ cut + bound[k], bound[k + 1] - bound[k], im->pagemap, 0,
					  k ? xcalloc(1, sizeof(struct found)) : f };
	}
	start_helpers(n, planner_run, pl, sizeof(pl[0]), th, started);
	join_helpers(n, planner_run, pl, sizeof(pl[0]), th, started);
	for (k = 1; k < n; k++) {
		for (size_t i = 0; i < pl[k].f->n && rc == 0; i++)
			rc = add_range(&f->v, &f->n, &f->cap, pl[k].f->v[i].addr, pl[k].f->v[i].len);
		f->swapped += pl[k].f->swapped;
		free(pl[k].f->v);
		free(pl[k].f);
	}
	for (k = 0; k < n; k++)
		if (pl[k].rc < 0)
			rc = -1;
	free(cut);
	return rc;
}

/* What to copy: the resident (or swapped) pages of the private writable
 * mappings as they are now, less the payload of large buffers (im->excl),
 * each range given its place in the buffer.  With scan, the target runs
 * (the plan): large buffers are found by reading their chunk headers.
 * Without, it is stopped (the re-plan): the maps and pagemap only, the
 * plan's payloads still left out, so that the re-plan costs little next to
 * the copy (a buffer made since the plan is copied whole).  Returns the
 * bytes to copy, or -1 with lt_error. */
static int64_t plan_ranges(struct image *im, pid_t pid, int scan, unsigned copiers)
{
	uint64_t off = 0, payload = im->st.payload_bytes, t0 = lt_now_us(), scan_us = 0;
	struct found *f;
	char path[64];
	int rc = 0;

	im->nplan = 0;
	(void)scan_off();   /* read here, before any planner thread */
	if (scan)
		im->nexcl = 0;
	im->st.payload_bytes = im->st.swapped_bytes = 0;
	proc_maps_free(&im->maps);
	if (proc_maps_read(pid, &im->maps) < 0)
		return -1;
	if (im->pid != pid) {
		if (im->pagemap >= 0)
			close(im->pagemap);
		snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
		im->pagemap = open(path, O_RDONLY | O_CLOEXEC);
		pages_close(im->pages);
		im->pages = pages_open(pid);
		im->pid = pid;
	}
	f = xcalloc(1, sizeof(*f));
	f->v = im->plan;
	f->cap = im->plancap;
	for (size_t i = 0; scan && i < im->maps.n && rc == 0; i++) {
		const struct proc_map *m = &im->maps.v[i];
		size_t first = f->n;

		if (!copyable(m))
			continue;
		rc = add_resident(f, im->pagemap, m->start, m->end);
		/* glibc puts large allocations in mappings of their own. */
		if (rc == 0 && !m->path[0] && f->n > first) {
			uint64_t s0 = lt_now_us();

			rc = drop_payloads(im, pid, f->v, first, f->n, m->end, &im->excl, &im->nexcl,
					   &im->exclcap);
			scan_us += lt_now_us() - s0;
		}
	}
	if (!scan)
		rc = replan_resident(im, f, copiers);
	im->plan = f->v;
	im->nplan = f->n;
	im->plancap = f->cap;
	im->st.swapped_bytes = f->swapped;
	free(f);
	if (rc < 0) {
		if (lt_last_errkind() == LT_ERR_GONE)
			return -1;
		lt_error(LT_ERR_OTHER, "pid %d has more than %u separate memory ranges to copy; "
			 "use --no-block to read it without a copy", (int)pid, IMAGE_MAX_RANGES);
		return -1;
	}
	subtract(im, im->excl, im->nexcl);
	if (!scan)
		im->st.payload_bytes = payload;   /* the plan's: the re-plan read none */
	/* What a re-plan will cost: this, less the payloads' scan. */
	im->replan_estimate_us = lt_now_us() - t0 - scan_us;
	for (size_t i = 0; i < im->nplan; i++) {
		im->plan[i].off = off;
		off += im->plan[i].len;
	}
	return (int64_t)off;
}

/* A buffer for off bytes and some growth; 0, or -1 with lt_error. */
static int make_room(struct image *im, pid_t pid, uint64_t off)
{
	size_t want;

	if (off <= im->cap)
		return 0;
	want = (size_t)(off + off / 8 + (4u << 20)) & ~(size_t)(PAGE - 1);
	release_buf(im);
	im->warm = 0;
	im->buf = map_buffer(want, &im->file_backed);
	if (!im->buf) {
		lt_error(LT_ERR_OTHER, "cannot hold a copy of %llu MiB of pid %d's memory (%s); "
			 "free memory, or use --no-block to read without a copy",
			 (unsigned long long)(off >> 20), (int)pid, strerror(errno));
		return -1;
	}
	im->cap = want;
	return 0;
}

int image_plan(struct image *im, pid_t pid)
{
	uint64_t t0 = lt_now_us();
	int64_t off;

	image_clear(im);
	memset(&im->st, 0, sizeof(im->st));
	off = plan_ranges(im, pid, 1, 1);
	if (off < 0 || make_room(im, pid, (uint64_t)off) < 0)
		return -1;
	im->st.planned_bytes = (uint64_t)off;
	/* Copy the plan once while the target runs, into the part of the
	 * buffer no copy has written yet: the first write into a page costs
	 * several times the copy itself (measured: ~1.5 ms/MiB against 0.2),
	 * and it must not be paid inside the stop.  Warming by the copy itself
	 * was cheaper here than read(2) from /dev/zero or MAP_POPULATE, which
	 * did not spare the copy's first writes at all. */
	if (im->warm < (uint64_t)off) {
		size_t from = 0;

		while (from < im->nplan && im->plan[from].off + im->plan[from].len <= im->warm)
			from++;
		struct copier cp = { .plan = im->plan, .buf = im->buf, .pid = pid, .from = from,
				     .to = im->nplan };

		copy_pass(&cp);
		if (cp.err) {
			lt_error(LT_ERR_GONE, "pid %d exited while leaktop was planning its copy", (int)pid);
			return -1;
		}
		im->warm = (size_t)off;
	}
	im->st.plan_us = lt_now_us() - t0;
	return 0;
}

static void *copier_run(void *arg)
{
	copy_pass(arg);
	return NULL;
}

/* The plan cut into n parts of about total/n bytes each (a range crossing
 * a cut becomes two); part k is v[bound[k], bound[k+1]).  Free v. */
static struct image_seg *split_plan(const struct image *im, uint64_t total, unsigned n,
				    size_t bound[COPY_MAX_COPIERS + 1])
{
	struct image_seg *v = xreallocarray(NULL, im->nplan + n, sizeof(*v));
	size_t m = 0;
	unsigned k = 1;

	bound[0] = 0;
	for (size_t i = 0; i < im->nplan; i++) {
		struct image_seg s = im->plan[i];

		while (k < n) {
			uint64_t cut = (total / n * k) & ~(uint64_t)(PAGE - 1);

			if (cut >= s.off + s.len)
				break;
			if (cut > s.off) {
				uint64_t head = cut - s.off;

				v[m++] = (struct image_seg){ s.addr, head, s.off };
				s.addr += head;
				s.off += head;
				s.len -= head;
			}
			bound[k++] = m;
		}
		v[m++] = s;
	}
	while (k <= n)
		bound[k++] = m;
	return v;
}

/* Copy the plan with n copiers, this thread one of them; their results
 * joined into im->seg and im->st.  Returns the errno that ended the copy,
 * or 0. */
static int copy_parts(struct image *im, pid_t pid, uint64_t deadline_us, unsigned n)
{
	struct copier cp[COPY_MAX_COPIERS];
	pthread_t th[COPY_MAX_COPIERS];
	int started[COPY_MAX_COPIERS] = { 0 };
	size_t bound[COPY_MAX_COPIERS + 1] = { 0, im->nplan };
	struct image_seg *parts = im->plan;
	uint64_t total = im->nplan ? im->plan[im->nplan - 1].off + im->plan[im->nplan - 1].len : 0;
	int err = 0;

	if (n > 1)
		parts = split_plan(im, total, n, bound);
	for (unsigned k = 0; k < n; k++)
		cp[k] = (struct copier){ .plan = parts, .buf = im->buf, .pid = pid,
					 .from = bound[k], .to = bound[k + 1],
					 .deadline_us = deadline_us, .record = 1,
					 .now = n > 1 ? &im->maps : NULL };
	start_helpers(n, copier_run, cp, sizeof(cp[0]), th, started);
	join_helpers(n, copier_run, cp, sizeof(cp[0]), th, started);
	im->nseg = 0;
	for (unsigned k = 0; k < n; k++) {
		for (size_t i = 0; i < cp[k].nseg; i++)
			append_seg(&im->seg, &im->nseg, &im->segcap, cp[k].seg[i]);
		free(cp[k].seg);
		proc_maps_free(&cp[k].own);
		im->st.copied_bytes += cp[k].copied;
		im->st.hole_bytes += cp[k].holes;
		im->st.cut |= cp[k].cut;
		if (cp[k].err && (!err || cp[k].err == ESRCH))
			err = cp[k].err;
	}
	if (parts != im->plan)
		free(parts);
	im->st.copiers = 1;
	for (unsigned k = 1; k < n; k++)
		im->st.copiers += started[k] != 0;
	return err;
}

int image_copy(struct image *im, pid_t pid, uint64_t deadline_us)
{
	uint64_t t0 = lt_now_us();
	unsigned copiers = 1;
	int64_t off;
	int err;

	im->nseg = 0;
	im->st.copied_bytes = im->st.hole_bytes = im->st.ranges = 0;
	im->st.cut = 0;
	im->untouched_reads = im->untouched_first = 0;
	im->pages_stale = 1;
	/* The plan again, now that nothing moves: pages made resident and
	 * mappings made since it are copied too, and nothing of the heap is
	 * left to read after the release.  Its ranges mostly keep their places
	 * in the warmed buffer.  Not when it would take what --max-pause
	 * leaves for the copy: then the plan made before the stop is copied,
	 * by one copier (the others would need the mappings as they are now). */
	if (!deadline_us || t0 + 2 * im->replan_estimate_us < deadline_us) {
		copiers = copiers_for(im->st.planned_bytes);
		off = plan_ranges(im, pid, 0, copiers);
		if (off < 0 || make_room(im, pid, (uint64_t)off) < 0)
			return -1;
		im->st.replan_us = lt_now_us() - t0;
		im->st.replanned_bytes = (uint64_t)off;
		copiers = copiers_for((uint64_t)off);
	} else {
		im->st.replanned_bytes = im->st.planned_bytes;
	}
	t0 = lt_now_us();
	err = copy_parts(im, pid, deadline_us, copiers);
	if (err) {
		errno = err;
		if (errno == ESRCH)
			lt_error(LT_ERR_GONE, "pid %d exited while its memory was being copied", (int)pid);
		else
			lt_error(LT_ERR_PERM, "cannot read the memory of pid %d: %s", (int)pid, strerror(errno));
		im->nseg = 0;
		return -1;
	}
	im->st.ranges = im->nseg;
	im->st.copy_us = lt_now_us() - t0;
	return 0;
}

const unsigned char *image_find(struct image *im, uint64_t addr, size_t len)
{
	const struct image_seg *s;
	size_t lo = 0, hi = im->nseg;

	if (im->hint < im->nseg) {
		s = &im->seg[im->hint];
		if (addr - s->addr < s->len && len <= s->len - (addr - s->addr))
			return im->buf + s->off + (addr - s->addr);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < im->seg[mid].addr)
			hi = mid;
		else if (addr - im->seg[mid].addr >= im->seg[mid].len)
			lo = mid + 1;
		else {
			s = &im->seg[mid];
			if (len > s->len - (addr - s->addr))
				return NULL;
			im->hint = mid;
			return im->buf + s->off + (addr - s->addr);
		}
	}
	return NULL;
}

int image_is_constant(const struct image *im, uint64_t addr)
{
	const struct proc_map *m = proc_maps_find(&im->maps, addr);

	return m && m->perms[1] != 'w' && m->path[0] == '/';
}

static const unsigned char *source_find(void *arg, uint64_t addr, size_t len)
{
	return image_find(arg, addr, len);
}

static int source_constant(void *arg, uint64_t addr)
{
	return image_is_constant(arg, addr);
}

static int in_ranges(const struct image_seg *v, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < v[mid].addr)
			hi = mid;
		else if (addr - v[mid].addr >= v[mid].len)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* What the image lacks (remote.h, the source's untouched): an address no
 * mapping held at the stop does not exist.  A page of a private writable
 * mapping the stop's plan did not take was never touched (the plan takes
 * every resident or swapped page; unless the copy was cut, or it is a
 * large buffer's, left out: then as below); it held zeros, or its file's
 * bytes.  Elsewhere the pagemap now says (pages.h). */
static int source_untouched(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct image *im = arg;
	const struct proc_map *m = proc_maps_find(&im->maps, addr);
	int k;

	if (!m)
		return -1;
	if (!im->pages || len > m->end - addr || m->perms[0] != 'r')
		return 1;
	if (copyable(m) && !im->st.cut && !in_ranges(im->excl, im->nexcl, addr))
		k = pages_untouched(im->pages, m, addr, buf, len) == 0 ? 0 : 1;
	else
		k = pages_read(im->pages, addr, buf, len);
	if (k == 0 && !im->untouched_reads++)
		im->untouched_first = addr;
	return k;
}

void image_source(struct image *im, struct remote_source *out)
{
	/* After the release, once per copy: the mappings read again outside
	 * the stop, for what the walk reads outside the copy. */
	if (im->pages && im->pages_stale)
		pages_refresh(im->pages);
	im->pages_stale = 0;
	out->find = source_find;
	out->constant = source_constant;
	out->untouched = im->pid > 0 ? source_untouched : NULL;
	out->arg = im;
}

size_t image_live_runs(struct image *im, struct remote *mem, unsigned char **buf,
		       struct image_seg **runs)
{
	uint64_t *pages;
	unsigned char *bytes;
	size_t n = remote_recorded(mem, &pages, &bytes), nruns = 0, cap = 0, used = 0;

	*buf = xmalloc(n * PAGE + 1);
	*runs = NULL;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = pages[i] * PAGE;

		if (image_find(im, a, PAGE))
			continue;
		memcpy(*buf + used, bytes + i * PAGE, PAGE);
		append_seg(runs, &nruns, &cap, (struct image_seg){ a, PAGE, used });
		used += PAGE;
	}
	free(pages);
	free(bytes);
	return nruns;
}
