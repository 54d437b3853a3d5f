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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct target;
struct dwarf_types;

enum layout_source {
	LAYOUT_AUTO = 0,
	LAYOUT_DWARF,
	LAYOUT_DEBUG_OFFSETS,
	LAYOUT_TABLE,
};

/* X(name, kind, C type, member path, minor_min, minor_max)
 *   kind OFF: offsetof(type, path); SIZE: sizeof(type);
 *        ELEM: size of one element of the array member path;
 *        OPT: offsetof, but optional (-1 when the interpreter's DWARF
 *        lacks it: a type of an extension module it does not link).
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
	/* descriptor holders of extension modules: in the interpreter's DWARF \
	 * when it links them (Debian's _socket, select), else from the module's \
	 * (filled by `leaktop layout-table` for the built-in tables) */ \
	X(sock_fd, OPT, "PySocketSockObject", "sock_fd", 8, 99) \
	X(epoll_fd, OPT, "pyEpoll_Object", "epfd", 8, 99) \
	X(mmap_fd, OPT, "mmap_object", "fd", 8, 99) \
	X(rwpair_reader, OFF, "rwpair", "reader", 8, 99) \
	X(rwpair_writer, OFF, "rwpair", "writer", 8, 99) \
	/* where instance attributes live */ \
	X(tp_dictoffset, OFF, "PyTypeObject", "tp_dictoffset", 8, 99) \
	/* references out of objects, as their tp_traverse visits them */ \
	X(tp_bases, OFF, "PyTypeObject", "tp_bases", 8, 99) \
	X(tp_members, OFF, "PyTypeObject", "tp_members", 8, 99) \
	X(member_size, SIZE, "PyMemberDef", NULL, 8, 99) \
	X(member_type, OFF, "PyMemberDef", "type", 8, 99) \
	X(member_offset, OFF, "PyMemberDef", "offset", 8, 99) \
	X(tp_mro, OFF, "PyTypeObject", "tp_mro", 8, 99) \
	X(ht_slots, OFF, "PyHeapTypeObject", "ht_slots", 8, 99) \
	X(ht_module, OFF, "PyHeapTypeObject", "ht_module", 9, 99) \
	X(func_code, OFF, "PyFunctionObject", "func_code", 8, 99) \
	X(func_globals, OFF, "PyFunctionObject", "func_globals", 8, 99) \
	X(func_builtins, OFF, "PyFunctionObject", "func_builtins", 10, 99) \
	X(func_name, OFF, "PyFunctionObject", "func_name", 8, 99) \
	X(func_qualname, OFF, "PyFunctionObject", "func_qualname", 8, 99) \
	X(func_defaults, OFF, "PyFunctionObject", "func_defaults", 8, 99) \
	X(func_kwdefaults, OFF, "PyFunctionObject", "func_kwdefaults", 8, 99) \
	X(func_closure, OFF, "PyFunctionObject", "func_closure", 8, 99) \
	X(func_doc, OFF, "PyFunctionObject", "func_doc", 8, 99) \
	X(func_dict, OFF, "PyFunctionObject", "func_dict", 8, 99) \
	X(func_module, OFF, "PyFunctionObject", "func_module", 8, 99) \
	X(func_annotations, OFF, "PyFunctionObject", "func_annotations", 8, 99) \
	X(code_consts, OFF, "PyCodeObject", "co_consts", 8, 99) \
	X(code_names, OFF, "PyCodeObject", "co_names", 8, 99) \
	X(code_filename, OFF, "PyCodeObject", "co_filename", 8, 99) \
	X(code_name, OFF, "PyCodeObject", "co_name", 8, 99) \
	X(code_qualname, OFF, "PyCodeObject", "co_qualname", 11, 99) \
	X(code_linetable, OFF, "PyCodeObject", "co_linetable", 10, 99) \
	X(code_lnotab, OFF, "PyCodeObject", "co_lnotab", 8, 9) \
	X(code_exceptiontable, OFF, "PyCodeObject", "co_exceptiontable", 11, 99) \
	X(code_localsplusnames, OFF, "PyCodeObject", "co_localsplusnames", 11, 99) \
	X(code_localspluskinds, OFF, "PyCodeObject", "co_localspluskinds", 11, 99) \
	X(code_varnames, OFF, "PyCodeObject", "co_varnames", 8, 10) \
	X(code_code, OFF, "PyCodeObject", "co_code", 8, 10) \
	X(code_size, SIZE, "PyCodeObject", NULL, 8, 99) \
	X(code_extra, OFF, "PyCodeObject", "co_extra", 8, 99) \
	X(code_cell2arg, OFF, "PyCodeObject", "co_cell2arg", 8, 10) \
	X(code_opcache, OFF, "PyCodeObject", "co_opcache", 8, 10) \
	X(code_opcache_size, OFF, "PyCodeObject", "co_opcache_size", 8, 10) \
	X(cell_ref, OFF, "PyCellObject", "ob_ref", 8, 99) \
	X(method_func, OFF, "PyMethodObject", "im_func", 8, 99) \
	X(method_self, OFF, "PyMethodObject", "im_self", 8, 99) \
	X(module_dict, OFF, "PyModuleObject", "md_dict", 8, 99) \
	X(module_name, OFF, "PyModuleObject", "md_name", 8, 99) \
	X(prop_get, OFF, "propertyobject", "prop_get", 8, 99) \
	X(prop_set, OFF, "propertyobject", "prop_set", 8, 99) \
	X(prop_del, OFF, "propertyobject", "prop_del", 8, 99) \
	X(prop_doc, OFF, "propertyobject", "prop_doc", 8, 99) \
	X(cm_callable, OFF, "classmethod", "cm_callable", 8, 99) \
	X(cm_dict, OFF, "classmethod", "cm_dict", 8, 99) \
	X(sm_callable, OFF, "staticmethod", "sm_callable", 8, 99) \
	X(sm_dict, OFF, "staticmethod", "sm_dict", 8, 99) \
	X(descr_type, OFF, "PyDescrObject", "d_type", 8, 99) \
	X(descr_name, OFF, "PyDescrObject", "d_name", 8, 99) \
	X(descr_qualname, OFF, "PyDescrObject", "d_qualname", 8, 99) \
	X(cfunc_self, OFF, "PyCFunctionObject", "m_self", 8, 99) \
	X(cfunc_module, OFF, "PyCFunctionObject", "m_module", 8, 99) \
	X(bytearray_alloc, OFF, "PyByteArrayObject", "ob_alloc", 8, 99) \
	X(lru_func, OFF, "lru_cache_object", "func", 8, 99) \
	X(lru_cache, OFF, "lru_cache_object", "cache", 8, 99) \
	X(lru_kwd_mark, OFF, "lru_cache_object", "kwd_mark", 10, 99) \
	X(partial_fn, OFF, "partialobject", "fn", 8, 99) \
	X(partial_args, OFF, "partialobject", "args", 8, 99) \
	X(partial_kw, OFF, "partialobject", "kw", 8, 99) \
	X(frame_back, OFF, "PyFrameObject", "f_back", 8, 99) \
	X(frame_builtins, OFF, "PyFrameObject", "f_builtins", 8, 10) \
	X(frame_globals, OFF, "PyFrameObject", "f_globals", 8, 10) \
	X(frame_locals, OFF, "PyFrameObject", "f_locals", 8, 10) \
	X(frame_stacktop, OFF, "PyFrameObject", "f_stacktop", 8, 9) \
	X(frame_localsplus, OFF, "PyFrameObject", "f_localsplus", 8, 10) \
	X(frame_valuestack, OFF, "PyFrameObject", "f_valuestack", 8, 10) \
	X(frame_stackdepth, OFF, "PyFrameObject", "f_stackdepth", 10, 10) \
	X(iframe_globals, OFF, "_PyInterpreterFrame", "f_globals", 11, 99) \
	X(iframe_builtins, OFF, "_PyInterpreterFrame", "f_builtins", 11, 99) \
	X(iframe_locals, OFF, "_PyInterpreterFrame", "f_locals", 11, 99) \
	X(iframe_frame_obj, OFF, "_PyInterpreterFrame", "frame_obj", 11, 99) \
	X(iframe_previous, OFF, "_PyInterpreterFrame", "previous", 11, 99) \
	X(iframe_stacktop, OFF, "_PyInterpreterFrame", "stacktop", 11, 13) \
	X(iframe_func, OFF, "_PyInterpreterFrame", "f_func", 11, 11) \
	X(iframe_funcobj, OFF, "_PyInterpreterFrame", "f_funcobj", 12, 99) \
	X(iframe_owner, OFF, "_PyInterpreterFrame", "owner", 11, 99) \
	X(gen_name, OFF, "PyGenObject", "gi_name", 8, 99) \
	X(gen_qualname, OFF, "PyGenObject", "gi_qualname", 8, 99) \
	X(gen_frame_state, OFF, "PyGenObject", "gi_frame_state", 11, 99) \
	X(gen_frame_old, OFF, "PyGenObject", "gi_frame", 8, 10) \
	/* the small-object allocator (pymalloc) */ \
	X(is_obmalloc_arenas, OFF, "struct _is", "obmalloc.mgmt.arenas", 12, 12) \
	X(is_obmalloc_maxarenas, OFF, "struct _is", "obmalloc.mgmt.maxarenas", 12, 12) \
	X(is_obmalloc, OFF, "struct _is", "obmalloc", 13, 99) \
	X(obm_arenas, OFF, "struct _obmalloc_state", "mgmt.arenas", 13, 99) \
	X(obm_maxarenas, OFF, "struct _obmalloc_state", "mgmt.maxarenas", 13, 99) \
	X(arena_size_of, SIZE, "struct arena_object", NULL, 8, 99) \
	X(arena_address, OFF, "struct arena_object", "address", 8, 99) \
	X(arena_pool_address, OFF, "struct arena_object", "pool_address", 8, 99) \
	X(pool_count, OFF, "struct pool_header", "ref", 8, 99) \
	X(pool_freeblock, OFF, "struct pool_header", "freeblock", 8, 99) \
	X(pool_szidx, OFF, "struct pool_header", "szidx", 8, 99) \
	X(pool_nextoffset, OFF, "struct pool_header", "nextoffset", 8, 99) \
	X(pool_header_size, SIZE, "struct pool_header", NULL, 8, 99) \
	/* where _Py_DebugOffsets (3.13+, at the start of _PyRuntime) keeps each \
	 * offset it offers: read from the target with --layout debug-offsets */ \
	X(dbg_size, SIZE, "struct _Py_DebugOffsets", NULL, 13, 99) \
	X(dbg_version, OFF, "struct _Py_DebugOffsets", "version", 13, 99) \
	X(dbg_rt_interp_head, OFF, "struct _Py_DebugOffsets", "runtime_state.interpreters_head", 13, 99) \
	X(dbg_is_next, OFF, "struct _Py_DebugOffsets", "interpreter_state.next", 13, 99) \
	X(dbg_is_threads_head, OFF, "struct _Py_DebugOffsets", "interpreter_state.threads_head", 13, 99) \
	X(dbg_is_gc, OFF, "struct _Py_DebugOffsets", "interpreter_state.gc", 13, 99) \
	X(dbg_is_sysdict, OFF, "struct _Py_DebugOffsets", "interpreter_state.sysdict", 13, 99) \
	X(dbg_ts_next, OFF, "struct _Py_DebugOffsets", "thread_state.next", 13, 99) \
	X(dbg_ts_current_frame, OFF, "struct _Py_DebugOffsets", "thread_state.current_frame", 13, 99) \
	X(dbg_ts_thread_id, OFF, "struct _Py_DebugOffsets", "thread_state.thread_id", 13, 99) \
	X(dbg_ts_native_id, OFF, "struct _Py_DebugOffsets", "thread_state.native_thread_id", 13, 99) \
	X(dbg_iframe_previous, OFF, "struct _Py_DebugOffsets", "interpreter_frame.previous", 13, 99) \
	X(dbg_iframe_executable, OFF, "struct _Py_DebugOffsets", "interpreter_frame.executable", 13, 99) \
	X(dbg_iframe_localsplus, OFF, "struct _Py_DebugOffsets", "interpreter_frame.localsplus", 13, 99) \
	X(dbg_iframe_owner, OFF, "struct _Py_DebugOffsets", "interpreter_frame.owner", 13, 99) \
	X(dbg_code_filename, OFF, "struct _Py_DebugOffsets", "code_object.filename", 13, 99) \
	X(dbg_code_name, OFF, "struct _Py_DebugOffsets", "code_object.name", 13, 99) \
	X(dbg_code_qualname, OFF, "struct _Py_DebugOffsets", "code_object.qualname", 13, 99) \
	X(dbg_code_linetable, OFF, "struct _Py_DebugOffsets", "code_object.linetable", 13, 99) \
	X(dbg_code_localsplusnames, OFF, "struct _Py_DebugOffsets", "code_object.localsplusnames", 13, 99) \
	X(dbg_code_localspluskinds, OFF, "struct _Py_DebugOffsets", "code_object.localspluskinds", 13, 99) \
	X(dbg_ob_type, OFF, "struct _Py_DebugOffsets", "pyobject.ob_type", 13, 99) \
	X(dbg_tp_name, OFF, "struct _Py_DebugOffsets", "type_object.tp_name", 13, 99) \
	X(dbg_tp_flags, OFF, "struct _Py_DebugOffsets", "type_object.tp_flags", 13, 99) \
	X(dbg_type_size, OFF, "struct _Py_DebugOffsets", "type_object.size", 13, 99) \
	X(dbg_tuple_items, OFF, "struct _Py_DebugOffsets", "tuple_object.ob_item", 13, 99) \
	X(dbg_ob_size, OFF, "struct _Py_DebugOffsets", "tuple_object.ob_size", 13, 99) \
	X(dbg_list_items, OFF, "struct _Py_DebugOffsets", "list_object.ob_item", 13, 99) \
	X(dbg_dict_keys, OFF, "struct _Py_DebugOffsets", "dict_object.ma_keys", 13, 99) \
	X(dbg_dict_values, OFF, "struct _Py_DebugOffsets", "dict_object.ma_values", 13, 99) \
	X(dbg_long_tag, OFF, "struct _Py_DebugOffsets", "long_object.lv_tag", 13, 99) \
	X(dbg_ascii_state, OFF, "struct _Py_DebugOffsets", "unicode_object.state", 13, 99) \
	X(dbg_ascii_length, OFF, "struct _Py_DebugOffsets", "unicode_object.length", 13, 99) \
	X(dbg_ascii_size, OFF, "struct _Py_DebugOffsets", "unicode_object.asciiobject_size", 13, 99) \
	X(dbg_gcs_collecting, OFF, "struct _Py_DebugOffsets", "gc.collecting", 13, 99) \
	/* threads, for the frames they are running */ \
	X(is_tstate_head, OFF, "struct _is", "tstate_head", 8, 10) \
	X(is_threads_head, OFF, "struct _is", "threads.head", 11, 99) \
	X(ts_next, OFF, "PyThreadState", "next", 8, 99) \
	X(ts_frame, OFF, "PyThreadState", "frame", 8, 10) \
	X(ts_cframe, OFF, "PyThreadState", "cframe", 11, 12) \
	X(cframe_current, OFF, "_PyCFrame", "current_frame", 11, 12) \
	X(ts_current_frame, OFF, "PyThreadState", "current_frame", 13, 99) \
	X(ts_thread_id, OFF, "PyThreadState", "thread_id", 8, 99) \
	X(ts_native_id, OFF, "PyThreadState", "native_thread_id", 11, 99) \
	/* who holds the GIL; where one C call's Python frames end (stacks) */ \
	X(rt_tstate_current, OPT, "struct pyruntimestate", "gilstate.tstate_current", 8, 11) \
	X(is_ceval_gil, OPT, "struct _is", "ceval.gil", 12, 99) \
	X(gil_last_holder, OPT, "struct _gil_runtime_state", "last_holder", 12, 99) \
	X(gil_locked, OPT, "struct _gil_runtime_state", "locked", 12, 99) \
	X(iframe_is_entry, OPT, "_PyInterpreterFrame", "is_entry", 11, 11) \
	/* line numbers: where frames and generators are */ \
	X(bytes_sval, OFF, "PyBytesObject", "ob_sval", 8, 99) \
	X(code_firstlineno, OFF, "PyCodeObject", "co_firstlineno", 8, 99) \
	X(code_code_adaptive, OFF, "PyCodeObject", "co_code_adaptive", 11, 99) \
	X(frame_lasti, OFF, "PyFrameObject", "f_lasti", 8, 10) \
	X(iframe_prev_instr, OFF, "_PyInterpreterFrame", "prev_instr", 11, 12) \
	X(iframe_instr_ptr, OFF, "_PyInterpreterFrame", "instr_ptr", 13, 99) \
	X(iframe_stackpointer, OFF, "_PyInterpreterFrame", "stackpointer", 14, 99)

#define LT_LAYOUT_DECLARE(name, kind, ctype, path, lo, hi) int32_t name;
struct py_layout {
	enum layout_source source;
	int minor;              /* 3.<minor> the layout is for */
	/* The built-in entry it came from (table, and what debug offsets do not
	 * cover), and whether that entry is for another micro release, used
	 * because the live validation passed.  NULL otherwise. */
	const char *table_version;
	int table_nearest;
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

/* A layout from elsewhere (a snapshot file): checked for the shapes the
 * readers rely on and validated against t's memory as a loaded one is.
 * Returns 0, or -1 with lt_error. */
int layout_accept(struct target *t, const struct py_layout *lay);

/* A recorded layout (a snapshot file's) against leaktop's verified tables
 * for major.minor.micro (micro -1: any of the minor) of that kind of build
 * (debug 1: Py_DEBUG, 0: not): 0 it equals one;
 * 1 none covers that version (note says so); -1 it differs from the
 * closest in some field (note names them: the census is not to be trusted). */
int layout_check_recorded(int major, int minor, int micro, int debug,
			  const struct py_layout *lay, char *note, size_t n);

/* The layout's fields by name (a snapshot file stores them so): how many,
 * the i-th's name, and where it is in lay. */
size_t layout_nfields(void);
const char *layout_field_name(size_t i);
int32_t *layout_field(struct py_layout *lay, size_t i);

/* From DWARF only (layout_dwarf.c). */
int layout_from_dwarf(struct target *t, struct py_layout *lay);
/* The field loop of layout_from_dwarf, on any type index (the live target's,
 * or tools/layout-from-object's compiled from a release's headers): fills
 * *lay (source left 0) for Python 3.<minor>.  Returns 0, or how many fields
 * that minor needs are missing, their names listed in missing. */
int layout_from_types(struct dwarf_types *dt, int minor, struct py_layout *lay,
		      char *missing, size_t missing_size);
/* From the built-in tables (layout_tables.c): the k-th candidate entry for
 * the target's version (layout_table_candidates), or -1 with lt_error when
 * there are no more. */
int layout_from_table(struct target *t, struct py_layout *lay, size_t k);
/* How many candidate entries there are for the target's version. */
size_t layout_table_ncandidates(const struct target *t);

/* One built-in table entry, as layout_tables.c holds them. */
struct layout_table {
	const char *version;     /* what it is for: "3.13.18" (that release),
				  * "3.12" (every micro), "3.14.5+",
				  * "3.14.0-3.14.4" (inclusive) */
	const char *built_from;  /* the reference build it was generated from */
	int verified;            /* 1: generated from DWARF; 0: derived from headers */
	struct py_layout lay;
	int debug;               /* from a Py_DEBUG build (python3.Xd): its own structs
				  * can differ (3.13's interpreter state does) */
};
/* The verified entries (tools/gen-layout-tables), then the ones derived from
 * headers (layout_tables_headers.inc, tools/derive-layout-from-headers). */
extern const struct layout_table layout_tables[];
extern const size_t layout_tables_count;

/* Does e cover Python major.minor.micro?  A micro of -1 (unknown) is covered
 * by every entry of the minor.  0 also for a version string it cannot parse. */
int layout_table_covers(const struct layout_table *e, int major, int minor, int micro);
/* The entry for that exact version: a verified one before an unverified one,
 * then the first listed; NULL when there is none. */
const struct layout_table *layout_table_find(int major, int minor, int micro);
/* The same choice among any n entries. */
const struct layout_table *layout_table_pick(const struct layout_table *tables, size_t n,
					     int major, int minor, int micro);
/* The entries worth trying for major.minor.micro, best first, at most max:
 * those covering it (verified first), then the other releases of the same
 * minor, nearest first (a struct can change in a patch release: each must
 * pass the live validation before it is used); all of that first among the
 * entries of the same kind of build (debug 1: Py_DEBUG, 0: not, -1: either).
 * Returns how many. */
size_t layout_table_candidates(const struct layout_table *tables, size_t n, int major,
			       int minor, int micro, int debug, const struct layout_table **out,
			       size_t max);

/* Print lay as a verified layout_tables.c entry (the generator uses it). */
void layout_print_table(FILE *out, const struct py_layout *l, const char *version,
			const char *built_from, int debug);
/* Print any entry as the generators write it. */
void layout_print_entry(FILE *out, const struct layout_table *e);

#endif
