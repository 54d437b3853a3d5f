/* layout_dwarf.c - struct layouts from DWARF: the live interpreter's own, or
 * (tools/layout-from-object) that of an object compiled from a release's
 * headers. */
#include "config.h"
#include "dwarf_types.h"
#include "layout.h"
#include "target.h"
#include "util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OFF, SIZE, ELEM, OPT };

struct field_spec {
	const char *name;
	int kind;
	const char *ctype;
	const char *path;
	int lo, hi;
	size_t offset;  /* into struct py_layout */
};

#define LT_LAYOUT_SPEC(n, k, c, p, l, h) { #n, k, c, p, l, h, offsetof(struct py_layout, n) },
static const struct field_spec specs[] = { LT_LAYOUT_FIELDS(LT_LAYOUT_SPEC) };
#undef LT_LAYOUT_SPEC

/* Members that are named differently inside one minor version, asked for
 * when the usual name is absent.  3.14.0-3.14.4 (incremental collector)
 * call the generations young and old[2]; they sit where 3.14.5+ keeps
 * generations[3], so the young one's offset and a generation's size are
 * what the readers need. */
#define LT_FALLBACK(n, k, c, p) { #n, k, c, p, 0, 0, offsetof(struct py_layout, n) }
static const struct field_spec fallbacks[] = {
	LT_FALLBACK(gcs_generations, OFF, "struct _gc_runtime_state", "young"),
	LT_FALLBACK(gen_size, SIZE, "struct gc_generation", NULL),
};
#undef LT_FALLBACK

static long query(struct dwarf_types *dt, const struct field_spec *s)
{
	return dwarf_types_query(dt, s->kind == OFF || s->kind == OPT ? DQ_OFFSET :
				 s->kind == SIZE ? DQ_SIZEOF : DQ_ELEMSIZE, s->ctype, s->path);
}

int layout_from_types(struct dwarf_types *dt, int minor, struct py_layout *lay,
		      char *missing, size_t missing_size)
{
	int nmissing = 0;

	memset(lay, 0, sizeof(*lay));
	lay->minor = minor;
	if (missing_size)
		missing[0] = '\0';
	for (size_t i = 0; i < LT_ARRAY_SIZE(specs); i++) {
		const struct field_spec *s = &specs[i];
		long v = query(dt, s);
		int32_t *slot = (int32_t *)((char *)lay + s->offset);

		for (size_t k = 0; v < 0 && k < LT_ARRAY_SIZE(fallbacks); k++)
			if (fallbacks[k].offset == s->offset)
				v = query(dt, &fallbacks[k]);
		*slot = v >= 0 && v < INT32_MAX ? (int32_t)v : -1;
		if (getenv("LEAKTOP_DEBUG_LAYOUT"))  /* for checking a new version's fields */
			fprintf(stderr, "layout %s = %d\n", s->name, *slot);
		if (*slot < 0 && s->kind != OPT && minor >= s->lo && minor <= s->hi) {
			size_t used = missing_size ? strlen(missing) : 0;

			if (used + strlen(s->name) + 3 < missing_size)
				snprintf(missing + used, missing_size - used, "%s%s",
					 used ? ", " : "", s->name);
			nmissing++;
		}
	}
	return nmissing;
}

int layout_from_dwarf(struct target *t, struct py_layout *lay)
{
	struct dwarf_types *dt = t->pymod ? target_types(t, t->pymod) : NULL;
	char missing[256];
	int nmissing;

	if (!dt) {
		lt_error(LT_ERR_LAYOUT, "no DWARF debug info for %s (Python %d.%d): install its debug "
			 "symbols (e.g. the python3.%d-dbg package), set DEBUGINFOD_URLS, or use another --layout",
			 t->pymod_path, t->major, t->minor, t->minor);
		return -1;
	}
	nmissing = layout_from_types(dt, t->minor, lay, missing, sizeof(missing));
	lay->source = LAYOUT_DWARF;
	if (nmissing) {
		lt_error(LT_ERR_LAYOUT, "the DWARF of %s lacks %d layout field%s leaktop needs "
			 "for Python 3.%d (%s); is this a supported CPython build?",
			 t->pymod_path, nmissing, nmissing > 1 ? "s" : "", t->minor, missing);
		return -1;
	}
	return 0;
}
