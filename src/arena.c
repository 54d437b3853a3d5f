/* arena.c - live blocks of pymalloc, and the objects in them. */
#include "config.h"
#include "arena.h"
#include "heap.h"
#include "pyobj.h"
#include "remote.h"
#include "target.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARENAS (1u << 20)       /* 1 TiB of 1 MiB arenas */
#define ALIGNMENT_SHIFT 4           /* 16-byte size classes on 64-bit, 3.8+ */
#define MAX_POOL_SIZE (16u << 10)

struct scan {
	struct pyctx *c;
	arena_fn fn;
	void *arg;
	struct arena_stats *st;
	size_t arena_size, pool_size;
	size_t pad;   /* debug builds: the allocator's own header before each object */
	size_t tail;  /* ... and its guard bytes after it */
	int (*seen)(void *arg, uint64_t obj);
	/* arena_list: the arenas' spans, not their objects */
	int list;
	struct arena_span *spans;
	size_t nspans, capspans;
};

/* Is there an untracked object of type t at obj, filling a block of size bs? */
static int fits(struct pyctx *c, uint64_t obj, struct pytype *t, size_t bs, size_t header)
{
	int64_t size;

	switch (t->kind) {
	case PK_STR: case PK_INT: case PK_FLOAT: case PK_BYTES: case PK_TUPLE:
	case PK_BOOL: case PK_NONE:
		/* getsizeof is the allocation: it must pick this size class */
		size = pyobj_sizeof(c, obj, t);
		if (size < 0)
			return 0;
		size = size - (int64_t)(t->flags & PY_TPFLAGS_HAVE_GC ? c->lay->gc_head_size : 0) +
		       (int64_t)header;
		return (size_t)size <= bs && (size_t)size + 16 > bs;
	default:
		return (size_t)t->basicsize + header <= bs;
	}
}

static void scan_block(struct scan *s, const unsigned char *b, uint64_t addr, size_t bs)
{
	struct pyctx *c = s->c;
	/* The object at the block's start, or after a GC header (and, 3.11+, a
	 * two-word pre-header for managed dicts and weakrefs). */
	static const size_t headers[] = { 0, 16, 32 };

	for (size_t h = 0; h < LT_ARRAY_SIZE(headers); h++) {
		size_t off = headers[h] + s->pad;
		int64_t refcnt;
		uint64_t type, gc_next = 0;
		struct pytype *t;

		if (off + 16 > bs)
			break;
		memcpy(&refcnt, b + off, 8);
		memcpy(&type, b + off + 8, 8);
		if (refcnt <= 0 || !type || (type & 7))
			continue;
		/* 3.14+ split the count: 32 bits of count, 16 of overflow, 16 of
		 * flags.  A freelist links its free objects through that word,
		 * which then holds a pointer: no live object overflows. */
		if (c->minor >= 14 && ((uint64_t)refcnt >> 32 & 0xffff))
			continue;
		/* Only types the walks met: a stray word that happens to point
		 * at something type-like is not an object. */
		if (!(t = pytype_find(c, type)))
			continue;
		if (headers[h] == 0 && (t->flags & PY_TPFLAGS_HAVE_GC))
			continue;  /* a GC object never starts its block */
		if (headers[h] > 0 && !(t->flags & PY_TPFLAGS_HAVE_GC))
			continue;
		if (headers[h] == 32 &&
		    !(t->flags & (PY_TPFLAGS_MANAGED_DICT | PY_TPFLAGS_MANAGED_WEAKREF)))
			continue;
		if (headers[h] > 0) {
			memcpy(&gc_next, b + off - 16, 8);
			if (gc_next)
				return;  /* tracked: the GC walk counted it */
		}
		if (s->seen && s->seen(s->arg, addr + off))
			return;  /* reached through references already */
		if (!fits(c, addr + off, t, bs, headers[h] + s->pad + s->tail))
			continue;
		s->st->objects++;
		s->fn(s->arg, addr + off, t);
		return;
	}
}

/* Read the pool at address pool into p: its header, then its blocks up to
 * nextoffset (the rest of the pool was never handed out, and its pages may
 * never have been touched).  Then count the objects in it. */
static void scan_pool(struct scan *s, uint64_t pool, unsigned char *p)
{
	const struct py_layout *l = s->c->lay;
	uint32_t count, szidx, nextoffset;
	uint64_t freeblock;
	size_t bs, hdr = ((size_t)l->pool_header_size + 15) & ~(size_t)15;
	unsigned char isfree[MAX_POOL_SIZE / 16 / 8];

	if (hdr > s->pool_size || remote_read_cached(s->c->mem, pool, p, hdr) < 0)
		return;
	memcpy(&count, p + l->pool_count, 4);
	memcpy(&szidx, p + l->pool_szidx, 4);
	memcpy(&nextoffset, p + l->pool_nextoffset, 4);
	memcpy(&freeblock, p + l->pool_freeblock, 8);
	if (!count || szidx >= 64 || nextoffset > s->pool_size || nextoffset < hdr ||
	    remote_read_cached(s->c->mem, pool + hdr, p + hdr, nextoffset - hdr) < 0)
		return;  /* empty, or not a pool header */
	bs = (size_t)(szidx + 1) << ALIGNMENT_SHIFT;
	s->st->pools++;
	/* Blocks on the pool's free list are not objects. */
	memset(isfree, 0, sizeof(isfree));
	for (size_t n = 0; freeblock && n < s->pool_size / 16; n++) {
		uint64_t off = freeblock - pool, next;

		if (freeblock < pool || off + 8 > nextoffset)
			break;
		isfree[(off / 16) / 8] |= (unsigned char)(1u << ((off / 16) % 8));
		memcpy(&next, p + off, 8);
		freeblock = next;
	}
	for (size_t off = hdr; off + bs <= nextoffset && off + bs <= s->pool_size; off += bs) {
		if (isfree[(off / 16) / 8] & (1u << ((off / 16) % 8)))
			continue;
		s->st->blocks++;
		scan_block(s, p + off, pool + off, bs);
	}
}

/* arena_list: the arena at address, its pools carved up to pool_address;
 * the bytes of its blocks in use from the pools' headers alone. */
static void list_arena(struct scan *s, uint64_t address, uint64_t pool_address, unsigned char *p)
{
	const struct py_layout *l = s->c->lay;
	size_t hdr = ((size_t)l->pool_header_size + 15) & ~(size_t)15;
	struct arena_span *a;
	uint64_t pool;

	if (s->nspans >= MAX_ARENAS)
		return;
	if (s->nspans == s->capspans) {
		s->capspans = s->capspans ? s->capspans * 2 : 64;
		s->spans = xreallocarray(s->spans, s->capspans, sizeof(*s->spans));
	}
	a = &s->spans[s->nspans++];
	a->start = address;
	a->len = s->arena_size;
	a->carved = pool_address - address;
	a->used = 0;
	if (hdr > s->pool_size)
		return;
	pool = (address + s->pool_size - 1) & ~(uint64_t)(s->pool_size - 1);
	for (; pool + s->pool_size <= pool_address; pool += s->pool_size) {
		uint32_t count, szidx, nextoffset;
		uint64_t bytes;

		if (remote_read_cached(s->c->mem, pool, p, hdr) < 0)
			continue;
		memcpy(&count, p + l->pool_count, 4);
		memcpy(&szidx, p + l->pool_szidx, 4);
		memcpy(&nextoffset, p + l->pool_nextoffset, 4);
		if (!count || szidx >= 64 || nextoffset > s->pool_size || nextoffset < hdr)
			continue;  /* empty, or not a pool header */
		/* No more blocks than were ever handed out. */
		bytes = (uint64_t)count * ((uint64_t)(szidx + 1) << ALIGNMENT_SHIFT);
		a->used += bytes < nextoffset - hdr ? bytes : nextoffset - hdr;
	}
}

static void scan_arenas(struct scan *s, uint64_t arenas, uint32_t maxarenas)
{
	const struct py_layout *l = s->c->lay;
	unsigned char *pool = xmalloc(s->pool_size);

	if (maxarenas > MAX_ARENAS)
		maxarenas = MAX_ARENAS;
	for (uint32_t i = 0; i < maxarenas; i++) {
		uint64_t ao = arenas + (uint64_t)i * (uint64_t)l->arena_size_of, address, pool_address, p;

		if (remote_read_u64(s->c->mem, ao + (uint64_t)l->arena_address, &address) < 0)
			break;
		if (!address ||
		    remote_read_u64(s->c->mem, ao + (uint64_t)l->arena_pool_address, &pool_address) < 0)
			continue;
		if (pool_address < address || pool_address > address + s->arena_size)
			continue;
		s->st->arenas++;
		if (s->list) {
			list_arena(s, address, pool_address, pool);
			continue;
		}
		/* Pools start at the first pool boundary; those at and after
		 * pool_address were never used. */
		p = (address + s->pool_size - 1) & ~(uint64_t)(s->pool_size - 1);
		for (; p + s->pool_size <= pool_address; p += s->pool_size)
			scan_pool(s, p, pool);
	}
	free(pool);
}

static void scan_init(struct scan *s, struct pyctx *c, struct target *t, struct arena_stats *st)
{
	memset(st, 0, sizeof(*st));
	s->c = c;
	s->st = st;
	s->arena_size = c->minor <= 9 ? 256u << 10 : 1u << 20;
	s->pool_size = c->minor <= 9 ? 4u << 10 : 16u << 10;
	/* Py_DEBUG builds wrap each block's object: [size, big-endian]
	 * [API id, 7 guard bytes] object [8 guard bytes]. */
	if (target_has_function(t, "_Py_NegativeRefcount")) {
		s->pad = 16;
		s->tail = 8;
	}
}

/* scan_arenas over the arena table of every interpreter. */
static int scan_tables(struct scan *s, struct target *t, uint64_t runtime, char *why, size_t whylen)
{
	struct pyctx *c = s->c;
	const struct py_layout *l = c->lay;
	uint64_t arenas = 0;
	uint32_t maxarenas = 0;

	if (c->minor <= 11) {
		uint64_t at;

		/* File statics of Objects/obmalloc.c: only in a symbol table. */
		if (target_symbol(t, "arenas", &at) < 0 ||
		    remote_read_u64(c->mem, at, &arenas) < 0 ||
		    target_symbol(t, "maxarenas", &at) < 0 ||
		    remote_read_cached(c->mem, at, &maxarenas, 4) < 0) {
			snprintf(why, whylen, "pymalloc's arenas were not found (no symbol table for "
				 "them): objects held only from C are not counted");
			return -1;
		}
		scan_arenas(s, arenas, maxarenas);
		return 0;
	}
	/* 3.12+: per interpreter, embedded (3.12) or behind a pointer (3.13+);
	 * a damaged interpreter list is the GC walk's to report. */
	char note[128];
	int n;
	uint64_t *interps = heap_interpreters(c, runtime, &n, note, sizeof(note));

	for (int i = 0; i < n; i++) {
		uint64_t interp = interps[i], state = interp + (uint64_t)l->is_obmalloc_arenas, maxat;

		if (c->minor == 12) {
			maxat = interp + (uint64_t)l->is_obmalloc_maxarenas;
		} else {
			uint64_t ptr;

			if (remote_read_u64(c->mem, interp + (uint64_t)l->is_obmalloc, &ptr) < 0 || !ptr)
				break;
			state = ptr + (uint64_t)l->obm_arenas;
			maxat = ptr + (uint64_t)l->obm_maxarenas;
		}
		if (remote_read_u64(c->mem, state, &arenas) == 0 && arenas &&
		    remote_read_cached(c->mem, maxat, &maxarenas, 4) == 0)
			scan_arenas(s, arenas, maxarenas);
	}
	free(interps);
	return n < 0 ? -1 : 0;
}

int arena_walk(struct pyctx *c, struct target *t, uint64_t runtime, arena_fn fn,
	       int (*seen)(void *arg, uint64_t obj), void *arg, struct arena_stats *st, char *why,
	       size_t whylen)
{
	struct scan s = { 0 };

	scan_init(&s, c, t, st);
	s.fn = fn;
	s.arg = arg;
	s.seen = seen;
	return scan_tables(&s, t, runtime, why, whylen);
}

static int by_start(const void *a, const void *b)
{
	const struct arena_span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

long arena_list(struct pyctx *c, struct target *t, uint64_t runtime, struct arena_span **out,
		char *why, size_t whylen)
{
	struct scan s = { 0 };
	struct arena_stats st;
	size_t n = 0;

	scan_init(&s, c, t, &st);
	s.list = 1;
	*out = NULL;
	if (scan_tables(&s, t, runtime, why, whylen) < 0) {
		free(s.spans);
		return -1;
	}
	/* Interpreters that share the main one's allocator list its arenas
	 * again: each once. */
	lt_sort(s.spans, s.nspans, sizeof(*s.spans), by_start);
	for (size_t i = 0; i < s.nspans; i++)
		if (!n || s.spans[i].start >= s.spans[n - 1].start + s.spans[n - 1].len)
			s.spans[n++] = s.spans[i];
	*out = s.spans;
	return (long)n;
}
