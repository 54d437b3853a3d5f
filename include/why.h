/* why.h - why objects are alive: chains from a root, for people.
 *
 * Turns the shortest chains of the reference graph into steps that name
 * how each object holds the next (a global, an attribute, an index, a dict
 * key, a local or closure variable), merges the chains of many objects that
 * have the same shape ("49,812 of 50,000 via __main__.registry") and keeps
 * the most common.  Runs while the target is stopped: naming a step reads
 * the object that holds it. */
#ifndef LEAKTOP_WHY_H
#define LEAKTOP_WHY_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct session;
struct snapshot;

/* Selected objects followed at most (the rest are counted, not chained). */
#define WHY_MAX_SELECTED (1u << 20)
/* Objects kept of one chain: the first and last half of this many. */
#define WHY_MAX_STEPS 64

struct why_step {
	uint64_t addr;
	char type[128];
	char via[160];          /* how the previous step holds this one; "" at the root */
	char name[128];         /* modules, functions, generators, frames; "" otherwise */
	char file[256];         /* code objects' file, "" when not a code step */
	int line;               /* -1 when unknown */
	size_t skipped;         /* objects of a long chain left out before this step */
	uint64_t retained;      /* bytes freeing it would free (0: not computed) */
};

struct why_chain {
	uint64_t count;         /* selected objects whose chains have this shape */
	enum root_kind root;
	char root_name[64];     /* module name, "thread TID", or "" */
	uint64_t root_tid;
	struct why_step *steps; /* root first, the selected object last */
	size_t nsteps;
	size_t elided;          /* objects left out after the first WHY_MAX_STEPS / 2 */
};

enum why_selector_kind { WHY_TYPE, WHY_ADDR, WHY_FD };

struct why_selector {
	enum why_selector_kind kind;
	char type[256];
	uint64_t addr;
	int fd;
	/* WHY_TYPE: objects at these addresses (ascending) are left out: an
	 * older snapshot's, so that only the new ones are explained. */
	const uint64_t *skip;
	size_t nskip;
};

struct why_result {
	uint64_t selected;      /* objects the selector matched */
	uint64_t garbage;       /* of those, cyclic garbage: no root holds them */
	uint64_t unreached;     /* of those, neither garbage nor reached from a root */
	uint64_t shapes;        /* distinct chain shapes */
	struct why_chain *chains;  /* most common shape first */
	size_t nchains;
	uint64_t nodes, edges;  /* size of the graph the chains came from */
	size_t graph_bytes;
	char note[256];         /* why nothing matched, or what was left out */
};

/* Parse "fd:N", "0x7f..." or a type name; -1 if it is none of them. */
int why_parse_selector(const char *text, struct why_selector *sel);

/* Chains for the objects sel picks, at most max of them. */
void why_analyze(struct why_result *w, struct session *s, struct snapshot *snap,
		 struct graph *g, const struct why_selector *sel, size_t max);
void why_free(struct why_result *w);

/* One chain for each of nodes[0..n) (count 1, in that order, the root kind
 * unset and no steps where no root reaches it), along the shortest chains p
 * of g (graph_paths).  Free each with why_chain_free. */
void why_chains_for(struct session *s, struct graph *g, struct graph_paths *p,
		    const uint32_t *nodes, size_t n, struct why_chain *out);
void why_chain_free(struct why_chain *ch);
/* The chain's first nsteps steps as a path for people: the root (a module,
 * "thread TID (name)", "held from C") then each step's attribute, index or
 * key ("__main__.registry[3]"). */
void why_chain_path(const struct why_chain *ch, size_t nsteps, char *buf, size_t max);

#endif
