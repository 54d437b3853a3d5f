/* layout-from-object - a built-in table entry from a compiled object's DWARF.
 *
 * usage: layout-from-object OBJECT MINOR VERSION BUILT_FROM
 *
 * Development aid for tools/derive-layout-from-headers, which compiles a
 * CPython release's headers (and the .c files that define the structs
 * leaktop reads) into OBJECT with every type kept in the debug info.  The
 * layout is read with the code leaktop uses on a live interpreter's DWARF
 * (layout_from_types) and printed as an unverified entry for VERSION
 * ("3.14", "3.14.5+", "3.14.0-3.14.4").  Exit status 1, with the missing
 * fields named, when the object lacks any that 3.MINOR needs. */
#include "config.h"
#include "dwarf_types.h"
#include "layout.h"
#include "util.h"

#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>

static char *debuginfo_path;

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

int main(int argc, char **argv)
{
	struct layout_table e = { 0 };
	struct dwarf_types *dt;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	char missing[1024];
	Dwarf *dw;
	Dwfl *dwfl;
	int nmissing;
	char *end;
	long minor;

	if (argc != 5) {
		fprintf(stderr, "usage: layout-from-object OBJECT MINOR VERSION BUILT_FROM\n");
		return 2;
	}
	minor = strtol(argv[2], &end, 10);
	if (*end || minor < 8 || minor > 99) {
		fprintf(stderr, "layout-from-object: MINOR must be a CPython 3 minor version, not '%s'\n",
			argv[2]);
		return 2;
	}
	/* Through libdwfl, which applies a relocatable object's relocations to
	 * its debug sections; libdw alone would read them unrelocated. */
	dwfl = dwfl_begin(&offline_callbacks);
	if (!dwfl || !(mod = dwfl_report_offline(dwfl, argv[1], argv[1], -1)) ||
	    dwfl_report_end(dwfl, NULL, NULL) != 0 || !(dw = dwfl_module_getdwarf(mod, &bias))) {
		fprintf(stderr, "layout-from-object: %s: %s\n", argv[1], dwfl_errmsg(-1));
		return 1;
	}
	dt = dwarf_types_new(dw);
	nmissing = layout_from_types(dt, (int)minor, &e.lay, missing, sizeof(missing));
	dwarf_types_free(dt);
	dwfl_end(dwfl);
	if (nmissing) {
		fprintf(stderr, "layout-from-object: %s lacks %d field%s Python 3.%ld needs: %s\n",
			argv[1], nmissing, nmissing > 1 ? "s" : "", minor, missing);
		return 1;
	}
	e.version = argv[3];
	e.built_from = argv[4];
	e.verified = 0;
	e.lay.source = LAYOUT_TABLE;
	layout_print_entry(stdout, &e);
	return 0;
}
