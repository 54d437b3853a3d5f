/* layout_table.c - choosing a built-in layout table by version. */
#include "config.h"
#include "layout.h"
#include "target.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int layout_from_table(struct target *t, struct py_layout *lay)
{
	char want[16];

	snprintf(want, sizeof(want), "%d.%d", t->major, t->minor);
	for (size_t i = 0; i < layout_tables_count; i++) {
		if (strcmp(layout_tables[i].version, want) == 0) {
			*lay = layout_tables[i].lay;
			lay->source = LAYOUT_TABLE;
			return 0;
		}
	}
	lt_error(LT_ERR_LAYOUT, "--layout table: leaktop has no built-in layout for Python %s; "
		 "use --layout dwarf with its debug symbols", want);
	return -1;
}
