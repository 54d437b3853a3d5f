/* core.c - ELF core files as a session's memory.
 *
 * A core (gcore's, the kernel's) holds the process's writable memory in its
 * PT_LOAD segments and, in its notes, the threads (NT_PRSTATUS), the
 * command (NT_PRPSINFO), the auxiliary vector and the files it had mapped
 * (NT_FILE).  What it leaves out of file mappings (code, read-only data:
 * type names, Py_Version) is read from those files, as found here.
 *
 * The memory is a sorted list of pieces, each from the core or from one
 * mapped file, merged into runs of contiguous addresses.  A run gets an
 * address-space reservation on first use and is filled 64 KiB chunk by
 * chunk as reads touch it, so find() returns stable, contiguous bytes
 * across segments and only what the walk reads is ever read.
 *
 * Everything in the core is untrusted: header fields, counts, sizes,
 * offsets and note lengths are checked against the file and bounded; a
 * segment past the end of a truncated core is memory that is missing. */
#include "config.h"
#include "core.h"
#include "remote.h"
#include "report.h"
#include "rootfs.h"
#include "snapshot.h"
#include "target.h"
#include "util.h"

#include <elf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#define CORE_MACHINE EM_X86_64
#define CORE_MACHINE_NAME "x86-64"
#elif defined(__aarch64__)
#define CORE_MACHINE EM_AARCH64
#define CORE_MACHINE_NAME "aarch64"
#endif

#define CHUNK_SHIFT 16
#define CHUNK ((uint64_t)1 << CHUNK_SHIFT)
#define PAGE 4096u
#define MAX_PHDRS ((size_t)1 << 20)
#define MAX_NOTES ((size_t)64 << 20)     /* bytes of notes read */
#define MAX_MAPPINGS ((size_t)1 << 20)   /* NT_FILE entries */
#define MAX_FILES ((size_t)1 << 16)      /* distinct files looked for */
#define MAX_THREADS 100000
#define NT_FILE_TYPE 0x46494c45           /* "FILE" (NT_FILE) */

/* Where the files a core names are looked for: the program given with
 * --exe for its own path, then under root (a directory standing for the
 * core's /, from --exe), then as named. */
struct where {
	char root[PATH_MAX];
	char exe_core[PATH_MAX];   /* the program, as the core names it */
	char exe_arg[PATH_MAX];    /* --exe, "" none */
};

/* A path from the core's notes is the core's word: an absolute path with
 * no ".." in it, or nothing at all. */
static int plain_path(const char *path)
{
	if (path[0] != '/')
		return 0;
	for (const char *p = path; (p = strstr(p, "/..")) != NULL; p += 3)
		if (p[3] == '/' || p[3] == '\0')
			return 0;
	return 1;
}

/* The k-th place to look for path (0, 1, ...); 0 when there is no k-th. */
static int candidate(const struct where *w, const char *path, int k, char *out, size_t max)
{
	if (!plain_path(path))
		return 0;
	if (w->exe_arg[0] && strcmp(path, w->exe_core) == 0 && k-- == 0) {
		snprintf(out, max, "%s", w->exe_arg);
		return 1;
	}
	if (w->root[0] && path[0] == '/' && k-- == 0)
		return snprintf(out, max, "%s%s", w->root, path) < (int)max;
	if (k-- == 0) {
		snprintf(out, max, "%s", path);
		return 1;
	}
	return 0;
}

/* Opens a candidate (read-only).  One under the root is opened inside it,
 * its links included (rootfs_open): a root's links never lead to the
 * host's files. */
static int open_candidate(const struct where *w, const char *path, const char *found)
{
	size_t n = strlen(w->root);

	if (!n || strncmp(found, w->root, n) != 0 || found[n] != '/' ||
	    strcmp(found + n, path) != 0)
		return open(found, O_RDONLY | O_CLOEXEC);
	return rootfs_open(w->root, path);
}

/* ---- the memory ------------------------------------------------------- */

struct mapped {                /* a file the core had mapped, as found here */
	const char *path;          /* as the core names it (in notes) */
	char *found;               /* where it was found, NULL: nowhere */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int elf;                   /* its offset-0 mapping starts with an ELF header */
};

struct mapping {               /* one NT_FILE entry */
	uint64_t start, end, off;
	const char *path;
	int file;                  /* index in files */
};

struct piece {                 /* [addr, addr+len) is at off in ... */
	uint64_t addr, len, off;
	int file;                  /* ... files[file], or the core (-1) */
};

struct run {                   /* contiguous memory: pieces [first, first+n) */
	uint64_t addr, len;
	size_t first, n;
	unsigned char *buf;        /* reserved on first use */
	uint64_t *filled;          /* chunks read */
	int failed;                /* could not be reserved: unreadable */
};

struct core {
	int fd;
	uint64_t size;             /* of the core file */
	Elf *elf;
	unsigned char *notes;      /* the notes read (strings point in here) */
	size_t notes_len;
	struct mapping *maps;
	size_t nmaps;
	struct mapped *files;
	size_t nfiles;
	struct piece *pieces;
	size_t npieces;
	struct run *runs;
	size_t nruns, hint;
	uint64_t claimed, present;  /* bytes of memory the core says it holds, and has */
	uint64_t core_ranges;
	struct where where;
	/* from the notes */
	pid_t pid;
	char fname[17];
	char psargs[ELF_PRARGSZ + 1];
	struct tid_pair *tids;
	size_t ntids;
	uint64_t at_phdr, at_execfn;
	const unsigned char *auxv;  /* NT_AUXV, in notes */
	size_t auxv_len;
	int notes_cut;              /* the notes lie (partly) past the end */
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	if (off > (uint64_t)INT64_MAX - len)
		return -1;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Sorted by address; a piece overlapping the one before it is cut to
 * start where that one ends (a hostile core's overlapping segments). */
static size_t sort_disjoint(struct piece *v, size_t n)
{
	size_t k = 0;

	lt_sort(v, n, sizeof(*v), cmp_piece);
	for (size_t i = 0; i < n; i++) {
		struct piece p = v[i];

		if (k > 0) {
			uint64_t end = v[k - 1].addr + v[k - 1].len;

			if (p.addr < end) {
				if (p.addr + p.len <= end)
					continue;
				p.off += end - p.addr;
				p.len -= end - p.addr;
				p.addr = end;
			}
		}
		v[k++] = p;
	}
	return k;
}

/* Fill chunk k of run r: each piece's bytes from the core or its file
 * (what cannot be read stays zero: a file that shrank since). */
static void fill_chunk(struct core *c, struct run *r, uint64_t k)
{
	uint64_t lo = r->addr + (k << CHUNK_SHIFT);
	uint64_t hi = r->addr + min_u64((k + 1) << CHUNK_SHIFT, r->len);
	size_t a = r->first, b = r->first + r->n;

	/* the first piece ending after lo */
	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (c->pieces[mid].addr + c->pieces[mid].len <= lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (size_t i = a; i < r->first + r->n && c->pieces[i].addr < hi; i++) {
		const struct piece *p = &c->pieces[i];
		uint64_t from = p->addr > lo ? p->addr : lo;
		uint64_t to = min_u64(p->addr + p->len, hi);
		unsigned char *into = r->buf + (from - r->addr);
		uint64_t off = p->off + (from - p->addr);

		if (p->file < 0) {
			read_at(c->fd, into, (size_t)(to - from), off);
		} else {
			const struct mapped *f = &c->files[p->file];
			int fd = open(f->found, O_RDONLY | O_CLOEXEC);
			struct stat st;

			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino) {
				/* short at the file's end: the rest of the page is zeros */
				ssize_t n;

				do
					n = pread(fd, into, (size_t)(to - from), (off_t)off);
				while (n < 0 && errno == EINTR);
			}
			close(fd);
		}
	}
	r->filled[k >> 6] |= (uint64_t)1 << (k & 63);
}

static int reserve(struct run *r)
{
	uint64_t nchunks = (r->len + CHUNK - 1) >> CHUNK_SHIFT;
	void *p;

	if (r->failed)
		return -1;
	if (r->len > (uint64_t)SIZE_MAX / 2)
		goto fail;
	p = mmap(NULL, (size_t)r->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		goto fail;
	r->buf = p;
	r->filled = xcalloc((size_t)((nchunks + 63) / 64), sizeof(*r->filled));
	return 0;
fail:
	r->failed = 1;
	return -1;
}

static struct run *run_at(struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nruns;

	if (c->hint < c->nruns && addr - c->runs[c->hint].addr < c->runs[c->hint].len)
		return &c->runs[c->hint];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < c->runs[mid].addr)
			hi = mid;
		else if (addr - c->runs[mid].addr >= c->runs[mid].len)
			lo = mid + 1;
		else {
			c->hint = mid;
			return &c->runs[mid];
		}
	}
	return NULL;
}

static const unsigned char *core_find(void *arg, uint64_t addr, size_t len)
{
	struct core *c = arg;
	struct run *r = run_at(c, addr);
	uint64_t at, first, last;

	if (!r || (len && len > r->len - (addr - r->addr)))
		return NULL;
	if (!r->buf && reserve(r) < 0)
		return NULL;
	at = addr - r->addr;
	first = at >> CHUNK_SHIFT;
	last = len ? (at + len - 1) >> CHUNK_SHIFT : first;
	for (uint64_t k = first; k <= last; k++)
		if (!(r->filled[k >> 6] & ((uint64_t)1 << (k & 63))))
			fill_chunk(c, r, k);
	return r->buf + at;
}

static int core_constant(void *arg, uint64_t addr)
{
	(void)arg, (void)addr;
	return 1;  /* nothing runs there any more */
}

static void core_free(struct core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nruns; i++) {
		if (c->runs[i].buf)
			munmap(c->runs[i].buf, (size_t)c->runs[i].len);
		free(c->runs[i].filled);
	}
	free(c->runs);
	free(c->pieces);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i].found);
	free(c->files);
	free(c->maps);
	free(c->notes);
	free(c->tids);
	if (c->elf)
		elf_end(c->elf);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void offline_free_core(struct session_offline *off)
{
	core_free(off->arg);
	off->arg = NULL;
}

/* ---- the core's headers and notes ------------------------------------- */

static const char *elf_type_name(unsigned t)
{
	switch (t) {
	case ET_NONE: return "NONE";
	case ET_REL: return "REL: an object file";
	case ET_EXEC: return "EXEC: an executable";
	case ET_DYN: return "DYN: a shared library or position-independent executable";
	default: return "unknown";
	}
}

static void parse_prstatus(struct core *c, const unsigned char *d, size_t n)
{
	struct elf_prstatus st;
	pid_t tid;

	if (n < offsetof(struct elf_prstatus, pr_pid) + sizeof(st.pr_pid) || c->ntids >= MAX_THREADS)
		return;
	memcpy(&tid, d + offsetof(struct elf_prstatus, pr_pid), sizeof(tid));
	if (tid <= 0)
		return;
	if ((c->ntids & (c->ntids - 1)) == 0)
		c->tids = xreallocarray(c->tids, c->ntids ? c->ntids * 2 : 16, sizeof(*c->tids));
	/* the core records the ids of the process's own PID namespace,
	 * which are all there is of it now */
	c->tids[c->ntids].host = tid;
	c->tids[c->ntids].own = tid;
	c->ntids++;
}

static void parse_prpsinfo(struct core *c, const unsigned char *d, size_t n)
{
	struct elf_prpsinfo ps;

	if (n < sizeof(ps))
		return;
	memcpy(&ps, d, sizeof(ps));
	if (ps.pr_pid > 0)
		c->pid = ps.pr_pid;
	memcpy(c->fname, ps.pr_fname, sizeof(ps.pr_fname));
	c->fname[sizeof(ps.pr_fname)] = '\0';
	memcpy(c->psargs, ps.pr_psargs, sizeof(ps.pr_psargs));
	c->psargs[sizeof(ps.pr_psargs)] = '\0';
	for (size_t i = strlen(c->psargs); i > 0 && c->psargs[i - 1] == ' '; i--)
		c->psargs[i - 1] = '\0';
}

static void parse_auxv(struct core *c, const unsigned char *d, size_t n)
{
	if (c->auxv)
		return;
	c->auxv = d;
	c->auxv_len = n & ~(size_t)15;
	for (size_t i = 0; i + 16 <= n; i += 16) {
		uint64_t type, val;

		memcpy(&type, d + i, 8);
		memcpy(&val, d + i + 8, 8);
		if (type == AT_NULL)
			break;
		if (type == AT_PHDR)
			c->at_phdr = val;
		else if (type == AT_EXECFN)
			c->at_execfn = val;
	}
}

/* NT_FILE: count, page size, count x (start, end, offset in pages), then
 * count NUL-terminated paths.  Entries beyond what the note holds are
 * dropped. */
static void parse_file_note(struct core *c, const unsigned char *d, size_t n)
{
	uint64_t count, pgsz;
	const char *s, *end = (const char *)d + n;

	if (c->maps || n < 16)
		return;
	memcpy(&count, d, 8);
	memcpy(&pgsz, d + 8, 8);
	if (pgsz == 0 || pgsz > ((uint64_t)1 << 30) || count > (n - 16) / 24)
		return;
	if (count > MAX_MAPPINGS)
		count = MAX_MAPPINGS;
	c->maps = xcalloc(count ? (size_t)count : 1, sizeof(*c->maps));
	s = (const char *)d + 16 + count * 24;
	for (uint64_t i = 0; i < count && s < end; i++) {
		const char *nul = memchr(s, '\0', (size_t)(end - s));
		struct mapping *m = &c->maps[c->nmaps];
		uint64_t pgoff;

		if (!nul)
			break;
		memcpy(&m->start, d + 16 + i * 24, 8);
		memcpy(&m->end, d + 16 + i * 24 + 8, 8);
		memcpy(&pgoff, d + 16 + i * 24 + 16, 8);
		m->path = s;
		m->file = -1;
		s = nul + 1;
		if (m->end <= m->start || pgoff > UINT64_MAX / pgsz || m->path[0] != '/')
			continue;
		m->off = pgoff * pgsz;
		c->nmaps++;
	}
}

static void parse_notes(struct core *c, const unsigned char *d, size_t n, size_t align)
{
	size_t pos = 0;

	while (n - pos >= 12) {
		uint32_t namesz, descsz, type;
		size_t name, desc, next;

		memcpy(&namesz, d + pos, 4);
		memcpy(&descsz, d + pos + 4, 4);
		memcpy(&type, d + pos + 8, 4);
		name = pos + 12;
		if (namesz > n - name)
			return;
		desc = name + ((namesz + align - 1) & ~(align - 1));
		if (desc > n || descsz > n - desc)
			return;
		next = desc + ((descsz + align - 1) & ~(align - 1));
		if (namesz == 5 && memcmp(d + name, "CORE", 5) == 0) {
			if (type == NT_PRSTATUS)
				parse_prstatus(c, d + desc, descsz);
			else if (type == NT_PRPSINFO)
				parse_prpsinfo(c, d + desc, descsz);
			else if (type == NT_AUXV)
				parse_auxv(c, d + desc, descsz);
			else if (type == NT_FILE_TYPE)
				parse_file_note(c, d + desc, descsz);
		}
		if (next <= pos || next > n)
			return;
		pos = next;
	}
}

/* The ELF header and program headers, checked; the PT_LOAD claims as
 * pieces of the core (ascending, disjoint) and the notes parsed.  Returns
 * 0 or -1 with lt_error. */
static int read_headers(struct core *c, const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	size_t phnum, nload = 0;
	unsigned char ident[EI_NIDENT];

	if (c->size < EI_NIDENT || read_at(c->fd, ident, sizeof(ident), 0) < 0 ||
	    memcmp(ident, ELFMAG, SELFMAG) != 0) {
		lt_error(LT_ERR_OTHER, "%s is not a core file (not ELF); make one with gcore PID, or "
			 "let the kernel dump one (ulimit -c unlimited)", path);
		return -1;
	}
	if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB) {
		lt_error(LT_ERR_OTHER, "%s is an ELF file of a %s %s-endian program; leaktop reads "
			 "cores of 64-bit little-endian programs", path,
			 ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "non-64-bit",
			 ident[EI_DATA] == ELFDATA2MSB ? "big" : "unknown");
		return -1;
	}
	if (c->size < sizeof(eh) || read_at(c->fd, &eh, sizeof(eh), 0) < 0) {
		lt_error(LT_ERR_OTHER, "%s is not a core file (its ELF header is cut short)", path);
		return -1;
	}
	if (eh.e_type != ET_CORE) {
		lt_error(LT_ERR_OTHER, "%s is not a core file (ELF type %s); make one with gcore "
			 "PID, or let the kernel dump one", path, elf_type_name(eh.e_type));
		return -1;
	}
#ifdef CORE_MACHINE
	if (eh.e_machine != CORE_MACHINE) {
		lt_error(LT_ERR_OTHER, "%s is a core of a program for another machine (ELF machine "
			 "%u); leaktop reads %s cores", path, (unsigned)eh.e_machine, CORE_MACHINE_NAME);
		return -1;
	}
#endif
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* more than 65534 segments: the count is in section 0's sh_info */
		Elf64_Shdr sh0;

		if (eh.e_shoff == 0 || read_at(c->fd, &sh0, sizeof(sh0), eh.e_shoff) < 0) {
			lt_error(LT_ERR_OTHER, "%s: its segment count is in a section header that is "
				 "missing (a truncated core?)", path);
			return -1;
		}
		phnum = sh0.sh_info;
	}
	if (phnum == 0 || eh.e_phentsize < sizeof(Elf64_Phdr) || phnum > MAX_PHDRS ||
	    eh.e_phoff >= c->size || (c->size - eh.e_phoff) / eh.e_phentsize < phnum) {
		lt_error(LT_ERR_OTHER, "%s is a core file whose program headers are %s; it "
			 "cannot be read", path,
			 phnum == 0 ? "absent" : phnum > MAX_PHDRS ? "too many" :
			 eh.e_phentsize < sizeof(Elf64_Phdr) ? "malformed" :
			 "past its end (a truncated core)");
		return -1;
	}
	ph = xmalloc(phnum * sizeof(*ph));
	for (size_t i = 0; i < phnum; i++)
		if (read_at(c->fd, &ph[i], sizeof(*ph), eh.e_phoff + i * eh.e_phentsize) < 0) {
			free(ph);
			lt_error(LT_ERR_OTHER, "%s: cannot read its program headers", path);
			return -1;
		}
	/* The notes, read into one buffer that the paths and the auxiliary
	 * vector point into: what of each PT_NOTE lies inside the file. */
	for (int pass = 0; pass < 2; pass++) {
		size_t at = 0;

		for (size_t i = 0; i < phnum; i++) {
			const Elf64_Phdr *p = &ph[i];
			uint64_t len = p->p_filesz;

			if (p->p_type != PT_NOTE || !len)
				continue;
			if (p->p_offset >= c->size || len > c->size - p->p_offset) {
				c->notes_cut = 1;
				len = p->p_offset >= c->size ? 0 : c->size - p->p_offset;
			}
			len = min_u64(len, MAX_NOTES - at);
			if (!len)
				continue;
			if (pass == 1 && read_at(c->fd, c->notes + at, (size_t)len, p->p_offset) == 0)
				parse_notes(c, c->notes + at, (size_t)len, p->p_align == 8 ? 8 : 4);
			at += (size_t)len;
		}
		if (pass == 0) {
			c->notes_len = at;
			c->notes = xmalloc(at ? at : 1);
		}
	}
	c->pieces = xcalloc(phnum, sizeof(*c->pieces));
	for (size_t i = 0; i < phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type == PT_LOAD && p->p_filesz > 0) {
			uint64_t len = min_u64(p->p_filesz, p->p_memsz);

			if (!len || p->p_vaddr + len < p->p_vaddr || p->p_offset + len < p->p_offset)
				continue;
			c->pieces[nload++] = (struct piece){ p->p_vaddr, len, p->p_offset, -1 };
		}
	}
	free(ph);
	c->npieces = sort_disjoint(c->pieces, nload);
	for (size_t i = 0; i < c->npieces; i++)
		c->claimed += c->pieces[i].len;
	return 0;
}

/* ---- the files the core had mapped ------------------------------------ */

static int cmp_map_path(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;
	int d = strcmp(x->path, y->path);

	return d ? d : (x->start > y->start) - (x->start < y->start);
}

static int cmp_map_start(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* The core's own bytes at [addr, addr+len) (a claim wholly present), or -1. */
static int core_bytes(const struct core *c, uint64_t addr, void *buf, size_t len)
{
	size_t lo = 0, hi = c->npieces;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct piece *p = &c->pieces[mid];

		if (addr < p->addr)
			hi = mid;
		else if (addr - p->addr >= p->len)
			lo = mid + 1;
		else if (len > p->len - (addr - p->addr) || p->off + (addr - p->addr) + len > c->size)
			return -1;
		else
			return read_at(c->fd, buf, len, p->off + (addr - p->addr));
	}
	return -1;
}

/* Does the file (fd, size bytes) start as want does (the page past its
 * end zeros)?  Yes when there is nothing to compare. */
static int same_start(int fd, uint64_t size, const unsigned char *want, size_t wantlen)
{
	unsigned char got[PAGE];
	size_t n = (size_t)min_u64(wantlen, size);

	if (!wantlen)
		return 1;
	if (!n || read_at(fd, got, n, 0) < 0 || memcmp(got, want, n) != 0)
		return 0;
	for (size_t i = n; i < wantlen; i++)
		if (want[i])
			return 0;
	return 1;
}

/* Find each file the core names: the first candidate that is a regular
 * file and, when the core kept the first page of its offset-0 mapping
 * (gcore and the kernel keep ELF headers), starts with the same bytes. */
static void find_files(struct core *c)
{
	size_t i = 0;

	lt_sort(c->maps, c->nmaps, sizeof(*c->maps), cmp_map_path);
	c->files = xcalloc(c->nmaps ? c->nmaps : 1, sizeof(*c->files));
	while (i < c->nmaps) {
		size_t j = i;
		struct mapped *f;
		unsigned char want[PAGE];
		size_t wantlen = 0;
		char path[PATH_MAX];

		while (j < c->nmaps && strcmp(c->maps[j].path, c->maps[i].path) == 0)
			j++;
		if (c->nfiles >= MAX_FILES) {
			i = j;
			continue;
		}
		f = &c->files[c->nfiles];
		f->path = c->maps[i].path;
		for (size_t k = i; k < j; k++) {
			c->maps[k].file = (int)c->nfiles;
			if (c->maps[k].off == 0 && !wantlen) {
				size_t n = (size_t)min_u64(PAGE, c->maps[k].end - c->maps[k].start);

				if (core_bytes(c, c->maps[k].start, want, n) == 0)
					wantlen = n;
			}
		}
		f->elf = wantlen >= SELFMAG && memcmp(want, ELFMAG, SELFMAG) == 0;
		/* Only an ELF object is taken from the disk: its first page in
		 * the core when the core kept it, else an ELF header of its
		 * own.  Any other file's content is only what the core holds:
		 * a core that names a host file proves nothing about it. */
		for (int k = 0; !f->found && (f->elf || !wantlen) &&
		     candidate(&c->where, f->path, k, path, sizeof(path)); k++) {
			int fd = open_candidate(&c->where, f->path, path);
			unsigned char magic[SELFMAG];
			struct stat st;

			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    same_start(fd, (uint64_t)st.st_size, want, wantlen) &&
			    (wantlen || (read_at(fd, magic, SELFMAG, 0) == 0 &&
					 memcmp(magic, ELFMAG, SELFMAG) == 0))) {
				f->elf = 1;
				f->found = xstrdup(path);
				f->dev = st.st_dev;
				f->ino = st.st_ino;
				f->size = (uint64_t)st.st_size;
			}
			close(fd);
		}
		c->nfiles++;
		i = j;
	}
	lt_sort(c->maps, c->nmaps, sizeof(*c->maps), cmp_map_start);
}

/* Pieces from the files for what the core does not claim, then the runs. */
static void build_memory(struct core *c)
{
	size_t ncore = c->npieces, nfile = 0, n, k = 0;
	struct piece *file = xcalloc(c->nmaps ? c->nmaps : 1, sizeof(*file));
	struct piece *all;

	for (size_t i = 0; i < c->nmaps; i++) {
		const struct mapping *m = &c->maps[i];
		const struct mapped *f = m->file >= 0 ? &c->files[m->file] : NULL;
		uint64_t avail;

		if (!f || !f->found || m->off >= f->size)
			continue;
		/* the last page of the file is mapped whole, zeros after its end */
		avail = f->size - m->off;
		avail = avail > UINT64_MAX - PAGE ? avail : (avail + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		file[nfile++] = (struct piece){ m->start, min_u64(m->end - m->start, avail), m->off, m->file };
	}
	nfile = sort_disjoint(file, nfile);

	/* the core's pieces: what of each claim lies inside the file */
	all = xcalloc(ncore + 2 * nfile + ncore + 1, sizeof(*all));
	for (size_t i = 0; i < ncore; i++) {
		struct piece p = c->pieces[i];

		if (p.off >= c->size)
			continue;
		p.len = min_u64(p.len, c->size - p.off);
		c->present += p.len;
		all[k++] = p;
	}
	c->core_ranges = k;
	/* a file's pieces less every claim (a claim past the end of a
	 * truncated core is missing memory, not the file's) */
	for (size_t i = 0, ci = 0; i < nfile; i++) {
		uint64_t a = file[i].addr, b = file[i].addr + file[i].len;

		while (ci > 0 && c->pieces[ci - 1].addr + c->pieces[ci - 1].len > a)
			ci--;
		while (ci < ncore && c->pieces[ci].addr + c->pieces[ci].len <= a)
			ci++;
		for (size_t j = ci; j < ncore && c->pieces[j].addr < b && a < b; j++) {
			const struct piece *cl = &c->pieces[j];

			if (cl->addr > a)
				all[k++] = (struct piece){ a, cl->addr - a, file[i].off + (a - file[i].addr),
							   file[i].file };
			if (cl->addr + cl->len > a)
				a = cl->addr + cl->len;
		}
		if (a < b)
			all[k++] = (struct piece){ a, b - a, file[i].off + (a - file[i].addr), file[i].file };
	}
	free(file);
	free(c->pieces);
	n = sort_disjoint(all, k);
	c->pieces = all;
	c->npieces = n;

	c->runs = xcalloc(n ? n : 1, sizeof(*c->runs));
	for (size_t i = 0; i < n; i++) {
		struct run *r = c->nruns ? &c->runs[c->nruns - 1] : NULL;

		if (r && r->addr + r->len == all[i].addr) {
			r->len += all[i].len;
			r->n++;
			continue;
		}
		c->runs[c->nruns++] = (struct run){ .addr = all[i].addr, .len = all[i].len,
						    .first = i, .n = 1 };
	}
}

/* ---- what ran ---------------------------------------------------------- */

/* NULs, newlines and tabs as spaces (as proc_cmdline shows /proc/PID/cmdline). */
static void flatten(char *s, size_t n)
{
	while (n > 0 && s[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || s[i] == '\n' || s[i] == '\t')
			s[i] = ' ';
	s[n] = '\0';
}

#define ARGV_WINDOW ((uint64_t)4 << 20)  /* searched below AT_EXECFN */
#define ARGV_MAX 65536                    /* arguments, and environment entries */

static int word_at(struct core *c, uint64_t addr, uint64_t *w)
{
	const unsigned char *p = core_find(c, addr, 8);

	if (!p)
		return -1;
	memcpy(w, p, 8);
	return 0;
}

/* The whole command line, from the process's initial stack (pr_psargs
 * holds 80 characters, gdb's only the program): the auxiliary vector lies
 * there as NT_AUXV has it, below AT_EXECFN's string; below it the
 * environment's pointers, NULL, the arguments' pointers and argc.  The
 * argument strings lie end to end from argv[0]. */
static int argv_from_stack(struct core *c, char *out, size_t max)
{
	struct run *r = c->at_execfn ? run_at(c, c->at_execfn) : NULL;
	uint64_t lo, pos, w, argv0 = 0, last = 0, end;
	const unsigned char *win, *hit = NULL;
	size_t nenv = 0, argc = 0;

	if (!r || c->auxv_len < 32 || max < 2)
		return -1;
	lo = c->at_execfn - r->addr > ARGV_WINDOW ? c->at_execfn - ARGV_WINDOW : r->addr;
	win = c->at_execfn - lo > c->auxv_len ? core_find(c, lo, (size_t)(c->at_execfn - lo)) : NULL;
	if (!win)
		return -1;
	/* the last copy below the strings: the vector itself */
	for (const unsigned char *p = win; (p = memmem(p, (size_t)(c->at_execfn - lo) - (size_t)(p - win),
						       c->auxv, c->auxv_len)); p++)
		hit = p;
	if (!hit || ((lo + (uint64_t)(hit - win)) & 7))
		return -1;
	pos = lo + (uint64_t)(hit - win) - 8;            /* envp's NULL */
	if (word_at(c, pos, &w) < 0 || w)
		return -1;
	while (pos >= r->addr + 8 && nenv <= ARGV_MAX && word_at(c, pos -= 8, &w) == 0 && w)
		nenv++;                                  /* down to argv's NULL */
	if (w || nenv > ARGV_MAX)
		return -1;
	while (pos >= r->addr + 8 && argc <= ARGV_MAX && word_at(c, pos -= 8, &w) == 0) {
		if (w == argc)
			break;                           /* argc */
		if (w - r->addr >= r->len)
			return -1;                       /* not a pointer into the stack */
		if (!last)
			last = w;
		argv0 = w;
		argc++;
	}
	if (!argc || w != argc || last < argv0 || last - argv0 > ARGV_WINDOW)
		return -1;
	/* the last argument's end */
	for (end = last; end - last < ARGV_WINDOW; end++) {
		const unsigned char *b = core_find(c, end, 1);

		if (!b)
			return -1;
		if (!*b)
			break;
	}
	{
		size_t n = (size_t)min_u64(end - argv0, max - 1);
		const unsigned char *p = core_find(c, argv0, n ? n : 1);

		if (!p)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		flatten(out, n);
	}
	return out[0] ? 0 : -1;
}

/* How a truncated core is truncated ("" when it is not). */
static void truncation(const struct core *c, char *buf, size_t max)
{
	char missing[32];

	report_human_bytes(missing, sizeof(missing), c->claimed - c->present);
	if (c->present < c->claimed && c->notes_cut)
		snprintf(buf, max, "is truncated (%s of its memory and part of its notes missing)",
			 missing);
	else if (c->present < c->claimed)
		snprintf(buf, max, "is truncated (%s of its memory missing)", missing);
	else if (c->notes_cut)
		snprintf(buf, max, "is truncated (part of its notes, which list its threads and "
			 "mapped files, missing)");
	else
		buf[0] = '\0';
}

/* ---- the target ------------------------------------------------------- */

/* What the Dwfl's callbacks use; it outlives the source (target.h). */
struct core_dwfl {
	struct rootfs_user user;   /* first: the modules' userdata (rootfs.h) */
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	struct where where;
};

static void core_dwfl_free(void *arg)
{
	struct core_dwfl *cd = arg;

	if (!cd)
		return;
	free(cd->debuginfo_path);
	free(cd);
}

/* A module's file: where the core names it, under the root, or --exe for
 * the program, whichever has the module's build ID; else by build ID in
 * the debuginfo path (libdwfl's own search). */
static int core_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	const struct core_dwfl *cd = *userdata;
	const unsigned char *want = NULL;
	GElf_Addr vaddr;
	int wantlen = dwfl_module_build_id(mod, &want, &vaddr);
	char path[PATH_MAX];

	for (int k = 0; cd && name && name[0] == '/' &&
	     candidate(&cd->where, name, k, path, sizeof(path)); k++) {
		int fd = open_candidate(&cd->where, name, path);
		Elf *elf;
		const void *id = NULL;
		ssize_t n;

		if (fd < 0)
			continue;
		elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		n = elf && elf_kind(elf) == ELF_K_ELF ? dwelf_elf_gnu_build_id(elf, &id) : -1;
		if (elf && elf_kind(elf) == ELF_K_ELF &&
		    (wantlen <= 0 || (n == wantlen && memcmp(id, want, (size_t)n) == 0))) {
			*file_name = strdup(path);
			*elfp = elf;
			return fd;
		}
		if (elf)
			elf_end(elf);
		close(fd);
	}
	return dwfl_build_id_find_elf(mod, userdata, name, base, file_name, elfp);
}

/* The program: the file mapped where its program headers are (AT_PHDR),
 * else the one named as the command (pr_fname), else the first. */
static const char *program_path(const struct core *c)
{
	for (size_t i = 0; c->at_phdr && i < c->nmaps; i++)
		if (c->at_phdr - c->maps[i].start < c->maps[i].end - c->maps[i].start)
			return c->maps[i].path;
	for (size_t i = 0; c->fname[0] && i < c->nmaps; i++) {
		const char *base = strrchr(c->maps[i].path, '/');

		if (strncmp(base ? base + 1 : c->maps[i].path, c->fname, strlen(c->fname)) == 0)
			return c->maps[i].path;
	}
	return c->nmaps ? c->maps[0].path : NULL;
}

/* --exe under a directory that stands for the core's root: ROOT/usr/bin/x
 * for the core's /usr/bin/x; that directory, or "". */
static void root_from_exe(struct where *w)
{
	char real[PATH_MAX];
	const char *tries[2] = { w->exe_arg, realpath(w->exe_arg, real) };
	size_t n = strlen(w->exe_core);

	for (int i = 0; i < 2 && n > 1 && w->exe_core[0] == '/'; i++) {
		size_t m = tries[i] ? strlen(tries[i]) : 0;

		if (m > n && strcmp(tries[i] + m - n, w->exe_core) == 0) {
			snprintf(w->root, sizeof(w->root), "%.*s", (int)(m - n), tries[i]);
			return;
		}
	}
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* After no module was found to define _PyRuntime: the ELF files the core
 * had mapped that are not here, named in the error when there are any. */
static int explain_missing(const struct core *c, const char *path)
{
	const struct mapped *first = NULL;
	size_t n = 0;
	int program = 0;

	for (size_t i = 0; i < c->nfiles; i++) {
		const struct mapped *f = &c->files[i];

		if (f->found || !f->elf)
			continue;
		n++;
		program |= strcmp(f->path, c->where.exe_core) == 0;
		if (!first || (strstr(base_name(f->path), "python") && !strstr(base_name(first->path), "python")))
			first = f;
	}
	if (!n)
		return 0;
	if (program && c->where.exe_arg[0] && !c->where.root[0])
		lt_error(LT_ERR_NOTFOUND, "the core file %s: the program given with --exe, %s, is not "
			 "the %s that dumped it (their first pages differ)", path, c->where.exe_arg,
			 c->where.exe_core);
	else
		lt_error(LT_ERR_NOTFOUND, "the core file %s: no module found here defines _PyRuntime, "
			 "and %zu of the files it had mapped cannot be found here as they were (%s%s); "
			 "give its program with --exe PATH, or for a core from a container or chroot, "
			 "under the directory that holds its root: --exe ROOT%s", path, n, first->path,
			 n > 1 ? ", ..." : "", c->where.exe_core[0] ? c->where.exe_core : "/usr/bin/python3");
	return 1;
}

/* The interpreter's state must be in the core: the first interpreter
 * named by _PyRuntime, and its start readable. */
static int check_state(struct session *s, const struct core *c, const char *path)
{
	uint64_t head = 0;
	char why[160] = "", cut[160];

	if (s->lay.rt_interp_head < 0 ||
	    remote_read(s->t.mem, s->t.runtime_addr + (uint64_t)s->lay.rt_interp_head, &head, 8) < 0)
		snprintf(why, sizeof(why), "_PyRuntime (at 0x%" PRIx64 ") is not in it",
			 s->t.runtime_addr);
	else if (!head)
		snprintf(why, sizeof(why), "it has no interpreter (dumped before Python started or "
			 "after it finalized)");
	else if (!core_find((void *)c, head, 64))
		snprintf(why, sizeof(why), "the interpreter state (at 0x%" PRIx64 ") is not in it", head);
	if (!why[0])
		return 0;
	truncation(c, cut, sizeof(cut));
	if (cut[0])
		lt_error(LT_ERR_READ, "the core file %s %s: %s", path, cut, why);
	else
		lt_error(LT_ERR_READ, "the core file %s: %s", path, why);
	return -1;
}

int core_session_open(struct session *s, const char *path, const char *exe,
		      const struct snapshot_opts *o)
{
	struct core *c = xcalloc(1, sizeof(*c));
	struct session_offline *off = NULL;
	struct core_dwfl *cd = NULL;
	struct target t;
	struct stat st;
	const char *prog;
	char what[PATH_MAX + 32], cut[160];
	int rc;

	memset(&t, 0, sizeof(t));
	memset(s, 0, sizeof(*s));
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0 || fstat(c->fd, &st) < 0) {
		int e = errno;

		if (e == ENOENT)
			lt_error(LT_ERR_NOTFOUND, "no such core file: %s", path);
		else
			lt_error(e == EACCES || e == EPERM ? LT_ERR_PERM : LT_ERR_OTHER,
				 "cannot open the core file %s: %s", path, strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		lt_error(LT_ERR_OTHER, "%s is not a core file (not a regular file)", path);
		goto fail;
	}
	if (exe && exe[0] && access(exe, R_OK) < 0) {
		lt_error(LT_ERR_NOTFOUND, "cannot read the program given with --exe, %s: %s", exe,
			 strerror(errno));
		goto fail;
	}
	c->size = (uint64_t)st.st_size;
	if (read_headers(c, path) < 0)
		goto fail;
	if (!c->npieces) {
		lt_error(LT_ERR_OTHER, "the core file %s holds no memory (no PT_LOAD segment with "
			 "contents)", path);
		goto fail;
	}
	prog = program_path(c);
	snprintf(c->where.exe_core, sizeof(c->where.exe_core), "%s", prog ? prog : "");
	if (exe && exe[0]) {
		snprintf(c->where.exe_arg, sizeof(c->where.exe_arg), "%s", exe);
		root_from_exe(&c->where);
	}
	find_files(c);
	build_memory(c);

	/* what ran there */
	t.core = 1;
	t.micro = -1;
	t.free_threaded = -1;
	t.pid = c->pid > 0 ? c->pid : c->ntids ? c->tids[0].own : 0;
	t.nspid = t.pid;
	snprintf(t.root_prefix, sizeof(t.root_prefix), "%s", c->where.root);
	snprintf(t.exe, sizeof(t.exe), "%s", c->where.exe_core[0] ? c->where.exe_core :
		 c->fname[0] ? c->fname : "");
	if (argv_from_stack(c, t.cmdline, sizeof(t.cmdline)) < 0) {
		snprintf(t.cmdline, sizeof(t.cmdline), "%s", c->psargs[0] ? c->psargs : c->fname);
		flatten(t.cmdline, strlen(t.cmdline));
	}
	t.mem = remote_open_offline();
	off = xcalloc(1, sizeof(*off));
	off->src = (struct remote_source){ .find = core_find, .constant = core_constant, .arg = c };
	remote_use_source(t.mem, &off->src);

	cd = xcalloc(1, sizeof(*cd));
	cd->where = c->where;
	cd->user.root = cd->where.root;
	cd->debuginfo_path = rootfs_debuginfo_path(c->where.root);
	cd->cb.find_elf = core_find_elf;
	cd->cb.find_debuginfo = rootfs_find_debuginfo;
	cd->cb.debuginfo_path = &cd->debuginfo_path;
	t.dwfl_owner = cd;
	t.dwfl_owner_free = core_dwfl_free;
	t.dwfl = dwfl_begin(&cd->cb);
	if (!t.dwfl) {
		lt_error(LT_ERR_OTHER, "libdwfl: %s", dwfl_errmsg(-1));
		goto fail;
	}
	elf_version(EV_CURRENT);
	c->elf = elf_begin(c->fd, ELF_C_READ, NULL);
	if (!c->elf) {
		lt_error(LT_ERR_OTHER, "the core file %s cannot be read by libelf: %s", path,
			 elf_errmsg(-1));
		goto fail;
	}
	{
		char exe_here[PATH_MAX] = "";

		for (size_t i = 0; i < c->nfiles; i++)
			if (c->files[i].found && strcmp(c->files[i].path, c->where.exe_core) == 0)
				snprintf(exe_here, sizeof(exe_here), "%s", c->files[i].found);
		dwfl_report_begin(t.dwfl);
		rc = dwfl_core_file_report(t.dwfl, c->elf, exe_here[0] ? exe_here : NULL);
		dwfl_report_end(t.dwfl, NULL, NULL);
	}
	rootfs_adopt(t.dwfl, &cd->user);   /* core_find_elf reads cd through it: its first member */
	snprintf(what, sizeof(what), "the core file %s", path);
	truncation(c, cut, sizeof(cut));
	if (rc < 0 || target_find_python(&t, what) < 0) {
		if (rc < 0)
			lt_error(LT_ERR_OTHER, "cannot read the modules of the core file %s: %s", path,
				 dwfl_errmsg(-1));
		if (cut[0])
			lt_error(LT_ERR_READ, "the core file %s %s: the interpreter cannot be found in "
				 "what is left", path, cut);
		else if (!t.pymod)
			explain_missing(c, path);
		goto fail;
	}
	/* the interpreter's full path, as the core names its file */
	{
		Dwarf_Addr start;

		dwfl_module_info(t.pymod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
		for (size_t i = 0; i < c->nmaps; i++)
			if (start - c->maps[i].start < c->maps[i].end - c->maps[i].start)
				snprintf(t.pymod_path, sizeof(t.pymod_path), "%s", c->maps[i].path);
	}
	if (t.free_threaded == 1) {
		lt_error(LT_ERR_NOTPYTHON, "the core file %s is of a free-threaded CPython 3.%d; "
			 "leaktop does not support free-threaded builds yet", path, t.minor);
		goto fail;
	}

	/* the session's facts */
	off->kind = "core file";
	snprintf(off->path, sizeof(off->path), "%s", path);
	off->taken_at = st.st_mtime;
	off->pause_us = 0;
	off->image.copied_bytes = c->present;
	off->image.planned_bytes = c->claimed;
	off->image.hole_bytes = c->claimed - c->present;
	off->image.ranges = c->core_ranges;
	off->fds_read = 0;
	off->tids = c->ntids ? xmemdup(c->tids, c->ntids * sizeof(*c->tids)) : NULL;
	off->ntids = c->ntids;
	if (cut[0])
		snprintf(off->note, sizeof(off->note), "read from the core file %.64s, which %.96s; "
			 "descriptors and sockets are not in a core",
			 base_name(path), cut);
	else
		snprintf(off->note, sizeof(off->note), "read from the core file %.160s: descriptors "
			 "and sockets are not in a core", base_name(path));
	off->free = offline_free_core;
	off->arg = c;
	if (session_open_offline(s, &t, NULL, off, o) < 0) {
		/* t and off (c with it) freed; a layout that does not fit a
		 * truncated core does not fit what is left of it */
		if (cut[0] && lt_last_errkind() == LT_ERR_LAYOUT)
			lt_error(LT_ERR_READ, "the core file %s %s: the interpreter's state is not "
				 "all in what is left, and the layout cannot be checked against it",
				 path, cut);
		return -1;
	}
	if (check_state(s, c, path) < 0) {
		session_close(s);
		return -1;
	}
	return 0;

fail:
	target_close(&t);   /* the Dwfl, cd with it, and the memory */
	free(off);
	core_free(c);
	return -1;
}
