/* refs.h - the objects an object refers to.
 *
 * Knows the core containers (list, tuple, dict keys and values, set and
 * frozenset), instance attributes (__dict__, managed dicts, inline values)
 * and __slots__, types, functions, code, cells, methods, modules,
 * properties, class/static methods, descriptors, builtin functions, frames
 * and generators.  Other objects have no known references here. */
#ifndef LEAKTOP_REFS_H
#define LEAKTOP_REFS_H

#include <stdint.h>

struct pyctx;
struct pytype;

/* Called per referent; return 0 to go on, non-zero to stop.  guessed: the
 * conservative scan found it (a word that looks like an object in every
 * way the copy can tell), not a field leaktop knows. */
typedef int (*ref_fn)(void *arg, uint64_t ref, int guessed);

/* Returns 0 when done, -1 if obj could not be read, or what fn returned. */
int refs_each(struct pyctx *c, uint64_t obj, struct pytype *t, ref_fn fn, void *arg);

/* How a referent is held, for people: enough to name it later (names are
 * read only for the references a chain prints). */
enum ref_how {
	REF_FIELD,       /* a named field: name ("__dict__", "cell_contents" ...) */
	REF_INDEX,       /* item `index` of a list or tuple */
	REF_SET_ITEM,    /* a member of a set */
	REF_DICT_KEY,    /* a dict key itself (key == the referent) */
	REF_DICT_VALUE,  /* the value of dict key `key` (an object address) */
	REF_ATTR,        /* instance attribute kept without a dict: key is its name */
	REF_SLOT,        /* __slots__ member at offset `index` of type `key` */
	REF_LOCAL,       /* local/cell variable `index` of the frame running code `key` */
	REF_STACK,       /* a value on the evaluation stack of code `key` */
	REF_CFIELD,      /* a word at offset `index` of an object of C type `key`
			  * that leaktop knows no layout for: found by the
			  * conservative scan, named by tp_members if it can be */
};

struct ref_label {
	enum ref_how how;
	int64_t index;
	uint64_t key;
	const char *name;
};

typedef int (*ref_label_fn)(void *arg, uint64_t ref, const struct ref_label *how);

/* 1 when objects of type t can refer to others (refs_each may emit
 * something for them), 0 for leaves: str, int, float, bytes ... */
int refs_may_hold(const struct pytype *t);

/* refs_each with how each referent is held. */
int refs_each_labelled(struct pyctx *c, uint64_t obj, struct pytype *t, ref_label_fn fn,
		       void *arg);

/* The references of a 3.11+ interpreter frame (code, f_locals, function,
 * live locals and stack; not the borrowed globals and builtins), same
 * convention. */
int refs_frame_each(struct pyctx *c, uint64_t iframe, ref_fn fn, void *arg);
int refs_frame_each_labelled(struct pyctx *c, uint64_t iframe, ref_label_fn fn, void *arg);

#endif
