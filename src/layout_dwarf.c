/* layout_dwarf.c - struct layouts from the interpreter's own DWARF. */
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

enum { OFF, SIZE, ELEM };

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

int layout_from_dwarf(struct target *t, struct py_layout *lay)
{
	struct dwarf_types *dt = t->pymod ? target_types(t, t->pymod) : NULL;
	char missing[256] = "";
	int nmissing = 0;

	if (!dt) {
		lt_error(LT_ERR_LAYOUT, "no DWARF debug info for %s (Python %d.%d): install its debug "
			 "symbols (e.g. the python3.%d-dbg package), set DEBUGINFOD_URLS, or use another --layout",
			 t->pymod_path, t->major, t->minor, t->minor);
		return -1;
	}
	memset(lay, 0, sizeof(*lay));
	lay->source = LAYOUT_DWARF;
	lay->minor = t->minor;
	for (size_t i = 0; i < LT_ARRAY_SIZE(specs); i++) {
		const struct field_spec *s = &specs[i];
		long v = dwarf_types_query(dt, s->kind == OFF ? DQ_OFFSET :
					   s->kind == SIZE ? DQ_SIZEOF : DQ_ELEMSIZE, s->ctype, s->path);
		int32_t *slot = (int32_t *)((char *)lay + s->offset);

		*slot = v >= 0 && v < INT32_MAX ? (int32_t)v : -1;
		if (getenv("LEAKTOP_DEBUG_LAYOUT"))  /* for checking a new version's fields */
			fprintf(stderr, "layout %s = %d\n", s->name, *slot);
		if (*slot < 0 && t->minor >= s->lo && t->minor <= s->hi) {
			size_t used = strlen(missing);

			if (used + strlen(s->name) + 3 < sizeof(missing))
				snprintf(missing + used, sizeof(missing) - used, "%s%s",
					 used ? ", " : "", s->name);
			nmissing++;
		}
	}
	if (nmissing) {
		lt_error(LT_ERR_LAYOUT, "the DWARF of %s lacks %d layout field%s leaktop needs "
			 "for Python 3.%d (%s); is this a supported CPython build?",
			 t->pymod_path, nmissing, nmissing > 1 ? "s" : "", t->minor, missing);
		return -1;
	}
	return 0;
}
