/* pyobj.c - type names, strings, dicts and sizes read from the target. */
#include "config.h"
#include "pyobj.h"
#include "lineno.h"
#include "remote.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what a sane object can claim. */
#define MAX_BASICSIZE (1 << 20)
#define MAX_ITEMSIZE (1 << 12)
#define MAX_ITEMS ((int64_t)1 << 40)
#define MAX_NAME 512
#define MAX_DICT_LOG2 30
#define MAX_TYPE_DEPTH 64

/* ---- small typed reads ---- */

static int rd(struct pyctx *c, uint64_t addr, void *buf, size_t len)
{
	return remote_read_cached(c->mem, addr, buf, len);
}

static int rd_u64(struct pyctx *c, uint64_t addr, uint64_t *v)
{
	return rd(c, addr, v, 8);
}

static int rd_i64(struct pyctx *c, uint64_t addr, int64_t *v)
{
	return rd(c, addr, v, 8);
}

static int rd_u8(struct pyctx *c, uint64_t addr, uint8_t *v)
{
	return rd(c, addr, v, 1);
}

/* ---- context and type cache ---- */

void pyctx_init(struct pyctx *c, struct remote *mem, const struct py_layout *lay)
{
	memset(c, 0, sizeof(*c));
	c->mem = mem;
	c->lay = lay;
	c->minor = lay->minor;
}

static void free_types(struct pyctx *c)
{
	for (size_t i = 0; i < c->types_cap; i++) {
		if (c->types[i]) {
			free(c->types[i]->name);
			free(c->types[i]);
		}
	}
	free(c->types);
	c->types = NULL;
	c->types_cap = c->types_n = 0;
}

void pyctx_reset(struct pyctx *c)
{
	free_types(c);
	c->bad_types = 0;
}

void pyctx_free(struct pyctx *c)
{
	free_types(c);
}

static size_t type_slot(const struct pyctx *c, uint64_t addr)
{
	return (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ull >> 20) & (c->types_cap - 1);
}

static void cache_put(struct pyctx *c, struct pytype *t)
{
	size_t i;

	if (2 * (c->types_n + 1) > c->types_cap) {
		struct pytype **old = c->types;
		size_t oldcap = c->types_cap;

		c->types_cap = oldcap ? oldcap * 2 : 1024;
		c->types = xcalloc(c->types_cap, sizeof(*c->types));
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k])
				continue;
			i = type_slot(c, old[k]->addr);
			while (c->types[i])
				i = (i + 1) & (c->types_cap - 1);
			c->types[i] = old[k];
		}
		free(old);
	}
	i = type_slot(c, t->addr);
	while (c->types[i])
		i = (i + 1) & (c->types_cap - 1);
	c->types[i] = t;
	c->types_n++;
}

static struct pytype *cache_get(const struct pyctx *c, uint64_t addr)
{
	size_t i;

	if (!c->types_cap)
		return NULL;
	for (i = type_slot(c, addr); c->types[i]; i = (i + 1) & (c->types_cap - 1))
		if (c->types[i]->addr == addr)
			return c->types[i];
	return NULL;
}

/* ---- strings ---- */

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | ((cp >> 18) & 0x07));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

struct strinfo {
	int64_t length;
	unsigned kind;      /* 1, 2, 4 bytes per code point */
	int compact, ascii;
	uint64_t data;      /* address of the code points */
};

static int str_info(struct pyctx *c, uint64_t obj, struct strinfo *si)
{
	const struct py_layout *l = c->lay;
	uint32_t state;

	if (rd_i64(c, obj + (uint64_t)l->ascii_length, &si->length) < 0 ||
	    rd(c, obj + (uint64_t)l->ascii_state, &state, sizeof(state)) < 0)
		return -1;
	if (si->length < 0 || si->length > MAX_ITEMS)
		return -1;
	/* state: interned:2 kind:3 compact:1 ascii:1 (same bits 3.8-3.14) */
	si->kind = (state >> 2) & 7;
	si->compact = (state >> 5) & 1;
	si->ascii = (state >> 6) & 1;
	if (si->kind != 1 && si->kind != 2 && si->kind != 4)
		return -1;
	if (si->ascii && si->kind != 1)
		return -1;
	if (si->compact)
		si->data = obj + (uint64_t)(si->ascii ? l->ascii_size : l->compact_size);
	else if (rd_u64(c, obj + (uint64_t)l->compact_size, &si->data) < 0 || !si->data)
		return -1;  /* legacy string: data.any follows the compact header */
	return 0;
}

long pystr_read(struct pyctx *c, uint64_t obj, char *buf, size_t max)
{
	struct strinfo si;
	unsigned char raw[MAX_NAME * 4];
	size_t n, out = 0;

	if (max == 0 || str_info(c, obj, &si) < 0)
		return -1;
	n = (size_t)si.length;
	if (n > sizeof(raw) / si.kind)
		n = sizeof(raw) / si.kind;
	if (rd(c, si.data, raw, n * si.kind) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;
		char enc[4];
		size_t k;

		if (si.kind == 1)
			cp = raw[i];
		else if (si.kind == 2)
			cp = (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8;
		else
			memcpy(&cp, raw + 4 * i, 4);
		if (cp > 0x10FFFF)
			cp = 0xFFFD;
		k = put_utf8(enc, cp);
		if (out + k >= max)
			break;
		memcpy(buf + out, enc, k);
		out += k;
	}
	buf[out] = '\0';
	return (long)out;
}

/* Compare a str object with a C string without building it. */
static int str_equals(struct pyctx *c, uint64_t obj, const char *s)
{
	struct strinfo si;
	size_t len = strlen(s);
	char tmp[128];

	if (len >= sizeof(tmp) || str_info(c, obj, &si) < 0 || !si.ascii ||
	    si.length != (int64_t)len)
		return 0;
	if (rd(c, si.data, tmp, len) < 0)
		return 0;
	return memcmp(tmp, s, len) == 0;
}

/* ---- dicts ---- */

struct dkeys {
	int64_t refcnt;
	int64_t size;           /* number of slots */
	int64_t index_bytes;    /* bytes of the index table */
	int64_t usable, nentries;
	int kind;               /* 3.11+: 0 general, 1 unicode, 2 split */
	int64_t entry_size;
	uint64_t entries;       /* address of entry 0 */
};

static int dkeys_read(struct pyctx *c, uint64_t keys, struct dkeys *k)
{
	const struct py_layout *l = c->lay;

	memset(k, 0, sizeof(*k));
	if (rd_i64(c, keys + (uint64_t)l->dk_refcnt, &k->refcnt) < 0 ||
	    rd_i64(c, keys + (uint64_t)l->dk_usable, &k->usable) < 0 ||
	    rd_i64(c, keys + (uint64_t)l->dk_nentries, &k->nentries) < 0)
		return -1;
	if (c->minor <= 10) {
		int64_t width;

		if (rd_i64(c, keys + (uint64_t)l->dk_size, &k->size) < 0)
			return -1;
		if (k->size < 1 || k->size > ((int64_t)1 << MAX_DICT_LOG2) || (k->size & (k->size - 1)))
			return -1;
		width = k->size <= 0xff ? 1 : k->size <= 0xffff ? 2 : k->size <= 0xffffffffll ? 4 : 8;
		k->index_bytes = k->size * width;
		k->kind = 0;
		k->entry_size = l->dk_entry_size;
	} else {
		uint8_t log2_size, log2_index, kind;

		if (rd_u8(c, keys + (uint64_t)l->dk_log2_size, &log2_size) < 0 ||
		    rd_u8(c, keys + (uint64_t)l->dk_log2_index_bytes, &log2_index) < 0 ||
		    rd_u8(c, keys + (uint64_t)l->dk_kind, &kind) < 0)
			return -1;
		if (log2_size > MAX_DICT_LOG2 || log2_index > MAX_DICT_LOG2 + 3 || kind > 2)
			return -1;
		k->size = (int64_t)1 << log2_size;
		k->index_bytes = (int64_t)1 << log2_index;
		k->kind = kind;
		k->entry_size = kind == 0 ? l->dk_entry_size : l->dk_uentry_size;
	}
	if (k->nentries < 0 || k->nentries > k->size || k->usable < 0 || k->usable > k->size)
		return -1;
	k->entries = keys + (uint64_t)l->dk_indices + (uint64_t)k->index_bytes;
	return 0;
}

/* USABLE_FRACTION, the same in every version. */
static int64_t usable_fraction(int64_t n)
{
	return (n << 1) / 3;
}

static int64_t dkeys_size(const struct pyctx *c, const struct dkeys *k)
{
	return c->lay->dk_struct_size + k->index_bytes + usable_fraction(k->size) * k->entry_size;
}

int64_t pydict_keys_size(struct pyctx *c, uint64_t keys)
{
	struct dkeys k;

	if (dkeys_read(c, keys, &k) < 0)
		return -1;
	return dkeys_size(c, &k);
}

/* Entries of a keys table, values from the entries or from a split values
 * array (3.11+: a _dictvalues; before, a plain array). */
static int items_each(struct pyctx *c, uint64_t keys, uint64_t values, pydict_fn fn, void *arg)
{
	uint64_t vbase = values + (uint64_t)(values && c->minor >= 11 ? c->lay->dv_values : 0);
	struct dkeys k;

	if (dkeys_read(c, keys, &k) < 0)
		return -1;
	for (int64_t i = 0; i < k.nentries; i++) {
		uint64_t e = k.entries + (uint64_t)(i * k.entry_size);
		/* general entries are {hash, key, value}, unicode ones {key, value} */
		uint64_t key_at = e + (k.entry_size == 24 ? 8 : 0);
		uint64_t kv[2];
		int r;

		if (rd(c, key_at, kv, sizeof(kv)) < 0)
			return -1;
		if (!kv[0])
			continue;  /* deleted entry */
		if (values && rd_u64(c, vbase + 8 * (uint64_t)i, &kv[1]) < 0)
			return -1;
		if (!kv[1])
			continue;  /* split table: this instance lacks the key */
		r = fn(arg, kv[0], kv[1]);
		if (r)
			return r;
	}
	return 0;
}

int pydict_each(struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg)
{
	const struct py_layout *l = c->lay;
	uint64_t kv[2];

	if (rd_u64(c, dict + (uint64_t)l->dict_keys, &kv[0]) < 0 ||
	    rd_u64(c, dict + (uint64_t)l->dict_values, &kv[1]) < 0)
		return -1;
	return items_each(c, kv[0], kv[1], fn, arg);
}

struct str_lookup {
	struct pyctx *c;
	const char *key;
	uint64_t value;
};

static int match_str_key(void *arg, uint64_t key, uint64_t value)
{
	struct str_lookup *q = arg;

	if (!str_equals(q->c, key, q->key))
		return 0;
	q->value = value;
	return 1;
}

int pydict_get_str(struct pyctx *c, uint64_t dict, const char *key, uint64_t *value)
{
	struct str_lookup q = { c, key, 0 };

	if (pydict_each(c, dict, match_str_key, &q) != 1)
		return -1;
	*value = q.value;
	return 0;
}

/* Where an instance keeps its attributes: *dict (a dict object), or
 * *values + *keys (3.11+ values kept without a dict: split keys of the
 * class); all 0 when it has none. */
static int instance_attrs(struct pyctx *c, uint64_t obj, const struct pytype *t, uint64_t *dict,
			  uint64_t *values, uint64_t *keys)
{
	const struct py_layout *l = c->lay;
	int64_t dictoffset;

	*dict = *values = *keys = 0;
	if (c->minor >= 11 && (t->flags & PY_TPFLAGS_MANAGED_DICT)) {
		uint64_t w;

		if (rd_u64(c, obj - 24, &w) < 0)
			return -1;
		if (c->minor == 11) {
			*dict = w;
			if (!*dict && rd_u64(c, obj - 32, values) < 0)
				return -1;
		} else if (c->minor == 12) {
			if (w & 1)
				*values = w + 1;  /* tagged: the values pointer minus one */
			else
				*dict = w;
		} else {
			*dict = w;
			if (!*dict && (t->flags & PY_TPFLAGS_INLINE_VALUES)) {
				uint8_t valid;

				/* _dictvalues {capacity, size, embedded, valid, values[]} */
				if (rd_u8(c, obj + (uint64_t)t->basicsize + 3, &valid) < 0)
					return -1;
				if (valid)
					*values = obj + (uint64_t)t->basicsize;
			}
		}
		if (*values && (rd_u64(c, t->addr + (uint64_t)l->ht_cached_keys, keys) < 0 || !*keys))
			return -1;
		return 0;
	}
	dictoffset = t->dictoffset;
	if (!dictoffset)
		return 0;
	if (dictoffset < 0) {
		int64_t n;

		/* From the end of a variable-size object (int and tuple
		 * subclasses); 3.12+ ints count digits in lv_tag. */
		if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0)
			return -1;
		if (t->kind == PK_INT && c->minor >= 12)
			n = (int64_t)((uint64_t)n >> 3);
		n = lt_abs_count(n);
		if (n < 0 || n > MAX_ITEMS)
			return -1;
		dictoffset += t->basicsize + n * t->itemsize;
		dictoffset = (dictoffset + 7) & ~(int64_t)7;
	}
	if (dictoffset <= 0 || dictoffset > MAX_BASICSIZE)
		return -1;
	return rd_u64(c, obj + (uint64_t)dictoffset, dict);
}

int pyobj_attrs_each(struct pyctx *c, uint64_t obj, const struct pytype *t, pydict_fn fn,
		     void *arg)
{
	uint64_t dict, values, keys;

	if (instance_attrs(c, obj, t, &dict, &values, &keys) < 0)
		return -1;
	if (dict)
		return pydict_each(c, dict, fn, arg);
	if (values)
		return items_each(c, keys, values, fn, arg);
	return 0;
}

int pyobj_attr_get(struct pyctx *c, uint64_t obj, const struct pytype *t, const char *name,
		   uint64_t *value)
{
	struct str_lookup q = { c, name, 0 };

	if (pyobj_attrs_each(c, obj, t, match_str_key, &q) != 1)
		return -1;
	*value = q.value;
	return 0;
}

int pyobj_instance_dict(struct pyctx *c, uint64_t obj, const struct pytype *t, uint64_t *dict)
{
	uint64_t values, keys;

	return instance_attrs(c, obj, t, dict, &values, &keys);
}

/* ---- types ---- */

static const struct {
	const char *tp_name;
	enum pykind kind;
} builtin_kinds[] = {
	{ "list", PK_LIST },
	{ "tuple", PK_TUPLE },
	{ "dict", PK_DICT },
	{ "frozendict", PK_DICT },    /* 3.15: a dict with its hash after it */
	{ "set", PK_SET },
	{ "frozenset", PK_SET },
	{ "type", PK_TYPE },
	{ "str", PK_STR },
	{ "int", PK_INT },
	{ "generator", PK_GEN },
	{ "coroutine", PK_GEN },
	{ "async_generator", PK_GEN },
	{ "frame", PK_FRAME },
	{ "collections.deque", PK_DEQUE },
	{ "collections.OrderedDict", PK_ODICT },
	{ "_io.BufferedReader", PK_BUFFERED },
	{ "_io.BufferedWriter", PK_BUFFERED },
	{ "_io.BufferedRandom", PK_BUFFERED },
	{ "_io.TextIOWrapper", PK_TEXTIO },
	{ "_io.IncrementalNewlineDecoder", PK_NLDECODER },
	{ "bytearray", PK_BYTEARRAY },
	{ "code", PK_CODE },
	{ "function", PK_FUNCTION },
	{ "cell", PK_CELL },
	{ "method", PK_METHOD },
	{ "module", PK_MODULE },
	{ "property", PK_PROPERTY },
	{ "classmethod", PK_CLASSMETHOD },
	{ "staticmethod", PK_STATICMETHOD },
	{ "method_descriptor", PK_DESCR },
	{ "member_descriptor", PK_DESCR },
	{ "getset_descriptor", PK_DESCR },
	{ "wrapper_descriptor", PK_DESCR },
	{ "classmethod_descriptor", PK_DESCR },
	{ "builtin_function_or_method", PK_CFUNC },
	{ "functools._lru_cache_wrapper", PK_LRU },
	{ "functools.partial", PK_PARTIAL },
	/* 3.8-3.11 name them so; 3.12+ weakref.ReferenceType and so on */
	{ "weakref", PK_WEAKREF },
	{ "weakproxy", PK_WEAKREF },
	{ "weakcallableproxy", PK_WEAKREF },
	{ "weakref.ReferenceType", PK_WEAKREF },
	{ "weakref.ProxyType", PK_WEAKREF },
	{ "weakref.CallableProxyType", PK_WEAKREF },
	{ "functools._lru_list_elem", PK_LRULINK },
	{ "_queue.SimpleQueue", PK_SIMPLEQUEUE },
	{ "float", PK_FLOAT },
	{ "bytes", PK_BYTES },
	{ "bool", PK_BOOL },
	{ "NoneType", PK_NONE },
};

static int read_type_fields(struct pyctx *c, uint64_t addr, int64_t *basicsize,
			    int64_t *itemsize, uint64_t *flags, uint64_t *base, uint64_t *tp_name)
{
	const struct py_layout *l = c->lay;

	if (rd_i64(c, addr + (uint64_t)l->tp_basicsize, basicsize) < 0 ||
	    rd_i64(c, addr + (uint64_t)l->tp_itemsize, itemsize) < 0 ||
	    rd_u64(c, addr + (uint64_t)l->tp_flags, flags) < 0 ||
	    rd_u64(c, addr + (uint64_t)l->tp_base, base) < 0 ||
	    rd_u64(c, addr + (uint64_t)l->tp_name, tp_name) < 0)
		return -1;
	if (*basicsize <= 0 || *basicsize > MAX_BASICSIZE || *itemsize < 0 || *itemsize > MAX_ITEMSIZE)
		return -1;
	return 0;
}

/* A type's metatype must be `type` or a subclass: its flags say so. */
static int looks_like_type(struct pyctx *c, uint64_t addr)
{
	uint64_t meta, mflags;

	if (addr & 7)
		return 0;
	if (rd_u64(c, addr + (uint64_t)c->lay->ob_type, &meta) < 0 || !meta || (meta & 7))
		return 0;
	if (rd_u64(c, meta + (uint64_t)c->lay->tp_flags, &mflags) < 0)
		return 0;
	return (mflags & PY_TPFLAGS_TYPE_SUBCLASS) != 0;
}

/* The index in names[] of the first type in addr's base chain named so
 * (with *bs its tp_basicsize when bs is not NULL), or -1. */
static int match_base(struct pyctx *c, uint64_t addr, const char *const *names, size_t n,
		      int64_t *bs_out)
{
	uint64_t cur = addr;

	for (int depth = 0; cur && depth < MAX_TYPE_DEPTH; depth++) {
		int64_t bs, is;
		uint64_t flags, base, namep;
		char name[64];

		if (read_type_fields(c, cur, &bs, &is, &flags, &base, &namep) < 0)
			return -1;
		/* A class statement can be called "list" too: trust a heap type's
		 * name only when it is module-qualified, as extension types'
		 * (_io.BufferedReader, collections.deque on 3.12+) are. */
		if (remote_read_cstr(c->mem, namep, name, sizeof(name)) > 0 &&
		    (!(flags & PY_TPFLAGS_HEAPTYPE) || strchr(name, '.'))) {
			for (size_t i = 0; i < n; i++) {
				if (strcmp(name, names[i]) == 0) {
					if (bs_out)
						*bs_out = bs;
					return (int)i;
				}
			}
		}
		cur = base;
	}
	return -1;
}

int pytype_match_base(struct pyctx *c, const struct pytype *t, const char *const *names,
		      size_t n)
{
	return match_base(c, t->addr, names, n, NULL);
}

int pytype_is_a(struct pyctx *c, const struct pytype *t, const char *const *names, size_t n)
{
	const struct py_layout *l = c->lay;
	uint64_t mro = 0, item;
	int64_t len;

	if (!t)
		return -1;
	/* its MRO: t itself first, then every base, as Python names them */
	if (rd_u64(c, t->addr + (uint64_t)l->tp_mro, &mro) < 0 || !mro ||
	    (len = pytuple_len(c, mro)) <= 0)
		len = 0;
	for (int64_t k = 0; k < (len ? len : 1) && k < MAX_TYPE_DEPTH; k++) {
		const struct pytype *b = t;

		if (len && (rd_u64(c, mro + (uint64_t)l->tuple_items + (uint64_t)k * 8, &item) < 0 ||
			    !(b = pytype_get(c, item))))
			continue;
		for (size_t i = 0; i < n; i++)
			if (strcmp(b->name, names[i]) == 0)
				return (int)i;
	}
	return -1;
}

int pytype_match_base_size(struct pyctx *c, const struct pytype *t, const char *const *names,
			   size_t n, int64_t *basicsize)
{
	return match_base(c, t->addr, names, n, basicsize);
}

static enum pykind kind_of(struct pyctx *c, uint64_t addr)
{
	const char *names[LT_ARRAY_SIZE(builtin_kinds)];
	int i;

	for (size_t k = 0; k < LT_ARRAY_SIZE(builtin_kinds); k++)
		names[k] = builtin_kinds[k].tp_name;
	i = match_base(c, addr, names, LT_ARRAY_SIZE(names), NULL);
	return i < 0 ? PK_OBJECT : builtin_kinds[i].kind;
}

/* Extension types with a C __sizeof__ of their own, by tp_name, for the
 * minor versions where that name and struct hold.  The C type's
 * tp_basicsize (the first of the chain named so) must be `bs`, or at least
 * `bs_min`: a type of another module that happens to have the name is left
 * to its basic size. */
static const struct {
	const char *tp_name;
	enum pysizer sizer;
	int minor_min, minor_max;
	int64_t bs, bs_min;
} sized_types[] = {
	{ "array.array", PZ_ARRAY, 8, 99, 64, 0 },
	{ "Struct", PZ_STRUCT, 8, 8, 56, 0 },               /* 3.8's tp_name */
	{ "_struct.Struct", PZ_STRUCT, 9, 14, 56, 0 },
	{ "_struct.Struct", PZ_STRUCT, 15, 99, 64, 0 },     /* + init_called */
	{ "xml.etree.ElementTree.Element", PZ_ELEMENT, 8, 99, 56, 0 },
	{ "numpy.ndarray", PZ_NDARRAY, 8, 99, 0, 80 },
	{ "mmap.mmap", PZ_MMAP, 8, 99, 0, 32 },
	{ "StgDict", PZ_STGDICT, 8, 12, 192, 0 },
	{ "_ctypes.CType_Type", PZ_CTYPE, 13, 99, 0, 1 },   /* checked against StgInfo below */
	{ "decimal.Decimal", PZ_DECIMAL, 8, 99, 104, 0 },
};

static enum pysizer sizer_of(struct pyctx *c, uint64_t addr)
{
	const char *names[LT_ARRAY_SIZE(sized_types)];
	size_t n = 0, idx[LT_ARRAY_SIZE(sized_types)];
	int64_t bs = 0;
	int i;

	for (size_t k = 0; k < LT_ARRAY_SIZE(sized_types); k++) {
		if (c->minor >= sized_types[k].minor_min && c->minor <= sized_types[k].minor_max) {
			idx[n] = k;
			names[n++] = sized_types[k].tp_name;
		}
	}
	i = match_base(c, addr, names, n, &bs);
	if (i < 0)
		return PZ_NONE;
	if (sized_types[idx[i]].bs ? bs != sized_types[idx[i]].bs : bs < sized_types[idx[i]].bs_min)
		return PZ_NONE;
	return sized_types[idx[i]].sizer;
}

static char *type_name(struct pyctx *c, uint64_t addr, uint64_t flags, uint64_t namep)
{
	const struct py_layout *l = c->lay;
	char tp_name[MAX_NAME], module[MAX_NAME], qual[MAX_NAME];
	const char *dot;

	if (remote_read_cstr(c->mem, namep, tp_name, sizeof(tp_name)) < 0)
		snprintf(tp_name, sizeof(tp_name), "?");
	if (flags & PY_TPFLAGS_HEAPTYPE) {
		uint64_t qualp, dict, modp;

		if (rd_u64(c, addr + (uint64_t)l->ht_qualname, &qualp) < 0 ||
		    pystr_read(c, qualp, qual, sizeof(qual)) < 0)
			snprintf(qual, sizeof(qual), "%s", tp_name);
		if (rd_u64(c, addr + (uint64_t)l->tp_dict, &dict) == 0 && dict &&
		    pydict_get_str(c, dict, "__module__", &modp) == 0 &&
		    pystr_read(c, modp, module, sizeof(module)) >= 0)
			return xasprintf("%s.%s", module, qual);
		/* No __module__ str: Python falls back like for static types. */
	}
	dot = strrchr(tp_name, '.');
	if (!dot)
		return xasprintf("builtins.%s", tp_name);
	return xstrdup(tp_name);
}

struct pytype *pytype_find(struct pyctx *c, uint64_t addr)
{
	return cache_get(c, addr);
}

struct pytype *pytype_get(struct pyctx *c, uint64_t addr)
{
	struct pytype *t = cache_get(c, addr);
	int64_t bs, is;
	uint64_t flags, base, namep;

	if (t)
		return t;
	if (!addr || !looks_like_type(c, addr) ||
	    read_type_fields(c, addr, &bs, &is, &flags, &base, &namep) < 0) {
		c->bad_types++;
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->addr = addr;
	t->basicsize = bs;
	t->itemsize = is;
	t->flags = flags;
	if (rd_i64(c, addr + (uint64_t)c->lay->tp_dictoffset, &t->dictoffset) < 0)
		t->dictoffset = 0;
	t->kind = kind_of(c, addr);
	t->sizer = (unsigned char)sizer_of(c, addr);
	t->nslots = -1;
	t->cscan = -1;
	t->factory_off = -1;
	t->aio = -1;
	t->name = type_name(c, addr, flags, namep);
	cache_put(c, t);
	return t;
}

/* ---- sizes (sys.getsizeof) ---- */

/* What sys.getsizeof adds to __sizeof__ for a GC object of type t. */
static int64_t preheader(const struct pyctx *c, const struct pytype *t)
{
	int64_t n = c->lay->gc_head_size;

	if (!(t->flags & PY_TPFLAGS_HAVE_GC))
		return 0;

	if (c->minor == 11 && (t->flags & PY_TPFLAGS_MANAGED_DICT))
		n += 16;
	else if (c->minor >= 12 && (t->flags & (PY_TPFLAGS_MANAGED_DICT | PY_TPFLAGS_MANAGED_WEAKREF)))
		n += 16;
	return n;
}

static int64_t size_dict(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t keys, values;
	struct dkeys k;
	int64_t res = t->basicsize;

	if (rd_u64(c, obj + (uint64_t)l->dict_keys, &keys) < 0 ||
	    rd_u64(c, obj + (uint64_t)l->dict_values, &values) < 0 ||
	    dkeys_read(c, keys, &k) < 0)
		return -1;
	/* Split table: the values array counts, even when 3.13+ embeds it in
	 * the owning object (whose own size then leaves it out). */
	if (values)
		res += (c->minor <= 10 ? usable_fraction(k.size) : k.nentries + k.usable) * 8;
	if (k.refcnt == 1)
		res += dkeys_size(c, &k);
	return res;
}

static int64_t size_set(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	int64_t mask;
	uint64_t table;
	int64_t res = t->basicsize;

	if (rd_i64(c, obj + (uint64_t)l->set_mask, &mask) < 0 ||
	    rd_u64(c, obj + (uint64_t)l->set_table, &table) < 0)
		return -1;
	if (mask < 0 || mask > ((int64_t)1 << MAX_DICT_LOG2))
		return -1;
	if (table != obj + (uint64_t)l->set_smalltable)
		res += (mask + 1) * l->setentry_size;
	return res;
}

static int64_t size_type(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	uint64_t flags, cached;
	int64_t res;

	if (rd_u64(c, obj + (uint64_t)c->lay->tp_flags, &flags) < 0)
		return -1;
	if (!(flags & PY_TPFLAGS_HEAPTYPE))
		return c->lay->type_size;
	res = c->lay->heaptype_size;
	if (rd_u64(c, obj + (uint64_t)c->lay->ht_cached_keys, &cached) < 0)
		return -1;
	if (cached) {
		int64_t ks = pydict_keys_size(c, cached);

		if (ks < 0)
			return -1;
		res += ks;
	}
	return res;
}

/* str.__sizeof__: by the header sizes, not the (sub)type's basicsize. */
static int64_t size_str(struct pyctx *c, uint64_t obj)
{
	const struct py_layout *l = c->lay;
	struct strinfo si;
	int64_t res, n;
	uint64_t ptr;
	int compact_ascii;

	if (str_info(c, obj, &si) < 0)
		return -1;
	compact_ascii = si.compact && si.ascii;
	if (compact_ascii)
		res = l->ascii_size + si.length + 1;
	else if (si.compact)
		res = l->compact_size + (si.length + 1) * si.kind;
	else
		res = l->unicode_size + (si.data ? (si.length + 1) * si.kind : 0);
	/* A separate UTF-8 copy counts too. */
	if (!compact_ascii) {
		if (rd_u64(c, obj + (uint64_t)l->compact_utf8, &ptr) < 0)
			return -1;
		if (ptr && ptr != si.data) {
			if (rd_i64(c, obj + (uint64_t)l->compact_utf8_length, &n) < 0 || n < 0 ||
			    n > MAX_ITEMS)
				return -1;
			res += n + 1;
		}
	}
	/* Up to 3.11, so does a wchar_t copy (unless it is the data itself). */
	if (c->minor <= 11) {
		uint32_t state;
		int ready;

		if (rd_u64(c, obj + (uint64_t)l->ascii_wstr, &ptr) < 0 ||
		    rd(c, obj + (uint64_t)l->ascii_state, &state, sizeof(state)) < 0)
			return -1;
		ready = (state >> 7) & 1;
		if (ptr && (!ready || ptr != si.data)) {
			if (compact_ascii)
				n = si.length;
			else if (rd_i64(c, obj + (uint64_t)l->compact_wstr_length, &n) < 0 || n < 0 ||
				 n > MAX_ITEMS)
				return -1;
			res += (n + 1) * 4;  /* sizeof(wchar_t) on Linux */
		}
	}
	return res;
}

/* int.__sizeof__: up to 3.11 offsetof(ob_digit) + digits * 4 whatever the
 * subtype; from 3.12 the subtype's basicsize + itemsize per digit. */
static int64_t size_int(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	int64_t n;

	if (c->minor <= 11) {
		if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0)
			return -1;
		n = lt_abs_count(n);
		if (c->minor == 11 && n == 0)
			n = 1;  /* 3.11 counts the digit a zero still allocates */
		return n < 0 || n > MAX_ITEMS ? -1 : l->long_digits + n * 4;
	}
	if (rd_i64(c, obj + (uint64_t)l->long_tag, &n) < 0)
		return -1;
	n = (int64_t)((uint64_t)n >> 3);
	if (n > MAX_ITEMS)
		return -1;
	return t->basicsize + (n > 1 ? n : 1) * t->itemsize;
}

/* Slots a 3.11+ frame needs for code: co_nlocalsplus + co_stacksize. */
static int64_t code_slots(struct pyctx *c, uint64_t code)
{
	int32_t nlocalsplus, stacksize;

	if (rd(c, code + (uint64_t)c->lay->code_nlocalsplus, &nlocalsplus, 4) < 0 ||
	    rd(c, code + (uint64_t)c->lay->code_stacksize, &stacksize, 4) < 0)
		return -1;
	if (nlocalsplus < 0 || stacksize < 0 || nlocalsplus > (1 << 20) || stacksize > (1 << 20))
		return -1;
	return (int64_t)nlocalsplus + stacksize;
}

int pyframe_code(struct pyctx *c, uint64_t iframe, uint64_t *code)
{
	const struct py_layout *l = c->lay;
	int32_t off = c->minor <= 12 ? l->iframe_code : l->iframe_executable;

	if (rd_u64(c, iframe + (uint64_t)off, code) < 0)
		return -1;
	*code &= ~(uint64_t)3;
	return *code ? 0 : -1;
}

int pygen_code(struct pyctx *c, uint64_t gen, uint64_t *code)
{
	const struct py_layout *l = c->lay;

	if (l->gen_code >= 0)  /* 3.8-3.11 */
		return rd_u64(c, gen + (uint64_t)l->gen_code, code) < 0 || !*code ? -1 : 0;
	return pyframe_code(c, gen + (uint64_t)l->gen_iframe, code);
}

int pygen_state(struct pyctx *c, uint64_t gen, enum gen_state *state)
{
	int8_t v;

	if (c->minor < 11 ||
	    remote_read_cached(c->mem, gen + (uint64_t)c->lay->gen_frame_state, &v, 1) < 0)
		return -1;
	if (c->minor <= 14) {
		/* 3.11-3.12: CREATED -2, SUSPENDED -1, EXECUTING 0, COMPLETED 1,
		 * CLEARED 4; 3.13-3.14 add SUSPENDED_YIELD_FROM: CREATED -3. */
		int created = c->minor <= 12 ? -2 : -3;

		*state = v == created ? GEN_CREATED : v < 0 ? GEN_SUSPENDED : v == 0 ? GEN_RUNNING :
			 GEN_DONE;
		return 0;
	}
	/* 3.15: CREATED 0, SUSPENDED 1, SUSPENDED_YIELD_FROM 2 and _LOCKED 3,
	 * EXECUTING 4, CLEARED 5. */
	*state = v == 0 ? GEN_CREATED : v <= 3 ? GEN_SUSPENDED : v == 4 ? GEN_RUNNING : GEN_DONE;
	return 0;
}

/* The value stack's top of a suspended frame: a 3.11+ interpreter frame
 * (3.11-3.13 keep its depth, 3.14+ a pointer past it, tagged items). */
static int iframe_stack_top(struct pyctx *c, uint64_t f, uint64_t *top)
{
	const struct py_layout *l = c->lay;
	uint64_t base = f + (uint64_t)l->iframe_localsplus, sp;
	int32_t depth;

	if (l->iframe_stacktop >= 0) {
		if (remote_read_cached(c->mem, f + (uint64_t)l->iframe_stacktop, &depth, 4) < 0 ||
		    depth <= 0 || depth > (1 << 20))
			return -1;
		sp = base + (uint64_t)depth * 8;
	} else if (l->iframe_stackpointer < 0 || rd_u64(c, f + (uint64_t)l->iframe_stackpointer, &sp) < 0 ||
		   sp <= base || (sp - base) / 8 > (1 << 20)) {
		return -1;
	}
	if (rd_u64(c, sp - 8, top) < 0)
		return -1;
	*top &= ~(uint64_t)3;
	/* 3.15 sends into a generator with a NULL pushed above it */
	if (!*top && c->minor >= 15 && sp - 8 > base && rd_u64(c, sp - 16, top) == 0)
		*top &= ~(uint64_t)3;
	return *top ? 0 : -1;
}

int pygen_awaiting(struct pyctx *c, uint64_t gen, uint64_t *obj)
{
	const struct py_layout *l = c->lay;
	int8_t state;

	*obj = 0;
	if (c->minor <= 10) {
		/* suspended in YIELD_FROM (the instruction after the last
		 * one run): the top of the frame object's value stack */
		uint64_t f, code, co_code, top;
		int64_t at;
		uint8_t op;
		int32_t depth;

		if (rd_u64(c, gen + (uint64_t)l->gen_frame_old, &f) < 0 || !f ||
		    (at = lineno_oldframe_offset(c, f)) < 0 ||
		    rd_u64(c, f + (uint64_t)l->frame_code, &code) < 0 ||
		    rd_u64(c, code + (uint64_t)l->code_code, &co_code) < 0 ||
		    remote_read_cached(c->mem, co_code + (uint64_t)l->bytes_sval + (uint64_t)at + 2, &op, 1) < 0 ||
		    op != 72 /* YIELD_FROM */)
			return 0;
		if (c->minor <= 9) {
			if (rd_u64(c, f + (uint64_t)l->frame_stacktop, &top) < 0 || !top)
				return 0;
		} else {
			if (remote_read_cached(c->mem, f + (uint64_t)l->frame_stackdepth, &depth, 4) < 0 ||
			    depth <= 0 || depth > (1 << 20) ||
			    rd_u64(c, f + (uint64_t)l->frame_valuestack, &top) < 0 || !top)
				return 0;
			top += (uint64_t)depth * 8;
		}
		return rd_u64(c, top - 8, obj) < 0 ? -1 : 0;
	}
	if (remote_read_cached(c->mem, gen + (uint64_t)l->gen_frame_state, &state, 1) < 0)
		return -1;
	if (c->minor <= 12) {
		/* suspended (-1), the next instruction a RESUME (3.11's
		 * quickened RESUME_QUICK, 3.12's INSTRUMENTED_RESUME) whose
		 * argument says after a yield from or an await */
		uint64_t prev;
		uint8_t next[2];

		if (state != -1 || rd_u64(c, gen + (uint64_t)l->gen_iframe + (uint64_t)l->iframe_prev_instr,
					  &prev) < 0 ||
		    remote_read_cached(c->mem, prev + 2, next, 2) < 0)
			return 0;
		if (!(next[0] == 151 || next[0] == (c->minor == 11 ? 150 : 240)) || next[1] < 2)
			return 0;
	} else if (c->minor <= 14 ? state != -1 : state != 2 && state != 3) {
		return 0;  /* not FRAME_SUSPENDED_YIELD_FROM (and 3.15's _LOCKED) */
	}
	if (iframe_stack_top(c, gen + (uint64_t)l->gen_iframe, obj) < 0)
		*obj = 0;
	return 0;
}

static int64_t size_gen(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t code;
	int64_t slots;

	if (c->minor <= 10)
		return t->basicsize;  /* the frame is a separate object */
	if (pygen_code(c, obj, &code) < 0)
		return -1;
	slots = code_slots(c, code);
	if (slots < 0)
		return -1;
	return l->gen_iframe + l->iframe_localsplus + slots * 8;
}

int64_t pytuple_len(struct pyctx *c, uint64_t tuple)
{
	int64_t n;

	if (!tuple)
		return 0;
	if (rd_i64(c, tuple + (uint64_t)c->lay->ob_size, &n) < 0 || n < 0 || n > MAX_ITEMS)
		return -1;
	return n;
}

static int64_t size_frame(struct pyctx *c, uint64_t obj)
{
	const struct py_layout *l = c->lay;
	uint64_t code;

	if (c->minor <= 10) {
		int32_t stacksize, nlocals;
		uint64_t cells, frees;
		int64_t ncells, nfrees;

		if (rd_u64(c, obj + (uint64_t)l->frame_code, &code) < 0 || !code ||
		    rd(c, code + (uint64_t)l->code_stacksize, &stacksize, 4) < 0 ||
		    rd(c, code + (uint64_t)l->code_nlocals, &nlocals, 4) < 0 ||
		    rd_u64(c, code + (uint64_t)l->code_cellvars, &cells) < 0 ||
		    rd_u64(c, code + (uint64_t)l->code_freevars, &frees) < 0)
			return -1;
		ncells = pytuple_len(c, cells);
		nfrees = pytuple_len(c, frees);
		if (ncells < 0 || nfrees < 0 || stacksize < 0 || nlocals < 0)
			return -1;
		/* "subtract one as it is already included in PyFrameObject" */
		return l->frame_size + (stacksize + nlocals + ncells + nfrees - 1) * 8;
	} else {
		uint64_t iframe;
		int64_t slots;

		if (rd_u64(c, obj + (uint64_t)l->frame_frame, &iframe) < 0 ||
		    pyframe_code(c, iframe, &code) < 0 || (slots = code_slots(c, code)) < 0)
			return -1;
		return l->frame_data + l->iframe_localsplus + slots * 8;
	}
}

static int64_t size_deque(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	int64_t left, n;
	const int64_t blocklen = 64;

	if (rd_i64(c, obj + (uint64_t)l->deque_leftindex, &left) < 0 ||
	    rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0 ||
	    left < 0 || left >= blocklen || n < 0 || n > MAX_ITEMS)
		return -1;
	return t->basicsize + (left + n + blocklen - 1) / blocklen * l->deque_block_size;
}

static int64_t size_odict(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	int64_t res = size_dict(c, obj, t), fast, used;

	if (res < 0 ||
	    rd_i64(c, obj + (uint64_t)l->odict_fast_nodes_size, &fast) < 0 ||
	    rd_i64(c, obj + (uint64_t)l->dict_used, &used) < 0 ||
	    fast < 0 || fast > MAX_ITEMS || used < 0 || used > MAX_ITEMS)
		return -1;
	return res + fast * 8 + used * l->odict_node_size;
}

static int64_t size_buffered(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t buf;
	int64_t n;

	if (rd_u64(c, obj + (uint64_t)l->buffered_buffer, &buf) < 0 ||
	    rd_i64(c, obj + (uint64_t)l->buffered_buffer_size, &n) < 0 || n < 0 || n > MAX_ITEMS)
		return -1;
	return t->basicsize + (buf ? n : 0);
}

/* code.__sizeof__ (code objects are not GC in any default build). */
static int64_t size_code(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t extra;
	int64_t res, n;

	if (c->minor >= 11) {
		if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0 || n < 0 || n > MAX_ITEMS)
			return -1;
		res = (t->basicsize + n * t->itemsize + 7) & ~(int64_t)7;
	} else {
		uint64_t cell2arg, cellvars, opcache;

		res = t->basicsize;
		if (rd_u64(c, obj + (uint64_t)l->code_cell2arg, &cell2arg) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->code_cellvars, &cellvars) < 0 ||
		    rd_u64(c, obj + (uint64_t)l->code_opcache, &opcache) < 0)
			return -1;
		if (cell2arg && cellvars) {
			if (rd_i64(c, cellvars + (uint64_t)l->ob_size, &n) < 0 || n < 0 || n > MAX_ITEMS)
				return -1;
			res += n * 8;
		}
		if (opcache) {
			uint64_t code;
			uint8_t cache_size;

			if (rd_u64(c, obj + (uint64_t)l->code_code, &code) < 0 || !code ||
			    rd_i64(c, code + (uint64_t)l->ob_size, &n) < 0 || n < 0 || n > MAX_ITEMS ||
			    rd_u8(c, obj + (uint64_t)l->code_opcache_size, &cache_size) < 0)
				return -1;
			res += n / 2 + cache_size * 32;  /* sizeof(_PyOpcache) */
		}
	}
	if (rd_u64(c, obj + (uint64_t)l->code_extra, &extra) < 0)
		return -1;
	if (extra) {
		if (rd_i64(c, extra, &n) < 0 || n < 1 || n > (1 << 16))  /* ce_size */
			return -1;
		res += 16 + (n - 1) * 8;
	}
	return res;
}

/* ---- extension types' own __sizeof__ (enum pysizer) ---- */

/* Offsets from the object's start on x86-64, with PyObject_HEAD 16 bytes
 * and PyObject_VAR_HEAD 24 (every non-free-threaded build, debug ones
 * too); the same in every CPython 3.8-3.15 (Modules/arraymodule.c,
 * _struct.c, _elementtree.c, mmapmodule.c, _ctypes/ctypes.h, _decimal.c
 * and mpdecimal.h, checked against their DWARF) and in numpy's public
 * PyArrayObject_fields. */
#define ARRAY_ITEM 24          /* arrayobject: char *ob_item */
#define ARRAY_ALLOCATED 32     /* Py_ssize_t allocated */
#define ARRAY_DESCR 40         /* const struct arraydescr *ob_descr */
#define ARRAYDESCR_ITEMSIZE 4  /* arraydescr: int itemsize, after char typecode[1 or 3] */
#define STRUCT_LEN 24          /* PyStructObject: Py_ssize_t s_len */
#define STRUCT_CODES 32        /* formatcode *s_codes, ended by a NULL fmtdef */
#define FORMATCODE_SIZE 32     /* {fmtdef, offset, size, repeat} */
#define ELEMENT_EXTRA 40       /* ElementObject: ElementObjectExtra *extra */
#define EXTRA_SIZE 64          /* {attrib, length, allocated, children, _children[4]} */
#define EXTRA_CHILDREN_INLINE 32
#define NDARRAY_FIELDS 16      /* data, nd, dimensions, strides, base, descr, flags */
#define NPY_ARRAY_OWNDATA 0x0004
#define NPY_ARRAY_C_CONTIGUOUS 0x0001
#define NPY_ARRAY_F_CONTIGUOUS 0x0002
#define NPY_MAXDIMS_ANY 64     /* 32 in numpy 1.x, 64 in 2.x */
#define MMAP_DATA 16           /* mmap_object: char *data, Py_ssize_t size */
#define STGDICT_EXTRA 144      /* sizeof(StgDictObject) - sizeof(PyDictObject), 3.8-3.12 */
#define STGDICT_LENGTH 64
#define STGDICT_ELEMENTS 88    /* ffi_type_pointer.elements */
#define STGDICT_FORMAT 168
#define STGDICT_NDIM 176
#define STGINFO_LENGTH 24      /* StgInfo (3.13+): after int initialized, size, align */
#define STGINFO_ELEMENTS 48
#define DEC_FLAGS 24           /* PyDecObject: hash, then mpd_t {uint8_t flags, */
#define DEC_ALLOC 56           /* exp, digits, len, alloc, mpd_uint_t *data} */
#define DEC_DATA 64
#define MPD_DATAFLAGS 0xe0     /* static, shared or const data: not its own */
#define MAX_BUFFER ((int64_t)1 << 48)
#define MAX_STRUCT_CODES (1 << 20)
#define MAX_FORMAT (1 << 20)
#define MAX_CTYPES_NDIM 4096

/* Length of the C string at addr, at most max, or -1 (unreadable, longer). */
static int64_t remote_strlen(struct pyctx *c, uint64_t addr, int64_t max)
{
	int64_t len = 0;

	while (len <= max) {
		char chunk[256];
		uint64_t a = addr + (uint64_t)len;
		size_t want = 4096 - (size_t)(a & 4095);

		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if (rd(c, a, chunk, want) < 0)
			return -1;
		for (size_t i = 0; i < want; i++)
			if (chunk[i] == '\0')
				return len + (int64_t)i <= max ? len + (int64_t)i : -1;
		len += (int64_t)want;
	}
	return -1;
}

/* array.array: its type's basicsize + allocated * descr->itemsize. */
static int64_t size_array(struct pyctx *c, uint64_t obj, const struct pytype *t,
			  struct pyowned *o)
{
	int64_t n, alloc;
	uint64_t item, descr;
	int32_t itemsize;

	if (rd_i64(c, obj + (uint64_t)c->lay->ob_size, &n) < 0 ||
	    rd_u64(c, obj + ARRAY_ITEM, &item) < 0 ||
	    rd_i64(c, obj + ARRAY_ALLOCATED, &alloc) < 0 ||
	    rd_u64(c, obj + ARRAY_DESCR, &descr) < 0 || !descr ||
	    rd(c, descr + ARRAYDESCR_ITEMSIZE, &itemsize, sizeof(itemsize)) < 0)
		return -1;
	if (n < 0 || alloc < n || alloc > MAX_ITEMS || (alloc && !item) ||
	    (itemsize != 1 && itemsize != 2 && itemsize != 4 && itemsize != 8))
		return -1;
	o->buffer = (uint64_t)(alloc * itemsize);
	return t->basicsize + alloc * itemsize;
}

/* _struct.Struct: its type's basicsize + a formatcode per code and one
 * for the terminator (there are at most s_len codes). */
static int64_t size_struct(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	int64_t len, k = 0;
	uint64_t codes;

	if (rd_i64(c, obj + STRUCT_LEN, &len) < 0 || rd_u64(c, obj + STRUCT_CODES, &codes) < 0 ||
	    len < 0 || !codes)
		return -1;
	if (len > MAX_STRUCT_CODES)
		len = MAX_STRUCT_CODES;
	for (;;) {
		uint64_t batch[4 * 32];  /* 32 formatcodes */
		int64_t m = len + 1 - k;

		if (m <= 0)
			return -1;  /* no terminator among s_len + 1 */
		if (m > 32)
			m = 32;
		if (rd(c, codes + (uint64_t)(k * FORMATCODE_SIZE), batch,
		       (size_t)m * FORMATCODE_SIZE) < 0)
			return -1;
		for (int64_t i = 0; i < m; i++, k++)
			if (!batch[4 * i])
				return t->basicsize + (k + 1) * FORMATCODE_SIZE;
	}
}

/* _elementtree's Element: its type's basicsize + its extra block + the
 * children array when it left the extra's inline one. */
static int64_t size_element(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	uint64_t extra;
	int64_t x[4];  /* attrib, length, allocated, children */

	if (rd_u64(c, obj + ELEMENT_EXTRA, &extra) < 0)
		return -1;
	if (!extra)
		return t->basicsize;
	if (rd(c, extra, x, sizeof(x)) < 0 || x[1] < 0 || x[2] < x[1] || x[2] > MAX_ITEMS)
		return -1;
	if ((uint64_t)x[3] == extra + EXTRA_CHILDREN_INLINE)
		return t->basicsize + EXTRA_SIZE;
	return x[3] ? t->basicsize + EXTRA_SIZE + x[2] * 8 : -1;
}

static int is_alignment(int64_t a)
{
	return a >= 1 && a <= 64 && (a & (a - 1)) == 0;
}

/* A numpy dtype's item size.  numpy 1.x: int elsize at 32, int alignment
 * at 36 (after char kind, type, byteorder, flags; int type_num); 2.x:
 * uint64 flags at 32, npy_intp elsize at 40, alignment at 48.  Which one
 * it is shows by itself: 2.x's flags use no high bits, so 1.x's alignment
 * reads 0 there; 1.x's fields pointer is no alignment at 48. */
static int64_t ndarray_elsize(struct pyctx *c, uint64_t descr)
{
	unsigned char b[24];
	int32_t el1, al1;
	int64_t el2, al2;

	if (!descr || rd(c, descr + 32, b, sizeof(b)) < 0)
		return -1;
	memcpy(&el1, b, 4);
	memcpy(&al1, b + 4, 4);
	memcpy(&el2, b + 8, 8);
	memcpy(&al2, b + 16, 8);
	if (is_alignment(al1) && el1 >= 0)
		return el1;
	if (is_alignment(al2) && el2 >= 0 && el2 <= MAX_BUFFER)
		return el2;
	return -1;
}

/* PyArrayObject_fields after the object header (numpy's public C API,
 * the same in 1.x and 2.x). */
struct ndarray_fields {
	uint64_t data;
	int32_t nd, pad;
	uint64_t dims, strides, base, descr;
	int32_t flags;
};

int pyndarray_refs(struct pyctx *c, uint64_t obj, struct pyndarray_refs *out)
{
	struct ndarray_fields f;
	char kind;
	int64_t n = 1, dims[NPY_MAXDIMS_ANY];

	memset(out, 0, sizeof(*out));
	if (rd(c, obj + NDARRAY_FIELDS, &f, sizeof(f)) < 0 || f.nd < 0 || f.nd > NPY_MAXDIMS_ANY)
		return -1;
	out->base = f.base;
	out->descr = f.descr;
	/* An array of objects (its dtype's kind 'O', at the same place in
	 * numpy 1.x and 2.x) that owns its data, contiguous in C or Fortran
	 * order: its items, one pointer each in memory order whatever the
	 * strides, are references numpy has no traverse for.  A view holds
	 * its base, not the items. */
	if (!f.descr || !f.data || !(f.flags & NPY_ARRAY_OWNDATA) ||
	    !(f.flags & (NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_F_CONTIGUOUS)) || rd(c, f.descr + 24, &kind, 1) < 0 || kind != 'O' ||
	    ndarray_elsize(c, f.descr) != 8 || (f.nd && rd(c, f.dims, dims, (size_t)f.nd * 8) < 0))
		return 0;
	for (int i = 0; i < f.nd; i++) {
		if (dims[i] < 0 || (dims[i] && n > MAX_ITEMS / dims[i]))
			return 0;
		n *= dims[i];
	}
	out->items = f.data;
	out->nitems = n;
	return 0;
}

/* numpy's array_sizeof: its type's basicsize + dimensions and strides
 * (npy_intp each) + the data's nbytes when the array owns it. */
static int64_t size_ndarray(struct pyctx *c, uint64_t obj, const struct pytype *t,
			    struct pyowned *o)
{
	struct ndarray_fields f;
	int64_t nbytes, dims[NPY_MAXDIMS_ANY];

	if (rd(c, obj + NDARRAY_FIELDS, &f, sizeof(f)) < 0 || f.nd < 0 || f.nd > NPY_MAXDIMS_ANY ||
	    (f.nd && (!f.dims || !f.strides)))
		return -1;
	if (!(f.flags & NPY_ARRAY_OWNDATA))
		return t->basicsize + f.nd * 16;
	if ((nbytes = ndarray_elsize(c, f.descr)) < 0 ||
	    (f.nd && rd(c, f.dims, dims, (size_t)f.nd * 8) < 0))
		return -1;
	for (int i = 0; i < f.nd; i++) {
		if (dims[i] < 0 || dims[i] > MAX_BUFFER)
			return -1;
		if (dims[i] && nbytes > MAX_BUFFER / dims[i])
			return -1;
		nbytes *= dims[i];
	}
	o->buffer = (uint64_t)nbytes;
	return t->basicsize + f.nd * 16 + nbytes;
}

/* mmap.mmap: __sizeof__ is object's (plus a tag name on Windows only);
 * the mapping, while open, is its size. */
static int size_mmap(struct pyctx *c, uint64_t obj, struct pyowned *o)
{
	int64_t f[2];  /* data, size */

	if (rd(c, obj + MMAP_DATA, f, sizeof(f)) < 0 || f[1] < 0 || f[1] > MAX_BUFFER)
		return -1;
	o->mapped = f[0] ? (uint64_t)f[1] : 0;
	return 0;
}

/* What StgDict's and StgInfo's __sizeof__ add: the format string, the
 * shape and the ffi elements array (length + 1 pointers). */
static int64_t ctypes_extra(struct pyctx *c, uint64_t at, int32_t length_off,
			    int32_t elements_off, int32_t format_off, int32_t ndim_off)
{
	int64_t length, res = 0;
	uint64_t elements, format;
	int32_t ndim;

	if (rd_i64(c, at + (uint64_t)length_off, &length) < 0 ||
	    rd_u64(c, at + (uint64_t)elements_off, &elements) < 0 ||
	    rd_u64(c, at + (uint64_t)format_off, &format) < 0 ||
	    rd(c, at + (uint64_t)ndim_off, &ndim, sizeof(ndim)) < 0 ||
	    length < 0 || length > MAX_ITEMS || ndim < 0 || ndim > MAX_CTYPES_NDIM)
		return -1;
	if (format) {
		int64_t n = remote_strlen(c, format, MAX_FORMAT);

		if (n < 0)
			return -1;
		res += n + 1;
	}
	res += (int64_t)ndim * 8;
	if (elements)
		res += (length + 1) * 8;
	return res;
}

/* ctypes' StgDict (3.8-3.12): _PyDict_SizeOf (its basicsize already
 * holds the StgDictObject) + the StgDictObject's size once more (as
 * PyCStgDict_sizeof counts it) + what it points to. */
static int64_t size_stgdict(struct pyctx *c, uint64_t obj, int64_t dict_size)
{
	int64_t x = ctypes_extra(c, obj, STGDICT_LENGTH, STGDICT_ELEMENTS, STGDICT_FORMAT,
				 STGDICT_NDIM);

	return x < 0 ? -1 : dict_size + STGDICT_EXTRA + x;
}

/* A class whose metaclass derives from ctypes' CType_Type (3.13+):
 * CType_Type.__sizeof__ is the metaclass's basicsize (+ items) and what
 * the StgInfo points to; the StgInfo is the metaclass's type data, after
 * the PyHeapTypeObject aligned to 16. */
static int64_t size_ctype(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	int64_t info_off = (c->lay->heaptype_size + 15) & ~(int64_t)15;
	int32_t format_off = c->minor == 13 ? 136 : 144, ndim_off = format_off + 8;
	int64_t n, size, x;
	int32_t initialized;

	if (c->lay->heaptype_size <= 0 || t->basicsize < info_off + ndim_off + 4 ||
	    rd_i64(c, obj + (uint64_t)c->lay->ob_size, &n) < 0 || (n = lt_abs_count(n)) < 0 ||
	    n > MAX_ITEMS || rd(c, obj + (uint64_t)info_off, &initialized, 4) < 0 ||
	    (initialized != 0 && initialized != 1))
		return -1;
	size = t->basicsize + n * t->itemsize;
	if (!initialized)
		return size;  /* an abstract class: no StgInfo */
	x = ctypes_extra(c, obj + (uint64_t)info_off, STGINFO_LENGTH, STGINFO_ELEMENTS, format_off,
			 ndim_off);
	return x < 0 ? -1 : size + x;
}

/* decimal.Decimal: its type's basicsize + the coefficient's words when
 * they outgrew the inline ones (mpd_isdynamic_data). */
static int64_t size_decimal(struct pyctx *c, uint64_t obj, const struct pytype *t,
			    struct pyowned *o)
{
	uint8_t flags;
	int64_t alloc;
	uint64_t data;

	if (rd_u8(c, obj + DEC_FLAGS, &flags) < 0 || rd_i64(c, obj + DEC_ALLOC, &alloc) < 0 ||
	    rd_u64(c, obj + DEC_DATA, &data) < 0 || alloc < 1 || alloc > MAX_ITEMS || !data)
		return -1;
	if (flags & MPD_DATAFLAGS)
		return t->basicsize;
	o->buffer = (uint64_t)alloc * 8;
	return t->basicsize + alloc * 8;
}

/* The size by t->sizer, given `size` by the kind; -1 when the fields do
 * not validate (the caller keeps `size` then, and owns nothing). */
static int64_t size_sized(struct pyctx *c, uint64_t obj, const struct pytype *t, int64_t size,
			  struct pyowned *o)
{
	if (c->lay->ob_type != 8 || c->lay->ob_size != 16)
		return -1;  /* not the object header the offsets assume */
	switch ((enum pysizer)t->sizer) {
	case PZ_ARRAY:
		return size_array(c, obj, t, o);
	case PZ_STRUCT:
		return size_struct(c, obj, t);
	case PZ_ELEMENT:
		return size_element(c, obj, t);
	case PZ_NDARRAY:
		return size_ndarray(c, obj, t, o);
	case PZ_MMAP:
		return size_mmap(c, obj, o) < 0 ? -1 : size;
	case PZ_STGDICT:
		return t->kind == PK_DICT ? size_stgdict(c, obj, size) : -1;
	case PZ_CTYPE:
		return t->kind == PK_TYPE ? size_ctype(c, obj, t) : -1;
	case PZ_DECIMAL:
		return size_decimal(c, obj, t, o);
	case PZ_NONE:
	default:
		return -1;
	}
}

static int64_t sizeof_owned(struct pyctx *c, uint64_t obj, const struct pytype *t,
			    struct pyowned *o)
{
	const struct py_layout *l = c->lay;
	int64_t size, n;

	o->buffer = o->mapped = 0;
	switch (t->kind) {
	case PK_BYTEARRAY:
		if (rd_i64(c, obj + (uint64_t)l->bytearray_alloc, &n) < 0 || n < 0 || n > MAX_ITEMS)
			return -1;
		size = t->basicsize + n;
		/* 3.15 keeps the buffer in a bytes object, whose header
		 * (and trailing NUL) __sizeof__ counts too. */
		if (c->minor >= 15 && n > 0)
			size += l->bytes_sval + 1;
		break;
	case PK_CODE:
		size = size_code(c, obj, t);
		break;
	case PK_LIST:
		if (rd_i64(c, obj + (uint64_t)l->list_allocated, &n) < 0 || n < 0 || n > MAX_ITEMS)
			return -1;
		size = t->basicsize + n * 8;
		break;
	case PK_DICT:
		size = size_dict(c, obj, t);
		break;
	case PK_SET:
		size = size_set(c, obj, t);
		break;
	case PK_TYPE:
		size = size_type(c, obj, t);
		break;
	case PK_STR:
		size = size_str(c, obj);
		break;
	case PK_INT:
		size = size_int(c, obj, t);
		break;
	case PK_GEN:
		size = size_gen(c, obj, t);
		break;
	case PK_FRAME:
		size = size_frame(c, obj);
		break;
	case PK_DEQUE:
		size = size_deque(c, obj, t);
		break;
	case PK_ODICT:
		size = size_odict(c, obj, t);
		break;
	case PK_BUFFERED:
		size = size_buffered(c, obj, t);
		break;
	case PK_TUPLE:
	case PK_OBJECT:
	default:
		/* object.__sizeof__: basicsize + |ob_size| * itemsize */
		size = t->basicsize;
		if (t->itemsize) {
			if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0)
				return -1;
			n = lt_abs_count(n);   /* -1 for INT64_MIN, which has no |n| */
			if (n < 0 || n > MAX_ITEMS)
				return -1;
			size += n * t->itemsize;
		}
		break;
	}
	if (size < 0)
		return -1;
	if (t->kind == PK_BYTEARRAY || t->kind == PK_BUFFERED)
		o->buffer = (uint64_t)(size - t->basicsize);  /* its bytes' separate block */
	if (t->sizer != PZ_NONE) {
		struct pyowned own = { 0, 0 };
		int64_t sized = size_sized(c, obj, t, size, &own);

		if (sized >= 0) {
			size = sized;
			*o = own;
		}
	}
	if (t->kind == PK_TYPE) {
		uint64_t flags;

		/* A static type object: no header before 3.11 (tp_is_gc says no)
		 * and from 3.13 (an exception for them); 3.11 and 3.12 add it. */
		if (rd_u64(c, obj + (uint64_t)l->tp_flags, &flags) < 0)
			return -1;
		if (!(flags & PY_TPFLAGS_HEAPTYPE))
			return size + (c->minor == 11 || c->minor == 12 ? l->gc_head_size : 0);
	}
	return size + preheader(c, t);
}

int64_t pyobj_sizeof(struct pyctx *c, uint64_t obj, const struct pytype *t)
{
	struct pyowned o;

	return sizeof_owned(c, obj, t, &o);
}

int pyobj_owned(struct pyctx *c, uint64_t obj, const struct pytype *t, struct pyowned *o)
{
	o->buffer = o->mapped = 0;
	if (t->kind != PK_BYTEARRAY && t->kind != PK_BUFFERED && t->sizer != PZ_ARRAY &&
	    t->sizer != PZ_NDARRAY && t->sizer != PZ_MMAP && t->sizer != PZ_DECIMAL)
		return 0;
	if (sizeof_owned(c, obj, t, o) < 0) {
		o->buffer = o->mapped = 0;
		return -1;
	}
	return 0;
}

int pytype_mro_find(struct pyctx *c, const struct pytype *t, const char *name, uint64_t *value)
{
	const struct py_layout *l = c->lay;
	uint64_t mro, item, dict;
	int64_t n;

	/* A static type's MRO holds static types only: nothing defined in
	 * Python there. */
	if (!(t->flags & PY_TPFLAGS_HEAPTYPE) ||
	    rd_u64(c, t->addr + (uint64_t)l->tp_mro, &mro) < 0 || !mro ||
	    rd_i64(c, mro + (uint64_t)l->ob_size, &n) < 0 || n < 0 || n > MAX_TYPE_DEPTH * 64)
		return 0;
	for (int64_t i = 0; i < n; i++) {
		if (rd_u64(c, mro + (uint64_t)l->tuple_items + (uint64_t)(8 * i), &item) < 0)
			return 0;
		/* 3.12+ keeps static builtin types' dicts elsewhere: skip them */
		if (rd_u64(c, item + (uint64_t)l->tp_dict, &dict) == 0 && dict &&
		    pydict_get_str(c, dict, name, value) == 0)
			return 1;
	}
	return 0;
}

int pytype_python_sizeof(struct pyctx *c, struct pytype *t)
{
	const struct py_layout *l = c->lay;
	uint64_t v, vt, flags, namep;
	char name[16];

	if (t->py_sizeof)
		return t->py_sizeof > 0;
	t->py_sizeof = -1;
	/* The first __sizeof__ is a Python function: of the static type
	 * "function".  Read without the type cache, which the census may be
	 * iterating. */
	if (pytype_mro_find(c, t, "__sizeof__", &v) &&
	    rd_u64(c, v + (uint64_t)l->ob_type, &vt) == 0 &&
	    rd_u64(c, vt + (uint64_t)l->tp_flags, &flags) == 0 && !(flags & PY_TPFLAGS_HEAPTYPE) &&
	    rd_u64(c, vt + (uint64_t)l->tp_name, &namep) == 0 &&
	    remote_read_cstr(c->mem, namep, name, sizeof(name)) > 0 && strcmp(name, "function") == 0)
		t->py_sizeof = 1;
	return t->py_sizeof > 0;
}

/* ---- short reprs ---- */

struct sbuf {
	char *p;
	size_t len, max;
};

static void sb_put(struct sbuf *b, const char *fmt, ...) LT_PRINTF(2, 3);
static void sb_put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->max)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->max - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n;
	if (b->len >= b->max)
		b->len = b->max - 1;
}

int pylong_read(struct pyctx *c, uint64_t obj, long long *out)
{
	const struct py_layout *l = c->lay;
	int64_t size, ndigits;
	uint32_t d[2] = { 0, 0 };
	int negative;
	uint64_t digits_at;

	if (c->minor <= 11) {
		if (rd_i64(c, obj + (uint64_t)l->ob_size, &size) < 0)
			return -1;
		negative = size < 0;
		ndigits = lt_abs_count(size);
		digits_at = obj + (uint64_t)l->long_digits;
	} else {
		if (rd_i64(c, obj + (uint64_t)l->long_tag, &size) < 0)
			return -1;
		negative = (size & 3) == 2;
		ndigits = (int64_t)((uint64_t)size >> 3);
		digits_at = obj + (uint64_t)l->long_tag + 8;
	}
	if (ndigits < 0 || ndigits > 2)
		return -1;
	if (ndigits && rd(c, digits_at, d, (size_t)ndigits * 4) < 0)
		return -1;
	*out = (long long)d[0] | (long long)d[1] << 30;
	if (negative)
		*out = -*out;
	return 0;
}

static void repr_into(struct pyctx *c, uint64_t obj, const struct pytype *t, struct sbuf *b,
		      int depth)
{
	const struct py_layout *l = c->lay;
	long long v;
	int64_t n;

	switch (t->kind) {
	case PK_STR: {
		char text[64];
		long len = pystr_read(c, obj, text, sizeof(text));

		if (len < 0)
			break;
		sb_put(b, "'");
		for (long i = 0; i < len; i++)
			sb_put(b, (unsigned char)text[i] < 0x20 ? "\\x%02x" : "%c", (unsigned char)text[i]);
		sb_put(b, len >= (long)sizeof(text) - 1 ? "...'" : "'");
		return;
	}
	case PK_INT:
		if (pylong_read(c, obj, &v) == 0)
			sb_put(b, "%lld", v);
		else
			sb_put(b, "<big int>");
		return;
	case PK_BOOL:
		sb_put(b, pylong_read(c, obj, &v) == 0 && v ? "True" : "False");
		return;
	case PK_NONE:
		sb_put(b, "None");
		return;
	case PK_FLOAT: {
		double d;

		if (rd(c, obj + 16, &d, sizeof(d)) == 0) {  /* ob_fval follows the header */
			sb_put(b, "%g", d);
			return;
		}
		break;
	}
	case PK_BYTES:
		if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) == 0 && n >= 0) {
			sb_put(b, "<bytes, %lld long>", (long long)n);
			return;
		}
		break;
	case PK_LIST:
	case PK_TUPLE: {
		uint64_t items;
		int list = t->kind == PK_LIST;

		if (rd_i64(c, obj + (uint64_t)l->ob_size, &n) < 0 || n < 0 || n > MAX_ITEMS)
			break;
		if (list) {
			if (rd_u64(c, obj + (uint64_t)l->list_items, &items) < 0)
				break;
		} else {
			items = obj + (uint64_t)l->tuple_items;
		}
		sb_put(b, list ? "[" : "(");
		for (int64_t i = 0; i < n && i < 3 && depth < 1; i++) {
			uint64_t item, type;
			struct pytype *it;

			if (rd_u64(c, items + 8 * (uint64_t)i, &item) < 0 || !item ||
			    rd_u64(c, item + (uint64_t)l->ob_type, &type) < 0 ||
			    !(it = pytype_get(c, type)))
				break;
			sb_put(b, i ? ", " : "");
			repr_into(c, item, it, b, depth + 1);
		}
		sb_put(b, "%s%s", n > 3 || (n && depth >= 1) ? ", ..." : "", list ? "]" : ")");
		sb_put(b, " len %lld", (long long)n);
		return;
	}
	case PK_DICT:
	case PK_ODICT:
		if (rd_i64(c, obj + (uint64_t)l->dict_used, &n) == 0 && n >= 0) {
			sb_put(b, "{...} %lld item%s", (long long)n, n == 1 ? "" : "s");
			return;
		}
		break;
	default:
		break;
	}
	sb_put(b, "<%s object>", t->name);
}

void pyobj_repr(struct pyctx *c, uint64_t obj, const struct pytype *t, char *buf, size_t max)
{
	struct sbuf b = { buf, 0, max };

	if (!max)
		return;
	buf[0] = '\0';
	repr_into(c, obj, t, &b, 0);
}

int pytuple_str(struct pyctx *c, uint64_t tuple, int64_t i, char *buf, size_t n)
{
	uint64_t item;

	if (i < 0 || i >= pytuple_len(c, tuple) ||
	    rd_u64(c, tuple + (uint64_t)c->lay->tuple_items + (uint64_t)(8 * i), &item) < 0)
		return -1;
	return pystr_read(c, item, buf, n) < 0 ? -1 : 0;
}

/* Name of local variable i of code (cells and free variables included). */
void pycode_local_name(struct pyctx *c, uint64_t code, int64_t i, char *buf, size_t n)
{
	const struct py_layout *l = c->lay;

	snprintf(buf, n, "(stack)");
	if (c->minor >= 11) {
		pytuple_str(c, pyobj_field(c, code, l->code_localsplusnames), i, buf, n);
	} else {
		int32_t nlocals = 0;
		int64_t ncells;

		rd(c, code + (uint64_t)l->code_nlocals, &nlocals, 4);
		if (i < nlocals) {
			pytuple_str(c, pyobj_field(c, code, l->code_varnames), i, buf, n);
			return;
		}
		i -= nlocals;
		ncells = pytuple_len(c, pyobj_field(c, code, l->code_cellvars));
		if (ncells >= 0 && i < ncells)
			pytuple_str(c, pyobj_field(c, code, l->code_cellvars), i, buf, n);
		else if (ncells >= 0)
			pytuple_str(c, pyobj_field(c, code, l->code_freevars), i - ncells, buf, n);
	}
}

void pycode_describe(struct pyctx *c, uint64_t code, char *name, size_t nmax, char *file,
		     size_t fmax)
{
	const struct py_layout *l = c->lay;

	name[0] = file[0] = '\0';
	if (c->minor < 11 || pystr_read(c, pyobj_field(c, code, l->code_qualname), name, nmax) < 0)
		pystr_read(c, pyobj_field(c, code, l->code_name), name, nmax);
	pystr_read(c, pyobj_field(c, code, l->code_filename), file, fmax);
}

uint64_t pyobj_field(struct pyctx *c, uint64_t obj, int32_t off)
{
	uint64_t v = 0;

	if (off < 0 || !obj || rd_u64(c, obj + (uint64_t)off, &v) < 0)
		return 0;
	return v;
}

struct pytype *pyobj_type(struct pyctx *c, uint64_t obj)
{
	uint64_t type;

	if (!obj || rd_u64(c, obj + (uint64_t)c->lay->ob_type, &type) < 0)
		return NULL;
	return pytype_get(c, type);
}

void pyobj_slot_name(struct pyctx *c, uint64_t type, int64_t off, char *buf, size_t n)
{
	const struct py_layout *l = c->lay;

	/* A __slots__ member always has its name; a word the conservative
	 * scan found may have none. */
	snprintf(buf, n, "(C field +0x%llx)", (unsigned long long)off);
	for (int depth = 0; type && depth < 32; depth++) {
		uint64_t members = pyobj_field(c, type, l->tp_members);

		for (int i = 0; members && i < 256; i++) {
			uint64_t m = members + (uint64_t)(i * l->member_size), name;
			int64_t moff;

			if (remote_read_u64(c->mem, m, &name) < 0 || !name ||
			    remote_read(c->mem, m + (uint64_t)l->member_offset, &moff, 8) < 0)
				break;
			if (moff == off) {
				remote_read_cstr(c->mem, name, buf, n);
				return;
			}
		}
		type = pyobj_field(c, type, l->tp_base);
	}
}
