/* retain.h - who holds the memory: retained sizes and the top retainers.
 *
 * The dominator tree of a snapshot's reference graph, from one virtual root
 * over the real ones (modules in sys.modules, threads' running frames,
 * objects held from C): object d dominates o when every chain from a root
 * to o passes through d, so freeing d frees o.  An object's retained size is
 * the sys.getsizeof sum of what it dominates, itself included.
 *
 * The retainers are the objects a name holds: those whose immediate
 * dominator is the virtual root or a holder of names (a module, its
 * __dict__, a class, a class's __dict__, a thread's frame), ranked by
 * retained bytes and named by their shortest chain (__main__.registry).
 *
 * Computed on the copy after the target runs again.  Memory: at most 52
 * bytes per node and 4 per reference on top of the graph's, for the time
 * of the computation (Lengauer-Tarjan with path compression, iterative). */
#ifndef LEAKTOP_RETAIN_H
#define LEAKTOP_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "why.h"

struct graph;
struct graph_paths;
struct session;

/* Retainers a dump shows (JSON; the text the first ten), and those watch
 * and the view follow from snapshot to snapshot. */
#define RETAIN_MAX 20
#define RETAIN_TRACK 200
/* Types told apart in what one retainer holds. */
#define RETAIN_TYPES 32

struct retainer {
	uint64_t addr;
	char type[128];
	int64_t len;             /* items of a list, tuple, dict or set; -1 otherwise */
	uint64_t retained_bytes, retained_objects;
	char path[256];          /* "__main__.registry", "thread 123 (MainThread) main.rows" */
	int weak;                /* a WeakSet, a WeakValueDictionary, a list of weakrefs:
				  * what it tracks, it does not hold */
	struct why_chain chain;  /* from its root to it */
	/* What it retains, by type, most bytes first (the first RETAIN_MAX
	 * retainers only; "(other types)" sums the rest past RETAIN_TYPES). */
	struct retained_type {
		char type[128];
		uint64_t count, bytes;
	} *holds;
	size_t nholds;
};

struct retainers {
	struct retainer *v;      /* most retained first */
	size_t n;
	uint64_t reachable_bytes, reachable_objects;  /* what the roots reach */
	/* Reached only from objects held from C (no module or thread reaches
	 * them): how many, their bytes, and how many such roots. */
	uint64_t from_c_objects, from_c_bytes, from_c_roots;
	/* Of those, under roots that are types (static and extension
	 * classes: their dicts, methods and descriptors). */
	uint64_t from_c_type_objects, from_c_type_bytes, from_c_type_roots;
	int known;               /* computed (the full graph was walked) */
};

/* Dominators of g and its top `max` retainers.  p: g's shortest chains
 * (graph_paths, which also adds the objects held from C as roots). */
void retainers_compute(struct retainers *out, struct session *s, struct graph *g,
		       struct graph_paths *p, size_t max);
void retainers_free(struct retainers *r);

/* The retainers as census rows for a history (growth_on_bytes): one per
 * holder, keyed "path<TAB>type<TAB>0xaddr[<TAB>weak]" so that an address
 * reused by another object starts a new series; count = len (0 when none),
 * bytes = retained bytes.  retainer_key_split undoes the key: 1 for a weak
 * container, 0 for another holder, -1 for no key. */
struct census;
void retainers_census(const struct retainers *r, struct census *out);
int retainer_key_split(const char *key, char *path, size_t pmax, char *type, size_t tmax);

#endif
