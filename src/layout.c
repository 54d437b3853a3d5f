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

int layout_load(struct target *t, enum layout_source want, struct py_layout *lay)
{
	switch (want) {
	case LAYOUT_AUTO:
	case LAYOUT_DWARF:
		return layout_from_dwarf(t, lay);
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
