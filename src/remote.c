/* remote.c - process_vm_readv with a block cache, /proc/PID/mem fallback. */
#include "config.h"
#include "remote.h"
#include "pages.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* 64 KiB blocks read near memory bandwidth (see shared performance notes)
 * while a GC list, whose neighbours are mostly in the same arena, hits the
 * cache almost always.  The cache is direct-mapped and bounded: 4096 slots,
 * 256 MiB at most, allocated lazily slot by slot. */
#define BLOCK_SHIFT 16
#define BLOCK_SIZE ((size_t)1 << BLOCK_SHIFT)
#define CACHE_SLOTS 4096
/* Blocks read per miss, each its own iovec of one process_vm_readv call. */
#define READAHEAD 8

struct block {
	uint64_t base;  /* block address; 0 = empty slot */
	size_t valid;   /* bytes readable from base */
	unsigned char *data;
};

/* Page numbers, open addressing, 0 = empty (page 0 is never user memory). */
struct page_set {
	uint64_t *v;
	size_t cap, n;
};

struct remote {
	pid_t pid;
	struct block *last;  /* most reads fall in the block read before */
	int mem_fd;         /* /proc/PID/mem, opened on first fallback */
	int use_mem;        /* process_vm_readv refused: use mem_fd */
	struct block *slots;
	struct remote_stats stats;
	struct remote_source src;  /* answers first when src.find is set */
	struct page_set late;     /* pages read late */
	struct rec_store *rec;    /* remote_record_live: every page read live, as read */
	int recording;
	int offline;              /* no live process: only the source answers */
	uint64_t reads, budget;   /* reads so far; past budget (if set) they fail */
	int exhausted;
	int uncached;             /* remote_set_cached(r, 0): live reads are exact */
	struct pages *pages;      /* pages the target never touched are not read from it */
};

/* Distinct pages read late are remembered up to this many; past it each
 * late read counts its pages again (an over-count, said nowhere else). */
#define LATE_SET_MAX ((size_t)1 << 22)
#define PAGE_BYTES 4096u

/* remote_record_live keeps 64 Ki pages (256 MiB) at most. */
#define RECORD_MAX ((size_t)1 << 16)

/* Pages read live while recording, kept as they were read: open
 * addressing from page number (0: empty) to its copy in bytes. */
struct rec_store {
	uint64_t *keys;
	uint32_t *idx;
	size_t cap, n;
	unsigned char *bytes;     /* n pages */
};

static void rec_free(struct rec_store *rs)
{
	if (!rs)
		return;
	free(rs->keys);
	free(rs->idx);
	free(rs->bytes);
	free(rs);
}

static size_t rec_slot(const struct rec_store *rs, uint64_t page)
{
	size_t i = (size_t)(page * 0x9E3779B97F4A7C15ull >> 40) & (rs->cap - 1);

	while (rs->keys[i] && rs->keys[i] != page)
		i = (i + 1) & (rs->cap - 1);
	return i;
}

/* The copy of page, or NULL. */
static const unsigned char *rec_find(const struct rec_store *rs, uint64_t page)
{
	size_t i;

	if (!rs->cap)
		return NULL;
	i = rec_slot(rs, page);
	return rs->keys[i] ? rs->bytes + (size_t)rs->idx[i] * PAGE_BYTES : NULL;
}

static const unsigned char *rec_add(struct rec_store *rs, uint64_t page, const unsigned char *bytes)
{
	size_t i;

	if (2 * (rs->n + 1) > rs->cap) {
		struct rec_store old = *rs;

		rs->cap = old.cap ? old.cap * 2 : 1024;
		rs->keys = xcalloc(rs->cap, sizeof(*rs->keys));
		rs->idx = xcalloc(rs->cap, sizeof(*rs->idx));
		for (size_t k = 0; k < old.cap; k++)
			if (old.keys[k]) {
				size_t j = rec_slot(rs, old.keys[k]);

				rs->keys[j] = old.keys[k];
				rs->idx[j] = old.idx[k];
			}
		free(old.keys);
		free(old.idx);
		rs->bytes = xreallocarray(rs->bytes, rs->cap / 2, PAGE_BYTES);
	}
	i = rec_slot(rs, page);
	rs->keys[i] = page;
	rs->idx[i] = (uint32_t)rs->n;
	memcpy(rs->bytes + rs->n * PAGE_BYTES, bytes, PAGE_BYTES);
	return rs->bytes + rs->n++ * PAGE_BYTES;
}

struct remote *remote_open(pid_t pid)
{
	struct remote *r;

	if (pid <= 0)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->pid = pid;
	r->mem_fd = -1;
	r->pages = pages_open(pid);
	return r;
}

struct remote *remote_open_offline(void)
{
	struct remote *r = xcalloc(1, sizeof(*r));

	r->offline = 1;
	r->mem_fd = -1;
	return r;
}

void remote_set_budget(struct remote *r, uint64_t max)
{
	r->reads = 0;
	r->budget = max;
	r->exhausted = 0;
}

int remote_exhausted(const struct remote *r)
{
	return r->exhausted;
}

uint64_t remote_reads(const struct remote *r)
{
	return r->reads;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	if (r->slots) {
		for (size_t i = 0; i < CACHE_SLOTS; i++)
			free(r->slots[i].data);
		free(r->slots);
	}
	if (r->mem_fd >= 0)
		close(r->mem_fd);
	free(r->late.v);
	rec_free(r->rec);
	pages_close(r->pages);
	free(r);
}

void remote_use_source(struct remote *r, const struct remote_source *src)
{
	if (src)
		r->src = *src;
	else
		memset(&r->src, 0, sizeof(r->src));
	r->stats.late_pages = 0;
	if (r->late.v)
		memset(r->late.v, 0, r->late.cap * sizeof(*r->late.v));
	r->late.n = 0;
}

/* 1 if page was not in the set (and is now).  The table grows to max_cap
 * slots; once it is half full there, every page counts as new. */
static int page_set_insert(struct page_set *s, uint64_t page, size_t max_cap)
{
	size_t i;

	if (s->n * 2 >= s->cap) {
		uint64_t *old = s->v;
		size_t oldcap = s->cap;

		if (oldcap >= max_cap)
			return 1;
		s->cap = oldcap ? oldcap * 2 : 1024;
		s->v = xcalloc(s->cap, sizeof(*s->v));
		s->n = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k])
				page_set_insert(s, old[k], max_cap);
		free(old);
	}
	for (i = (size_t)(page * 0x9E3779B97F4A7C15ull >> 40) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->v[i] == page)
			return 0;
		if (!s->v[i]) {
			s->v[i] = page;
			s->n++;
			return 1;
		}
	}
}

/* A read the source could not answer succeeded on the live target. */
static void note_late(struct remote *r, uint64_t addr, size_t len)
{
	if (r->src.constant && r->src.constant(r->src.arg, addr))
		return;
	for (uint64_t pg = addr >> 12; pg <= (addr + len - 1) >> 12; pg++)
		r->stats.late_pages += (uint64_t)page_set_insert(&r->late, pg, LATE_SET_MAX);
}

void remote_record_live(struct remote *r, int on)
{
	r->recording = on;
	if (on && !r->rec)
		r->rec = xcalloc(1, sizeof(*r->rec));
	if (!on) {
		rec_free(r->rec);
		r->rec = NULL;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

size_t remote_recorded(const struct remote *r, uint64_t **pages, unsigned char **bytes)
{
	const struct rec_store *rs = r->rec;
	size_t n = 0, count = rs ? rs->n : 0;

	*pages = xmalloc((count ? count : 1) * sizeof(**pages));
	*bytes = xmalloc((count ? count : 1) * PAGE_BYTES);
	for (size_t i = 0; rs && i < rs->cap; i++)
		if (rs->keys[i])
			(*pages)[n++] = rs->keys[i];
	lt_sort(*pages, n, sizeof(**pages), cmp_u64);
	for (size_t i = 0; i < n; i++)
		memcpy(*bytes + i * PAGE_BYTES, rec_find(rs, (*pages)[i]), PAGE_BYTES);
	return n;
}

const struct remote_stats *remote_stats(const struct remote *r)
{
	return &r->stats;
}

static int open_mem(struct remote *r)
{
	char path[64];

	if (r->mem_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)r->pid);
	r->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->mem_fd < 0) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	return 0;
}

/* Read up to len bytes; returns bytes read (possibly short at an unmapped
 * page) or -1 with errno. */
static ssize_t read_some(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	ssize_t n;

	r->stats.syscalls++;
	if (!r->use_mem) {
		struct iovec local = { buf, len };
		struct iovec remote = { (void *)(uintptr_t)addr, len };

		n = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
		if (n >= 0) {
			r->stats.bytes += (uint64_t)n;
			return n;
		}
		if (errno != ENOSYS && errno != EPERM)
			return -1;
		/* Some kernels or seccomp policies refuse the syscall while
		 * /proc/PID/mem (which ptrace access governs) still works. */
		r->use_mem = 1;
	}
	if (open_mem(r) < 0)
		return -1;
	do
		n = pread(r->mem_fd, buf, len, (off_t)addr);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EIO)
		errno = EFAULT;
	if (n == 0)
		errno = EFAULT;
	if (n > 0)
		r->stats.bytes += (uint64_t)n;
	return n > 0 ? n : -1;
}

/* Null, wrapping, or beyond x86-64 user space: never a valid object. */
static int outside_user_space(uint64_t addr, size_t len)
{
	if (addr == 0 || addr + len < addr || addr + len > 0x800000000000ull) {
		errno = EFAULT;
		return 1;
	}
	return 0;
}

static int read_live(struct remote *r, uint64_t addr, void *buf, size_t len);

/* Recording: the whole pages of [addr, addr+len) read live once and kept,
 * every later read of them answered from the copy, so that what the walk
 * saw is what is kept.  -1 (nothing kept) when a page cannot be read or
 * the store is full: the caller reads as usual. */
static int read_recorded(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	unsigned char page[PAGE_BYTES], *out = buf;
	uint64_t first = addr >> 12, last = (addr + len - 1) >> 12;

	if (outside_user_space(addr, len))
		return -1;
	for (uint64_t pg = first; pg <= last; pg++) {
		uint64_t from = pg == first ? addr & (PAGE_BYTES - 1) : 0;
		uint64_t to = pg == last ? ((addr + len - 1) & (PAGE_BYTES - 1)) + 1 : PAGE_BYTES;
		/* a read across the copy's edge: the copied part from the copy,
		 * as a reader of the kept pages will see it */
		const unsigned char *p = r->src.find(r->src.arg, (pg << 12) + from, (size_t)(to - from));

		if (p) {
			memcpy(out, p, (size_t)(to - from));
			out += to - from;
			continue;
		}
		p = rec_find(r->rec, pg);
		if (!p) {
			if (r->rec->n >= RECORD_MAX || read_live(r, pg << 12, page, PAGE_BYTES) < 0)
				return -1;
			p = rec_add(r->rec, pg, page);
		}
		memcpy(out, p + from, (size_t)(to - from));
		out += to - from;
	}
	note_late(r, addr, len);
	return 0;
}

/* With a source that knows untouched pages: page by page, the source's
 * copy, else what an untouched page holds, else a live read through
 * `live` (late; the block cache's reads are guarded too: pages.h). */
static int read_pieces(struct remote *r, uint64_t addr, void *buf, size_t len,
		       int (*live)(struct remote *, uint64_t, void *, size_t))
{
	unsigned char *out = buf;

	if (outside_user_space(addr, len))
		return -1;
	while (len > 0) {
		size_t n = PAGE_BYTES - (size_t)(addr & (PAGE_BYTES - 1));
		const unsigned char *p;
		int how;

		if (n > len)
			n = len;
		if ((p = r->src.find(r->src.arg, addr, n)))
			memcpy(out, p, n);
		else if ((how = r->src.untouched(r->src.arg, addr, out, n)) < 0) {
			errno = EFAULT;
			return -1;
		} else if (how > 0) {
			if (live(r, addr, out, n) < 0)
				return -1;
			note_late(r, addr, n);
		}
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/* The source first, when there is one; what it lacks from the live target
 * through `live` (exact or cached), counted as late. */
static inline int read_through(struct remote *r, uint64_t addr, void *buf, size_t len,
			       int (*live)(struct remote *, uint64_t, void *, size_t))
{
	const unsigned char *p;

	/* Every walk's loops read: bounding reads bounds them all, whatever
	 * the counts and links in the target's memory say. */
	if (r->budget && ++r->reads > r->budget) {
		r->exhausted = 1;
		errno = ECANCELED;
		return -1;
	}
	if (lt_stop_requested) {
		errno = EINTR;
		return -1;
	}
	if (r->src.find && (p = r->src.find(r->src.arg, addr, len))) {
		memcpy(buf, p, len);
		return 0;
	}
	if (r->offline) {
		errno = EFAULT;  /* what the source lacks does not exist */
		return -1;
	}
	if (r->recording && r->src.find && len && read_recorded(r, addr, buf, len) == 0)
		return 0;
	if (r->src.untouched && len)
		return read_pieces(r, addr, buf, len, live);
	if (live(r, addr, buf, len) < 0)
		return -1;
	if (r->src.find && len)
		note_late(r, addr, len);
	return 0;
}

/* Up to len bytes, never reading a page the target has not touched from
 * it (pages.h): those are filled without it, the runs of the others read
 * live.  Returns the bytes readable from addr (short at an unreadable
 * page), or -1 with errno when none is. */
static ssize_t read_guarded(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;
	size_t done = 0;

	while (done < len) {
		size_t run = 0;

		/* pages filled without the target, then a run to read live */
		while (done + run < len) {
			uint64_t a = addr + done + run;
			size_t piece = PAGE_BYTES - (size_t)(a & (PAGE_BYTES - 1));

			if (piece > len - done - run)
				piece = len - done - run;
			int k = pages_read(r->pages, a, out + done + run, piece);

			if (k > 0)
				run += piece;
			else if (run)
				break;   /* read the run first; this page again after */
			else if (k < 0)
				return done ? (ssize_t)done : (errno = EFAULT, -1);
			else
				done += piece;
		}
		if (run) {
			ssize_t got = read_some(r, addr + done, out + done, run);

			if (got < 0)
				return done ? (ssize_t)done : -1;
			done += (size_t)got;
			if ((size_t)got < run)
				break;
		}
	}
	return (ssize_t)done;
}

static int read_live(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	unsigned char *p = buf;

	if (len == 0)
		return 0;
	if (outside_user_space(addr, len))
		return -1;
	if (r->pages) {
		ssize_t n = read_guarded(r, addr, buf, len);

		if (n < 0)
			return -1;
		if ((size_t)n < len) {
			errno = EFAULT;
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		ssize_t n = read_some(r, addr, p, len);

		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EFAULT;
			return -1;
		}
		p += n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static struct block *slot_for(struct remote *r, uint64_t base)
{
	size_t slot = (size_t)((base >> BLOCK_SHIFT) * 0x9E3779B97F4A7C15ull >> 52) % CACHE_SLOTS;

	return &r->slots[slot];
}

/* Read the block at base and the READAHEAD-1 blocks after it that are not
 * cached yet, in one process_vm_readv with one iovec per block: objects
 * allocated together sit in neighbouring blocks. */
static struct block *fill_block(struct remote *r, uint64_t base)
{
	struct iovec local[READAHEAD], remote[READAHEAD];
	struct block *want[READAHEAD];
	size_t n = 0;
	ssize_t got;

	if (!r->slots)
		r->slots = xcalloc(CACHE_SLOTS, sizeof(*r->slots));
	want[0] = slot_for(r, base);
	if (want[0]->base == base && want[0]->data) {
		r->stats.hits++;
		return want[0];
	}
	r->stats.misses++;
	for (size_t i = 0; i < READAHEAD; i++) {
		uint64_t b = base + i * BLOCK_SIZE;
		struct block *blk = slot_for(r, b);

		if (i > 0 && (blk->base == b || blk == want[0]))
			break;  /* already cached, or would evict the block we need */
		if (!blk->data)
			blk->data = xmalloc(BLOCK_SIZE);
		blk->base = 0;
		blk->valid = 0;
		want[n] = blk;
		local[n] = (struct iovec){ blk->data, BLOCK_SIZE };
		remote[n] = (struct iovec){ (void *)(uintptr_t)b, BLOCK_SIZE };
		n++;
	}
	r->stats.syscalls++;
	if (r->pages) {
		/* block by block, each without the pages never touched */
		got = 0;
		for (size_t i = 0; i < n; i++) {
			ssize_t g = read_guarded(r, base + i * BLOCK_SIZE, want[i]->data, BLOCK_SIZE);

			if (g > 0)
				got += g;
			if (g < (ssize_t)BLOCK_SIZE)
				break;
		}
	} else if (r->use_mem) {
		got = read_some(r, base, want[0]->data, BLOCK_SIZE);
		n = 1;
	} else {
		got = process_vm_readv(r->pid, local, n, remote, n, 0);
		if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
			got = read_some(r, base, want[0]->data, BLOCK_SIZE);
			n = 1;
		} else if (got > 0) {
			r->stats.bytes += (uint64_t)got;
		}
	}
	if (got <= 0)
		return NULL;  /* the block's start is unmapped (a mapping may begin inside it) */
	/* A short read stops at the first unmapped page: the blocks before it
	 * are whole, the one it falls in is partly valid, the rest are empty. */
	for (size_t i = 0; i < n && got > 0; i++) {
		size_t v = (size_t)got < BLOCK_SIZE ? (size_t)got : BLOCK_SIZE;

		want[i]->base = base + i * BLOCK_SIZE;
		want[i]->valid = v;
		got -= (ssize_t)v;
	}
	return want[0];
}

int remote_read(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	return read_through(r, addr, buf, len, read_live);
}

static int read_cached_live(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	unsigned char *p = buf;
	struct block *last = r->last;

	/* Most reads fall in the block read last: no checks beyond this one
	 * (a block never holds an address outside user space). */
	if (last && addr - last->base < last->valid && len <= last->valid - (addr - last->base)) {
		memcpy(buf, last->data + (addr - last->base), len);
		r->stats.hits++;
		return 0;
	}

	if (len == 0)
		return 0;
	if (outside_user_space(addr, len))
		return -1;
	while (len > 0) {
		uint64_t base = addr & ~(uint64_t)(BLOCK_SIZE - 1);
		size_t off = (size_t)(addr - base);
		size_t chunk = BLOCK_SIZE - off < len ? BLOCK_SIZE - off : len;
		struct block *b = r->last && r->last->base == base ? r->last : fill_block(r, base);

		if (!b || b->valid < off + chunk) {
			/* Partially mapped block: read exactly what was asked. */
			if (errno == ESRCH)
				return -1;
			return read_live(r, addr, p, len);
		}
		r->last = b;
		memcpy(p, b->data + off, chunk);
		p += chunk;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

int remote_read_cached(struct remote *r, uint64_t addr, void *buf, size_t len)
{
	return read_through(r, addr, buf, len, r->uncached ? read_live : read_cached_live);
}

void remote_set_cached(struct remote *r, int on)
{
	r->uncached = !on;
}

void remote_cache_drop(struct remote *r)
{
	if (r->pages)
		pages_refresh(r->pages);   /* its mappings may have changed too */
	if (!r->slots)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		r->slots[i].base = 0;
	r->last = NULL;
}

long remote_read_cstr(struct remote *r, uint64_t addr, char *buf, size_t max)
{
	size_t len = 0;

	if (max == 0)
		return -1;
	/* Read in small steps so a string near the end of a mapping still reads. */
	while (len < max - 1) {
		char chunk[64];
		size_t want = sizeof(chunk);
		uint64_t a = addr + len;
		size_t to_page = 4096 - (size_t)(a & 4095);

		if (want > to_page)
			want = to_page;
		if (remote_read_cached(r, a, chunk, want) < 0) {
			if (len == 0)
				return -1;
			break;
		}
		for (size_t i = 0; i < want && len < max - 1; i++) {
			if (chunk[i] == '\0') {
				buf[len] = '\0';
				return (long)len;
			}
			buf[len++] = chunk[i];
		}
	}
	buf[len] = '\0';
	return (long)len;
}

int remote_read_u64(struct remote *r, uint64_t addr, uint64_t *out)
{
	return remote_read_cached(r, addr, out, sizeof(*out));
}
