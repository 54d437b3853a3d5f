/* layout.h - where CPython's struct layouts come from, and what they are.
 *
 * Every offset and size leaktop uses to read CPython objects lives in
 * struct py_layout.  The fields are declared once, in LT_LAYOUT_FIELDS, with
 * the C type and member path they mean; each source (DWARF now; debug offsets
 * and built-in tables later) fills the same struct, so readers never know
 * where a number came from.  A field that the interpreter does not have
 * (dk_size on 3.11+, gc in _PyRuntime after 3.8) is -1. */
#ifndef LEAKTOP_LAYOUT_H
#define LEAKTOP_LAYOUT_H

#include <stdint.h>

struct target;

enum layout_source {
	LAYOUT_AUTO = 0,
	LAYOUT_DWARF,
	LAYOUT_DEBUG_OFFSETS,
	LAYOUT_TABLE,
};

/* X(name, kind, C type, member path, minor_min, minor_max)
 *   kind OFF: offsetof(type, path); SIZE: sizeof(type);
 *        ELEM: size of one element of the array member path.
 * A field is required for minor versions in [minor_min, minor_max]. */
#define LT_LAYOUT_FIELDS(X) \
	/* runtime and interpreters */ \
	X(rt_interp_head, OFF, "struct pyruntimestate", "interpreters.head", 8, 99) \
	X(rt_gc, OFF, "struct pyruntimestate", "gc", 8, 8) \
	X(is_next, OFF, "struct _is", "next", 8, 99) \
	X(is_gc, OFF, "struct _is", "gc", 9, 99) \
	X(is_sysdict, OFF, "struct _is", "sysdict", 8, 99) \
	/* the collector */ \
	X(gcs_generations, OFF, "struct _gc_runtime_state", "generations", 8, 99) \
	X(gcs_permanent, OFF, "struct _gc_runtime_state", "permanent_generation", 8, 99) \
	X(gcs_collecting, OFF, "struct _gc_runtime_state", "collecting", 8, 99) \
	X(gen_size, ELEM, "struct _gc_runtime_state", "generations", 8, 99) \
	X(gen_head, OFF, "struct gc_generation", "head", 8, 99) \
	X(gc_head_size, SIZE, "PyGC_Head", NULL, 8, 99) \
	X(gc_next, OFF, "PyGC_Head", "_gc_next", 8, 99) \
	X(gc_prev, OFF, "PyGC_Head", "_gc_prev", 8, 99) \
	/* objects and types */ \
	X(ob_refcnt, OFF, "PyObject", "ob_refcnt", 8, 99) \
	X(ob_type, OFF, "PyObject", "ob_type", 8, 99) \
	X(ob_size, OFF, "PyVarObject", "ob_size", 8, 99) \
	X(tp_name, OFF, "PyTypeObject", "tp_name", 8, 99) \
	X(tp_basicsize, OFF, "PyTypeObject", "tp_basicsize", 8, 99) \
	X(tp_itemsize, OFF, "PyTypeObject", "tp_itemsize", 8, 99) \
	X(tp_flags, OFF, "PyTypeObject", "tp_flags", 8, 99) \
	X(tp_base, OFF, "PyTypeObject", "tp_base", 8, 99) \
	X(tp_dict, OFF, "PyTypeObject", "tp_dict", 8, 99) \
	X(tp_is_gc, OFF, "PyTypeObject", "tp_is_gc", 8, 99) \
	X(type_size, SIZE, "PyTypeObject", NULL, 8, 99) \
	X(ht_name, OFF, "PyHeapTypeObject", "ht_name", 8, 99) \
	X(ht_qualname, OFF, "PyHeapTypeObject", "ht_qualname", 8, 99) \
	X(ht_cached_keys, OFF, "PyHeapTypeObject", "ht_cached_keys", 8, 99) \
	X(heaptype_size, SIZE, "PyHeapTypeObject", NULL, 8, 99) \
	/* containers */ \
	X(list_items, OFF, "PyListObject", "ob_item", 8, 99) \
	X(list_allocated, OFF, "PyListObject", "allocated", 8, 99) \
	X(tuple_items, OFF, "PyTupleObject", "ob_item", 8, 99) \
	X(dict_used, OFF, "PyDictObject", "ma_used", 8, 99) \
	X(dict_keys, OFF, "PyDictObject", "ma_keys", 8, 99) \
	X(dict_values, OFF, "PyDictObject", "ma_values", 8, 99) \
	X(dk_refcnt, OFF, "struct _dictkeysobject", "dk_refcnt", 8, 99) \
	X(dk_size, OFF, "struct _dictkeysobject", "dk_size", 8, 10) \
	X(dk_log2_size, OFF, "struct _dictkeysobject", "dk_log2_size", 11, 99) \
	X(dk_log2_index_bytes, OFF, "struct _dictkeysobject", "dk_log2_index_bytes", 11, 99) \
	X(dk_kind, OFF, "struct _dictkeysobject", "dk_kind", 11, 99) \
	X(dk_usable, OFF, "struct _dictkeysobject", "dk_usable", 8, 99) \
	X(dk_nentries, OFF, "struct _dictkeysobject", "dk_nentries", 8, 99) \
	X(dk_indices, OFF, "struct _dictkeysobject", "dk_indices", 8, 99) \
	X(dk_struct_size, SIZE, "struct _dictkeysobject", NULL, 8, 99) \
	X(dk_entry_size, SIZE, "PyDictKeyEntry", NULL, 8, 99) \
	X(dk_uentry_size, SIZE, "PyDictUnicodeEntry", NULL, 11, 99) \
	X(dv_values, OFF, "struct _dictvalues", "values", 11, 99) \
	X(set_mask, OFF, "PySetObject", "mask", 8, 99) \
	X(set_table, OFF, "PySetObject", "table", 8, 99) \
	X(set_smalltable, OFF, "PySetObject", "smalltable", 8, 99) \
	X(setentry_size, SIZE, "setentry", NULL, 8, 99) \
	/* strings */ \
	X(ascii_length, OFF, "PyASCIIObject", "length", 8, 99) \
	X(ascii_state, OFF, "PyASCIIObject", "state", 8, 99) \
	X(ascii_size, SIZE, "PyASCIIObject", NULL, 8, 99) \
	X(compact_size, SIZE, "PyCompactUnicodeObject", NULL, 8, 99) \
	/* strings: what str.__sizeof__ looks at */ \
	X(ascii_wstr, OFF, "PyASCIIObject", "wstr", 8, 11) \
	X(compact_utf8_length, OFF, "PyCompactUnicodeObject", "utf8_length", 8, 99) \
	X(compact_utf8, OFF, "PyCompactUnicodeObject", "utf8", 8, 99) \
	X(compact_wstr_length, OFF, "PyCompactUnicodeObject", "wstr_length", 8, 11) \
	X(unicode_size, SIZE, "PyUnicodeObject", NULL, 8, 99) \
	/* ints */ \
	X(long_digits, OFF, "PyLongObject", "ob_digit", 8, 11) \
	X(long_tag, OFF, "PyLongObject", "long_value.lv_tag", 12, 99) \
	/* code objects, as frames and generators size themselves by them */ \
	X(code_stacksize, OFF, "PyCodeObject", "co_stacksize", 8, 99) \
	X(code_nlocals, OFF, "PyCodeObject", "co_nlocals", 8, 10) \
	X(code_cellvars, OFF, "PyCodeObject", "co_cellvars", 8, 10) \
	X(code_freevars, OFF, "PyCodeObject", "co_freevars", 8, 10) \
	X(code_nlocalsplus, OFF, "PyCodeObject", "co_nlocalsplus", 11, 99) \
	/* frames */ \
	X(frame_code, OFF, "PyFrameObject", "f_code", 8, 10) \
	X(frame_size, SIZE, "PyFrameObject", NULL, 8, 10) \
	X(frame_frame, OFF, "PyFrameObject", "f_frame", 11, 99) \
	X(frame_data, OFF, "PyFrameObject", "_f_frame_data", 11, 99) \
	X(iframe_code, OFF, "_PyInterpreterFrame", "f_code", 11, 12) \
	X(iframe_executable, OFF, "_PyInterpreterFrame", "f_executable", 13, 99) \
	X(iframe_localsplus, OFF, "_PyInterpreterFrame", "localsplus", 11, 99) \
	/* generators and coroutines (3.11+ embed their frame) */ \
	X(gen_code, OFF, "PyGenObject", "gi_code", 11, 11) \
	X(gen_iframe, OFF, "PyGenObject", "gi_iframe", 11, 99) \
	/* builtin types with their own __sizeof__ */ \
	X(deque_leftindex, OFF, "dequeobject", "leftindex", 8, 99) \
	X(deque_block_size, SIZE, "struct BLOCK", NULL, 8, 99) \
	X(odict_fast_nodes_size, OFF, "PyODictObject", "od_fast_nodes_size", 8, 99) \
	X(odict_node_size, SIZE, "_ODictNode", NULL, 8, 99) \
	X(buffered_buffer, OFF, "buffered", "buffer", 8, 99) \
	X(buffered_buffer_size, OFF, "buffered", "buffer_size", 8, 99) \
	/* _io objects that hold or wrap a file descriptor (in libpython) */ \
	X(fileio_fd, OFF, "fileio", "fd", 8, 99) \
	X(fileio_dict, OFF, "fileio", "dict", 8, 99) \
	X(buffered_raw, OFF, "buffered", "raw", 8, 99) \
	X(textio_buffer, OFF, "textio", "buffer", 8, 99) \
	X(rwpair_reader, OFF, "rwpair", "reader", 8, 99) \
	X(rwpair_writer, OFF, "rwpair", "writer", 8, 99) \
	/* where instance attributes live */ \
	X(tp_dictoffset, OFF, "PyTypeObject", "tp_dictoffset", 8, 99)

#define LT_LAYOUT_DECLARE(name, kind, ctype, path, lo, hi) int32_t name;
struct py_layout {
	enum layout_source source;
	int minor;              /* 3.<minor> the layout is for */
	LT_LAYOUT_FIELDS(LT_LAYOUT_DECLARE)
};
#undef LT_LAYOUT_DECLARE

/* Names used on the command line and in JSON ("dwarf" ...); NULL for AUTO. */
const char *layout_source_name(enum layout_source s);
/* Parse a --layout value; -1 if unknown. */
int layout_source_parse(const char *s, enum layout_source *out);

/* Fill *lay for the target from the requested source (AUTO picks the best
 * available).  Returns 0, or -1 with lt_error (LT_ERR_LAYOUT) saying what is
 * missing and what to do. */
int layout_load(struct target *t, enum layout_source want, struct py_layout *lay);

/* From DWARF only (layout_dwarf.c). */
int layout_from_dwarf(struct target *t, struct py_layout *lay);

#endif
