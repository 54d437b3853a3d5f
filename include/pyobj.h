/* pyobj.h - reading CPython objects out of a target's memory.
 *
 * Everything read from the target is untrusted: every pointer goes through
 * the remote layer (an unmapped one is an error, not a crash), every length
 * and count is bounded before use.  Readers return 0 / a value >= 0 on
 * success and -1 when the object cannot be read or does not look right; they
 * do not record lt_error (bad objects are counted by the walkers). */
#ifndef LEAKTOP_PYOBJ_H
#define LEAKTOP_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"

struct remote;

/* tp_flags bits leaktop looks at (stable across 3.8-3.14 where present). */
#define PY_TPFLAGS_INLINE_VALUES (1ul << 2)   /* 3.13+ */
#define PY_TPFLAGS_MANAGED_WEAKREF (1ul << 3) /* 3.12+ */
#define PY_TPFLAGS_MANAGED_DICT (1ul << 4)    /* 3.11+ */
#define PY_TPFLAGS_HEAPTYPE (1ul << 9)
#define PY_TPFLAGS_HAVE_GC (1ul << 14)
#define GC_PTR_MASK (~(uint64_t)3)  /* _gc_prev/_gc_next low bits are flags */
#define PY_TPFLAGS_LIST_SUBCLASS (1ul << 25)
#define PY_TPFLAGS_TUPLE_SUBCLASS (1ul << 26)
#define PY_TPFLAGS_UNICODE_SUBCLASS (1ul << 28)
#define PY_TPFLAGS_DICT_SUBCLASS (1ul << 29)
#define PY_TPFLAGS_TYPE_SUBCLASS (1ul << 31)

/* How an object's size is computed: the first builtin in its type's base
 * chain whose __sizeof__ is not object.__sizeof__. */
enum pykind {
	PK_OBJECT = 0,  /* basicsize + |ob_size| * itemsize */
	PK_LIST,
	PK_TUPLE,
	PK_DICT,
	PK_SET,
	PK_TYPE,
	PK_STR,
	PK_INT,
	PK_GEN,       /* generator, coroutine, async generator */
	PK_FRAME,
	PK_DEQUE,
	PK_ODICT,
	PK_BUFFERED,  /* _io.BufferedReader/Writer/Random */
	PK_BYTEARRAY,
	PK_CODE,
	/* sized like PK_OBJECT, told apart for repr or references */
	PK_FLOAT,
	PK_BYTES,
	PK_BOOL,
	PK_NONE,
	PK_FUNCTION,
	PK_CELL,
	PK_METHOD,
	PK_MODULE,
	PK_PROPERTY,
	PK_CLASSMETHOD,
	PK_STATICMETHOD,
	PK_DESCR,     /* method, member, getset, wrapper, classmethod descriptors */
	PK_CFUNC,     /* builtin_function_or_method */
	PK_LRU,       /* functools._lru_cache_wrapper: its cache dict */
	PK_PARTIAL,   /* functools.partial */
	PK_TEXTIO,    /* _io.TextIOWrapper: its buffer, codecs and settings */
	PK_NLDECODER, /* _io.IncrementalNewlineDecoder: the decoder it wraps */
	PK_WEAKREF,   /* weakref.ref and the proxies: only their callback is held */
	PK_LRULINK,   /* functools._lru_list_elem: what it holds, its lru_cache gives */
	PK_SIMPLEQUEUE, /* _queue.SimpleQueue: 3.13+ keeps its items in a ring buffer */
	PK_KIND_COUNT
};

/* Extension types whose C __sizeof__ counts more than basicsize, sized
 * apart from the kind (the walkers treat them by their kind: a StgDict is
 * still a dict to follow).  The struct offsets are fixed (these structs are
 * the same on every x86-64 CPython 3.8-3.15 and numpy 1.20-2.x; see
 * pyobj.c); an object whose fields do not validate gets its basic size. */
enum pysizer {
	PZ_NONE = 0,
	PZ_ARRAY,     /* array.array: allocated * itemsize (a buffer) */
	PZ_STRUCT,    /* _struct.Struct: its format codes */
	PZ_ELEMENT,   /* xml.etree.ElementTree.Element (_elementtree): extra, children */
	PZ_NDARRAY,   /* numpy.ndarray: dims, strides and the data it owns (a buffer) */
	PZ_MMAP,      /* mmap.mmap: basicsize; its mapping apart (mapped) */
	PZ_STGDICT,   /* ctypes' StgDict (3.8-3.12): a dict plus its StgDictObject */
	PZ_CTYPE,     /* classes of ctypes' CType_Type (3.13+): their StgInfo */
	PZ_DECIMAL,   /* decimal.Decimal (_decimal): coefficient words out of line (a buffer) */
};

struct pytype {
	uint64_t addr;
	char *name;            /* "module.qualname" as Python prints it */
	int64_t basicsize, itemsize;
	int64_t dictoffset;    /* tp_dictoffset */
	uint64_t flags;
	enum pykind kind;
	/* per-snapshot counters, filled by walkers */
	uint64_t count, gc_tracked, bytes, gc_bytes;
	/* --group-dicts: the __dict__ objects of this class's instances */
	uint64_t dicts, dicts_tracked, dicts_bytes, dicts_gc_bytes;
	signed char sampled;   /* walker's memo: 1 collect samples, -1 not, 0 unknown */
	signed char owner_class; /* owners' memo: class + 1, -1 none, 0 unknown */
	signed char nslots;    /* refs' memo: object __slots__ offsets, -1 unknown, -2 too many */
	signed char cscan;     /* refs' memo: words of the body to scan, -1 unknown */
	int32_t factory_off;   /* refs' memo: defaultdict's default_factory, -1 unknown, 0 none */
	signed char aio;       /* refs' memo: _asyncio layout + 1, -1 unknown, 0 none */
	signed char task_kind; /* tasks' memo: 2 Task, 1 Future, -1 neither, 0 unknown */
	signed char has_del;   /* graph's memo: 1 the class defines __del__, -1 not, 0 unknown */
	signed char py_sizeof; /* memo: 1 __sizeof__ is a Python function, -1 not, 0 unknown */
	unsigned char sizer;   /* enum pysizer */
	/* per-snapshot, of bytes: buffers the objects own (pyobj_owned);
	 * apart from bytes: what they map (mmap) */
	uint64_t buffer_bytes, mapped_bytes;
	uint64_t garbage, garbage_bytes;  /* instances found to be cyclic garbage */
	int32_t slot_off[8];
};

struct pyctx {
	struct remote *mem;
	const struct py_layout *lay;
	int minor;
	/* type cache: open addressing on the type's address */
	struct pytype **types;
	size_t types_cap, types_n;
	uint64_t bad_types;     /* ob_type pointers that were not types */
	uint64_t set_dummy;     /* &_PySet_Dummy: marks deleted set slots */
};

/* What a numpy.ndarray (t->sizer PZ_NDARRAY) refers to: the array it is a
 * view of, its dtype, and for an array of objects that owns its
 * contiguous data the items (nitems pointers at items; 0 otherwise).
 * Returns 0, or -1 when its fields cannot be read. */
struct pyndarray_refs {
	uint64_t base, descr, items;
	int64_t nitems;
};
int pyndarray_refs(struct pyctx *c, uint64_t obj, struct pyndarray_refs *out);

void pyctx_init(struct pyctx *c, struct remote *mem, const struct py_layout *lay);
/* Forget all types (addresses may be reused between snapshots). */
void pyctx_reset(struct pyctx *c);
void pyctx_free(struct pyctx *c);

/* The type object at addr, read and named once per snapshot; NULL if addr
 * does not hold a plausible type. */
struct pytype *pytype_get(struct pyctx *c, uint64_t addr);
/* The type at addr if this snapshot met it already, else NULL. */
struct pytype *pytype_find(struct pyctx *c, uint64_t addr);
/* Iterate the cached types (for census aggregation). */
#define PYCTX_FOREACH_TYPE(c, tvar) \
	for (size_t tvar##_i = 0; tvar##_i < (c)->types_cap; tvar##_i++) \
		for (struct pytype *tvar = (c)->types[tvar##_i]; tvar; tvar = NULL)

/* Index of the first of names[] that t or one of its bases is named
 * (tp_name; heap types only when module-qualified), or -1. */
int pytype_match_base(struct pyctx *c, const struct pytype *t, const char *const *names,
		      size_t n);
/* Index of the first of names[] ("module.qualname" as Python prints it,
 * for classes as for extension types) that t or a class of its MRO is,
 * or -1. */
int pytype_is_a(struct pyctx *c, const struct pytype *t, const char *const *names, size_t n);
/* pytype_match_base, with the matched type's tp_basicsize. */
int pytype_match_base_size(struct pyctx *c, const struct pytype *t, const char *const *names,
			   size_t n, int64_t *basicsize);

/* sys.getsizeof(obj) for a GC object of type t: __sizeof__ plus the GC
 * header and pre-header.  -1 if unreadable. */
int64_t pyobj_sizeof(struct pyctx *c, uint64_t obj, const struct pytype *t);

/* The name of the __slots__ member at offset off of type (or of its
 * bases) into buf, "(slot)" when none is found. */
void pyobj_slot_name(struct pyctx *c, uint64_t type, int64_t off, char *buf, size_t n);

/* A str object as UTF-8 into buf (at most max-1 bytes, always terminated).
 * Returns the byte length or -1 if obj is not a readable str. */
long pystr_read(struct pyctx *c, uint64_t obj, char *buf, size_t max);

/* Value for the str key `key` in dict `dict`: 0 with *value set, -1 if not
 * found or unreadable. */
int pydict_get_str(struct pyctx *c, uint64_t dict, const char *key, uint64_t *value);

/* Called per (key, value); return 0 to go on, non-zero to stop with it. */
typedef int (*pydict_fn)(void *arg, uint64_t key, uint64_t value);
/* Items of a dict.  Returns 0 when done, -1 if unreadable, or what fn
 * returned when it stopped the iteration. */
int pydict_each(struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg);
/* The __dict__ object of an instance: 0 with *dict set (0 when there is no
 * dict object: no attributes, or 3.11+ values kept inline), -1 unreadable. */
int pyobj_instance_dict(struct pyctx *c, uint64_t obj, const struct pytype *t, uint64_t *dict);
/* Attributes of an instance of t (its __dict__, managed dict or inline
 * values), same return convention. */
int pyobj_attrs_each(struct pyctx *c, uint64_t obj, const struct pytype *t, pydict_fn fn,
		     void *arg);
/* Instance attribute `name` of obj (as pyobj_attrs_each finds them): 0
 * with *value set, -1 if it has none or it cannot be read. */
int pyobj_attr_get(struct pyctx *c, uint64_t obj, const struct pytype *t, const char *name,
		   uint64_t *value);

/* What an object owns outside its own block: `buffer`, a separate
 * allocation of raw data, part of its sys.getsizeof (numpy.ndarray's data
 * when it owns it, array.array's and bytearray's items, _io.Buffered*'s
 * buffer, a long decimal.Decimal's coefficient); `mapped`, a mapping that
 * getsizeof leaves out (mmap.mmap's length).  Container internals (a
 * list's item array, a dict's table) are not buffers.  0 with *o set (zeros for types that own none), -1 if
 * unreadable. */
struct pyowned {
	uint64_t buffer, mapped;
};
int pyobj_owned(struct pyctx *c, uint64_t obj, const struct pytype *t, struct pyowned *o);

/* 1 when the first __sizeof__ in t's MRO is a Python function (pandas'
 * Series, DataFrame...): getsizeof would run it, leaktop sizes the object
 * alone ("object only"); 0 otherwise or unreadable.  Memoized in t. */
int pytype_python_sizeof(struct pyctx *c, struct pytype *t);
/* The first class of t's MRO whose dict defines name: 1 with its value,
 * 0 when none does (static types: never). */
int pytype_mro_find(struct pyctx *c, const struct pytype *t, const char *name, uint64_t *value);

/* A short repr of obj (type t) for people: strings quoted, numbers, the
 * length and first items of simple containers, "<module.qualname object>"
 * otherwise; at most max-1 bytes, truncated with "...". */
void pyobj_repr(struct pyctx *c, uint64_t obj, const struct pytype *t, char *buf, size_t max);

/* The code object a 3.11+ interpreter frame runs (3.14 tags f_executable),
 * or the one generator gen runs (any version): 0, or -1 if unreadable. */
int pyframe_code(struct pyctx *c, uint64_t iframe, uint64_t *code);
int pygen_code(struct pyctx *c, uint64_t gen, uint64_t *code);

/* Where a 3.11+ generator or coroutine stands: its frame belongs to it
 * only when created or suspended (a running one is on a thread's stack). */
enum gen_state { GEN_CREATED, GEN_SUSPENDED, GEN_RUNNING, GEN_DONE };
/* 0 with *state set, -1 if unreadable or 3.10 and older (no frame state). */
int pygen_state(struct pyctx *c, uint64_t gen, enum gen_state *state);

/* What a suspended generator or coroutine awaits or yields from (its
 * cr_await, gi_yieldfrom: the top of its frame's value stack when it is
 * suspended there), or 0: 0, or -1 if unreadable. */
int pygen_awaiting(struct pyctx *c, uint64_t gen, uint64_t *obj);

/* The value of an int of at most two 30-bit digits: 0, or -1. */
int pylong_read(struct pyctx *c, uint64_t obj, long long *out);
/* Name of local variable i of code (cells and free variables included);
 * "(stack)" when i is past them. */
void pycode_local_name(struct pyctx *c, uint64_t code, int64_t i, char *buf, size_t n);
/* The pointer field at offset off of obj: 0 when off is -1 (the layout
 * lacks it), obj is NULL or the read fails. */
uint64_t pyobj_field(struct pyctx *c, uint64_t obj, int32_t off);
/* The type of the object at obj, or NULL (unreadable, not a type). */
struct pytype *pyobj_type(struct pyctx *c, uint64_t obj);
/* Item i of a tuple as a str into buf: 0, or -1. */
int pytuple_str(struct pyctx *c, uint64_t tuple, int64_t i, char *buf, size_t n);
/* A code object's qualified name (3.11+; its name before) and file name,
 * "" when unreadable. */
void pycode_describe(struct pyctx *c, uint64_t code, char *name, size_t nmax, char *file,
		     size_t fmax);
/* Items of a tuple (0 for NULL), or -1 if unreadable or implausible. */
int64_t pytuple_len(struct pyctx *c, uint64_t tuple);

/* Size in bytes of a dict keys object, as _PyDict_KeysSize computes it. */
int64_t pydict_keys_size(struct pyctx *c, uint64_t keys);

#endif
