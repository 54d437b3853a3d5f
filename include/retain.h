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
 * Computed on the copy after the target runs again.  Memory: 52 bytes per
 * node and 4 per reference on top of the graph's, for the time of the
 * computation (Lengauer-Tarjan with path compression, iterative). */
#ifndef LEAKTOP_RETAIN_H
#define LEAKTOP_RETAIN_H

#include <stddef.h>
#include <stdint.h>

#include "why.h"

struct graph;
struct graph_paths;
struct session;

/* Retainers kept per snapshot. */
#define RETAIN_MAX 20

struct retainer {
	uint64_t addr;
	char type[128];
	int64_t len;             /* items of a list, tuple, dict or set; -1 otherwise */
	uint64_t retained_bytes, retained_objects;
	char path[256];          /* "__main__.registry", "thread 123 (MainThread) main.rows" */
	struct why_chain chain;  /* from its root to it */
};

struct retainers {
	struct retainer *v;      /* most retained first */
	size_t n;
	uint64_t reachable_bytes, reachable_objects;  /* what the roots reach */
	int known;               /* computed (the full graph was walked) */
};

/* Dominators of g and its top `max` retainers.  p: g's shortest chains
 * (graph_paths, which also adds the objects held from C as roots). */
void retainers_compute(struct retainers *out, struct session *s, struct graph *g,
		       struct graph_paths *p, size_t max);
void retainers_free(struct retainers *r);

#endif
