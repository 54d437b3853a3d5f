/* unit_sizes.c - sys.getsizeof formulas and bounds, on fixture objects.
 *
 * The objects are built in this process's own memory with a hand-written
 * 3.12 layout and read back through the remote layer (process_vm_readv on
 * ourselves), so the readers see exactly what they would in a target.
 * Expected values are CPython's formulas written out by hand. */
#include "config.h"
#include "pyobj.h"
#include "remote.h"
#include "tap.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static struct py_layout lay312(void)
{
	struct py_layout l;

	memset(&l, 0xff, sizeof(l));  /* every field absent (-1) ... */
	l.source = LAYOUT_DWARF;      /* ... but those a 3.12 build has */
	l.minor = 12;
	l.gc_head_size = 16;
	l.ob_refcnt = 0;
	l.ob_type = 8;
	l.ob_size = 16;
	l.list_items = 24;
	l.list_allocated = 32;
	l.dict_used = 16;
	l.dict_keys = 32;
	l.dict_values = 40;
	l.dk_refcnt = 0;
	l.dk_log2_size = 8;
	l.dk_log2_index_bytes = 9;
	l.dk_kind = 10;
	l.dk_usable = 16;
	l.dk_nentries = 24;
	l.dk_indices = 32;
	l.dk_struct_size = 32;
	l.dk_entry_size = 24;
	l.dk_uentry_size = 16;
	l.dv_values = 0;
	l.set_mask = 32;
	l.set_table = 40;
	l.set_smalltable = 64;
	l.setentry_size = 16;
	l.ascii_length = 16;
	l.ascii_state = 32;
	l.ascii_size = 40;
	l.compact_utf8_length = 40;
	l.compact_utf8 = 48;
	l.compact_size = 56;
	l.unicode_size = 64;
	l.long_tag = 16;
	return l;
}

static struct pytype type_of(enum pykind kind, int64_t basicsize, int64_t itemsize, uint64_t flags)
{
	struct pytype t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.basicsize = basicsize;
	t.itemsize = itemsize;
	t.flags = flags | PY_TPFLAGS_HAVE_GC;
	return t;
}

#define ADDR(p) ((uint64_t)(uintptr_t)(p))

int main(void)
{
	struct py_layout l = lay312();
	struct remote *mem = remote_open(getpid());
	struct pyctx c;
	uint64_t obj[32], keys[64], str[16];
	struct pytype t;

	pyctx_init(&c, mem, &l);

	/* list: basicsize + allocated * 8, + GC header */
	memset(obj, 0, sizeof(obj));
	obj[2] = 3;    /* ob_size */
	obj[4] = 10;   /* allocated */
	t = type_of(PK_LIST, 40, 0, 0);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 40 + 10 * 8 + 16, "list: allocated slots count");
	obj[4] = (uint64_t)-1;
	remote_cache_drop(mem);
	TAP_OK(pyobj_sizeof(&c, ADDR(obj), &t) == -1, "list: negative allocated is refused");

	/* dict with its own (refcnt 1) general keys of 8 slots */
	memset(obj, 0, sizeof(obj));
	memset(keys, 0, sizeof(keys));
	obj[4] = ADDR(keys);
	keys[0] = 1;                               /* dk_refcnt */
	((unsigned char *)keys)[8] = 3;            /* log2_size: 8 slots */
	((unsigned char *)keys)[9] = 3;            /* log2_index_bytes: 8 bytes */
	((unsigned char *)keys)[10] = 0;           /* general */
	keys[2] = 5;                               /* usable */
	keys[3] = 0;                               /* nentries */
	t = type_of(PK_DICT, 48, 0, 0);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 48 + (32 + 8 + (16 / 3) * 24) + 16,
		 "dict: owned general keys counted (USABLE_FRACTION entries)");
	((unsigned char *)keys)[10] = 1;           /* unicode keys: 16-byte entries */
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 48 + (32 + 8 + 5 * 16) + 16,
		 "dict: unicode keys use the smaller entry");
	keys[0] = 7;                               /* shared keys: not counted */
	obj[5] = ADDR(keys + 40);                  /* split values */
	keys[3] = 2;                               /* nentries */
	keys[2] = 3;                               /* usable */
	((unsigned char *)keys)[10] = 2;
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 48 + (2 + 3) * 8 + 16,
		 "dict: split table counts its values, not the shared keys");
	((unsigned char *)keys)[8] = 60;           /* absurd table size */
	remote_cache_drop(mem);
	TAP_OK(pyobj_sizeof(&c, ADDR(obj), &t) == -1, "dict: absurd keys size is refused");
	obj[4] = 0x10;                             /* unmapped keys pointer */
	remote_cache_drop(mem);
	TAP_OK(pyobj_sizeof(&c, ADDR(obj), &t) == -1, "dict: unmapped keys pointer is refused");

	/* set: small table is inline, a larger one counts (mask + 1) entries */
	memset(obj, 0, sizeof(obj));
	obj[4] = 7;                                /* mask */
	obj[5] = ADDR(obj) + 64;                   /* table == smalltable */
	t = type_of(PK_SET, 200, 0, 0);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 200 + 16, "set: small table is inline");
	obj[4] = 31;
	obj[5] = ADDR(keys);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 200 + 32 * 16 + 16, "set: separate table counts");

	/* str subclass (legacy form): PyUnicodeObject + (len + 1) * kind */
	memset(str, 0, sizeof(str));
	str[2] = 5;                                               /* length */
	str[4] = (1u << 2) | (1u << 6);                           /* kind 1, ascii, not compact */
	str[7] = ADDR(keys);                                      /* data.any */
	t = type_of(PK_STR, 80, 0, 0);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(str), &t), 64 + 6 + 16, "str subclass: legacy form");
	str[4] = (3u << 2);                                       /* kind 3 does not exist */
	remote_cache_drop(mem);
	TAP_OK(pyobj_sizeof(&c, ADDR(str), &t) == -1, "str: impossible kind is refused");

	/* int subclass on 3.12: basicsize + itemsize * max(digits, 1) */
	memset(obj, 0, sizeof(obj));
	obj[2] = 3u << 3;                                         /* lv_tag: 3 digits */
	t = type_of(PK_INT, 24, 4, PY_TPFLAGS_MANAGED_DICT);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 24 + 12 + 16 + 16,
		 "int subclass: digits, GC header and managed-dict pre-header");
	obj[2] = 0;
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 24 + 4 + 32, "int subclass: zero has one digit");

	/* plain object: basicsize + |ob_size| * itemsize; bounded */
	memset(obj, 0, sizeof(obj));
	obj[2] = (uint64_t)-3;
	t = type_of(PK_OBJECT, 24, 8, 0);
	remote_cache_drop(mem);
	TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 24 + 3 * 8 + 16, "object: |ob_size| items");
	obj[2] = (uint64_t)1 << 50;
	remote_cache_drop(mem);
	TAP_OK(pyobj_sizeof(&c, ADDR(obj), &t) == -1, "object: absurd ob_size is refused");

	/* numpy.ndarray: basicsize + nd * 16 + the owned data's nbytes; the
	 * dtype's elsize where numpy 1.x (int at 32, alignment at 36) and 2.x
	 * (npy_intp at 40, alignment at 48) keep it */
	{
		uint64_t descr[8], dims[2] = { 3, 5 };
		struct pyowned own;
		int32_t el = 8, al = 8;
		int64_t el2 = 16, al2 = 8;

		memset(obj, 0, sizeof(obj));
		memset(descr, 0, sizeof(descr));
		memcpy((char *)descr + 32, &el, 4);        /* 1.x */
		memcpy((char *)descr + 36, &al, 4);
		obj[2] = ADDR(keys);                       /* data */
		obj[3] = 2;                                /* nd */
		obj[4] = ADDR(dims);
		obj[5] = ADDR(dims);                       /* strides: any readable */
		obj[7] = ADDR(descr);
		obj[8] = 0x0004 | 0x0001;                  /* OWNDATA | C_CONTIGUOUS */
		t = type_of(PK_OBJECT, 96, 0, 0);
		t.flags &= ~PY_TPFLAGS_HAVE_GC;            /* ndarray is not GC */
		t.sizer = PZ_NDARRAY;
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 96 + 2 * 16 + 15 * 8,
			 "ndarray (numpy 1.x dtype): dims, strides and owned data");
		TAP_OK(pyobj_owned(&c, ADDR(obj), &t, &own) == 0 && own.buffer == 15 * 8 &&
		       own.mapped == 0, "ndarray: its owned data is a buffer");
		memset(descr, 0, sizeof(descr));
		descr[4] = 0x01;                           /* 2.x: uint64 flags */
		memcpy((char *)descr + 40, &el2, 8);
		memcpy((char *)descr + 48, &al2, 8);
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 96 + 2 * 16 + 15 * 16,
			 "ndarray (numpy 2.x dtype): elsize read where 2.x keeps it");
		obj[8] = 0x0001;                           /* a view */
		remote_cache_drop(mem);
		TAP_OK(pyobj_sizeof(&c, ADDR(obj), &t) == 96 + 32 &&
		       pyobj_owned(&c, ADDR(obj), &t, &own) == 0 && own.buffer == 0,
		       "ndarray: a view owns no data");
		obj[8] = 0x0004;
		obj[3] = 65;                               /* nd beyond NPY_MAXDIMS */
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 96, "ndarray: absurd nd falls back to basicsize");
		obj[3] = 2;
		dims[0] = (uint64_t)1 << 40;               /* nbytes overflow */
		dims[1] = (uint64_t)1 << 40;
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 96, "ndarray: absurd dims fall back to basicsize");
		TAP_OK(pyobj_owned(&c, ADDR(obj), &t, &own) == 0 && own.buffer == 0,
		       "ndarray: no buffer when the fields do not validate");
	}

	/* array.array: basicsize + allocated * descr->itemsize; validated */
	{
		int32_t ad[4] = { 'd', 8, 0, 0 };          /* typecode, itemsize */

		memset(obj, 0, sizeof(obj));
		obj[2] = 5;                                /* ob_size */
		obj[3] = ADDR(keys);                       /* ob_item */
		obj[4] = 8;                                /* allocated */
		obj[5] = ADDR(ad);
		t = type_of(PK_OBJECT, 64, 0, 0);
		t.sizer = PZ_ARRAY;
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 64 + 64 + 16, "array.array: allocated items");
		obj[4] = 4;                                /* allocated < ob_size */
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 64 + 16,
			 "array.array: allocated < len falls back to basicsize");
		obj[4] = 8;
		ad[1] = 3;                                 /* no such itemsize */
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 64 + 16,
			 "array.array: itemsize 3 falls back to basicsize");
	}

	/* _struct.Struct: a formatcode (32 bytes) per code and the terminator */
	{
		uint64_t codes[16];

		memset(obj, 0, sizeof(obj));
		memset(codes, 0, sizeof(codes));
		codes[0] = codes[4] = 0x1000;              /* two codes, then NULL */
		obj[3] = 12;                               /* s_len */
		obj[4] = ADDR(codes);
		t = type_of(PK_OBJECT, 56, 0, 0);
		t.sizer = PZ_STRUCT;
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 56 + 3 * 32 + 16, "Struct: codes and terminator");
		obj[3] = 1;                                /* fewer items than codes */
		remote_cache_drop(mem);
		TAP_EQ_U(pyobj_sizeof(&c, ADDR(obj), &t), 56 + 16,
			 "Struct: no terminator within s_len + 1 falls back to basicsize");
	}

	pyctx_free(&c);
	remote_close(mem);
	return tap_done();
}
