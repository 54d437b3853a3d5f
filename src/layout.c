/* layout.c - choose the source of struct layouts. */
#include "config.h"
#include "layout.h"
#include "target.h"
#include "util.h"

#include <string.h>

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

int layout_load(struct target *t, enum layout_source want, struct py_layout *lay)
{
	switch (want) {
	case LAYOUT_AUTO:
	case LAYOUT_DWARF:
		if (layout_from_dwarf(t, lay) < 0)
			return -1;
		return layout_check(t, lay);
	case LAYOUT_DEBUG_OFFSETS:
		lt_error(LT_ERR_LAYOUT, "--layout debug-offsets is not available yet in this "
			 "leaktop; use --layout dwarf (needs debug symbols) or auto");
		return -1;
	case LAYOUT_TABLE:
		lt_error(LT_ERR_LAYOUT, "--layout table is not available yet in this leaktop; "
			 "use --layout dwarf (needs debug symbols) or auto");
		return -1;
	}
	return -1;
}
