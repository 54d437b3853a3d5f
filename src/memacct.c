/* memacct.c - every resident byte of the target in a named part (memacct.h).
 *
 * Read right after the target was let go, in this order: the threads'
 * stack pointers (/proc/PID/task/TID/syscall), pymalloc's arenas (from the
 * copy: their spans and the pool headers' counts), then /proc/PID/smaps,
 * streamed: each mapping's Rss goes to a bucket as it is read, and
 * nothing is kept per mapping, so a process with a million mappings costs
 * time, not memory.  The arenas' resident pages are counted in
 * /proc/PID/pagemap, over the arenas only.  After the walk the census
 * splits the heap's bytes among objects, buffers and the rest. */
#include "config.h"
#include "memacct.h"
#include "arena.h"
#include "census.h"
#include "json.h"
#include "proc.h"
#include "remote.h"
#include "report.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Threads whose stack pointer is asked; past this, the guard layout alone
 * tells their stacks. */
#define MAX_SP_THREADS 4096
/* A PROT_NONE mapping this small right below an anonymous one is a
 * thread's guard (glibc and musl: one page unless the program asks). */
#define GUARD_MAX (1u << 20)
/* glibc's HEAP_MAX_SIZE on 64-bit: a malloc arena's heap starts aligned to
 * it, with its heap_info (the previous heap's unused reserve, PROT_NONE,
 * ends right below: not a guard). */
#define MALLOC_HEAP_ALIGN (64ull << 20)
/* Anonymous mappings whose first words are read to tell malloc's from
 * others; past this, the rest count as malloc's unread. */
#define MAX_HEADER_READS (1u << 16)
#define PAGEMAP_BATCH 4096u
/* Reads the arena list may make at least (it makes one per pool). */
#define MIN_ARENA_READS (1u << 22)

static const struct {
	const char *name, *label;
	char letter;
} parts[MEM_NPARTS] = {
	[MEM_OBJECTS] = { "python_objects", "Python objects", 'o' },
	[MEM_BUFFERS] = { "owned_buffers", "owned buffers", 'b' },
	[MEM_PYMALLOC_FREE] = { "pymalloc_free", "pymalloc free", 'p' },
	[MEM_MALLOC_OTHER] = { "malloc_unattributed", "malloc unattributed", 'm' },
	[MEM_FILES] = { "file_mappings", "file mappings", 'f' },
	[MEM_STACKS] = { "thread_stacks", "thread stacks", 's' },
	[MEM_ANON_OTHER] = { "other_anonymous", "other anonymous", 'a' },
};

const char *mem_part_name(enum mem_part p)
{
	return p < MEM_NPARTS ? parts[p].name : "?";
}

const char *mem_part_label(enum mem_part p)
{
	return p < MEM_NPARTS ? parts[p].label : "?";
}

char mem_part_letter(enum mem_part p)
{
	return p < MEM_NPARTS ? parts[p].letter : '?';
}

static void note(struct mem_account *m, const char *fmt, ...) LT_PRINTF(2, 3);
static void note(struct mem_account *m, const char *fmt, ...)
{
	va_list ap;

	if (m->nnotes >= MEM_NOTE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(m->notes[m->nnotes++], sizeof(m->notes[0]), fmt, ap);
	va_end(ap);
}

/* ---- reading ---- */

enum map_kind { MK_FILE, MK_HEAP, MK_STACK, MK_ANON, MK_OTHER };

#define MF_STACK_NAME 1   /* [anon:...stack...] */
#define MF_MALLOC_NAME 2  /* [anon:...malloc...] */

struct acct {
	struct mem_account *m;
	struct remote *mem;               /* live reads (--no-block) */
	const struct remote_source *copy; /* or the copy's, NULL with --no-block */
	pid_t pid;
	uint64_t *sps;
	size_t nsps, spi;
	struct arena_span *spans;
	size_t nspans, ai;
	int pagemap;                      /* fd, -1 when unreadable */
	uint64_t *ent;
	uint64_t page;
	uint64_t prev_end;
	int prev_guard;
	uint64_t header_reads;
	int headers_capped;
	/* consecutive mappings of one file, and whether _PyRuntime is in them */
	uint64_t run_inode, run_start, run_end, run_data_rss;
	int run_hit;
	uint64_t runtime;
};

static enum map_kind map_kind(const char *path, const char *perms, int *flags)
{
	*flags = 0;
	if (!path[0])
		return perms[3] == 'p' ? MK_ANON : MK_OTHER;
	if (path[0] == '[') {
		if (strcmp(path, "[heap]") == 0)
			return MK_HEAP;
		if (strcmp(path, "[stack]") == 0 || strncmp(path, "[stack:", 7) == 0)
			return MK_STACK;
		/* Named anonymous memory (Linux 5.17+; glibc names its own
		 * with glibc.mem.decorate_maps). */
		if (strncmp(path, "[anon:", 6) == 0 && perms[3] == 'p') {
			if (strstr(path, "stack"))
				*flags |= MF_STACK_NAME;
			else if (strstr(path, "malloc"))
				*flags |= MF_MALLOC_NAME;
			return MK_ANON;
		}
		return MK_OTHER;   /* [vdso], [vvar], [vsyscall], [anon_shmem:...] */
	}
	/* Shared memory with no file on a disk behind it. */
	if (strncmp(path, "/dev/zero", 9) == 0 || strncmp(path, "/SYSV", 5) == 0 ||
	    strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "/anon_hugepage", 14) == 0)
		return MK_OTHER;
	return path[0] == '/' ? MK_FILE : MK_OTHER;  /* anon_inode:..., a driver's */
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The threads' stack pointers, those in or blocked outside a system call.
 * Right after the release a thread that was waiting is "running" until it
 * is back in its call: those are asked again, twice at most, 1 and 3 ms
 * later (a thread that computes stays running; its stack is told by its
 * layout, or not at all). */
static void read_sps(struct acct *a)
{
	pid_t *tids = NULL;
	long n = proc_tasks(a->pid, &tids), left;

	if (n <= 0) {
		free(tids);
		return;
	}
	if (n > MAX_SP_THREADS)
		n = MAX_SP_THREADS;
	a->sps = xreallocarray(NULL, (size_t)n, sizeof(*a->sps));
	for (int round = 0; round < 3 && n > 0; round++) {
		if (round)
			usleep(round == 1 ? 1000 : 2000);
		left = 0;
		for (long i = 0; i < n && !lt_stop_requested; i++) {
			if (proc_task_sp(a->pid, tids[i], &a->sps[a->nsps]) == 0)
				a->nsps++;
			else
				tids[left++] = tids[i];
		}
		n = left;
	}
	free(tids);
	lt_sort(a->sps, a->nsps, sizeof(*a->sps), by_u64);
}

/* Pages of [lo, hi) present in memory, or -1 when pagemap will not say. */
static int64_t present(struct acct *a, uint64_t lo, uint64_t hi)
{
	uint64_t pg = lo / a->page, last = (hi + a->page - 1) / a->page;
	int64_t n = 0;

	if (a->pagemap < 0)
		return -1;
	while (pg < last) {
		size_t want = last - pg < PAGEMAP_BATCH ? (size_t)(last - pg) : PAGEMAP_BATCH;
		ssize_t got = pread(a->pagemap, a->ent, want * 8, (off_t)(pg * 8));

		if (got <= 0 || got % 8)
			return -1;
		for (size_t i = 0; i < (size_t)got / 8; i++)
			n += (int64_t)(a->ent[i] >> 63);   /* bit 63: present (not swapped) */
		pg += (uint64_t)got / 8;
	}
	return n;
}

/* Resident bytes of the arenas within [start, end); *any: an arena is there. */
static uint64_t arena_resident(struct acct *a, uint64_t start, uint64_t end, int *any)
{
	uint64_t bytes = 0;

	*any = 0;
	while (a->ai < a->nspans && a->spans[a->ai].start + a->spans[a->ai].len <= start)
		a->ai++;
	for (size_t i = a->ai; i < a->nspans && a->spans[i].start < end; i++) {
		const struct arena_span *s = &a->spans[i];
		uint64_t lo = s->start > start ? s->start : start;
		uint64_t hi = s->start + s->len < end ? s->start + s->len : end;
		int64_t pages;

		if (lo >= hi)
			continue;
		*any = 1;
		if ((pages = present(a, lo, hi)) >= 0) {
			bytes += (uint64_t)pages * a->page;
		} else {
			/* No pagemap: the pools handed out were touched. */
			uint64_t c = s->start + s->carved < hi ? s->start + s->carved : hi;

			a->m->pagemap = 0;
			bytes += c > lo ? c - lo : 0;
		}
	}
	return bytes;
}

/* Is [start, end) malloc's, from its first words: a glibc mmap'd chunk
 * ({prev_size 0, size | IS_MMAPPED}) or a malloc arena's heap (its
 * heap_info at a HEAP_MAX_SIZE boundary)? */
static int malloc_start(struct acct *a, uint64_t start, uint64_t end)
{
	uint64_t w[4], size;
	const unsigned char *p;

	if (a->header_reads >= MAX_HEADER_READS) {
		a->headers_capped = 1;
		return 1;
	}
	a->header_reads++;
	if (a->copy) {
		if (!(p = a->copy->find(a->copy->arg, start, sizeof(w))))
			return 0;   /* not in the copy: never written, or unreadable */
		memcpy(w, p, sizeof(w));
	} else if (remote_read(a->mem, start, w, sizeof(w)) < 0) {
		return 0;
	}
	if (start % MALLOC_HEAP_ALIGN == 0 && w[0] && !(w[0] & 7) &&
	    (!w[1] || w[1] % MALLOC_HEAP_ALIGN == 0) && w[2] && w[2] <= w[3] &&
	    w[3] <= MALLOC_HEAP_ALIGN)
		return 1;
	/* The size is the mapping's (glibc up to 2.42) or the request's
	 * rounded to 16 (2.43): either way within the mapping. */
	size = w[1] & ~(uint64_t)15;
	return w[0] == 0 && (w[1] & 15) == 2 && size >= a->page && size <= end - start;
}

/* The interpreter's image: the run of mappings of the file holding
 * _PyRuntime, and the anonymous one right after it (its .bss). */
static void module_image(struct acct *a, const struct proc_smap *sm, enum map_kind k)
{
	struct mem_account *m = a->m;

	if (k == MK_FILE && sm->inode && sm->inode == a->run_inode) {
		a->run_end = sm->end;
	} else {
		if (a->run_hit) {
			m->static_lo = a->run_start;
			m->static_len = a->run_end - a->run_start;
			m->module_data_rss = a->run_data_rss;
			if (k == MK_ANON && sm->start == a->run_end)
				m->static_len = sm->end - a->run_start;
		}
		a->run_hit = 0;
		a->run_inode = k == MK_FILE ? sm->inode : 0;
		a->run_start = sm->start;
		a->run_end = sm->end;
		a->run_data_rss = 0;
	}
	if (k != MK_FILE)
		return;
	if (sm->perms[1] == 'w')
		a->run_data_rss += sm->rss;
	if (a->runtime >= sm->start && a->runtime < sm->end)
		a->run_hit = 1;
}

static int debug_memacct(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("LEAKTOP_DEBUG_MEMACCT") && *getenv("LEAKTOP_DEBUG_MEMACCT");
	return on;
}

static void on_map(void *arg, const struct proc_smap *sm)
{
	struct acct *a = arg;
	struct mem_account *m = a->m;
	int flags, any, stack;
	const char *what;
	enum map_kind k = map_kind(sm->path, sm->perms, &flags);
	uint64_t rss = sm->rss, ar, rest;
	int guard = a->prev_guard && a->prev_end == sm->start;

	module_image(a, sm, k);
	a->prev_end = sm->end;
	a->prev_guard = k == MK_ANON && !flags && strcmp(sm->perms, "---p") == 0 &&
			sm->end - sm->start <= GUARD_MAX;
	m->rss += rss;
	while (a->spi < a->nsps && a->sps[a->spi] < sm->start)
		a->spi++;
	stack = a->spi < a->nsps && a->sps[a->spi] < sm->end;
	if (k == MK_FILE) {
		m->file_rss += rss;
		return;
	}
	ar = arena_resident(a, sm->start, sm->end, &any);
	if (ar > rss)
		ar = rss;
	m->arena_rss += ar;
	rest = rss - ar;
	if (!rest)
		return;
	switch (k) {
	case MK_HEAP:
		m->heap_rss += rest;
		return;
	case MK_STACK:
		m->stack_rss += rest;
		m->stacks++;
		return;
	case MK_ANON:
		break;
	default:
		m->anon_rss += rest;
		return;
	}
	if (sm->perms[1] != 'w') {
		m->anon_rss += rest;
		what = "other";
	} else if (stack || (flags & MF_STACK_NAME) ||
		   (guard && sm->start % MALLOC_HEAP_ALIGN != 0)) {
		m->stack_rss += rest;
		m->stacks++;
		what = stack ? "stack (a thread's stack pointer)" : "stack";
	} else if (any || (flags & MF_MALLOC_NAME) || malloc_start(a, sm->start, sm->end)) {
		m->heap_rss += rest;
		what = "heap";
	} else {
		m->anon_rss += rest;
		what = "other";
	}
	/* Developer aid: LEAKTOP_DEBUG_MEMACCT=1 says where each anonymous
	 * mapping went. */
	if (debug_memacct())
		fprintf(stderr, "memacct: %" PRIx64 "-%" PRIx64 " %s rss %" PRIu64 " arenas %" PRIu64
			" rest %s\n", sm->start, sm->end, sm->perms, rss, ar, what);
}

void memacct_read(struct mem_account *m, struct session *s)
{
	struct acct a = { .m = m, .mem = s->ctx.mem, .pid = s->t.pid, .pagemap = -1 };
	struct remote_source copy;
	char path[64], why[256] = "";
	long n;
	uint64_t copied;

	memset(m, 0, sizeof(*m));
	if (s->off || s->t.pid <= 0)
		return;
	a.runtime = s->t.runtime_addr;
	a.page = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!a.page || (a.page & (a.page - 1)))
		a.page = 4096;
	if (!s->opts.no_block) {
		image_source(&s->img, &copy);
		a.copy = &copy;
	}
	if (s->nstop_sps && s->nstop_sps == s->nstop_threads) {   /* every thread's, in the stop */
		a.sps = xreallocarray(NULL, s->nstop_sps, sizeof(*a.sps));
		memcpy(a.sps, s->stop_sps, s->nstop_sps * sizeof(*a.sps));
		a.nsps = s->nstop_sps;
		lt_sort(a.sps, a.nsps, sizeof(*a.sps), by_u64);
	} else {
		read_sps(&a);
	}
	/* A pool header per 16 KiB of pools, and room to spare: a table that
	 * lies about its size ends there. */
	copied = s->opts.no_block ? proc_rss_bytes(s->t.pid) : s->img.st.copied_bytes;
	remote_set_budget(s->ctx.mem, copied / 1024 > MIN_ARENA_READS ? copied / 1024 : MIN_ARENA_READS);
	n = arena_list(&s->ctx, &s->t, s->t.runtime_addr, &a.spans, why, sizeof(why));
	if (remote_exhausted(s->ctx.mem))
		note(m, "pymalloc's arena table was cut after %" PRIu64 " reads: it lists more "
		     "than the memory holds", remote_reads(s->ctx.mem));
	remote_set_budget(s->ctx.mem, 0);
	m->arenas_known = n >= 0;
	a.nspans = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < a.nspans; i++)
		m->arena_used += a.spans[i].used;
	m->arenas = a.nspans;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->t.pid);
	a.pagemap = open(path, O_RDONLY | O_CLOEXEC);
	m->pagemap = a.pagemap >= 0;
	a.ent = xmalloc(PAGEMAP_BATCH * 8);
	n = proc_smaps_read(s->t.pid, on_map, &a);
	if (n > 0) {
		struct proc_smap end = { .path = "" };

		module_image(&a, &end, MK_OTHER);   /* the last run ends */
	}
	if (a.pagemap >= 0)
		close(a.pagemap);
	free(a.ent);
	free(a.spans);
	free(a.sps);
	if (n < 0) {
		memset(m, 0, sizeof(*m));
		note(m, "%s", lt_last_error());
		return;
	}
	m->mappings = (uint64_t)n;
	m->known = 1;
	if (!m->arenas_known)
		note(m, "pymalloc's arenas were not found (%s): their free space is not told apart",
		     why[0] ? why : "no table");
	else if (m->arenas && !m->pagemap)
		note(m, "the arenas' resident pages were estimated (%s unreadable): pools handed "
		     "out count as resident", path);
	if (a.headers_capped)
		note(m, "more than %u anonymous mappings: the rest were taken for malloc's unread",
		     MAX_HEADER_READS);
}

/* ---- the parts ---- */

void memacct_finish(struct mem_account *m, const struct census *c)
{
	uint64_t objects, buffers, free_, heap, need, anon = m->anon_rss, sum = 0, statics, files;

	if (!m->known)
		return;
	buffers = c->buffer_bytes;
	objects = c->bytes > buffers ? c->bytes - buffers : 0;
	free_ = m->arena_rss > m->arena_used ? m->arena_rss - m->arena_used : 0;
	/* Static objects lie in the interpreter's data pages: theirs, not
	 * the file mappings'; the rest of the objects in the heap. */
	statics = m->static_objects < m->module_data_rss ? m->static_objects : m->module_data_rss;
	if (statics > objects)
		statics = objects;
	files = m->file_rss - statics;
	heap = m->arena_rss + m->heap_rss + statics;
	need = objects + buffers + free_;
	m->part[MEM_MALLOC_OTHER] = need <= heap ? heap - need : 0;
	if (need > heap) {
		uint64_t excess = need - heap, take = excess < anon ? excess : anon, cut;

		/* Objects in anonymous memory leaktop did not tell for
		 * malloc's: that memory is theirs. */
		m->borrowed = take;
		anon -= take;
		excess -= take;
		/* Still more than resident: swapped out, or objects in
		 * memory smaps does not count as theirs (static ones, in the
		 * executable's data).  Left out, and said. */
		cut = excess < objects ? excess : objects;
		objects -= cut;
		excess -= cut;
		buffers -= excess < buffers ? excess : buffers;
		m->unresident = need - heap - take;
		if (m->borrowed)
			note(m, "%" PRIu64 " bytes of anonymous memory not recognised as malloc's were "
			     "taken for the objects and buffers", m->borrowed);
		if (m->unresident)
			note(m, "%" PRIu64 " bytes of objects and buffers are beyond the resident heap "
			     "(swapped out?): left out of their parts", m->unresident);
	}
	m->part[MEM_OBJECTS] = objects;
	m->part[MEM_BUFFERS] = buffers;
	m->part[MEM_PYMALLOC_FREE] = free_;
	m->part[MEM_FILES] = files;
	m->part[MEM_STACKS] = m->stack_rss;
	m->part[MEM_ANON_OTHER] = anon;
	for (int i = 0; i < MEM_NPARTS; i++)
		sum += m->part[i];
	/* Every mapping's Rss went to exactly one bucket: this holds by
	 * construction; should it not, the remainder part says so. */
	if (sum != m->rss) {
		int64_t d = (int64_t)(m->rss - sum);

		if (d < 0 && (uint64_t)-d > m->part[MEM_ANON_OTHER])
			d = -(int64_t)m->part[MEM_ANON_OTHER];
		m->part[MEM_ANON_OTHER] += (uint64_t)d;
		note(m, "the parts were %" PRId64 " bytes off the RSS: other anonymous absorbed it", d);
	}
}

int memacct_bar(const struct mem_account *m, int width, int cells[MEM_NPARTS])
{
	uint64_t rem[MEM_NPARTS];
	int given = 0;

	for (int i = 0; i < MEM_NPARTS; i++)
		cells[i] = 0;
	if (!m->known || !m->rss || width <= 0 || width > 1024)
		return 0;
	for (int i = 0; i < MEM_NPARTS; i++) {
		/* part <= rss < 2^53 (8 PiB): times 1024 fits */
		uint64_t x = m->part[i] * (uint64_t)width;

		cells[i] = (int)(x / m->rss);
		rem[i] = x % m->rss;
		given += cells[i];
	}
	while (given < width) {
		int best = -1;

		for (int i = 0; i < MEM_NPARTS; i++)
			if (m->part[i] && (best < 0 || rem[i] > rem[best]))
				best = i;
		if (best < 0)
			break;
		cells[best]++;
		rem[best] = 0;
		given++;
	}
	return given;
}

/* ---- output ---- */

void memacct_text(FILE *out, const struct mem_account *m)
{
	char h[32];

	if (!m->known) {
		if (m->nnotes)
			fprintf(out, "memory: unknown: %s\n", m->notes[0]);
		return;
	}
	report_human_bytes(h, sizeof(h), m->rss);
	fprintf(out, "memory: RSS %" PRIu64 " bytes (%s) in %" PRIu64 " mappings\n", m->rss, h,
		m->mappings);
	for (int i = 0; i < MEM_NPARTS; i++) {
		report_human_bytes(h, sizeof(h), m->part[i]);
		fprintf(out, "  %-20s %14" PRIu64 "  %10s  %5.1f%%\n", parts[i].label, m->part[i], h,
			m->rss ? 100.0 * (double)m->part[i] / (double)m->rss : 0.0);
	}
	for (int i = 0; i < m->nnotes; i++)
		fprintf(out, "  note: %s\n", m->notes[i]);
}

void memacct_json(struct json *j, const struct mem_account *m)
{
	if (!m->known) {
		json_null(j, "memory");
		return;
	}
	json_begin_object(j, "memory");
	json_u64(j, "rss", m->rss);
	json_begin_array(j, "parts");
	for (int i = 0; i < MEM_NPARTS; i++) {
		json_begin_object(j, NULL);
		json_str(j, "name", parts[i].name);
		json_u64(j, "bytes", m->part[i]);
		json_end_object(j);
	}
	json_end_array(j);
	json_u64(j, "mappings", m->mappings);
	json_u64(j, "pymalloc_arenas", m->arenas);
	json_u64(j, "pymalloc_used", m->arena_used);
	json_u64(j, "static_objects", m->static_objects);
	json_begin_array(j, "notes");
	for (int i = 0; i < m->nnotes; i++)
		json_str(j, NULL, m->notes[i]);
	json_end_array(j);
	json_end_object(j);
}
