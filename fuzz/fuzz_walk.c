/* fuzz_walk.c - libFuzzer harness: the walkers on damaged copies of a real heap.
 *
 * LLVMFuzzerInitialize opens the seed named by LEAKTOP_FUZZ_SEED, a
 * snapshot file (`leaktop dump --save`), as the one offline session of the
 * run (snapfile_session_open: the file's memory its only source, no
 * process, no symbols but the file's), and walks it undamaged, once whole
 * and once only the structures around the objects (interpreters, GC heads,
 * threads, frames, arenas), to learn which words of it the walkers read.
 * Each input then damages a few words of that memory in place (the file's
 * private mapping, snapfile_image), takes a snapshot of the session as
 * `leaktop dump` or `leaktop why` would, prints the report to /dev/null,
 * frees it and undoes the damage.  The file is not opened again per input:
 * that would discard the damage (and check every section's CRC again).
 *
 * An input is a 4-byte header and up to MAX_PATCHES 12-byte patches:
 *   header[0]  bit 0 why_analyze as the analyze callback; bit 1 --gc-only
 *              (not with why); bit 2 --group-dicts; bit 3 sample instances
 *              of the selected type; bit 4 "a collection was running";
 *              bit 5 JSON reports; bits 6-7 selector: 0-1 a type name the
 *              seed holds, 2 an address, 3 fd:N
 *   header[1..3]  which type name, address or fd
 *   patch[0]   bits 0-1 which words (with bit 31 of the index: pool_choice),
 *              bits 2-5 what value (enum value_kind), bits 6-7 width: the
 *              word, one half (bit 28 of the index) or one byte (bits 28-30)
 *   patch[1..4]  index into the pool (modulo its size)
 *   patch[5..11] the value's parameter (56 bits)
 * One choice of patch[0] bits 0-1 and bit 31 (pool_choice[7]) damages the
 * session's layout instead of its memory, as a crafted file's LAYT section
 * would (snapfile.c says such a census is incomplete; it must still not
 * crash): field (index modulo their number) := a special small number, the
 * parameter's low 32 bits, or the old value plus a little (bits 2-5 as for
 * a word: V_SPECIAL, V_LITERAL, anything else).
 * Any byte string is a valid input; an empty one walks the seed as it is. */
#include "config.h"
#include "arena.h"
#include "census.h"
#include "heap.h"
#include "layout.h"
#include "pyobj.h"
#include "reach.h"
#include "remote.h"
#include "report.h"
#include "retain.h"
#include "snapfile.h"
#include "snapshot.h"
#include "target.h"
#include "util.h"
#include "why.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER 4
#define PATCH 12
#define MAX_PATCHES 48
#define MAX_NAMES 32
#define WHY_MAX 5

static struct session ss;        /* the seed's, for the whole run */
static struct image *im;          /* its memory, damaged in place */
static unsigned char *base;       /* im->buf + the first segment's off: word 0 */
static size_t size;               /* bytes from base to the last segment's end */
static FILE *devnull;

/* Which words a patch picks. */
enum pool {
	POOL_START,   /* words where a read of the undamaged walk began: headers, fields */
	POOL_ROOTS,   /* read starts of the interpreter, GC heads, threads, frames, arenas */
	POOL_READ,    /* any word that walk read */
	POOL_PTR,     /* words holding an address inside the image */
	POOL_ALL,     /* any word */
	NPOOLS,
	POOL_LAYOUT = NPOOLS   /* not words: the layout's fields */
};

/* patch[0] bits 0-1 and bit 31 of the index choose; the few root words
 * get as many patches as the many object words. */
static const enum pool pool_choice[8] = { POOL_START, POOL_ROOTS, POOL_READ, POOL_PTR,
					  POOL_ALL, POOL_ROOTS, POOL_START, POOL_LAYOUT };

struct pool_v {
	uint32_t *v;   /* word indexes from base */
	size_t n;
};

static struct pool_v pools[NPOOLS];
/* Per word of the image, what the survey saw. */
struct marks {
	unsigned char *start, *any;   /* a read began here / read at all (any may be NULL) */
};
static struct marks walked, roots;
static uint64_t *types;                         /* type objects the survey met */
static char **type_names;
static size_t ntypes;
static char *names[MAX_NAMES];                  /* type names to select */
static size_t nnames;

/* The target address of byte off from base (off < size): the MEM
 * section's bytes are contiguous in the file, segment after segment. */
static uint64_t img_addr(size_t off)
{
	size_t lo = 0, hi = im->nseg, at = (size_t)(base - im->buf) + off;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->seg[mid].off <= at)
			lo = mid;
		else
			hi = mid;
	}
	return im->seg[lo].addr + (at - im->seg[lo].off);
}

/* ---- one walk ---- */

struct run_opts {
	int why, gc_only, group_dicts, sample, collecting, json;
	struct why_selector sel;
	char text[300];          /* the selector as the command line gives it */
};

struct why_job {
	const struct why_selector *sel;
	struct why_result res;
	int done;
};

static void why_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct why_job *job = arg;

	why_analyze(&job->res, s, snap, g, job->sel, WHY_MAX);
	job->done = 1;
}

/* The session's options for one input (job: why's, when o->why). */
static void session_set(const struct run_opts *o, struct why_job *job)
{
	ss.opts.gc_only = o->gc_only && !o->why;
	ss.opts.group_dicts = o->group_dicts;
	ss.opts.stacks = !o->why;   /* the threads' Python stacks, as dump reads them */
	ss.opts.retainers = ss.opts.gc_only ? 0 : RETAIN_MAX;  /* the dominator tree, as dump */
	session_sample(&ss, o->sample && o->sel.kind == WHY_TYPE ? o->sel.type : NULL);
	ss.analyze = o->why ? why_hook : NULL;
	ss.analyze_arg = o->why ? job : NULL;
	ss.off->collecting = o->collecting;
	/* Before 3.11 a live walk reads the version from sys.version (the
	 * file has it): let this one read it too, from the damaged memory. */
	if (ss.t.minor < 11) {
		ss.version[0] = '\0';
		ss.t.micro = -1;
	}
}

/* LEAKTOP_FUZZ_VERBOSE=1: one line per input (reads, time, completeness),
 * to see what an input does when reproducing it. */
static int verbose(void)
{
	static int on = -1;

	if (on < 0)
		on = getenv("LEAKTOP_FUZZ_VERBOSE") && *getenv("LEAKTOP_FUZZ_VERBOSE") == '1';
	return on;
}

static void tell(const struct run_opts *o, const struct snapshot *snap, int rc, uint64_t t0)
{
	if (!verbose())
		return;
	fprintf(stderr, "fuzz_walk: %s%s%s: rc %d, %llu reads, %llu objects, %s, %llu ms%s%s\n",
		o->why ? "why " : "dump", o->why ? o->text : "", o->gc_only && !o->why ? " --gc-only" : "",
		rc, rc ? 0ull : (unsigned long long)snap->reads,
		rc ? 0ull : (unsigned long long)snap->census.objects,
		rc ? lt_last_error() : snap->census.complete ? "complete" : "incomplete",
		(unsigned long long)((lt_now_us() - t0) / 1000), rc == 0 && snap->census.nnotes ? ": " : "",
		rc == 0 && snap->census.nnotes ? snap->census.notes[snap->census.nnotes - 1] : "");
}

static void walk_once(const struct run_opts *o)
{
	struct snapshot snap;
	struct why_job job = { .sel = &o->sel };
	uint64_t t0 = lt_now_us();
	int rc;

	session_set(o, &job);
	rc = session_snapshot(&ss, &snap);
	tell(o, &snap, rc, t0);
	if (rc == 0) {
		if (o->json)
			report_json(devnull, &snap);
		else
			report_text(devnull, &snap, 0);
		if (job.done && o->json)
			report_why_json(devnull, &job.res, &snap, o->text);
		else if (job.done)
			report_why_text(devnull, &job.res, &snap, o->text);
		snapshot_free(&snap);
	}
	if (job.done)
		why_free(&job.res);
	/* What the session keeps from a snapshot to the next (the types met,
	 * the sample's name) is freed now: libFuzzer takes a run that ends
	 * with more mallocs than frees for a possible leak, and runs it again
	 * under LeakSanitizer. */
	session_sample(&ss, NULL);
	pyctx_reset(&ss.ctx);
}

/* ---- the survey: what the undamaged walk reads ---- */

static const unsigned char *survey_find(void *arg, uint64_t addr, size_t len)
{
	struct marks *m = arg;
	const unsigned char *p = image_find(im, addr, len);

	if (p && len) {
		size_t first = (size_t)(p - base) / 8, last = (size_t)(p - base + len - 1) / 8;

		m->start[first] = 1;
		for (size_t w = first; m->any && w <= last; w++)
			m->any[w] = 1;
	}
	return p;
}

static int survey_constant(void *arg, uint64_t addr)
{
	return 1;   /* a file's memory: nothing can change it */
}

static void pool_add(struct pool_v *p, size_t *cap, uint32_t w)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		p->v = realloc(p->v, *cap * sizeof(*p->v));
	}
	p->v[p->n++] = w;
}

static void build_pools(void)
{
	size_t nwords = size / 8, caps[NPOOLS] = { 0 };

	for (size_t w = 0; w < nwords; w++) {
		uint64_t v;

		memcpy(&v, base + w * 8, 8);
		if (walked.start[w])
			pool_add(&pools[POOL_START], &caps[POOL_START], (uint32_t)w);
		if (roots.start[w])
			pool_add(&pools[POOL_ROOTS], &caps[POOL_ROOTS], (uint32_t)w);
		if (walked.any[w])
			pool_add(&pools[POOL_READ], &caps[POOL_READ], (uint32_t)w);
		if (!(v & 7) && image_find(im, v, 8))
			pool_add(&pools[POOL_PTR], &caps[POOL_PTR], (uint32_t)w);
		pool_add(&pools[POOL_ALL], &caps[POOL_ALL], (uint32_t)w);
	}
}

/* Remember the types and the names worth selecting: builtins first, then
 * the target's own classes. */
static void survey_types(struct session *s)
{
	static const char *const wanted[] = { "builtins.dict", "builtins.list", "builtins.tuple",
					      "builtins.str", "builtins.function", "builtins.set",
					      "builtins.type", "builtins.code", "builtins.cell",
					      "builtins.generator", "builtins.frame" };

	for (size_t i = 0; i < LT_ARRAY_SIZE(wanted); i++)
		names[nnames++] = strdup(wanted[i]);
	types = calloc(s->ctx.types_n + 1, sizeof(*types));
	type_names = calloc(s->ctx.types_n + 1, sizeof(*type_names));
	PYCTX_FOREACH_TYPE(&s->ctx, t) {
		type_names[ntypes] = strdup(t->name);
		types[ntypes++] = t->addr;
		if (nnames < MAX_NAMES && t->count && strncmp(t->name, "__main__.", 9) == 0)
			names[nnames++] = strdup(t->name);
	}
}

static void survey(void)
{
	struct run_opts o = { .why = 1, .group_dicts = 1 };
	struct remote_source src = { .find = survey_find, .constant = survey_constant,
				     .arg = &walked }, file = ss.off->src;
	struct snapshot snap;
	struct why_job job = { .sel = &o.sel };
	uint64_t copied = ss.off->image.copied_bytes;

	walked.start = calloc(size / 8 + 1, 1);
	walked.any = calloc(size / 8 + 1, 1);
	why_parse_selector("builtins.dict", &o.sel);
	session_set(&o, &job);
	ss.off->src = src;   /* the file's memory, each read marked */
	if (session_snapshot(&ss, &snap) < 0) {
		fprintf(stderr, "fuzz_walk: the undamaged seed does not walk: %s\n", lt_last_error());
		exit(1);
	}
	ss.off->src = file;
	survey_types(&ss);
	fprintf(stderr, "fuzz_walk: seed: Python %d.%d (%s), %zu segments, %zu KiB (%zu KiB read "
		"live), %llu objects, %zu types, %s\n", ss.t.major, ss.t.minor, ss.version, im->nseg,
		size >> 10, (size > copied ? size - copied : 0) >> 10,
		(unsigned long long)snap.census.objects, ntypes,
		snap.census.complete ? "complete" : "incomplete");
	snapshot_free(&snap);
	if (job.done)
		why_free(&job.res);
}

static void ignore_reached(void *arg, uint64_t obj, struct pytype *t)
{
}

static void mark_word(uint64_t addr)
{
	const unsigned char *p = image_find(im, addr, 8);

	if (p)
		roots.start[(size_t)(p - base) / 8] = 1;
}

/* The words the structures around the objects are read from: each
 * interpreter's list link and GC list heads, the thread states and their
 * frames (walked alone here, with what their locals hold), pymalloc's
 * arena table and pool headers. */
static void survey_roots(void)
{
	struct remote_source src = { .find = survey_find, .constant = survey_constant,
				     .arg = &roots };
	const struct py_layout *l = &ss.lay;
	uint64_t runtime = ss.t.runtime_addr, *interp;
	struct reach r;
	struct arena_stats ast;
	char note[256];
	int n;

	roots.start = calloc(size / 8 + 1, 1);
	/* No types known, as a walk begins. */
	pyctx_reset(&ss.ctx);
	remote_use_source(ss.ctx.mem, &src);
	interp = heap_interpreters(&ss.ctx, runtime, &n, note, sizeof(note));
	for (int i = 0; i < n; i++) {
		uint64_t gcs = l->is_gc >= 0 ? interp[i] + (uint64_t)l->is_gc :
			       runtime + (uint64_t)l->rt_gc;

		for (int g = 0; g <= 3; g++) {
			uint64_t head = gcs + (uint64_t)l->gen_head +
					(g < 3 ? (uint64_t)l->gcs_generations + (uint64_t)(g * l->gen_size) :
						 (uint64_t)l->gcs_permanent);

			mark_word(head + (uint64_t)l->gc_next);
			mark_word(head + (uint64_t)l->gc_prev);
		}
	}
	reach_init(&r, &ss.ctx, ignore_reached, NULL);
	reach_threads(&r, runtime);
	reach_free(&r);
	/* With no types known, the arena walk reads its table and pools, not
	 * the objects in their blocks. */
	pyctx_reset(&ss.ctx);
	arena_walk(&ss.ctx, &ss.t, runtime, ignore_reached, NULL, NULL, &ast, note, sizeof(note));
	pyctx_reset(&ss.ctx);
	remote_use_source(ss.ctx.mem, NULL);
	free(interp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("LEAKTOP_FUZZ_SEED");
	struct snapshot_opts so = { 0 };
	const struct image_seg *last;

	if (!path || !*path) {
		fprintf(stderr, "fuzz_walk: set LEAKTOP_FUZZ_SEED to a snapshot file "
			"(leaktop dump --save; fuzz/README.md)\n");
		exit(1);
	}
	if (snapfile_session_open(&ss, path, &so) < 0) {
		fprintf(stderr, "fuzz_walk: %s\n", lt_last_error());
		exit(1);
	}
	im = snapfile_image(&ss);
	if (!im || !im->nseg) {
		fprintf(stderr, "fuzz_walk: %s holds no memory\n", path);
		exit(1);
	}
	/* Words are counted from the first segment's bytes; the last one's
	 * end is the end of the MEM section. */
	last = &im->seg[im->nseg - 1];
	base = im->buf + im->seg[0].off;
	size = (size_t)(last->off + last->len - im->seg[0].off);
	if (size / 8 > UINT32_MAX) {
		fprintf(stderr, "fuzz_walk: %s is too large a seed (%zu MiB)\n", path, size >> 20);
		exit(1);
	}
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		exit(1);
	survey();
	survey_roots();
	build_pools();
	free(walked.start);
	free(walked.any);
	free(roots.start);
	fprintf(stderr, "fuzz_walk: pools: %zu read starts, %zu of them roots, %zu words read, "
		"%zu pointers, %zu words\n", pools[POOL_START].n, pools[POOL_ROOTS].n,
		pools[POOL_READ].n, pools[POOL_PTR].n, pools[POOL_ALL].n);
	return 0;
}

/* ---- patches ---- */

enum value_kind {
	V_SPECIAL,      /* a count or bound that breaks arithmetic: 0, -1, 1<<60 ... */
	V_LITERAL,      /* the parameter itself */
	V_READ_START,   /* the address of a word the walk began a read at */
	V_TYPE,         /* the address of a type object: type confusion */
	V_SELF,         /* the word's own address: one-node loops */
	V_NEAR,         /* an address a few words from the word's own */
	V_DELTA,        /* the old value plus or minus a little */
	V_FLIP,         /* the old value with one bit flipped */
	V_COPY,         /* the value of another word the walk read */
	V_ANY_ADDR,     /* the address of any word of the image */
	V_SEG_EDGE,     /* an address at a segment's last words or just past its end */
	V_TAG,          /* the old value with its low bits set: tagged pointers */
	NKINDS
};

static const uint64_t specials[] = {
	0, 1, 2, 3, 7, 8, 15, 16, 64, 127, 255, 256, 4095, 4096, 65535, 65536, 1u << 20,
	0x7fffffff, 0x80000000, 0xffffffff, 1ull << 32, 1ull << 40, 1ull << 47, 1ull << 48,
	1ull << 60, 1ull << 62, INT64_MAX, (uint64_t)INT64_MIN, UINT64_MAX, (uint64_t)-2,
	(uint64_t)-8, (uint64_t)-4096, 0x7ffffffff000ull, 0x800000000000ull,
};

struct undo {
	size_t off;
	uint64_t old;
	int32_t *field;   /* a layout patch's instead (off, old unused) */
	int32_t old_field;
};

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t word_at(size_t w)
{
	uint64_t v;

	memcpy(&v, base + w * 8, 8);
	return v;
}

static size_t pick(enum pool p, uint64_t idx)
{
	const struct pool_v *pv = pools[p].n ? &pools[p] : &pools[POOL_ALL];

	return pv->v[idx % pv->n];
}

static uint64_t value_for(enum value_kind k, size_t w, uint64_t old, uint64_t param)
{
	uint64_t self = img_addr(w * 8);
	int64_t small = (int64_t)(int8_t)(param & 0xff);

	switch (k) {
	case V_SPECIAL:
		return specials[param % LT_ARRAY_SIZE(specials)];
	case V_LITERAL:
		return param & (1ull << 55) ? param | 0xff00000000000000ull : param;
	case V_READ_START:
		return img_addr(pick(POOL_START, param) * 8);
	case V_TYPE:
		return ntypes ? types[param % ntypes] : old;
	case V_SELF:
		return self;
	case V_NEAR:
		return self + (uint64_t)(small * 8);
	case V_DELTA:
		return old + (uint64_t)small;
	case V_FLIP:
		return old ^ (1ull << (param % 64));
	case V_COPY:
		return word_at(pick(POOL_READ, param));
	case V_ANY_ADDR:
		return img_addr(pick(POOL_ALL, param) * 8);
	case V_SEG_EDGE: {
		const struct image_seg *g = &im->seg[param % im->nseg];

		return g->addr + g->len - 8 * (uint64_t)((param >> 16) % 4);
	}
	case V_TAG:
		return old | ((param % 7) + 1);
	default:
		return specials[param % LT_ARRAY_SIZE(specials)];
	}
}

/* Verbose: the patch, and the object its word seems to belong to: the
 * nearest {count, known type} pair at or before it. */
static void describe(size_t w, uint64_t old, uint64_t v)
{
	uint64_t addr = img_addr(w * 8);
	const char *name = NULL;
	size_t k;

	/* The word is a count, and a type follows it: the object's start. */
	for (size_t i = 0; i < ntypes && !name && (w + 2) * 8 <= size; i++)
		if (word_at(w + 1) == types[i] && old - 1 < (1ull << 40)) {
			fprintf(stderr, "fuzz_walk: patch 0x%llx: 0x%llx -> 0x%llx (%s at 0x%llx, +0)\n",
				(unsigned long long)addr, (unsigned long long)old,
				(unsigned long long)v, type_names[i], (unsigned long long)addr);
			return;
		}
	for (k = 0; k < 64 && k < w && !name; k++)
		for (size_t i = 0; i < ntypes && !name; i++)
			if (word_at(w - k) == types[i] && word_at(w - k - 1) - 1 < (1ull << 40))
				name = type_names[i];
	fprintf(stderr, "fuzz_walk: patch 0x%llx: 0x%llx -> 0x%llx", (unsigned long long)addr,
		(unsigned long long)old, (unsigned long long)v);
	if (name)
		fprintf(stderr, " (%s at 0x%llx, +%zu)", name,
			(unsigned long long)(addr - (k - 1) * 8 - 8), (k - 1) * 8 + 8);
	fputc('\n', stderr);
}

/* A layout patch: one field of the session's layout. */
static void apply_layout(enum value_kind k, uint64_t idx, uint64_t param, struct undo *u)
{
	size_t i = (size_t)(idx % layout_nfields());
	int32_t *f = layout_field(&ss.lay, i), v;

	if (k == V_SPECIAL)
		v = (int32_t)specials[param % LT_ARRAY_SIZE(specials)];
	else if (k == V_LITERAL)
		v = (int32_t)(uint32_t)param;
	else
		v = *f + (int32_t)(int8_t)(param & 0xff);
	u->field = f;
	u->old_field = *f;
	*f = v;
	if (verbose())
		fprintf(stderr, "fuzz_walk: layout %s: %d -> %d\n", layout_field_name(i),
			u->old_field, v);
}

/* Apply one patch; its undo record goes to *u. */
static void apply(const uint8_t *p, struct undo *u)
{
	uint64_t idx = get_le(p + 1, 4), param = get_le(p + 5, 7);
	enum pool pool = pool_choice[(p[0] & 3) | (idx >> 29 & 4)];
	enum value_kind k = (enum value_kind)((p[0] >> 2) & 15);
	int width = p[0] >> 6;
	size_t w;
	uint64_t old, v;
	unsigned sub = (unsigned)(idx >> 28) & 7;

	if (k >= NKINDS)
		k = (enum value_kind)(k % NKINDS);
	if (pool == POOL_LAYOUT) {
		apply_layout(k, idx & 0x7fffffff, param, u);
		return;
	}
	u->field = NULL;
	w = pick(pool, idx);
	old = word_at(w);
	v = value_for(k, w, old, param);

	if (width == 2) {        /* a 32-bit field: counts, offsets, pool headers */
		uint64_t mask = 0xffffffffull << (sub & 1) * 32;

		v = (old & ~mask) | ((v << (sub & 1) * 32) & mask);
	} else if (width == 3) { /* a byte: dict keys' log2 sizes and kinds, string state */
		uint64_t mask = 0xffull << sub * 8;

		v = (old & ~mask) | ((v << sub * 8) & mask);
	}
	u->off = w * 8;
	u->old = old;
	memcpy(base + w * 8, &v, 8);
	if (verbose())
		describe(w, old, v);
}

static void parse_header(const uint8_t *d, size_t n, struct run_opts *o)
{
	uint8_t h[HEADER] = { 0 };
	uint32_t which;

	memcpy(h, d, n < HEADER ? n : HEADER);
	which = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16;
	o->why = h[0] & 1;
	o->gc_only = h[0] >> 1 & 1;
	o->group_dicts = h[0] >> 2 & 1;
	o->sample = h[0] >> 3 & 1;
	o->collecting = h[0] >> 4 & 1;
	o->json = h[0] >> 5 & 1;
	switch (h[0] >> 6) {
	case 2:
		o->sel.kind = WHY_ADDR;
		o->sel.addr = img_addr(pick(POOL_START, which) * 8);
		snprintf(o->text, sizeof(o->text), "0x%llx", (unsigned long long)o->sel.addr);
		break;
	case 3:
		o->sel.kind = WHY_FD;
		o->sel.fd = (int)(which % 16);
		snprintf(o->text, sizeof(o->text), "fd:%d", o->sel.fd);
		break;
	default:
		o->sel.kind = WHY_TYPE;
		snprintf(o->sel.type, sizeof(o->sel.type), "%s", names[which % nnames]);
		snprintf(o->text, sizeof(o->text), "%s", o->sel.type);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_opts o = { 0 };
	struct undo undo[MAX_PATCHES];
	size_t n = size > HEADER ? (size - HEADER) / PATCH : 0;

	if (n > MAX_PATCHES)
		n = MAX_PATCHES;
	parse_header(data, size, &o);
	for (size_t i = 0; i < n; i++)
		apply(data + HEADER + i * PATCH, &undo[i]);
	walk_once(&o);
	/* Backwards: a word patched twice gets its first old value back. */
	for (size_t i = n; i-- > 0;) {
		if (undo[i].field)
			*undo[i].field = undo[i].old_field;
		else
			memcpy(base + undo[i].off, &undo[i].old, 8);
	}
	lt_error_clear();
	return 0;
}
