/* dwarf_types.h - struct sizes and member offsets from a module's DWARF.
 *
 * Used for the interpreter's own layouts and for extension modules (_socket,
 * select, mmap) whose object structs live in their own debug info. */
#ifndef LEAKTOP_DWARF_TYPES_H
#define LEAKTOP_DWARF_TYPES_H

#include <elfutils/libdw.h>

struct dwarf_types;

enum dwarf_query {
	DQ_OFFSET,    /* offsetof(ctype, member.path) */
	DQ_SIZEOF,    /* sizeof(ctype) */
	DQ_ELEMSIZE,  /* size of one element of the array member.path */
};

/* Index the named types of dw (one pass over the compile units). */
struct dwarf_types *dwarf_types_new(Dwarf *dw);
void dwarf_types_free(struct dwarf_types *dt);

/* ctype is "struct name", "union name" or a typedef name.  Returns the
 * value, or -1 when the type or member is not there. */
long dwarf_types_query(struct dwarf_types *dt, enum dwarf_query what, const char *ctype,
		       const char *member_path);

#endif
