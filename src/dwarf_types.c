/* dwarf_types.c - struct sizes and member offsets from DWARF.
 *
 * One pass over the top-level DIEs of every compile unit indexes the named
 * structs, unions and typedefs; queries then walk member paths
 * ("interpreters.head") through typedefs and anonymous members. */
#include "config.h"
#include "dwarf_types.h"
#include "util.h"

#include <dwarf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open-addressing index from "struct name" / "union name" / "typedef name"
 * to the first complete definition seen. */
struct die_index {
	struct { char *key; Dwarf_Die die; } *slot;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static Dwarf_Die *index_find(struct die_index *ix, const char *key)
{
	size_t i = hash_str(key) & (ix->cap - 1);

	while (ix->slot[i].key) {
		if (strcmp(ix->slot[i].key, key) == 0)
			return &ix->slot[i].die;
		i = (i + 1) & (ix->cap - 1);
	}
	return NULL;
}

static void index_add(struct die_index *ix, const char *key, const Dwarf_Die *die)
{
	size_t i;

	if (2 * (ix->n + 1) > ix->cap) {
		struct die_index bigger = { .cap = ix->cap ? ix->cap * 2 : 4096 };

		bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
		for (size_t k = 0; k < ix->cap; k++)
			if (ix->slot[k].key) {
				size_t j = hash_str(ix->slot[k].key) & (bigger.cap - 1);

				while (bigger.slot[j].key)
					j = (j + 1) & (bigger.cap - 1);
				bigger.slot[j] = ix->slot[k];
			}
		bigger.n = ix->n;
		free(ix->slot);
		*ix = bigger;
	}
	i = hash_str(key) & (ix->cap - 1);
	while (ix->slot[i].key) {
		if (strcmp(ix->slot[i].key, key) == 0)
			return;  /* first definition wins */
		i = (i + 1) & (ix->cap - 1);
	}
	ix->slot[i].key = xstrdup(key);
	ix->slot[i].die = *die;
	ix->n++;
}

static void index_free(struct die_index *ix)
{
	for (size_t i = 0; i < ix->cap; i++)
		free(ix->slot[i].key);
	free(ix->slot);
}

static int is_declaration(Dwarf_Die *die)
{
	bool flag = false;
	Dwarf_Attribute attr;

	if (dwarf_attr(die, DW_AT_declaration, &attr))
		dwarf_formflag(&attr, &flag);
	return flag;
}

static void build_index(Dwarf *dw, struct die_index *ix)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);
				const char *prefix;
				const char *name;
				char key[256];

				if (tag == DW_TAG_structure_type)
					prefix = "struct ";
				else if (tag == DW_TAG_union_type)
					prefix = "union ";
				else if (tag == DW_TAG_typedef)
					prefix = "";
				else
					continue;
				name = dwarf_diename(&child);
				if (!name || is_declaration(&child))
					continue;
				snprintf(key, sizeof(key), "%s%s", prefix, name);
				index_add(ix, key, &child);
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
}

/* Follow typedefs and qualifiers to the underlying type; complete a struct
 * declaration from the index. */
static int resolve_type(struct die_index *ix, Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Die cur = *die;

	for (int depth = 0; depth < 16; depth++) {
		int tag = dwarf_tag(&cur);
		Dwarf_Attribute attr;

		if (tag == DW_TAG_typedef || tag == DW_TAG_const_type ||
		    tag == DW_TAG_volatile_type || tag == DW_TAG_atomic_type) {
			if (!dwarf_attr(&cur, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &cur))
				return -1;
			continue;
		}
		if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && is_declaration(&cur)) {
			const char *name = dwarf_diename(&cur);
			char key[256];
			Dwarf_Die *def;

			if (!name)
				return -1;
			snprintf(key, sizeof(key), "%s%s",
				 tag == DW_TAG_structure_type ? "struct " : "union ", name);
			def = index_find(ix, key);
			if (!def)
				return -1;
			cur = *def;
		}
		*out = cur;
		return 0;
	}
	return -1;
}

static int member_offset(Dwarf_Die *member, Dwarf_Word *off)
{
	Dwarf_Attribute attr;
	Dwarf_Op *expr;
	size_t len;

	if (!dwarf_attr(member, DW_AT_data_member_location, &attr)) {
		*off = 0;  /* union members */
		return 0;
	}
	if (dwarf_formudata(&attr, off) == 0)
		return 0;
	if (dwarf_getlocation(&attr, &expr, &len) == 0 && len == 1 &&
	    expr[0].atom == DW_OP_plus_uconst) {
		*off = expr[0].number;
		return 0;
	}
	return -1;
}

/* Find member `name` in aggregate `agg`, looking through anonymous members. */
static int find_member(struct die_index *ix, Dwarf_Die *agg, const char *name,
		       Dwarf_Word *off, Dwarf_Die *member_out, int depth)
{
	Dwarf_Die child;

	if (depth > 8 || dwarf_child(agg, &child) != 0)
		return -1;
	do {
		const char *mname;
		Dwarf_Word moff;

		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		if (member_offset(&child, &moff) < 0)
			continue;
		mname = dwarf_diename(&child);
		if (mname && strcmp(mname, name) == 0) {
			*off = moff;
			*member_out = child;
			return 0;
		}
		if (!mname) {
			Dwarf_Attribute attr;
			Dwarf_Die t, inner;
			Dwarf_Word ioff;

			if (dwarf_attr(&child, DW_AT_type, &attr) && dwarf_formref_die(&attr, &t) &&
			    resolve_type(ix, &t, &t) == 0 &&
			    find_member(ix, &t, name, &ioff, &inner, depth + 1) == 0) {
				*off = moff + ioff;
				*member_out = inner;
				return 0;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return -1;
}

static int type_of(struct die_index *ix, Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute attr;
	Dwarf_Die t;

	if (!dwarf_attr(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &t))
		return -1;
	return resolve_type(ix, &t, out);
}

struct dwarf_types {
	struct die_index ix;
};

long dwarf_types_query(struct dwarf_types *dt, enum dwarf_query what, const char *ctype,
		       const char *member_path)
{
	struct die_index *ix = &dt->ix;
	Dwarf_Die *start = index_find(ix, ctype);
	Dwarf_Die cur, member;
	Dwarf_Word total = 0, size;
	char path[128], *save = NULL, *part;

	if (!start || resolve_type(ix, start, &cur) < 0)
		return -1;
	if (what == DQ_SIZEOF)
		return dwarf_aggregate_size(&cur, &size) == 0 ? (long)size : -1;
	if (!member_path)
		return -1;
	snprintf(path, sizeof(path), "%s", member_path);
	for (part = strtok_r(path, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		Dwarf_Word off;

		if (find_member(ix, &cur, part, &off, &member, 0) < 0)
			return -1;
		total += off;
		if (type_of(ix, &member, &cur) < 0)
			return -1;
	}
	if (what == DQ_OFFSET)
		return (long)total;
	/* ELEM: size of one element of an array member. */
	if (dwarf_tag(&cur) != DW_TAG_array_type || type_of(ix, &cur, &cur) < 0)
		return -1;
	return dwarf_aggregate_size(&cur, &size) == 0 ? (long)size : -1;
}

struct dwarf_types *dwarf_types_new(Dwarf *dw)
{
	struct dwarf_types *dt = xcalloc(1, sizeof(*dt));

	build_index(dw, &dt->ix);
	return dt;
}

void dwarf_types_free(struct dwarf_types *dt)
{
	if (!dt)
		return;
	index_free(&dt->ix);
	free(dt);
}
