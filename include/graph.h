/* graph.h - who refers to whom in one snapshot, and what nothing holds.
 *
 * The census walk reports every reference it follows (reach.c calls
 * graph_source, then graph_edge per referent); graph_finish turns them into
 * adjacency arrays.  Two questions are answered from it:
 *   - cyclic garbage: tracked objects that only other garbage refers to,
 *     computed as the collector does (reference counts minus the references
 *     tracked objects hold, then everything reachable from what is left);
 *   - why an object is alive: shortest chains from the roots (modules in
 *     sys.modules, threads' running frames, objects held from C).
 *
 * Memory: 32 bytes per node and 8 per edge, plus 4 per node for the
 * adjacency index and, to find nodes by address, 4 bytes per 16 bytes of
 * the address ranges that hold them (only pages touched count); only
 * tracked objects are nodes unless `full`. */
#ifndef LEAKTOP_GRAPH_H
#define LEAKTOP_GRAPH_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct pytype;
struct graph_region;

/* More nodes or edges than this: the graph stops growing and says so. */
#define GRAPH_MAX_NODES (1u << 28)
#define GRAPH_MAX_EDGES (1u << 30)
#define GRAPH_NONE UINT32_MAX

enum {
	GN_TRACKED = 1,  /* on a GC list */
	GN_FRAME = 2,    /* a thread's running interpreter frame, not an object */
	GN_GARBAGE = 4,  /* no root reaches it (set by graph_garbage) */
};

struct graph_node {
	uint64_t addr;
	struct pytype *t;       /* NULL for frames */
	int64_t refcnt;
	uint32_t flags;
	uint32_t in;            /* references to it the walk saw */
};

enum root_kind { ROOT_MODULE, ROOT_THREAD, ROOT_EXTERNAL };

struct graph_root {
	enum root_kind kind;
	uint32_t node;
	uint64_t tid;           /* ROOT_THREAD: the thread's id */
	char name[64];          /* module: its name in sys.modules; thread: "MainThread" or "" */
};

struct graph {
	struct pyctx *c;
	int full;               /* also untracked objects (for chains) */
	struct graph_node *nodes;
	uint32_t n, cap;
	struct graph_region *regions;   /* address -> node + 1: per 1 MiB region */
	size_t nregions, region_cap;
	struct graph_region *last_region;
	void **blocks;          /* where region indexes are carved from */
	size_t nblocks, block_left;
	uint32_t *slots;        /* addresses off the 16-byte grid -> node + 1 */
	size_t nslots, nodd;
	uint32_t (*edges)[2];   /* (from, to) until graph_finish */
	size_t ne, ecap;
	uint32_t cur;           /* node whose references are being added */
	uint32_t *first, *adj;  /* after graph_finish: adj[first[i] .. first[i+1]) */
	uint8_t *guessed;       /* after graph_finish: bit e set when edge e was guessed */
	struct graph_root *roots;
	size_t nroots, roots_cap;
	int overflow;           /* a bound was hit: the graph is partial */
	int externals;          /* graph_paths added the objects held from C as roots */
	uint64_t *retained;     /* per node: retained bytes (retain.c), or NULL */
};

void graph_init(struct graph *g, struct pyctx *c, int full);
/* A test hook: every node ("N ADDR TYPE") followed by its edges ("E FROM
 * TO"), addresses in hex, into a new file at path (never an existing one);
 * for the tests' recall against gc.get_referents(). */
void graph_write_edges(const struct graph *g, const char *path);
void graph_free(struct graph *g);
/* Bytes the graph holds now (for the notes). */
size_t graph_bytes(const struct graph *g);

/* The references added next are obj's.  Untracked sources are ignored
 * unless the graph is full; obj 0: none (references are not recorded). */
void graph_source(struct graph *g, uint64_t obj, struct pytype *t, int tracked);
/* The references added next are those of a thread's frame at iframe (3.11+
 * interpreter frames, which are not objects); it becomes a thread root. */
void graph_frame_source(struct graph *g, uint64_t iframe, uint64_t tid, const char *name);
/* The current source refers to obj (guessed: found by the conservative
 * scan; chains take such an edge only where no other reaches). */
void graph_edge(struct graph *g, uint64_t obj, struct pytype *t, int tracked, int guessed);
/* A root: module `name` at obj, or a 3.8-3.10 thread frame object (name
 * "MainThread" or NULL). */
void graph_root(struct graph *g, enum root_kind kind, uint64_t obj, uint64_t tid,
		const char *name);
/* Build the adjacency arrays; no edges may be added afterwards. */
void graph_finish(struct graph *g);

/* Node of the object at addr, or GRAPH_NONE. */
uint32_t graph_find(const struct graph *g, uint64_t addr);

struct garbage {
	uint64_t objects, bytes;
	uint64_t cycles;        /* groups of garbage objects connected by references */
	uint64_t finalizers;    /* garbage objects whose class defines __del__ */
};

/* Mark GN_GARBAGE on the tracked objects the collector would find
 * unreachable and sum them; per-type counts go to t->garbage... */
void graph_garbage(struct graph *g, struct garbage *out);

/* Shortest chains: after graph_paths, parent[i] is the node before i on a
 * shortest chain from a root (GRAPH_NONE at a root or where none reaches),
 * root_of[i] the index into g->roots.  Roots are tried by strength:
 * modules and threads first, then objects held from C (external roots,
 * added here: those whose reference count exceeds the references seen). */
struct graph_paths {
	uint32_t *parent;
	uint32_t *root_of;
};
void graph_paths(struct graph *g, struct graph_paths *p);
void graph_paths_free(struct graph_paths *p);

#endif
