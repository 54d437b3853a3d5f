/* refs.c - what an object refers to, as its type's tp_traverse would say.
 *
 * Per kind of object, the fields that hold references (offsets from the
 * layout), the items of containers, instance attributes and __slots__, and
 * the locals of frames and suspended generators. */
#include "config.h"
#include "refs.h"
#include "pyobj.h"
#include "remote.h"

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

static int array_each(struct pyctx *c, uint64_t items, int64_t n, int stride, ref_fn fn,
		      void *arg)
{
	uint64_t buf[CHUNK * 2];
	int per = stride / 8;

	if (n < 0 || n > MAX_ITEMS)
		return -1;
	for (int64_t i = 0; i < n; i += CHUNK) {
		int64_t m = n - i < CHUNK ? n - i : CHUNK;

		if (remote_read_cached(c->mem, items + (uint64_t)(i * stride), buf,
				       (size_t)(m * stride)) < 0)
			return -1;
		for (int64_t k = 0; k < m; k++) {
			uint64_t ref = buf[k * per];
			int r;

			if (!ref || ref == c->set_dummy)
				continue;
			r = fn(arg, ref);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Pointer fields at the given offsets (negative offsets: absent here). */
static int fields_each(struct pyctx *c, uint64_t obj, const int32_t *offs, size_t n, ref_fn fn,
		       void *arg)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t ref;
		int r;

		if (offs[i] < 0 || rd_u64(c, obj + (uint64_t)offs[i], &ref) < 0 || !ref)
			continue;
		r = fn(arg, ref);
		if (r)
			return r;
	}
	return 0;
}

#define FIELDS(...) \
	do { \
		const int32_t offs_[] = { __VA_ARGS__ }; \
		r = fields_each(c, obj, offs_, sizeof(offs_) / sizeof(offs_[0]), fn, arg); \
	} while (0)

struct kv_forward {
	ref_fn fn;
	void *arg;
};

static int forward_kv(void *arg, uint64_t key, uint64_t value)
{
	struct kv_forward *f = arg;
	int r = f->fn(f->arg, key);

	return r ? r : f->fn(f->arg, value);
}

/* The references of an interpreter frame (3.11+): code, globals, builtins,
 * locals, function, and the first `stacktop` slots of localsplus. */
static int iframe_each(struct pyctx *c, uint64_t f, ref_fn fn, void *arg)
{
	const struct py_layout *l = c->lay;
	int32_t stacktop;
	int32_t code_at = c->minor <= 12 ? l->iframe_code : l->iframe_executable;
	int32_t func_at = c->minor == 11 ? l->iframe_func : l->iframe_funcobj;
	const int32_t offs[] = { code_at, l->iframe_globals, l->iframe_builtins, l->iframe_locals,
				 func_at };
	int r;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint64_t ref;

		if (offs[i] < 0 || rd_u64(c, f + (uint64_t)offs[i], &ref) < 0 || !ref)
			continue;
		r = fn(arg, ref & ~(uint64_t)3);  /* 3.14 tags stack references */
		if (r)
			return r;
	}
	if (l->iframe_stacktop < 0 ||
	    remote_read_cached(c->mem, f + (uint64_t)l->iframe_stacktop, &stacktop, 4) < 0 ||
	    stacktop < 0 || stacktop > (1 << 20))
		return 0;
	return array_each(c, f + (uint64_t)l->iframe_localsplus, stacktop, 8, fn, arg);
}

/* Locals of a 3.8-3.10 frame object: co_nlocals + cells + frees, then the
 * value stack when the frame is suspended. */
static int oldframe_locals(struct pyctx *c, uint64_t obj, ref_fn fn, void *arg)
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
	n = (int64_t)nlocals + ncells + nfrees;
	r = array_each(c, obj + (uint64_t)l->frame_localsplus, n, 8, fn, arg);
	if (r)
		return r;
	if (c->minor <= 9) {
		uint64_t top, bottom;

		if (rd_u64(c, obj + (uint64_t)l->frame_stacktop, &top) < 0 || !top ||
		    rd_u64(c, obj + (uint64_t)l->frame_valuestack, &bottom) < 0 || top < bottom)
			return 0;
		return array_each(c, bottom, (int64_t)(top - bottom) / 8, 8, fn, arg);
	} else {
		uint64_t bottom;
		int32_t depth;

		if (remote_read_cached(c->mem, obj + (uint64_t)l->frame_stackdepth, &depth, 4) < 0 ||
		    depth <= 0 || rd_u64(c, obj + (uint64_t)l->frame_valuestack, &bottom) < 0)
			return 0;
		return array_each(c, bottom, depth, 8, fn, arg);
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
static int slots_each(struct pyctx *c, uint64_t obj, struct pytype *t, ref_fn fn, void *arg)
{
	if (t->nslots == -1)
		find_slots(c, t);
	if (t->nslots == -2)
		t->nslots = (signed char)(sizeof(t->slot_off) / sizeof(t->slot_off[0]));  /* the first ones */
	return fields_each(c, obj, t->slot_off, (size_t)t->nslots, fn, arg);
}

int refs_each(struct pyctx *c, uint64_t obj, struct pytype *t, ref_fn fn, void *arg)
{
	const struct py_layout *l = c->lay;
	struct kv_forward f = { fn, arg };
	int64_t n;
	uint64_t items;
	int r = 0;

	switch (t->kind) {
	case PK_LIST:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->list_items, &items) < 0)
			return -1;
		r = array_each(c, items, n, 8, fn, arg);
		break;
	case PK_TUPLE:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0)
			return -1;
		r = array_each(c, obj + (uint64_t)l->tuple_items, n, 8, fn, arg);
		break;
	case PK_DICT:
	case PK_ODICT:
		r = pydict_each(c, obj, forward_kv, &f);
		break;
	case PK_SET:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->set_mask, &n, 8) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->set_table, &items) < 0 || n < 0 || n >= MAX_ITEMS)
			return -1;
		/* setentry {key, hash}: every slot, skipping empty and dummy ones */
		r = array_each(c, items, n + 1, l->setentry_size, fn, arg);
		break;
	case PK_TYPE:
		FIELDS(l->tp_dict, l->tp_bases, l->tp_mro, l->tp_base);
		if (!r) {
			uint64_t flags;

			if (rd_u64(c, obj + (uint64_t)l->tp_flags, &flags) == 0 &&
			    (flags & PY_TPFLAGS_HEAPTYPE))
				FIELDS(l->ht_name, l->ht_qualname, l->ht_slots, l->ht_module);
		}
		break;
	case PK_FUNCTION:
		FIELDS(l->func_code, l->func_globals, l->func_builtins, l->func_name,
		       l->func_qualname, l->func_defaults, l->func_kwdefaults, l->func_closure,
		       l->func_doc, l->func_dict, l->func_module, l->func_annotations);
		break;
	case PK_CODE:
		FIELDS(l->code_consts, l->code_names, l->code_filename, l->code_name,
		       l->code_qualname, l->code_linetable, l->code_lnotab, l->code_exceptiontable,
		       l->code_localsplusnames, l->code_localspluskinds, l->code_varnames,
		       l->code_cellvars, l->code_freevars, l->code_code);
		break;
	case PK_CELL:
		FIELDS(l->cell_ref);
		break;
	case PK_METHOD:
		FIELDS(l->method_func, l->method_self);
		break;
	case PK_MODULE:
		FIELDS(l->module_dict, l->module_name);
		break;
	case PK_PROPERTY:
		FIELDS(l->prop_get, l->prop_set, l->prop_del, l->prop_doc);
		break;
	case PK_CLASSMETHOD:
		FIELDS(l->cm_callable, l->cm_dict);
		break;
	case PK_STATICMETHOD:
		FIELDS(l->sm_callable, l->sm_dict);
		break;
	case PK_DESCR:
		FIELDS(l->descr_type, l->descr_name, l->descr_qualname);
		break;
	case PK_CFUNC:
		FIELDS(l->cfunc_self, l->cfunc_module);
		break;
	case PK_LRU:
		FIELDS(l->lru_func, l->lru_cache, l->lru_kwd_mark);
		break;
	case PK_PARTIAL:
		FIELDS(l->partial_fn, l->partial_args, l->partial_kw);
		break;
	case PK_GEN:
		FIELDS(l->gen_name, l->gen_qualname, l->gen_frame_old);
		if (!r && c->minor >= 11) {
			int8_t state;

			/* Only a frame that is not running (created or suspended)
			 * belongs to the generator; a running one is on a thread. */
			if (remote_read_cached(c->mem, obj + (uint64_t)l->gen_frame_state, &state, 1) == 0 &&
			    state < 0)
				r = iframe_each(c, obj + (uint64_t)l->gen_iframe, fn, arg);
		}
		break;
	case PK_FRAME:
		if (c->minor <= 10) {
			FIELDS(l->frame_back, l->frame_code, l->frame_builtins, l->frame_globals,
			       l->frame_locals);
			if (!r)
				r = oldframe_locals(c, obj, fn, arg);
		} else {
			uint64_t iframe;

			FIELDS(l->frame_back);
			/* Its own data when the frame outlived its function. */
			if (!r && rd_u64(c, obj + (uint64_t)l->frame_frame, &iframe) == 0 &&
			    iframe == obj + (uint64_t)l->frame_data)
				r = iframe_each(c, iframe, fn, arg);
		}
		break;
	default:
		break;
	}
	if (r)
		return r;
	/* Instance attributes (classes, and C types with a __dict__ such as
	 * SimpleNamespace or FileIO) and the __slots__ of classes. */
	if (t->dictoffset || (t->flags & PY_TPFLAGS_MANAGED_DICT)) {
		uint64_t dict = 0;

		/* The dict object is the referent (it is followed in turn);
		 * values kept without one are referents themselves. */
		if (pyobj_instance_dict(c, obj, t, &dict) == 0 && dict)
			r = fn(arg, dict);
		else
			r = pyobj_attrs_each(c, obj, t, forward_kv, &f);
		if (r > 0)
			return r;
	}
	if (t->flags & PY_TPFLAGS_HEAPTYPE)
		return slots_each(c, obj, t, fn, arg);
	return 0;
}

int refs_frame_each(struct pyctx *c, uint64_t iframe, ref_fn fn, void *arg)
{
	return iframe_each(c, iframe, fn, arg);
}
