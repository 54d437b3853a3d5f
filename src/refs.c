/* refs.c - what an object refers to, as its type's tp_traverse would say.
 *
 * Per kind of object, the fields that hold references (offsets from the
 * layout), the items of containers, instance attributes and __slots__, and
 * the locals of frames and suspended generators. */
#include "config.h"
#include "refs.h"
#include "aio.h"
#include "pyobj.h"
#include "remote.h"
#include "util.h"

#include <stddef.h>

/* Items read per remote call when walking an array of pointers. */
#define CHUNK 64
#define MAX_ITEMS ((int64_t)1 << 32)
/* Members of one type's __slots__ table, and bases looked through. */
#define MAX_MEMBERS 256
#define MAX_BASES 32
#define T_OBJECT 6
#define T_OBJECT_EX 16

static int rd_u64(struct pyctx *c, uint64_t addr, uint64_t *v)
{
	return remote_read_cached(c->mem, addr, v, 8);
}

/* Where referents go: plain (the census walks) or with how they are held
 * (the chains of `why`, which label only the steps they print). */
struct sink {
	ref_fn fn;
	ref_label_fn lfn;
	void *arg;
};

/* guessed: the conservative scan found ref (REF_CFIELD words, and the
 * words of a block such as a module's state). */
static int emit_ref(const struct sink *s, uint64_t ref, enum ref_how how, int64_t index,
		    uint64_t key, const char *name, int guessed)
{
	struct ref_label lab;

	if (!s->lfn)
		return s->fn(s->arg, ref, guessed);
	lab.how = how;
	lab.index = index;
	lab.key = key;
	lab.name = name;
	return s->lfn(s->arg, ref, &lab);
}

static int emit(const struct sink *s, uint64_t ref, enum ref_how how, int64_t index,
		uint64_t key, const char *name)
{
	return emit_ref(s, ref, how, index, key, name, how == REF_CFIELD);
}

static int array_each(struct pyctx *c, uint64_t items, int64_t n, int stride,
		      const struct sink *s, enum ref_how how, uint64_t key)
{
	uint64_t buf[CHUNK * 2];
	int per = stride / 8;
	int64_t chunk;

	/* stride is a layout's (a file's, untrusted): whole words, a few */
	if (n < 0 || n > MAX_ITEMS || stride < 8 || stride % 8 || stride > (int)sizeof(buf))
		return -1;
	chunk = (int64_t)(sizeof(buf) / (size_t)stride);
	if (chunk > CHUNK)
		chunk = CHUNK;
	for (int64_t i = 0; i < n; i += chunk) {
		int64_t m = n - i < chunk ? n - i : chunk;

		if (remote_read_cached(c->mem, items + (uint64_t)(i * stride), buf,
				       (size_t)(m * stride)) < 0)
			return -1;
		for (int64_t k = 0; k < m; k++) {
			uint64_t ref = buf[k * per];
			int r;

			if (how == REF_LOCAL || how == REF_STACK) {
				/* 3.14 _PyStackRef: tag 3 is an int, not a pointer */
				if ((ref & 3) == 3)
					continue;
				ref &= ~(uint64_t)3;
			}
			if (!ref || ref == c->set_dummy)
				continue;
			r = emit(s, ref, how, i + k, key, NULL);
			if (r)
				return r;
		}
	}
	return 0;
}
/* A pointer field of an object, named as Python code would reach it. */
struct field {
	const char *name;
	size_t at;  /* offsetof(struct py_layout, the field's offset) */
	int plus;   /* bytes after that offset (fields that follow a known one) */
};

#define F(name, field) { name, offsetof(struct py_layout, field), 0 }
#define FP(name, field, plus) { name, offsetof(struct py_layout, field), plus }

static const struct field type_fields[] = {
	F("__dict__", tp_dict), F("__bases__", tp_bases), F("__mro__", tp_mro),
	F("__base__", tp_base),
};
static const struct field heaptype_fields[] = {
	F("__name__", ht_name), F("__qualname__", ht_qualname), F("__slots__", ht_slots),
	F("(module)", ht_module),
};
static const struct field function_fields[] = {
	F("__code__", func_code), F("__globals__", func_globals), F("__builtins__", func_builtins),
	F("__name__", func_name), F("__qualname__", func_qualname), F("__defaults__", func_defaults),
	F("__kwdefaults__", func_kwdefaults), F("__closure__", func_closure), F("__doc__", func_doc),
	F("__dict__", func_dict), F("__module__", func_module), F("__annotations__", func_annotations),
};
static const struct field code_fields[] = {
	F("co_consts", code_consts), F("co_names", code_names), F("co_filename", code_filename),
	F("co_name", code_name), F("co_qualname", code_qualname), F("co_linetable", code_linetable),
	F("co_lnotab", code_lnotab), F("co_exceptiontable", code_exceptiontable),
	F("co_localsplusnames", code_localsplusnames), F("co_localspluskinds", code_localspluskinds),
	F("co_varnames", code_varnames), F("co_cellvars", code_cellvars),
	F("co_freevars", code_freevars), F("co_code", code_code),
};
static const struct field cell_fields[] = { F("cell_contents", cell_ref) };
static const struct field method_fields[] = { F("__func__", method_func), F("__self__", method_self) };
static const struct field module_fields[] = { F("__dict__", module_dict), F("__name__", module_name) };
static const struct field property_fields[] = {
	F("fget", prop_get), F("fset", prop_set), F("fdel", prop_del), F("__doc__", prop_doc),
};
static const struct field classmethod_fields[] = { F("__func__", cm_callable), F("__dict__", cm_dict) };
static const struct field staticmethod_fields[] = { F("__func__", sm_callable), F("__dict__", sm_dict) };
static const struct field descr_fields[] = {
	F("__objclass__", descr_type), F("__name__", descr_name), F("__qualname__", descr_qualname),
};
static const struct field cfunc_fields[] = { F("__self__", cfunc_self), F("__module__", cfunc_module) };
/* lru_cache_object starts with its `root` link (the header, then prev and
 * next: borrowed, unnamed so that the scan leaves them out); the cached
 * results are its own, reached through the links (lru_each). */
static const struct field lru_fields[] = {
	F("__wrapped__", lru_func), F("(cache)", lru_cache), F("(kwd_mark)", lru_kwd_mark),
	FP(NULL, ob_type, 8), FP(NULL, ob_type, 16),
};
static const struct field partial_fields[] = { F("func", partial_fn), F("args", partial_args), F("keywords", partial_kw) };
static const struct field buffered_fields[] = { F("raw", buffered_raw) };
/* TextIOWrapper's buffer, encoding, encoder, decoder, readnl and errors
 * follow one another on every version (Modules/_io/textio.c); raw (the
 * FileIO under the buffer, for its fast path) is 136 bytes past buffer
 * from 3.8 to 3.15. */
static const struct field textio_fields[] = {
	F("buffer", textio_buffer), FP("encoding", textio_buffer, 8),
	FP("(encoder)", textio_buffer, 16), FP("(decoder)", textio_buffer, 24),
	FP("(readnl)", textio_buffer, 32), FP("errors", textio_buffer, 40),
	FP("raw", textio_buffer, 136),
};
/* PyWeakReference: the header, wr_object (weak: never an edge), then
 * wr_callback, which the weakref object holds. */
static const struct field weakref_fields[] = { FP("__callback__", ob_type, 16) };
/* IncrementalNewlineDecoder: the object header, then decoder and errors. */
static const struct field nldecoder_fields[] = {
	FP("(decoder)", ob_type, 8), FP("(errors)", ob_type, 16),
};
static const struct field gen_fields[] = {
	F("__name__", gen_name), F("__qualname__", gen_qualname), F("gi_frame", gen_frame_old),
};
static const struct field oldframe_fields[] = {
	F("f_back", frame_back), F("f_code", frame_code), F("f_builtins", frame_builtins),
	F("f_globals", frame_globals), F("f_locals", frame_locals),
};
static const struct field frame_fields[] = { F("f_back", frame_back) };
#undef F

/* The offset of a field in this layout, or -1. */
static int32_t field_offset(const struct pyctx *c, const struct field *f)
{
	int32_t off = *(const int32_t *)((const char *)c->lay + f->at);

	return off < 0 ? -1 : off + f->plus;
}

static int fields_each(struct pyctx *c, uint64_t obj, const struct field *fields, size_t n,
		       const struct sink *s)
{
	for (size_t i = 0; i < n; i++) {
		int32_t off = field_offset(c, &fields[i]);
		uint64_t ref;
		int r;

		if (off < 0 || !fields[i].name || rd_u64(c, obj + (uint64_t)off, &ref) < 0 || !ref)
			continue;
		r = emit(s, ref, REF_FIELD, -1, 0, fields[i].name);
		if (r)
			return r;
	}
	return 0;
}

#define FIELDS(table) fields_each(c, obj, table, LT_ARRAY_SIZE(table), s)
/* The named fields, then the rest of the body by the conservative scan:
 * the C types whose fields a release adds to (a property's name, a
 * builtin method's class, lru_cache's CacheInfo type ...). */
#define FIELDS_THEN_SCAN(table) fields_then_scan(c, obj, t, table, LT_ARRAY_SIZE(table), s)

struct kv_forward {
	const struct sink *s;
	enum ref_how how;
};

static int forward_kv(void *arg, uint64_t key, uint64_t value)
{
	struct kv_forward *f = arg;
	int r = emit(f->s, key, REF_DICT_KEY, -1, key, NULL);

	return r ? r : emit(f->s, value, f->how, -1, key, NULL);
}

/* co_nlocalsplus of a 3.11+ code object, 0 if unreadable or implausible. */
static int32_t nlocalsplus(struct pyctx *c, uint64_t code)
{
	int32_t n = 0;

	if (!code || remote_read_cached(c->mem, code + (uint64_t)c->lay->code_nlocalsplus, &n, 4) < 0 ||
	    n < 0 || n > (1 << 20))
		return 0;
	return n;
}

/* The references of an interpreter frame (3.11+): code, locals, function,
 * and the first `stacktop` slots of localsplus. */
static int iframe_each(struct pyctx *c, uint64_t f, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	int32_t stacktop;
	int32_t code_at = c->minor <= 12 ? l->iframe_code : l->iframe_executable;
	int32_t func_at = c->minor == 11 ? l->iframe_func : l->iframe_funcobj;
	/* Not f_globals and f_builtins: borrowed from the function, and the
	 * garbage count subtracts only references an object owns. */
	const int32_t offs[] = { code_at, l->iframe_locals, func_at };
	static const char *const names[] = { "f_code", "f_locals", "(function)" };
	uint64_t code = 0;
	int r;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint64_t ref;

		if (offs[i] < 0 || rd_u64(c, f + (uint64_t)offs[i], &ref) < 0 || !ref)
			continue;
		ref &= ~(uint64_t)3;  /* 3.14 tags stack references */
		if (i == 0)
			code = ref;
		r = emit(s, ref, REF_FIELD, -1, 0, names[i]);
		if (r)
			return r;
	}
	if (l->iframe_stacktop >= 0) {
		if (remote_read_cached(c->mem, f + (uint64_t)l->iframe_stacktop, &stacktop, 4) < 0)
			stacktop = -1;
	} else {
		uint64_t sp = 0, base = f + (uint64_t)l->iframe_localsplus;  /* 3.14: past the top */

		stacktop = -1;
		if (l->iframe_stackpointer >= 0 && rd_u64(c, f + (uint64_t)l->iframe_stackpointer, &sp) == 0 &&
		    sp >= base && (sp - base) / 8 <= (1 << 20))
			stacktop = (int32_t)((sp - base) / 8);
	}
	/* A frame that runs (it called into C: time.sleep, a lock) keeps its
	 * stack pointer in a register, not here (-1, NULL or stale): its
	 * locals, cells and free variables are there all the same. */
	if (stacktop < nlocalsplus(c, code))
		stacktop = nlocalsplus(c, code);
	if (stacktop <= 0 || stacktop > (1 << 20))
		return 0;
	return array_each(c, f + (uint64_t)l->iframe_localsplus, stacktop, 8, s, REF_LOCAL, code);
}

/* Locals of a 3.8-3.10 frame object: co_nlocals + cells + frees, then the
 * value stack when the frame is suspended. */
static int oldframe_locals(struct pyctx *c, uint64_t obj, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	uint64_t code, cells, frees;
	int32_t nlocals;
	int64_t ncells = 0, nfrees = 0, n;
	int r;

	if (rd_u64(c, obj + (uint64_t)l->frame_code, &code) < 0 || !code ||
	    remote_read_cached(c->mem, code + (uint64_t)l->code_nlocals, &nlocals, 4) < 0 ||
	    rd_u64(c, code + (uint64_t)l->code_cellvars, &cells) < 0 ||
	    rd_u64(c, code + (uint64_t)l->code_freevars, &frees) < 0)
		return -1;
	if ((cells && remote_read_cached(c->mem, cells + (uint64_t)l->ob_size, &ncells, 8) < 0) ||
	    (frees && remote_read_cached(c->mem, frees + (uint64_t)l->ob_size, &nfrees, 8) < 0))
		return -1;
	/* Counts from the target, bounded before they are added (cellvars and
	 * freevars are often the same empty tuple: one lie, counted twice). */
	if (ncells < 0 || ncells > MAX_ITEMS || nfrees < 0 || nfrees > MAX_ITEMS)
		return -1;
	n = (int64_t)nlocals + ncells + nfrees;
	r = array_each(c, obj + (uint64_t)l->frame_localsplus, n, 8, s, REF_LOCAL, code);
	if (r)
		return r;
	if (c->minor <= 9) {
		uint64_t top, bottom;

		if (rd_u64(c, obj + (uint64_t)l->frame_stacktop, &top) < 0 || !top ||
		    rd_u64(c, obj + (uint64_t)l->frame_valuestack, &bottom) < 0 || top < bottom)
			return 0;
		return array_each(c, bottom, (int64_t)(top - bottom) / 8, 8, s, REF_STACK, code);
	} else {
		uint64_t bottom;
		int32_t depth;

		if (remote_read_cached(c->mem, obj + (uint64_t)l->frame_stackdepth, &depth, 4) < 0 ||
		    depth <= 0 || rd_u64(c, obj + (uint64_t)l->frame_valuestack, &bottom) < 0)
			return 0;
		return array_each(c, bottom, depth, 8, s, REF_STACK, code);
	}
}

/* Offsets of the object slots (__slots__) of t's class and its heap-type
 * bases, read once per type: -2 when there are more than fit the memo. */
static void find_slots(struct pyctx *c, struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t type = t->addr;
	int n = 0;

	for (int depth = 0; type && depth < MAX_BASES; depth++) {
		uint64_t flags, members, base;

		if (rd_u64(c, type + (uint64_t)l->tp_flags, &flags) < 0 ||
		    !(flags & PY_TPFLAGS_HEAPTYPE))
			break;  /* static bases traverse their own fields */
		if (rd_u64(c, type + (uint64_t)l->tp_members, &members) == 0 && members) {
			for (int i = 0; i < MAX_MEMBERS; i++) {
				uint64_t m = members + (uint64_t)(i * l->member_size), name;
				int32_t mtype;
				int64_t off;

				if (rd_u64(c, m, &name) < 0 || !name ||
				    remote_read_cached(c->mem, m + (uint64_t)l->member_type, &mtype, 4) < 0 ||
				    remote_read_cached(c->mem, m + (uint64_t)l->member_offset, &off, 8) < 0)
					break;
				if ((mtype != T_OBJECT_EX && mtype != T_OBJECT) || off <= 0 ||
				    off >= t->basicsize)
					continue;
				if (n == (int)(sizeof(t->slot_off) / sizeof(t->slot_off[0]))) {
					t->nslots = -2;
					return;
				}
				t->slot_off[n++] = (int32_t)off;
			}
		}
		if (rd_u64(c, type + (uint64_t)l->tp_base, &base) < 0)
			break;
		type = base;
	}
	t->nslots = (signed char)n;
}

/* Objects in the __slots__ of obj's class and its heap-type bases. */
static int slots_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	if (t->nslots == -1)
		find_slots(c, t);
	if (t->nslots == -2)
		t->nslots = (signed char)(sizeof(t->slot_off) / sizeof(t->slot_off[0]));  /* the first ones */
	for (int i = 0; i < t->nslots; i++) {
		uint64_t ref;
		int r;

		if (rd_u64(c, obj + (uint64_t)t->slot_off[i], &ref) < 0 || !ref)
			continue;
		r = emit(s, ref, REF_SLOT, t->slot_off[i], t->addr, NULL);
		if (r)
			return r;
	}
	return 0;
}

/* The items of a deque: ob_size of them from leftblock[leftindex], in
 * blocks of 64 slots linked by rightlink (Modules/_collectionsmodule.c:
 * leftblock and rightblock precede leftindex on every version). */
#define DEQUE_BLOCKLEN 64
static int deque_each(struct pyctx *c, uint64_t obj, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	uint64_t block, data[DEQUE_BLOCKLEN];
	int64_t n, left;
	int r;

	if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0 ||
	    remote_read_cached(c->mem, obj + (uint64_t)l->deque_leftindex, &left, 8) < 0 ||
	    rd_u64(c, obj + (uint64_t)l->deque_leftindex - 16, &block) < 0 ||
	    n < 0 || n > MAX_ITEMS || left < 0 || left >= DEQUE_BLOCKLEN ||
	    l->deque_block_size != (DEQUE_BLOCKLEN + 2) * 8)
		return -1;
	for (int64_t i = 0; i < n;) {
		int64_t m = DEQUE_BLOCKLEN - left < n - i ? DEQUE_BLOCKLEN - left : n - i;

		if (!block || remote_read_cached(c->mem, block + 8 + (uint64_t)left * 8, data,
						 (size_t)m * 8) < 0)
			return -1;
		for (int64_t k = 0; k < m; k++) {
			if (data[k] && (r = emit(s, data[k], REF_INDEX, i + k, 0, NULL)) != 0)
				return r;
		}
		i += m;
		left = 0;
		if (i < n && rd_u64(c, block + 8 + DEQUE_BLOCKLEN * 8, &block) < 0)
			return -1;
	}
	return 0;
}

/* ---- the conservative scan ----
 * An object of a C type leaktop has no layout for (an extension type:
 * Cython, PyO3, C; or a builtin it does not list) is read word by word
 * over its body; a word that is the address of an object is a reference,
 * as its tp_traverse would visit it.  Left out: the header, the instance
 * dict and the weakref list (not a reference), and the __slots__ that
 * slots_each gives. */

/* The largest body scanned (basicsize plus var-sized items). */
#define SCAN_MAX_BYTES (64 * 1024)

static int scanned_type(const struct pytype *t)
{
	return t->kind == PK_OBJECT && t->sizer == PZ_NONE && t->basicsize > 16;
}

int refs_may_hold(const struct pytype *t)
{
	return (t->flags & (PY_TPFLAGS_HAVE_GC | PY_TPFLAGS_HEAPTYPE)) || t->kind == PK_CODE ||
	       t->kind == PK_TYPE || t->kind == PK_NLDECODER || t->kind == PK_WEAKREF || t->kind == PK_SIMPLEQUEUE ||
	       t->sizer == PZ_NDARRAY || t->dictoffset || scanned_type(t);
}

/* A word is taken for an object only if it looks like one in every way
 * the copy can tell: aligned, a live reference count, a type that is a
 * type, a size that reads; a tracked GC object must be linked both ways
 * into its list.  Interior pointers and pointers to C data fail. */
static int plausible_object(struct pyctx *c, uint64_t ref)
{
	const struct py_layout *l = c->lay;
	uint64_t type, next, back;
	int64_t refcnt;
	struct pytype *t;

	if (!ref || (ref & 7) || ref < 4096 || ref >> 47 ||
	    remote_read_cached(c->mem, ref + (uint64_t)l->ob_refcnt, &refcnt, 8) < 0 ||
	    refcnt <= 0 || rd_u64(c, ref + (uint64_t)l->ob_type, &type) < 0 ||
	    !(t = pytype_get(c, type)))
		return 0;
	if (!(t->flags & PY_TPFLAGS_HAVE_GC) || t->kind == PK_TYPE)
		return pyobj_sizeof(c, ref, t) >= 0;
	if (remote_read_cached(c->mem, ref - (uint64_t)l->gc_head_size + (uint64_t)l->gc_next,
			       &next, 8) < 0)
		return 0;
	if (!next)
		return pyobj_sizeof(c, ref, t) >= 0;  /* an untracked GC object */
	return rd_u64(c, (next & GC_PTR_MASK) + (uint64_t)l->gc_prev, &back) == 0 &&
	       (back & GC_PTR_MASK) == ref - (uint64_t)l->gc_head_size;
}

/* Words of the body the scan leaves alone: given already, or no reference. */
struct skip {
	int64_t weaklist;
	int nslots;
	const int32_t *known;   /* the named fields' offsets */
	size_t nknown;
};

static int excluded(const struct pytype *t, int64_t off, const struct skip *sk)
{
	if (off == t->dictoffset || off == sk->weaklist)
		return 1;
	for (int i = 0; i < sk->nslots; i++)
		if (t->slot_off[i] == off)
			return 1;
	for (size_t i = 0; i < sk->nknown; i++)
		if (sk->known[i] == off)
			return 1;
	return 0;
}

static int cfields_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s,
			const int32_t *known, size_t nknown)
{
	const struct py_layout *l = c->lay;
	/* tp_weaklistoffset precedes tp_iter, tp_iternext, tp_methods and
	 * tp_members in PyTypeObject on every version */
	int64_t weaklist = 0, end = t->basicsize, n = 0;
	uint64_t words[SCAN_MAX_BYTES / 8];
	int64_t from = l->ob_type + 8;
	struct skip sk = { 0, 0, known, nknown };

	if (!t->cscan)
		return 0;  /* known: nothing in this type's body to scan */
	if (t->itemsize) {
		from += 8;  /* ob_size */
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0)
			return -1;
		n = lt_abs_count(n);  /* -1 for INT64_MIN */
		if (n < 0 || n > SCAN_MAX_BYTES / t->itemsize)
			n = SCAN_MAX_BYTES / t->itemsize;
		end += n * t->itemsize;
	}
	end = (end > SCAN_MAX_BYTES ? SCAN_MAX_BYTES : end) & ~(int64_t)7;
	if (end <= from)
		return 0;
	if (remote_read_cached(c->mem, t->addr + (uint64_t)l->tp_members - 32, &weaklist, 8) < 0)
		weaklist = 0;
	if ((t->flags & PY_TPFLAGS_HEAPTYPE) && t->nslots == -1)
		find_slots(c, t);
	sk.weaklist = weaklist;
	sk.nslots = t->nslots == -2 ? (int)LT_ARRAY_SIZE(t->slot_off) : t->nslots;
	if (t->cscan < 0) {
		/* Once per type: is any word of the body left to scan?  A
		 * class statement's instances have none (dict, weakref list
		 * and __slots__ only). */
		t->cscan = t->itemsize != 0;
		for (int64_t off = from; off + 8 <= t->basicsize && !t->cscan; off += 8)
			t->cscan = !excluded(t, off, &sk);
	}
	if (!t->cscan)
		return 0;
	if (remote_read_cached(c->mem, obj + (uint64_t)from, words + from / 8,
			       (size_t)(end - from)) < 0)
		return -1;
	for (int64_t off = from; off < end; off += 8) {
		uint64_t w = words[off / 8];
		int r;

		if (w == obj || excluded(t, off, &sk) || !plausible_object(c, w))
			continue;
		if ((r = emit(s, w, REF_CFIELD, off, t->addr, NULL)) != 0)
			return r;
	}
	return 0;
}

static int fields_then_scan(struct pyctx *c, uint64_t obj, struct pytype *t,
			    const struct field *fields, size_t n, const struct sink *s)
{
	int32_t known[16];
	size_t nknown = 0;
	int r = fields_each(c, obj, fields, n, s);

	for (size_t i = 0; i < n && nknown < LT_ARRAY_SIZE(known); i++)
		if ((known[nknown] = field_offset(c, &fields[i])) >= 0)
			nknown++;
	return r ? r : cfields_each(c, obj, t, s, known, nknown);
}

/* A bounded lru_cache's keys and results: as lru_cache_tp_traverse visits
 * them (3.14+ both, earlier the results), from the wrapper along its
 * circular list of links (root.next, each link's next until back at the
 * root; a link is the header, prev, next, hash, key, result), the links
 * themselves holding nothing of their own in the graph.  Bounded by the
 * cache dict's size. */
static int lru_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	uint64_t link, cache, kr[2];
	int64_t n = 0, max = 0;
	int r = fields_then_scan(c, obj, t, lru_fields, LT_ARRAY_SIZE(lru_fields), s);

	if (r || rd_u64(c, obj + (uint64_t)l->lru_cache, &cache) < 0 || !cache ||
	    remote_read_cached(c->mem, cache + (uint64_t)l->dict_used, &max, 8) < 0 ||
	    max < 0 || max > MAX_ITEMS || rd_u64(c, obj + (uint64_t)l->ob_type + 16, &link) < 0)
		return r;
	for (; link && link != obj && n <= max; n++) {
		if (remote_read_cached(c->mem, link + (uint64_t)l->ob_type + 32, kr, sizeof(kr)) < 0)
			return -1;
		if ((kr[0] && (r = emit(s, kr[0], REF_FIELD, -1, 0, "(cached key)")) != 0) ||
		    (kr[1] && (r = emit(s, kr[1], REF_FIELD, -1, 0, "(cached result)")) != 0))
			return r;
		if (rd_u64(c, link + (uint64_t)l->ob_type + 16, &link) < 0)
			return -1;
	}
	return 0;
}

/* _queue.SimpleQueue from 3.13: after the header a bool (a word), then the
 * ring buffer: put_idx, get_idx, items, items_cap, num_items; the items
 * from get_idx on, wrapping (Modules/_queuemodule.c).  Earlier releases
 * keep a list, which the scan finds. */
static int simplequeue_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	int64_t v[5];  /* put_idx, get_idx, items, items_cap, num_items */
	uint64_t item;
	int r;

	if (c->minor < 13)
		return cfields_each(c, obj, t, s, NULL, 0);
	if (remote_read_cached(c->mem, obj + (uint64_t)c->lay->ob_type + 16, v, sizeof(v)) < 0 ||
	    v[3] <= 0 || v[3] > MAX_ITEMS || v[1] < 0 || v[1] >= v[3] || v[4] < 0 || v[4] > v[3])
		return -1;
	for (int64_t i = 0; i < v[4]; i++) {
		if (rd_u64(c, (uint64_t)v[2] + (uint64_t)((v[1] + i) % v[3]) * 8, &item) < 0)
			return -1;
		if (item && (r = emit(s, item, REF_INDEX, i, 0, NULL)) != 0)
			return r;
	}
	return 0;
}

/* collections.defaultdict's default_factory: the field after the dict
 * (Modules/_collectionsmodule.c), found once per type. */
static int factory_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	static const char *const names[] = { "collections.defaultdict" };
	uint64_t factory;

	if (t->factory_off < 0) {
		int64_t bs = 0;

		t->factory_off = pytype_match_base_size(c, t, names, 1, &bs) == 0 && bs > 8 ?
				 (int32_t)(bs - 8) : 0;
	}
	if (!t->factory_off || rd_u64(c, obj + (uint64_t)t->factory_off, &factory) < 0 || !factory)
		return 0;
	return emit(s, factory, REF_FIELD, -1, 0, "default_factory");
}

static int aio_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	struct aio_words a;
	int32_t known[32];
	size_t nknown = 0;
	int r;

	if (!aio_c_layout(c, t, &a))
		return cfields_each(c, obj, t, s, NULL, 0);
	for (size_t i = 0; i < a.n && nknown < LT_ARRAY_SIZE(known); i++) {
		uint64_t ref;

		known[nknown++] = (int32_t)(a.first + (int64_t)i * 8);
		if (!aio_name(&a, i) || rd_u64(c, obj + (uint64_t)known[nknown - 1], &ref) < 0 || !ref)
			continue;
		if ((r = emit(s, ref, REF_FIELD, -1, 0, aio_name(&a, i))) != 0)
			return r;
	}
	/* a subclass's words past the base (none for a class statement's) */
	return cfields_each(c, obj, t, s, known, nknown);
}

/* A type's tp_subclasses (after tp_mro and tp_cache on every version): a
 * dict of weak references to its subclasses, which the type owns; 3.12+
 * keeps an index there for static builtin types, which is no object. */
static int subclasses_each(struct pyctx *c, uint64_t obj, const struct sink *s)
{
	uint64_t sub;

	if (rd_u64(c, obj + (uint64_t)c->lay->tp_mro + 16, &sub) < 0 || !plausible_object(c, sub))
		return 0;
	return emit(s, sub, REF_FIELD, -1, 0, "(subclasses)");
}

/* Words of a block that are objects, as the conservative scan takes them. */
static int block_each(struct pyctx *c, uint64_t at, int64_t len, const struct sink *s,
		      const char *name)
{
	uint64_t words[SCAN_MAX_BYTES / 8];
	int r;

	len = (len > SCAN_MAX_BYTES ? SCAN_MAX_BYTES : len) & ~(int64_t)7;
	if (len <= 0 || remote_read_cached(c->mem, at, words, (size_t)len) < 0)
		return 0;
	for (int64_t i = 0; i < len / 8; i++)
		if (plausible_object(c, words[i]) &&
		    (r = emit_ref(s, words[i], REF_FIELD, -1, 0, name, 1)))
			return r;
	return 0;
}

/* An extension module's state, which its m_traverse visits: types,
 * exceptions, caches.  To 3.14 md_def and md_state follow md_dict, and the
 * size is the def's m_size (after PyModuleDef_Base: the header, m_init,
 * m_index, m_copy; then m_name and m_doc).  3.15 keeps md_state right
 * after md_dict and md_state_size after md_name and md_token_is_def. */
static int module_state_each(struct pyctx *c, uint64_t obj, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	uint64_t def, state;
	int64_t size;

	if (c->minor >= 15) {
		if (rd_u64(c, obj + (uint64_t)l->module_dict + 8, &state) < 0 || !state ||
		    remote_read_cached(c->mem, obj + (uint64_t)l->module_name + 16, &size, 8) < 0 ||
		    size <= 0)
			return 0;
	} else if (rd_u64(c, obj + (uint64_t)l->module_dict + 8, &def) < 0 || !def ||
		   rd_u64(c, obj + (uint64_t)l->module_dict + 16, &state) < 0 || !state ||
		   remote_read_cached(c->mem, def + (uint64_t)l->ob_type + 8 + 40, &size, 8) < 0 ||
		   size <= 0) {
		return 0;
	}
	return block_each(c, state, size, s, "(module state)");
}

/* xml.etree's C Element: tag, text and tail (the last two tagged in their
 * low bit), then `extra`: attrib, length, allocated, children
 * (Modules/_elementtree.c, every version). */
static int element_each(struct pyctx *c, uint64_t obj, const struct sink *s)
{
	static const char *const names[] = { "tag", "text", "tail" };
	uint64_t hdr = obj + (uint64_t)c->lay->ob_type + 8, v[4], extra[4];
	int r;

	if (remote_read_cached(c->mem, hdr, v, sizeof(v)) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if ((v[i] & ~(uint64_t)1) && (r = emit(s, v[i] & ~(uint64_t)1, REF_FIELD, -1, 0, names[i])))
			return r;
	if (!v[3] || remote_read_cached(c->mem, v[3], extra, sizeof(extra)) < 0)
		return 0;
	if (extra[0] && (r = emit(s, extra[0], REF_FIELD, -1, 0, "attrib")))
		return r;
	if ((int64_t)extra[1] < 0 || extra[1] > extra[2] || extra[2] > MAX_ITEMS)
		return -1;
	return array_each(c, extra[3], (int64_t)extra[1], 8, s, REF_INDEX, 0);
}

static int sink_each(struct pyctx *c, uint64_t obj, struct pytype *t, const struct sink *s)
{
	const struct py_layout *l = c->lay;
	struct kv_forward f = { s, REF_DICT_VALUE };
	int64_t n;
	uint64_t items;
	int r = 0;

	/* An instance of a heap type holds its type (subtype_traverse and
	 * the heap types of extension modules visit it). */
	if ((t->flags & PY_TPFLAGS_HEAPTYPE) && (r = emit(s, t->addr, REF_FIELD, -1, 0, "__class__")))
		return r;
	switch (t->kind) {
	case PK_LIST:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->list_items, &items) < 0)
			return -1;
		r = array_each(c, items, n, 8, s, REF_INDEX, 0);
		break;
	case PK_TUPLE:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0)
			return -1;
		r = array_each(c, obj + (uint64_t)l->tuple_items, n, 8, s, REF_INDEX, 0);
		break;
	case PK_DICT:
	case PK_ODICT:
		r = pydict_each(c, obj, forward_kv, &f);
		if (!r && t->kind == PK_DICT)
			r = factory_each(c, obj, t, s);
		break;
	case PK_SET:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->set_mask, &n, 8) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->set_table, &items) < 0 || n < 0 || n >= MAX_ITEMS)
			return -1;
		/* setentry {key, hash}: every slot, skipping empty and dummy ones */
		r = array_each(c, items, n + 1, l->setentry_size, s, REF_SET_ITEM, 0);
		break;
	case PK_TYPE:
		r = FIELDS(type_fields);
		if (!r)
			r = subclasses_each(c, obj, s);
		if (!r) {
			uint64_t flags;

			if (rd_u64(c, obj + (uint64_t)l->tp_flags, &flags) == 0 &&
			    (flags & PY_TPFLAGS_HEAPTYPE))
				r = FIELDS(heaptype_fields);
		}
		break;
	case PK_FUNCTION:
		r = FIELDS_THEN_SCAN(function_fields);  /* 3.14's __annotate__ ... */
		break;
	case PK_CODE:
		r = FIELDS(code_fields);
		break;
	case PK_CELL:
		r = FIELDS_THEN_SCAN(cell_fields);
		break;
	case PK_METHOD:
		r = FIELDS_THEN_SCAN(method_fields);
		break;
	case PK_MODULE:
		r = FIELDS(module_fields);
		if (!r)
			r = module_state_each(c, obj, s);
		break;
	case PK_PROPERTY:
		r = FIELDS_THEN_SCAN(property_fields);
		break;
	case PK_CLASSMETHOD:
		r = FIELDS_THEN_SCAN(classmethod_fields);
		break;
	case PK_STATICMETHOD:
		r = FIELDS_THEN_SCAN(staticmethod_fields);
		break;
	case PK_DESCR:
		r = FIELDS_THEN_SCAN(descr_fields);
		break;
	case PK_CFUNC:
		r = FIELDS_THEN_SCAN(cfunc_fields);
		break;
	case PK_LRU:
		r = lru_each(c, obj, t, s);
		break;
	case PK_PARTIAL:
		r = FIELDS_THEN_SCAN(partial_fields);
		break;
	case PK_BUFFERED:
		r = FIELDS_THEN_SCAN(buffered_fields);
		break;
	case PK_TEXTIO:
		r = FIELDS_THEN_SCAN(textio_fields);
		break;
	case PK_NLDECODER:
		r = FIELDS_THEN_SCAN(nldecoder_fields);
		break;
	case PK_WEAKREF:
		r = FIELDS(weakref_fields);
		break;
	case PK_DEQUE:
		r = deque_each(c, obj, s);
		break;
	case PK_SIMPLEQUEUE:
		r = simplequeue_each(c, obj, t, s);
		break;
	case PK_OBJECT:
		if (t->sizer == PZ_ELEMENT)
			r = element_each(c, obj, s);
		else if (scanned_type(t) && t->aio)
			r = aio_each(c, obj, t, s);
		else if (scanned_type(t))
			r = cfields_each(c, obj, t, s, NULL, 0);
		break;
	case PK_GEN:
		r = FIELDS(gen_fields);
		if (!r && c->minor >= 11) {
			enum gen_state state;

			/* Only a frame that is not running (created or suspended)
			 * belongs to the generator; a running one is on a thread. */
			if (pygen_state(c, obj, &state) == 0 &&
			    (state == GEN_CREATED || state == GEN_SUSPENDED))
				r = iframe_each(c, obj + (uint64_t)l->gen_iframe, s);
		}
		break;
	case PK_FRAME:
		if (c->minor <= 10) {
			r = FIELDS(oldframe_fields);
			if (!r)
				r = oldframe_locals(c, obj, s);
		} else {
			uint64_t iframe;

			r = FIELDS(frame_fields);
			/* Its own data when the frame outlived its function. */
			if (!r && rd_u64(c, obj + (uint64_t)l->frame_frame, &iframe) == 0 &&
			    iframe == obj + (uint64_t)l->frame_data)
				r = iframe_each(c, iframe, s);
		}
		break;
	default:
		break;
	}
	if (!r && t->sizer == PZ_NDARRAY) {
		/* numpy arrays are not GC objects: nothing else reaches what
		 * they hold */
		struct pyndarray_refs a;

		if (pyndarray_refs(c, obj, &a) == 0) {
			if (a.base)
				r = emit(s, a.base, REF_FIELD, -1, 0, "base");
			if (!r && a.descr)
				r = emit(s, a.descr, REF_FIELD, -1, 0, "dtype");
			if (!r && a.nitems)
				r = array_each(c, a.items, a.nitems, 8, s, REF_INDEX, 0);
		}
	}
	if (r)
		return r;
	/* Instance attributes (classes, and C types with a __dict__ such as
	 * SimpleNamespace or FileIO) and the __slots__ of classes.  Types,
	 * functions, modules and class/static methods gave their __dict__
	 * among their fields already: a second edge would count one
	 * reference twice (garbage, objects held from C). */
	if ((t->dictoffset || (t->flags & PY_TPFLAGS_MANAGED_DICT)) && t->kind != PK_TYPE &&
	    t->kind != PK_FUNCTION && t->kind != PK_MODULE && t->kind != PK_CLASSMETHOD &&
	    t->kind != PK_STATICMETHOD) {
		uint64_t dict = 0;

		/* The dict object is the referent (it is followed in turn);
		 * values kept without one are referents themselves. */
		f.how = REF_ATTR;
		if (pyobj_instance_dict(c, obj, t, &dict) == 0 && dict)
			r = emit(s, dict, REF_FIELD, -1, 0, "__dict__");
		else
			r = pyobj_attrs_each(c, obj, t, forward_kv, &f);
		if (r > 0)
			return r;
	}
	if (t->flags & PY_TPFLAGS_HEAPTYPE)
		return slots_each(c, obj, t, s);
	return 0;
}

int refs_each(struct pyctx *c, uint64_t obj, struct pytype *t, ref_fn fn, void *arg)
{
	struct sink s = { fn, NULL, arg };

	return sink_each(c, obj, t, &s);
}

int refs_each_labelled(struct pyctx *c, uint64_t obj, struct pytype *t, ref_label_fn fn,
		       void *arg)
{
	struct sink s = { NULL, fn, arg };

	return sink_each(c, obj, t, &s);
}

int refs_frame_each(struct pyctx *c, uint64_t iframe, ref_fn fn, void *arg)
{
	struct sink s = { fn, NULL, arg };

	return iframe_each(c, iframe, &s);
}

int refs_frame_each_labelled(struct pyctx *c, uint64_t iframe, ref_label_fn fn, void *arg)
{
	struct sink s = { NULL, fn, arg };

	return iframe_each(c, iframe, &s);
}
