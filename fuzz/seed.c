/* seed.c - load the fuzz harness's seed: an image saved from a real target.
 *
 * Seed format 1, written by image_save_seed() (src/image.c) when
 * `leaktop dump` runs with LEAKTOP_SAVE_IMAGE=FILE.  Integers are in the
 * writing machine's byte order and the layout is struct py_layout's bytes:
 * a seed is only good for the harness built from the same tree, which is
 * why scripts/fuzz makes a fresh one each run.
 *
 *   char     magic[8]          "LTSEED\n\0"
 *   uint32   format            1
 *   uint32   layout_size       sizeof(struct py_layout) of the writer
 *   int32    major, minor, micro   the target's Python (micro -1: unknown)
 *   uint64   runtime           &_PyRuntime
 *   uint64   set_dummy         the set dummy key's address (pyctx)
 *   char     version[32]       "3.11.7" as the session read it ("" unknown)
 *   char     table_version[32] the layout table's version ("" none)
 *   uint32   nsyms, nsegs
 *   byte     layout[layout_size]
 *   nsyms x  { char name[32]; uint64 addr; }   addr 0: absent; functions 1
 *            (arenas, maxarenas: 3.8-3.11 pymalloc; _Py_NegativeRefcount:
 *            a debug build)
 *   nsegs x  { uint64 addr; uint64 len; uint32 kind; uint32 0; byte data[len]; }
 *            kind 0: copied in the stop (the image), ascending;
 *            kind 1: pages the walk read live because the image lacked
 *            them (read-only data: type names, code), read again after it.
 */
#include "config.h"
#include "seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "LTSEED\n"
#define FORMAT 1u
#define NAME 32
#define MAX_SEGS (1u << 22)

struct cursor {
	const unsigned char *p, *end;
};

static int take(struct cursor *c, void *out, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	memcpy(out, c->p, n);
	c->p += n;
	return 0;
}

static int take_str(struct cursor *c, char *out)
{
	if (take(c, out, NAME) < 0)
		return -1;
	out[NAME - 1] = '\0';
	return 0;
}

struct raw_seg {
	uint64_t addr, len;
	uint32_t kind;
	const unsigned char *data;
};

static int by_addr(const void *a, const void *b)
{
	const struct raw_seg *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

static int read_file(const char *path, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -1;
	}
	*buf = malloc((size_t)n + 1);
	if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		free(*buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}

static int parse_header(struct seed *sd, struct cursor *c, uint32_t *nsegs, char *err,
			size_t errlen)
{
	char magic[8];
	uint32_t format, layout_size, nsyms;
	int32_t ver[3];

	if (take(c, magic, 8) < 0 || memcmp(magic, MAGIC, 8) != 0 || take(c, &format, 4) < 0 ||
	    format != FORMAT) {
		snprintf(err, errlen, "not a format %u seed", FORMAT);
		return -1;
	}
	if (take(c, &layout_size, 4) < 0 || layout_size != sizeof(sd->lay)) {
		snprintf(err, errlen, "written by another build (struct py_layout of %u bytes, "
			 "not %zu): make a fresh seed", layout_size, sizeof(sd->lay));
		return -1;
	}
	if (take(c, ver, sizeof(ver)) < 0 || take(c, &sd->runtime, 8) < 0 ||
	    take(c, &sd->set_dummy, 8) < 0 || take_str(c, sd->version) < 0 ||
	    take_str(c, sd->table_version) < 0 || take(c, &nsyms, 4) < 0 || take(c, nsegs, 4) < 0 ||
	    take(c, &sd->lay, sizeof(sd->lay)) < 0 || nsyms > SEED_MAX_SYMS || *nsegs > MAX_SEGS) {
		snprintf(err, errlen, "truncated or damaged header");
		return -1;
	}
	sd->major = ver[0];
	sd->minor = ver[1];
	sd->micro = ver[2];
	/* The writer's pointer means nothing here. */
	sd->lay.table_version = sd->table_version[0] ? sd->table_version : NULL;
	if (sd->lay.minor != sd->minor || sd->minor < 8) {
		snprintf(err, errlen, "layout for 3.%d in a seed of 3.%d", sd->lay.minor, sd->minor);
		return -1;
	}
	for (uint32_t i = 0; i < nsyms; i++) {
		if (take_str(c, sd->syms[i].name) < 0 || take(c, &sd->syms[i].addr, 8) < 0) {
			snprintf(err, errlen, "truncated symbols");
			return -1;
		}
	}
	sd->nsyms = (int)nsyms;
	return 0;
}

static int parse_segs(struct cursor *c, struct raw_seg *v, uint32_t n, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t zero;

		if (take(c, &v[i].addr, 8) < 0 || take(c, &v[i].len, 8) < 0 ||
		    take(c, &v[i].kind, 4) < 0 || take(c, &zero, 4) < 0 ||
		    v[i].len > (uint64_t)(c->end - c->p) || v[i].addr + v[i].len < v[i].addr) {
			snprintf(err, errlen, "segment %u is truncated or wraps", i);
			return -1;
		}
		v[i].data = c->p;
		c->p += v[i].len;
	}
	return 0;
}

/* Sorted segments into one buffer in address order: overlaps clipped (the
 * copy wins over pages read live), neighbours joined so that a read across
 * them is answered as it was. */
static void lay_out(struct seed *sd, struct raw_seg *v, uint32_t n)
{
	uint64_t end = 0, total = 0;
	size_t cap = 0;

	qsort(v, n, sizeof(*v), by_addr);
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].addr < end) {
			uint64_t cut = end - v[i].addr < v[i].len ? end - v[i].addr : v[i].len;

			v[i].addr += cut;
			v[i].data += cut;
			v[i].len -= cut;
		}
		if (v[i].len && v[i].addr + v[i].len > end)
			end = v[i].addr + v[i].len;
		total += v[i].len;
	}
	sd->im.buf = malloc(total ? total : 1);
	sd->size = (size_t)total;
	total = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct image_seg *last = sd->im.nseg ? &sd->im.seg[sd->im.nseg - 1] : NULL;

		if (!v[i].len)
			continue;
		memcpy(sd->im.buf + total, v[i].data, v[i].len);
		if (v[i].kind)
			sd->live_bytes += v[i].len;
		if (last && last->addr + last->len == v[i].addr) {
			last->len += v[i].len;
		} else {
			if (sd->im.nseg == cap) {
				cap = cap ? cap * 2 : 256;
				sd->im.seg = realloc(sd->im.seg, cap * sizeof(*sd->im.seg));
			}
			sd->im.seg[sd->im.nseg++] = (struct image_seg){ v[i].addr, v[i].len, total };
		}
		total += v[i].len;
	}
}

int seed_load(struct seed *sd, const char *path, char *err, size_t errlen)
{
	unsigned char *file;
	size_t len;
	struct cursor c;
	struct raw_seg *v = NULL;
	uint32_t nsegs;
	int rc = -1;

	memset(sd, 0, sizeof(*sd));
	image_init(&sd->im);
	if (read_file(path, &file, &len) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	c = (struct cursor){ file, file + len };
	if (parse_header(sd, &c, &nsegs, err, errlen) == 0) {
		v = calloc(nsegs ? nsegs : 1, sizeof(*v));
		if (parse_segs(&c, v, nsegs, err, errlen) == 0) {
			lay_out(sd, v, nsegs);
			rc = sd->size ? 0 : -1;
			if (rc < 0)
				snprintf(err, errlen, "the seed holds no memory");
		}
	}
	free(v);
	free(file);
	return rc;
}

uint64_t seed_addr(const struct seed *sd, size_t off)
{
	size_t lo = 0, hi = sd->im.nseg;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (sd->im.seg[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	return sd->im.seg[lo].addr + (off - sd->im.seg[lo].off);
}
