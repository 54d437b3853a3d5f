/* layout.c - choose the source of struct layouts. */
#include "config.h"
#include "layout.h"
#include "target.h"
#include "util.h"
#include "remote.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>
#include <unistd.h>

static const char *const source_names[] = {
	[LAYOUT_AUTO] = "auto",
	[LAYOUT_DWARF] = "dwarf",
	[LAYOUT_DEBUG_OFFSETS] = "debug-offsets",
	[LAYOUT_TABLE] = "table",
};

const char *layout_source_name(enum layout_source s)
{
	return s == LAYOUT_AUTO ? NULL : source_names[s];
}

int layout_source_parse(const char *s, enum layout_source *out)
{
	for (size_t i = 0; i < LT_ARRAY_SIZE(source_names); i++) {
		if (strcmp(s, source_names[i]) == 0) {
			*out = (enum layout_source)i;
			return 0;
		}
	}
	return -1;
}

/* Shapes the readers rely on (the GC walk reads a node's header and the
 * object's type in one 32-byte read).  A layout that breaks them is not a
 * CPython we understand, whatever its source says. */
static int layout_check(const struct target *t, const struct py_layout *l)
{
	const char *why = NULL;

	if (l->gc_head_size != 16 || l->gc_next < 0 || l->gc_next > 8 || l->gc_prev < 0 ||
	    l->gc_prev > 8 || l->gc_next == l->gc_prev)
		why = "PyGC_Head is not two words";
	else if (l->ob_refcnt != 0 || l->ob_type != 8 || l->ob_size != 16)
		why = "PyObject does not start with refcount and type";
	else if (l->gen_size <= 0 || l->gen_size > 64)
		why = "struct gc_generation has an implausible size";
	else if (l->tp_name <= 0 || l->tp_basicsize <= 0 || l->tp_flags <= 0 || l->type_size <= 0 ||
		 l->heaptype_size < l->type_size)
		why = "PyTypeObject has implausible offsets";
	if (!why)
		return 0;
	lt_error(LT_ERR_LAYOUT, "the %s layout of %s (Python 3.%d) is not usable: %s; "
		 "try another --layout or install matching debug symbols",
		 layout_source_name(l->source), t->pymod_path, t->minor, why);
	return -1;
}

/* Fields by name, for the table generator and the test override. */
#define LT_OPTIONAL_OFF 0
#define LT_OPTIONAL_SIZE 0
#define LT_OPTIONAL_ELEM 0
#define LT_OPTIONAL_OPT 1
#define LT_LAYOUT_NAME(n, k, c, p, l, h) { #n, offsetof(struct py_layout, n), LT_OPTIONAL_##k },
static const struct { const char *name; size_t offset; int optional; } field_names[] = {
	LT_LAYOUT_FIELDS(LT_LAYOUT_NAME)
};
#undef LT_LAYOUT_NAME

void layout_print_entry(FILE *out, const struct layout_table *e)
{
	fprintf(out, "\t{ \"%s\", \"%s\", %d, {\n\t\t.source = LAYOUT_TABLE, .minor = %d,\n",
		e->version, e->built_from, e->verified ? 1 : 0, e->lay.minor);
	for (size_t i = 0; i < LT_ARRAY_SIZE(field_names); i++)
		fprintf(out, "\t\t.%s = %d,\n", field_names[i].name,
			*(const int32_t *)((const char *)&e->lay + field_names[i].offset));
	fprintf(out, "\t}, %d },\n", e->debug ? 1 : 0);
}

void layout_print_table(FILE *out, const struct py_layout *l, const char *version,
			const char *built_from, int debug)
{
	struct layout_table e = { version, built_from, 1, *l, debug };

	layout_print_entry(out, &e);
}

static int type_named(struct target *t, const struct py_layout *l, const char *symbol,
		      const char *want, int64_t min_size, int64_t max_size)
{
	uint64_t addr, namep;
	int64_t basicsize;
	char name[32];

	if (target_symbol(t, symbol, &addr) < 0)
		return 0;  /* nothing to compare with */
	if (remote_read(t->mem, addr + (uint64_t)l->tp_name, &namep, 8) < 0 ||
	    remote_read_cstr(t->mem, namep, name, sizeof(name)) < 0 || strcmp(name, want) != 0 ||
	    remote_read(t->mem, addr + (uint64_t)l->tp_basicsize, &basicsize, 8) < 0 ||
	    basicsize < min_size || basicsize > max_size)
		return -1;
	return 0;
}

/* Before trusting a layout, read a few things back that only a right
 * layout reads right: type's type is type; int, str, dict and list are
 * named so and sized plausibly; the first GC list is a list. */
static int layout_validate(struct target *t, const struct py_layout *l)
{
	uint64_t type_type, meta, interp, gcs, head, next, prev, dict_type, sysdict, dtype;
	const char *why = NULL;

	if (target_symbol(t, "PyType_Type", &type_type) == 0 &&
	    (remote_read(t->mem, type_type + (uint64_t)l->ob_type, &meta, 8) < 0 || meta != type_type))
		why = "PyType_Type's type is not PyType_Type";
	else if (type_named(t, l, "PyType_Type", "type", 400, 1000) < 0 ||
		 type_named(t, l, "PyLong_Type", "int", 24, 32) < 0 ||
		 type_named(t, l, "PyUnicode_Type", "str", 40, 96) < 0 ||
		 type_named(t, l, "PyDict_Type", "dict", 40, 64) < 0 ||
		 type_named(t, l, "PyList_Type", "list", 40, 40) < 0)
		why = "the builtin types do not read back as int, str, dict and list";
	else if (remote_read(t->mem, t->runtime_addr + (uint64_t)l->rt_interp_head, &interp, 8) < 0 ||
		 !interp)
		why = "the runtime has no interpreter where the layout says";
	else if (target_symbol(t, "PyDict_Type", &dict_type) == 0 &&
		 (remote_read(t->mem, interp + (uint64_t)l->is_sysdict, &sysdict, 8) < 0 || !sysdict ||
		  remote_read(t->mem, sysdict + (uint64_t)l->ob_type, &dtype, 8) < 0 || dtype != dict_type))
		/* What follows the GC state in the interpreter moves when
		 * the GC state changes size (3.14.5). */
		why = "the interpreter's sys dict is not a dict";
	else {
		gcs = l->is_gc >= 0 ? interp + (uint64_t)l->is_gc : t->runtime_addr + (uint64_t)l->rt_gc;
		head = gcs + (uint64_t)l->gcs_generations + (uint64_t)l->gen_head;
		/* Read from the running target: a collection that merges the
		 * list into an older one between the two reads relinks its
		 * first object (CI saw it on a target allocating at full
		 * speed).  A wrong layout fails every time; a race, once. */
		for (int attempt = 0; attempt < 5; attempt++) {
			why = NULL;
			if (remote_read(t->mem, head + (uint64_t)l->gc_next, &next, 8) < 0 || !next ||
			    remote_read(t->mem, (next & ~(uint64_t)3) + (uint64_t)l->gc_prev, &prev, 8) < 0 ||
			    (prev & ~(uint64_t)3) != head)
				why = "the youngest GC list does not link back to its head";
			if (!why)
				break;
			usleep(2000);
		}
	}
	if (!why)
		return 0;
	lt_error(LT_ERR_LAYOUT, "the %s layout does not fit this Python %d.%d (%s): %s; install "
		 "its debug symbols (python3.%d-dbg or debuginfod) or try another --layout",
		 layout_source_name(l->source), t->major, t->minor, t->pymod_path, why, t->minor);
	return -1;
}

/* A test hook: LEAKTOP_LAYOUT_OVERRIDE="field=value,..." corrupts a layout
 * on purpose, to show that validation refuses it. */
static void apply_override(struct py_layout *l)
{
	const char *env = getenv("LEAKTOP_LAYOUT_OVERRIDE");
	char buf[512], *save = NULL, *item;

	if (!env)
		return;
	snprintf(buf, sizeof(buf), "%s", env);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		if (!eq)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < LT_ARRAY_SIZE(field_names); i++)
			if (strcmp(field_names[i].name, item) == 0)
				*(int32_t *)((char *)l + field_names[i].offset) = (int32_t)atoi(eq + 1);
	}
}

/* What _Py_DebugOffsets offers, and where the layout keeps each. */
#define DBG(f) { offsetof(struct py_layout, f), offsetof(struct py_layout, dbg_##f), #f }
static const struct { size_t field, where; const char *name; } debug_offsets_map[] = {
	DBG(rt_interp_head), DBG(is_next), DBG(is_threads_head), DBG(is_gc), DBG(is_sysdict),
	DBG(ts_next), DBG(ts_current_frame), DBG(ts_thread_id), DBG(ts_native_id),
	DBG(iframe_previous), DBG(iframe_executable), DBG(iframe_localsplus), DBG(iframe_owner),
	DBG(code_filename), DBG(code_name), DBG(code_qualname), DBG(code_linetable),
	DBG(code_localsplusnames), DBG(code_localspluskinds), DBG(ob_type), DBG(tp_name),
	DBG(tp_flags), DBG(type_size), DBG(tuple_items), DBG(ob_size), DBG(list_items),
	DBG(dict_keys), DBG(dict_values), DBG(long_tag), DBG(ascii_state), DBG(ascii_length),
	DBG(ascii_size), DBG(gcs_collecting),
};
#undef DBG

#define DEBUG_OFFSETS_MAX 4096

/* 3.13+: the offsets the interpreter publishes about itself at the start of
 * _PyRuntime, checked (cookie, version, bounds) and used over the table of
 * the same minor version, which supplies everything they do not cover. */
static int layout_from_debug_offsets(struct target *t, struct py_layout *lay, size_t k)
{
	unsigned char blob[DEBUG_OFFSETS_MAX];
	uint64_t version;

	if (t->minor < 13) {
		lt_error(LT_ERR_LAYOUT, "--layout debug-offsets is not available for Python %d.%d: "
			 "_Py_DebugOffsets exists from 3.13; use --layout dwarf or table",
			 t->major, t->minor);
		return -1;
	}
	if (layout_from_table(t, lay, k) < 0) {
		lt_error(LT_ERR_LAYOUT, "--layout debug-offsets needs leaktop's table for Python "
			 "%d.%d for what the debug offsets do not cover, and there is none; use "
			 "--layout dwarf", t->major, t->minor);
		return -1;
	}
	apply_override(lay);
	if (lay->dbg_size < 64 || lay->dbg_size > DEBUG_OFFSETS_MAX ||
	    remote_read(t->mem, t->runtime_addr, blob, (size_t)lay->dbg_size) < 0) {
		lt_error(LT_ERR_LAYOUT, "cannot read _Py_DebugOffsets of pid %d", (int)t->pid);
		return -1;
	}
	memcpy(&version, blob + lay->dbg_version, 8);
	if (memcmp(blob, "xdebugpy", 8) != 0 || (version >> 24) != 3 ||
	    (int)((version >> 16) & 0xff) != t->minor) {
		lt_error(LT_ERR_LAYOUT, "the _Py_DebugOffsets of %s are missing or not for Python "
			 "%d.%d (cookie or version wrong); use --layout dwarf or table",
			 t->pymod_path, t->major, t->minor);
		return -1;
	}
	for (size_t i = 0; i < LT_ARRAY_SIZE(debug_offsets_map); i++) {
		int32_t where = *(const int32_t *)((const char *)lay + debug_offsets_map[i].where);
		uint64_t v;

		if (where < 0 || where + 8 > lay->dbg_size)
			continue;  /* this table does not know where it is */
		memcpy(&v, blob + where, 8);
		/* Offsets into objects and states: small, or the blob lies. */
		if (v >= (1u << 16)) {
			lt_error(LT_ERR_LAYOUT, "_Py_DebugOffsets of pid %d gives %s = %llu, not a "
				 "plausible offset; use --layout dwarf or table", (int)t->pid,
				 debug_offsets_map[i].name, (unsigned long long)v);
			return -1;
		}
		*(int32_t *)((char *)lay + debug_offsets_map[i].field) = (int32_t)v;
	}
	lay->source = LAYOUT_DEBUG_OFFSETS;
	return 0;
}

static int finish(struct target *t, struct py_layout *lay)
{
	apply_override(lay);
	if (layout_check(t, lay) < 0)
		return -1;
	return layout_validate(t, lay);
}

/* The built-in entries for the target's version, best first (alone, or
 * under the debug offsets): the first that validates is used.  When none
 * does, the error is the best entry's. */
static int from_tables(struct target *t, struct py_layout *lay, int debug_offsets)
{
	size_t n = layout_table_ncandidates(t);
	char err[512] = "";
	enum lt_errkind kind = LT_ERR_LAYOUT;

	if (n == 0)
		return debug_offsets ? layout_from_debug_offsets(t, lay, 0) : layout_from_table(t, lay, 0);
	for (size_t k = 0; k < n; k++) {
		if ((debug_offsets ? layout_from_debug_offsets(t, lay, k) : layout_from_table(t, lay, k)) == 0 &&
		    finish(t, lay) == 0)
			return 0;
		if (k == 0) {
			snprintf(err, sizeof(err), "%s", lt_last_error());
			kind = lt_last_errkind();
		}
	}
	lt_error(kind, "%s", err);
	return -1;
}

int layout_accept(struct target *t, const struct py_layout *lay)
{
	if (layout_check(t, lay) < 0)
		return -1;
	return layout_validate(t, lay);
}

/* How many fields of a differ from b's; the first few named in names.  An
 * optional field (an extension module's struct) that a lacks is not a
 * difference: a session without that module's debug info records -1. */
static size_t layout_differences(const struct py_layout *a, const struct py_layout *b,
				 char *names, size_t n)
{
	size_t diff = 0, at = 0;

	if (n)
		names[0] = '\0';
	for (size_t i = 0; i < LT_ARRAY_SIZE(field_names); i++) {
		int32_t va = *(const int32_t *)((const char *)a + field_names[i].offset);
		int32_t vb = *(const int32_t *)((const char *)b + field_names[i].offset);

		if (va == vb || (field_names[i].optional && va < 0))
			continue;
		if (diff < 4 && at < n) {
			int w = snprintf(names + at, n - at, "%s%s %d (not %d)", diff ? ", " : "",
					 field_names[i].name, va, vb);

			at = w < 0 ? n : at + (size_t)w;
		}
		diff++;
	}
	return diff;
}

int layout_check_recorded(int major, int minor, int micro, int debug,
			  const struct py_layout *lay, char *note, size_t n)
{
	const struct layout_table *best = NULL;
	size_t best_diff = 0;
	char names[200] = "", first[200];

	for (size_t i = 0; i < layout_tables_count; i++) {
		const struct layout_table *e = &layout_tables[i];
		size_t d;

		/* A debug build's structs can differ from an ordinary one's by
		 * one field: a file's is compared with its own kind's. */
		if (!e->verified || e->debug != debug || !layout_table_covers(e, major, minor, micro))
			continue;
		d = layout_differences(lay, &e->lay, first, sizeof(first));
		if (d == 0)
			return 0;
		if (!best || d < best_diff) {
			best = e;
			best_diff = d;
			snprintf(names, sizeof(names), "%s", first);
		}
	}
	if (!best) {
		char v[32];

		if (micro >= 0)
			snprintf(v, sizeof(v), "%d.%d.%d", major, minor, micro);
		else
			snprintf(v, sizeof(v), "%d.%d", major, minor);
		snprintf(note, n, "layout: as the file records it; leaktop has no verified table "
			 "for Python %s to check it against", v);
		return 1;
	}
	snprintf(note, n, "layout: the file's differs from leaktop's table for Python %s in %zu "
		 "field%s (%s%s): counts and links read through %s may be wrong (a damaged or "
		 "crafted file?)", best->version, best_diff, best_diff == 1 ? "" : "s", names,
		 best_diff > 4 ? ", ..." : "", best_diff == 1 ? "it" : "them");
	return -1;
}

size_t layout_nfields(void)
{
	return LT_ARRAY_SIZE(field_names);
}

const char *layout_field_name(size_t i)
{
	return field_names[i].name;
}

int32_t *layout_field(struct py_layout *lay, size_t i)
{
	return (int32_t *)((char *)lay + field_names[i].offset);
}

int layout_load(struct target *t, enum layout_source want, struct py_layout *lay)
{
	switch (want) {
	case LAYOUT_AUTO:
		/* What the interpreter publishes, then its debug info, then the
		 * built-in table; each must pass validation to be used. */
		if (t->minor >= 13 && from_tables(t, lay, 1) == 0)
			return 0;
		if (layout_from_dwarf(t, lay) == 0)
			return finish(t, lay);
		if (layout_table_ncandidates(t))
			return from_tables(t, lay, 0);
		lt_error(LT_ERR_LAYOUT, "no layout for Python %d.%d (%s): it has no debug info and "
			 "leaktop has no built-in table for it; install its debug symbols "
			 "(python3.%d-dbg or debuginfod)", t->major, t->minor, t->pymod_path, t->minor);
		return -1;
	case LAYOUT_DWARF:
		if (layout_from_dwarf(t, lay) < 0)
			return -1;
		return finish(t, lay);
	case LAYOUT_TABLE:
		return from_tables(t, lay, 0);
	case LAYOUT_DEBUG_OFFSETS:
		return from_tables(t, lay, 1);
	}
	return -1;
}
