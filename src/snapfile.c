/* snapfile.c - write and read snapshot files.
 *
 * Format 1.  Integers are little-endian.  A file is a header and sections:
 *
 *   char   magic[8]    "LTSNAP\r\n"
 *   u32    format      1 (a reader refuses a newer one)
 *   u32    0
 *   then sections, each { char tag[4]; u32 crc; u64 length; byte payload[length] },
 *   in any order, ending with the empty section "END "; crc is the
 *   payload's CRC-32 (zlib's), checked before anything in it is used.
 *
 *   "INFO"  text, "key=value" lines (\n and \\ escaped in values): pid,
 *           nspid, cmdline, exe, interpreter (its path), version, major,
 *           minor, micro, runtime and py_version (addresses, hex), leaktop
 *           (the writer's version), taken_at (Unix time), pause_us,
 *           gc_retries, collecting, copied_bytes, planned_bytes,
 *           payload_bytes, hole_bytes, ranges, copy_us, plan_us, cut,
 *           fds_read, late_pages
 *   "LAYT"  text, "field=value" lines: the interpreter's struct layout by
 *           leaktop's field names (a field it lacks is -1), with source,
 *           minor and table_version
 *   "SYMS"  text, "name=address" lines (hex): the symbols the walkers ask
 *           for; function:NAME and module:NAME are 1 when present
 *   "TIDS"  text, "host own" lines: the process's threads (the host's id
 *           and the one of its own PID namespace)
 *   "FDS "  u32 n, n x { i32 fd; u32 kind; u8 mode; u8 have_info; u16 0;
 *           i64 pos; u32 flags; u64 inode; i32 socket (index, -1 none);
 *           str target; str detail }, u32 m, m x { u64 inode; str proto,
 *           state, local, remote, type }; str is { u32 length; bytes }
 *   "MEM "  u64 n, n x { u64 addr; u64 len } ascending and disjoint, then
 *           the bytes of each, in that order: the memory copied in the
 *           stop and the read-only pages the walk read besides
 *
 * Everything read from a file is untrusted: lengths are checked against
 * what is left, counts against the section's size, and the layout is
 * validated against the file's memory as a loaded one is. */
#include "config.h"
#include "snapfile.h"
#include "image.h"
#include "layout.h"
#include "remote.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "LTSNAP\r\n"
#define FORMAT 1u
#define MAX_LINE 4096

/* ---- writing ---- */

struct out {
	FILE *f;
	int err;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, o->f) != n)
		o->err = 1;
}

static void put_u32(struct out *o, uint32_t v)
{
	unsigned char b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, 4);
}

static void put_u64(struct out *o, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, 8);
}

static void put_section(struct out *o, const char tag[4], uint32_t crc, uint64_t len)
{
	put(o, tag, 4);
	put_u32(o, crc);
	put_u64(o, len);
}

/* A section built in memory (its length must come first). */
struct sect {
	char *buf;
	size_t len;
	FILE *f;
};

static void sect_begin(struct sect *s)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	if (!s->f)
		lt_fatal("out of memory");
}

static void sect_end(struct sect *s, struct out *o, const char tag[4])
{
	if (fclose(s->f) != 0)
		lt_fatal("out of memory");
	put_section(o, tag, lt_crc32(0, s->buf, s->len), s->len);
	put(o, s->buf, s->len);
	free(s->buf);
}

/* key=value, the value's newlines and backslashes escaped. */
static void kv(FILE *f, const char *key, const char *value)
{
	fprintf(f, "%s=", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\\')
			fputs("\\\\", f);
		else
			fputc(*p, f);
	}
	fputc('\n', f);
}

static void kv_int(FILE *f, const char *key, int64_t v)
{
	fprintf(f, "%s=%" PRId64 "\n", key, v);
}

static void write_info(struct out *o, struct session *s, const struct snapshot *snap)
{
	const struct target *t = &s->t;
	const struct image_stats *im = &snap->image;
	struct sect sc;

	sect_begin(&sc);
	kv_int(sc.f, "pid", t->pid);
	kv_int(sc.f, "nspid", t->nspid);
	kv(sc.f, "cmdline", t->cmdline);
	kv(sc.f, "exe", t->exe);
	kv(sc.f, "interpreter", t->pymod_path);
	kv(sc.f, "version", s->version);
	kv_int(sc.f, "major", t->major);
	kv_int(sc.f, "minor", t->minor);
	kv_int(sc.f, "micro", t->micro);
	fprintf(sc.f, "runtime=%" PRIx64 "\npy_version=%" PRIx64 "\n", t->runtime_addr,
		t->py_version_addr);
	kv(sc.f, "leaktop", PACKAGE_VERSION);
	kv_int(sc.f, "taken_at", (int64_t)snap->taken_at);
	kv_int(sc.f, "pause_us", (int64_t)snap->pause_us);
	kv_int(sc.f, "gc_retries", snap->gc_retries);
	kv_int(sc.f, "collecting", snap->collecting);
	kv_int(sc.f, "copied_bytes", (int64_t)im->copied_bytes);
	kv_int(sc.f, "planned_bytes", (int64_t)im->planned_bytes);
	kv_int(sc.f, "payload_bytes", (int64_t)im->payload_bytes);
	kv_int(sc.f, "hole_bytes", (int64_t)im->hole_bytes);
	kv_int(sc.f, "ranges", (int64_t)im->ranges);
	kv_int(sc.f, "copy_us", (int64_t)im->copy_us);
	kv_int(sc.f, "plan_us", (int64_t)im->plan_us);
	kv_int(sc.f, "cut", im->cut);
	kv_int(sc.f, "fds_read", snap->fds_read);
	kv_int(sc.f, "late_pages", (int64_t)snap->late_pages);
	sect_end(&sc, o, "INFO");
}

static void write_layout(struct out *o, const struct session *s)
{
	struct py_layout lay = s->lay;
	struct sect sc;

	/* The descriptor holders' offsets as this session resolved them
	 * (from the extension modules' DWARF): the reader has no modules. */
	owner_layouts_fill(s->owner_layouts, &lay);
	sect_begin(&sc);
	kv_int(sc.f, "source", lay.source);
	kv_int(sc.f, "minor", lay.minor);
	kv(sc.f, "table_version", lay.table_version ? lay.table_version : "");
	for (size_t i = 0; i < layout_nfields(); i++)
		kv_int(sc.f, layout_field_name(i), *layout_field(&lay, i));
	sect_end(&sc, o, "LAYT");
}

static void write_syms(struct out *o, struct session *s)
{
	struct target_sym *syms;
	size_t n = target_record_symbols(&s->t, &syms);
	struct sect sc;

	sect_begin(&sc);
	for (size_t i = 0; i < n; i++)
		fprintf(sc.f, "%s=%" PRIx64 "\n", syms[i].name, syms[i].addr);
	free(syms);
	sect_end(&sc, o, "SYMS");
}

static void write_tids(struct out *o, const struct session *s)
{
	struct tid_pair *ids;
	size_t n = stacks_task_ids(s->t.pid, &ids);
	struct sect sc;

	sect_begin(&sc);
	for (size_t i = 0; i < n; i++)
		fprintf(sc.f, "%d %d\n", (int)ids[i].host, (int)ids[i].own);
	free(ids);
	sect_end(&sc, o, "TIDS");
}

static void mem_put_u32(FILE *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		fputc((int)(v >> (8 * i)) & 0xff, f);
}

static void mem_put_u64(FILE *f, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		fputc((int)(v >> (8 * i)) & 0xff, f);
}

static void mem_put_str(FILE *f, const char *str)
{
	size_t n = strlen(str);

	mem_put_u32(f, (uint32_t)n);
	fwrite(str, 1, n, f);
}

static void write_fds(struct out *o, const struct snapshot *snap)
{
	const struct fd_table *t = &snap->fds;
	struct sect sc;

	sect_begin(&sc);
	mem_put_u32(sc.f, snap->fds_read ? (uint32_t)t->n : 0);
	for (size_t i = 0; snap->fds_read && i < t->n; i++) {
		const struct fd_entry *e = &t->v[i];

		mem_put_u32(sc.f, (uint32_t)e->fd);
		mem_put_u32(sc.f, (uint32_t)e->kind);
		fputc(e->mode, sc.f);
		fputc(e->have_info ? 1 : 0, sc.f);
		fputc(0, sc.f);
		fputc(0, sc.f);
		mem_put_u64(sc.f, (uint64_t)e->pos);
		mem_put_u32(sc.f, e->flags);
		mem_put_u64(sc.f, e->inode);
		mem_put_u32(sc.f, e->sock ? (uint32_t)(e->sock - t->socks.v) : UINT32_MAX);
		mem_put_str(sc.f, e->target);
		mem_put_str(sc.f, e->detail);
	}
	mem_put_u32(sc.f, snap->fds_read ? (uint32_t)t->socks.n : 0);
	for (size_t i = 0; snap->fds_read && i < t->socks.n; i++) {
		const struct sock_info *k = &t->socks.v[i];

		mem_put_u64(sc.f, k->inode);
		mem_put_str(sc.f, k->proto);
		mem_put_str(sc.f, k->state);
		mem_put_str(sc.f, k->local);
		mem_put_str(sc.f, k->remote);
		mem_put_str(sc.f, k->type);
	}
	sect_end(&sc, o, "FDS ");
}

/* The image's segments and the live runs, merged in address order (a run
 * overlapping what precedes it keeps only its new bytes). */
struct piece {
	uint64_t addr, len;
	const unsigned char *bytes;
};

static size_t merge_pieces(const struct image *im, const unsigned char *live,
			   const struct image_seg *runs, size_t nruns, struct piece **out)
{
	size_t i = 0, k = 0, n = 0;
	struct piece *v = xcalloc(im->nseg + nruns + 1, sizeof(*v));
	uint64_t end = 0;

	while (i < im->nseg || k < nruns) {
		int from_image = k == nruns || (i < im->nseg && im->seg[i].addr <= runs[k].addr);
		const struct image_seg *sg = from_image ? &im->seg[i++] : &runs[k++];
		const unsigned char *base = (from_image ? im->buf : live) + sg->off;
		uint64_t skip = n && end > sg->addr ? end - sg->addr : 0;

		if (skip >= sg->len)
			continue;
		v[n++] = (struct piece){ sg->addr + skip, sg->len - skip, base + skip };
		end = sg->addr + sg->len;
	}
	*out = v;
	return n;
}

static void write_mem(struct out *o, struct session *s)
{
	unsigned char *live;
	struct image_seg *runs;
	size_t nruns = image_live_runs(&s->img, s->ctx.mem, &live, &runs);
	struct piece *p;
	size_t n = merge_pieces(&s->img, live, runs, nruns, &p);
	uint64_t len = 8 + 16 * (uint64_t)n;
	unsigned char *table = xmalloc(len), *w = table;
	uint32_t crc;

	remote_record_live(s->ctx.mem, 0);
	for (int i = 0; i < 8; i++)
		*w++ = (unsigned char)((uint64_t)n >> (8 * i));
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 8; k++)
			*w++ = (unsigned char)(p[i].addr >> (8 * k));
		for (int k = 0; k < 8; k++)
			*w++ = (unsigned char)(p[i].len >> (8 * k));
	}
	crc = lt_crc32(0, table, (size_t)len);
	for (size_t i = 0; i < n; i++) {
		len += p[i].len;
		crc = lt_crc32(crc, p[i].bytes, (size_t)p[i].len);
	}
	put_section(o, "MEM ", crc, len);
	put(o, table, (size_t)(8 + 16 * (uint64_t)n));
	free(table);
	for (size_t i = 0; i < n; i++)
		put(o, p[i].bytes, (size_t)p[i].len);
	free(p);
	free(runs);
	free(live);
}

void snapfile_prepare(struct session *s)
{
	remote_record_live(s->ctx.mem, 1);
}

int snapfile_save(struct session *s, const struct snapshot *snap, FILE *f, const char *name)
{
	struct out o = { f, 0 };

	if (s->off) {
		lt_error(LT_ERR_OTHER, "--save needs a live process, not a %s", s->off->kind);
		return -1;
	}
	put(&o, MAGIC, 8);
	put_u32(&o, FORMAT);
	put_u32(&o, 0);
	write_info(&o, s, snap);
	write_layout(&o, s);
	write_syms(&o, s);
	write_tids(&o, s);
	write_fds(&o, snap);
	write_mem(&o, s);
	put_section(&o, "END ", 0, 0);
	if (fflush(o.f) != 0)
		o.err = 1;
	if (o.err) {
		lt_error(LT_ERR_OTHER, "cannot write the snapshot file %s: %s", name,
			 strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* ---- reading ---- */

struct loaded {
	unsigned char *data;     /* the whole file */
	size_t size;
	int mapped;              /* data is mmap'd (else malloc'd) */
	struct image im;         /* segments into data */
};

struct cur {
	const unsigned char *p, *end;
};

static int take(struct cur *c, void *out, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	memcpy(out, c->p, n);
	c->p += n;
	return 0;
}

static int take_u32(struct cur *c, uint32_t *v)
{
	unsigned char b[4];

	if (take(c, b, 4) < 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int take_u64(struct cur *c, uint64_t *v)
{
	uint32_t lo, hi;

	if (take_u32(c, &lo) < 0 || take_u32(c, &hi) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string into out (max bytes with the NUL), cut when longer. */
static int take_str(struct cur *c, char *out, size_t max)
{
	uint32_t n;

	if (take_u32(c, &n) < 0 || (size_t)(c->end - c->p) < n)
		return -1;
	snprintf(out, max, "%.*s", (int)(n < max ? n : max - 1), (const char *)c->p);
	c->p += n;
	return 0;
}

#define SNAPFILE_MAX_SECTIONS 4096
#define SNAPFILE_HEADER 16      /* magic, format, 0 */
#define SNAPFILE_SECTION_HEADER 16

/* Appends exactly n bytes of fd to l: 0, 1 at the stream's end, -1 with
 * lt_error. */
static int read_exact(int fd, const char *path, struct loaded *l, size_t *cap, size_t n)
{
	if (l->size + n > *cap) {
		while (l->size + n > *cap)
			*cap = *cap ? *cap * 2 : 1 << 20;
		l->data = xrealloc(l->data, *cap);
	}
	while (n) {
		ssize_t got = read(fd, l->data + l->size, n);

		if (got == 0)
			return 1;
		if (got < 0) {
			if (errno == EINTR && !lt_stop_requested)
				continue;
			lt_error(LT_ERR_OTHER, "cannot read the snapshot file %s: %s", path,
				 strerror(errno));
			return -1;
		}
		l->size += (size_t)got;
		n -= (size_t)got;
	}
	return 0;
}

/* A stream (standard input, a pipe, a device) is read as its sections
 * declare and no further: the magic first (`yes | leaktop dump -` stops
 * there), then each section's header and payload up to END, at most
 * SNAPFILE_MAX_SECTIONS of them and, in all, no more than the machine's
 * memory (the walk holds the whole file).  What is read is left for split()
 * to check; a stream that ends early is a truncated file. */
static int read_stream(int fd, const char *path, struct loaded *l)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t max = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
	size_t cap = 0;
	int r = read_exact(fd, path, l, &cap, SNAPFILE_HEADER);

	if (r < 0)
		return -1;
	if (l->size < 8 || memcmp(l->data, MAGIC, 8) != 0)
		return 0;  /* split says it is none */
	for (int n = 0; r == 0 && n < SNAPFILE_MAX_SECTIONS; n++) {
		const unsigned char *h;
		uint64_t len = 0;

		if ((r = read_exact(fd, path, l, &cap, SNAPFILE_SECTION_HEADER)) != 0)
			break;
		h = l->data + l->size - SNAPFILE_SECTION_HEADER;
		for (int k = 7; k >= 0; k--)
			len = len << 8 | h[8 + k];
		if (memcmp(h, "END ", 4) == 0)
			return 0;
		if (len > max || l->size + len > max) {
			lt_error(LT_ERR_OTHER, "%s is not a usable snapshot file: its %.4s section "
				 "declares %" PRIu64 " bytes, more than this machine's memory", path,
				 (const char *)h, len);
			return -1;
		}
		r = read_exact(fd, path, l, &cap, (size_t)len);
	}
	if (r < 0)
		return -1;
	if (r == 0) {
		lt_error(LT_ERR_OTHER, "%s is not a usable snapshot file: more than %d sections "
			 "and no end", path, SNAPFILE_MAX_SECTIONS);
		return -1;
	}
	return 0;  /* cut short: split says it is truncated */
}

/* The whole of path ("-": standard input) in memory: a regular file
 * mapped, anything else read as a stream. */
static int read_all(const char *path, struct loaded *l)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0) {
		lt_error(errno == ENOENT ? LT_ERR_NOTFOUND : LT_ERR_OTHER,
			 "cannot open the snapshot file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		/* Private and writable: the fuzz harness damages its copy. */
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED) {
			l->data = m;
			l->size = (size_t)st.st_size;
			l->mapped = 1;
			if (fd != STDIN_FILENO)
				close(fd);
			return 0;
		}
	}
	r = read_stream(fd, fd == STDIN_FILENO ? "standard input" : path, l);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

static void loaded_free(struct loaded *l)
{
	if (l->mapped)
		munmap(l->data, l->size);
	else
		free(l->data);
	free(l->im.seg);
	free(l);
}

/* The sections of the file, by tag (the payload, or NULL when absent). */
struct sections {
	struct cur info, layt, syms, tids, fds, mem;
	int have_info, have_layt, have_syms, have_tids, have_fds, have_mem;
};

static int bad(const char *path, const char *what)
{
	lt_error(LT_ERR_OTHER, "%s is not a usable snapshot file: %s", path, what);
	return -1;
}

static int split(const char *path, struct loaded *l, struct sections *sc)
{
	struct cur c = { l->data, l->data + l->size };
	char magic[8];
	uint32_t format, zero;

	if (take(&c, magic, 8) < 0 || memcmp(magic, MAGIC, 8) != 0)
		return bad(path, "it does not start as one (leaktop dump --save writes them)");
	if (take_u32(&c, &format) < 0 || take_u32(&c, &zero) < 0)
		return bad(path, "it is truncated: it was cut while being written or copied");
	if (format != FORMAT) {
		lt_error(LT_ERR_OTHER, "%s is a snapshot file of format %u, which this leaktop (%s) "
			 "does not read: use the leaktop that wrote it, or a newer one", path,
			 (unsigned)format, PACKAGE_VERSION);
		return -1;
	}
	memset(sc, 0, sizeof(*sc));
	for (;;) {
		char tag[4];
		uint64_t len;
		uint32_t crc;
		struct cur body;

		if (take(&c, tag, 4) < 0 || take_u32(&c, &crc) < 0 || take_u64(&c, &len) < 0 ||
		    len > (uint64_t)(c.end - c.p))
			return bad(path, "it is truncated: it was cut while being written or copied");
		body = (struct cur){ c.p, c.p + len };
		c.p += len;
		if (lt_crc32(0, body.p, (size_t)len) != crc) {
			char shown[5];

			/* the tag is the file's: a damaged one may hold anything */
			for (int i = 0; i < 4; i++)
				shown[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? tag[i] : '?';
			shown[4] = '\0';
			lt_error(LT_ERR_OTHER, "%s is damaged: its %s section does not match its "
				 "checksum (changed since leaktop wrote it)", path, shown);
			return -1;
		}
#define SECTION(t, f) \
		if (memcmp(tag, t, 4) == 0) { sc->f = body; sc->have_##f = 1; continue; }
		SECTION("INFO", info)
		SECTION("LAYT", layt)
		SECTION("SYMS", syms)
		SECTION("TIDS", tids)
		SECTION("FDS ", fds)
		SECTION("MEM ", mem)
#undef SECTION
		if (memcmp(tag, "END ", 4) == 0)
			break;
		/* an unknown section: a later writer's addition, skipped */
	}
	if (!sc->have_info || !sc->have_layt || !sc->have_mem)
		return bad(path, "a section it needs is missing");
	return 0;
}

/* The next "key=value" line of a text section: 1, 0 at its end. */
static int next_line(struct cur *c, char *key, size_t kmax, char *value, size_t vmax)
{
	const unsigned char *nl, *eq;
	size_t kn, w = 0;

	if (c->p >= c->end)
		return 0;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (!nl)
		nl = c->end;
	eq = memchr(c->p, '=', (size_t)(nl - c->p));
	if (!eq)
		eq = memchr(c->p, ' ', (size_t)(nl - c->p));
	kn = eq ? (size_t)(eq - c->p) : (size_t)(nl - c->p);
	snprintf(key, kmax, "%.*s", (int)(kn < kmax ? kn : kmax - 1), (const char *)c->p);
	for (const unsigned char *p = eq ? eq + 1 : nl; p < nl && w + 1 < vmax; p++) {
		if (*p == '\\' && p + 1 < nl) {
			p++;
			value[w++] = *p == 'n' ? '\n' : (char)*p;
		} else {
			value[w++] = (char)*p;
		}
	}
	value[w] = '\0';
	c->p = nl < c->end ? nl + 1 : nl;
	return 1;
}

/* A whole decimal (or, with hex, hexadecimal) number, or -1. */
static int num(const char *s, int hex, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;
	unsigned long long u;

	if (!*s)
		return -1;
	errno = 0;
	if (hex) {
		u = strtoull(s, &end, 16);
		v = (long long)u;
	} else {
		v = strtoll(s, &end, 10);
	}
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int read_info(const char *path, struct cur c, struct target *t,
		     struct session_offline *off, char *version, size_t vmax)
{
	char key[64], value[1100];
	int64_t v;
	int seen_minor = 0, seen_runtime = 0;

	t->micro = -1;
	t->free_threaded = 0;
	while (next_line(&c, key, sizeof(key), value, sizeof(value))) {
		int hex = strcmp(key, "runtime") == 0 || strcmp(key, "py_version") == 0;

		if (strcmp(key, "cmdline") == 0)
			lt_strcpy(t->cmdline, sizeof(t->cmdline), value);
		else if (strcmp(key, "exe") == 0)
			snprintf(t->exe, sizeof(t->exe), "%s", value);
		else if (strcmp(key, "interpreter") == 0)
			snprintf(t->pymod_path, sizeof(t->pymod_path), "%s", value);
		else if (strcmp(key, "version") == 0)
			lt_strcpy(version, vmax, value);
		else if (strcmp(key, "leaktop") == 0)
			continue;
		else if (num(value, hex, hex ? INT64_MIN : -1, INT64_MAX, &v) < 0)
			return bad(path, "its process facts are damaged");
		else if (strcmp(key, "pid") == 0)
			t->pid = (pid_t)(v >= 0 && v <= INT32_MAX ? v : 0);
		else if (strcmp(key, "nspid") == 0)
			t->nspid = (pid_t)(v >= 0 && v <= INT32_MAX ? v : 0);
		else if (strcmp(key, "major") == 0)
			t->major = (int)(v == 3 ? 3 : 0);
		else if (strcmp(key, "minor") == 0) {
			t->minor = (int)(v >= 8 && v <= 99 ? v : 0);
			seen_minor = t->minor != 0;
		} else if (strcmp(key, "micro") == 0)
			t->micro = (int)(v >= 0 && v < 1000 ? v : -1);
		else if (strcmp(key, "runtime") == 0) {
			t->runtime_addr = (uint64_t)v;
			seen_runtime = v != 0;
		} else if (strcmp(key, "py_version") == 0)
			t->py_version_addr = (uint64_t)v;
		else if (strcmp(key, "taken_at") == 0)
			off->taken_at = (time_t)v;
		else if (strcmp(key, "pause_us") == 0)
			off->pause_us = (uint64_t)v;
		else if (strcmp(key, "gc_retries") == 0)
			off->gc_retries = (int)(v < 1000 ? v : 1000);
		else if (strcmp(key, "collecting") == 0)
			off->collecting = v != 0;
		else if (strcmp(key, "copied_bytes") == 0)
			off->image.copied_bytes = (uint64_t)v;
		else if (strcmp(key, "planned_bytes") == 0)
			off->image.planned_bytes = (uint64_t)v;
		else if (strcmp(key, "payload_bytes") == 0)
			off->image.payload_bytes = (uint64_t)v;
		else if (strcmp(key, "hole_bytes") == 0)
			off->image.hole_bytes = (uint64_t)v;
		else if (strcmp(key, "ranges") == 0)
			off->image.ranges = (uint64_t)v;
		else if (strcmp(key, "copy_us") == 0)
			off->image.copy_us = (uint64_t)v;
		else if (strcmp(key, "plan_us") == 0)
			off->image.plan_us = (uint64_t)v;
		else if (strcmp(key, "cut") == 0)
			off->image.cut = v != 0;
		else if (strcmp(key, "late_pages") == 0)
			off->late_pages = (uint64_t)v;
		else if (strcmp(key, "fds_read") == 0)
			off->fds_read = v != 0;
	}
	if (t->major != 3 || !seen_minor || !seen_runtime)
		return bad(path, "it does not say which Python it holds");
	return 0;
}

static int read_layout(const char *path, struct cur c, struct py_layout *lay)
{
	char key[64], value[64];
	int64_t v;

	memset(lay, 0, sizeof(*lay));
	for (size_t i = 0; i < layout_nfields(); i++)
		*layout_field(lay, i) = -1;
	while (next_line(&c, key, sizeof(key), value, sizeof(value))) {
		size_t i;

		if (strcmp(key, "table_version") == 0) {
			const struct layout_table *e = NULL;

			for (size_t k = 0; *value && k < layout_tables_count && !e; k++)
				if (strcmp(layout_tables[k].version, value) == 0)
					e = &layout_tables[k];
			lay->table_version = e ? e->version : NULL;
			continue;
		}
		/* an offset or size: within a page or so, or -1 */
		if (num(value, 0, -1, 1 << 20, &v) < 0)
			return bad(path, "its layout is damaged");
		if (strcmp(key, "source") == 0) {
			lay->source = (enum layout_source)(v >= 0 && v <= LAYOUT_DEBUG_OFFSETS ? v : 0);
			continue;
		}
		if (strcmp(key, "minor") == 0) {
			lay->minor = (int)v;
			continue;
		}
		for (i = 0; i < layout_nfields() && strcmp(layout_field_name(i), key) != 0; i++)
			;
		if (i < layout_nfields())
			*layout_field(lay, i) = (int32_t)v;
	}
	return 0;
}

#define MAX_SYMS 64
#define MAX_TIDS 100000

static void read_syms(struct cur c, struct target *t)
{
	char key[64], value[32];
	int64_t v;

	t->syms = xcalloc(MAX_SYMS, sizeof(*t->syms));
	while (t->nsyms < MAX_SYMS && next_line(&c, key, sizeof(key), value, sizeof(value)))
		if (num(value, 1, INT64_MIN, INT64_MAX, &v) == 0) {
			lt_strcpy(t->syms[t->nsyms].name, sizeof(t->syms[t->nsyms].name), key);
			t->syms[t->nsyms++].addr = (uint64_t)v;
		}
}

static void read_tids(struct cur c, struct session_offline *off)
{
	char key[32], value[32];
	int64_t host, own;
	size_t cap = 0;

	while (off->ntids < MAX_TIDS && next_line(&c, key, sizeof(key), value, sizeof(value))) {
		if (num(key, 0, 1, INT32_MAX, &host) < 0 || num(value, 0, 1, INT32_MAX, &own) < 0)
			continue;
		if (off->ntids == cap) {
			cap = cap ? cap * 2 : 64;
			off->tids = xreallocarray(off->tids, cap, sizeof(*off->tids));
		}
		off->tids[off->ntids++] = (struct tid_pair){ (pid_t)host, (pid_t)own };
	}
}

static int read_fds(const char *path, struct cur c, struct fd_table *t)
{
	uint32_t n, m;
	uint32_t *sockix;

	memset(t, 0, sizeof(*t));
	/* an fd record is at least 42 bytes, a socket's 28 */
	if (take_u32(&c, &n) < 0 || n > (size_t)(c.end - c.p) / 42)
		return bad(path, "its descriptor table is damaged");
	t->v = xcalloc(n ? n : 1, sizeof(*t->v));
	sockix = xcalloc(n ? n : 1, sizeof(*sockix));
	for (uint32_t i = 0; i < n; i++) {
		struct fd_entry *e = &t->v[i];
		uint32_t fd, kind, flags;
		unsigned char b[4];
		uint64_t pos;

		if (take_u32(&c, &fd) < 0 || take_u32(&c, &kind) < 0 || take(&c, b, 4) < 0 ||
		    take_u64(&c, &pos) < 0 || take_u32(&c, &flags) < 0 || take_u64(&c, &e->inode) < 0 ||
		    take_u32(&c, &sockix[i]) < 0 || take_str(&c, e->target, sizeof(e->target)) < 0 ||
		    take_str(&c, e->detail, sizeof(e->detail)) < 0 || fd > INT32_MAX ||
		    (i && (int)fd <= t->v[i - 1].fd))
			goto damaged;
		e->fd = (int)fd;
		e->kind = kind < FDK_COUNT ? (enum fd_kind)kind : FDK_UNKNOWN;
		e->mode = strchr("rwu?", b[0]) && b[0] ? (char)b[0] : '?';
		e->have_info = b[1] != 0;
		e->pos = (long long)pos;
		e->flags = flags;
		t->n++;
	}
	if (take_u32(&c, &m) < 0 || m > (size_t)(c.end - c.p) / 28)
		goto damaged;
	t->socks.v = xcalloc(m ? m : 1, sizeof(*t->socks.v));
	for (uint32_t i = 0; i < m; i++) {
		struct sock_info *k = &t->socks.v[i];

		if (take_u64(&c, &k->inode) < 0 || take_str(&c, k->proto, sizeof(k->proto)) < 0 ||
		    take_str(&c, k->state, sizeof(k->state)) < 0 ||
		    take_str(&c, k->local, sizeof(k->local)) < 0 ||
		    take_str(&c, k->remote, sizeof(k->remote)) < 0 ||
		    take_str(&c, k->type, sizeof(k->type)) < 0)
			goto damaged;
		t->socks.n++;
	}
	for (uint32_t i = 0; i < n; i++)
		t->v[i].sock = sockix[i] < m ? &t->socks.v[sockix[i]] : NULL;
	free(sockix);
	return 0;

damaged:
	free(sockix);
	fd_table_free(t);
	return bad(path, "its descriptor table is damaged");
}

static int read_mem(const char *path, struct cur c, struct loaded *l)
{
	uint64_t n, used = 0;
	const unsigned char *bytes;

	if (take_u64(&c, &n) < 0 || n > (uint64_t)(c.end - c.p) / 16 || n > IMAGE_MAX_RANGES * 4ull)
		return bad(path, "its memory section is damaged");
	bytes = c.p + n * 16;
	l->im.seg = xcalloc(n ? (size_t)n : 1, sizeof(*l->im.seg));
	for (uint64_t i = 0; i < n; i++) {
		struct image_seg *sg = &l->im.seg[i];

		take_u64(&c, &sg->addr);
		take_u64(&c, &sg->len);
		if (!sg->len || sg->len > (uint64_t)(c.end - bytes) - used ||
		    sg->addr + sg->len < sg->addr ||
		    (i && sg->addr < l->im.seg[i - 1].addr + l->im.seg[i - 1].len))
			return bad(path, "its memory section is damaged or truncated");
		sg->off = (uint64_t)(bytes - l->data) + used;
		used += sg->len;
	}
	/* Neighbours in memory are neighbours in the file: one segment, so
	 * that a read across their edge is answered, as it was live. */
	for (uint64_t i = 0; i < n; i++) {
		struct image_seg *last = l->im.nseg ? &l->im.seg[l->im.nseg - 1] : NULL;

		if (last && last->addr + last->len == l->im.seg[i].addr)
			last->len += l->im.seg[i].len;
		else
			l->im.seg[l->im.nseg++] = l->im.seg[i];
	}
	l->im.buf = l->data;
	return 0;
}

static const unsigned char *loaded_find(void *arg, uint64_t addr, size_t len)
{
	return image_find(&((struct loaded *)arg)->im, addr, len);
}

static int loaded_constant(void *arg, uint64_t addr)
{
	(void)arg, (void)addr;
	return 1;   /* nothing can change it now */
}

static void offline_free_loaded(struct session_offline *off)
{
	loaded_free(off->arg);
	off->arg = NULL;
}

int snapfile_session_open(struct session *s, const char *path, const struct snapshot_opts *o)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;  /* in errors */
	struct loaded *l = xcalloc(1, sizeof(*l));
	struct session_offline *off = xcalloc(1, sizeof(*off));
	struct sections sc;
	struct target t;
	struct py_layout lay;
	char version[32] = "", when[64];
	struct tm tm;
	int micro;

	memset(&t, 0, sizeof(t));
	memset(s, 0, sizeof(*s));
	off->kind = "snapshot file";
	snprintf(off->path, sizeof(off->path), "%s", path);
	image_init(&l->im);
	if (read_all(path, l) < 0 || split(name, l, &sc) < 0 ||
	    read_info(name, sc.info, &t, off, version, sizeof(version)) < 0 ||
	    read_layout(name, sc.layt, &lay) < 0 || read_mem(name, sc.mem, l) < 0 ||
	    (sc.have_fds && off->fds_read && read_fds(name, sc.fds, &off->fds) < 0)) {
		loaded_free(l);
		fd_table_free(&off->fds);
		free(off->tids);
		free(off);
		return -1;
	}
	if (!sc.have_fds)
		off->fds_read = 0;
	if (sc.have_syms)
		read_syms(sc.syms, &t);
	/* The file's layout is its writer's word: what it reads back is
	 * checked when the session opens, every field against leaktop's own
	 * table for that release and kind of build here. */
	if (t.micro < 0 && sscanf(version, "3.%*d.%d", &micro) == 1 && micro >= 0 && micro < 1000)
		t.micro = micro;
	off->layout_suspect = layout_check_recorded(t.major, t.minor, t.micro,
						    target_has_function(&t, "_Py_NegativeRefcount"),
						    &lay, off->layout_note,
						    sizeof(off->layout_note)) < 0;
	if (sc.have_tids)
		read_tids(sc.tids, off);
	off->src = (struct remote_source){ .find = loaded_find, .constant = loaded_constant,
					   .arg = l };
	off->free = offline_free_loaded;
	off->arg = l;
	localtime_r(&off->taken_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(off->note, sizeof(off->note), "read from the snapshot file %s, taken %s", path, when);
	t.mem = remote_open_offline();
	if (session_open_offline(s, &t, &lay, off, o) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", lt_last_error());
		lt_error(LT_ERR_OTHER, "%s is not a usable snapshot file: what it holds does not read "
			 "as the Python it names (%s)", path, why);
		return -1;
	}
	/* Before 3.11 the walk reads the exact version from sys.version. */
	if (version[0] && !s->version[0])
		snprintf(s->version, sizeof(s->version), "%s", version);
	return 0;
}

struct image *snapfile_image(struct session *s)
{
	if (!s->off || s->off->free != offline_free_loaded || !s->off->arg)
		return NULL;
	return &((struct loaded *)s->off->arg)->im;
}
