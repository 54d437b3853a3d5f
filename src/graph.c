/* graph.c - the reference graph of one snapshot: garbage and chains. */
#include "config.h"
#include "graph.h"
#include "pyobj.h"
#include "remote.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REGION_SHIFT 20
#define GRAIN_SHIFT 4
#define REGION_BYTES ((size_t)4 << (REGION_SHIFT - GRAIN_SHIFT))
#define REGIONS_PER_BLOCK 64

struct graph_region {
	uint64_t key;           /* (addr >> REGION_SHIFT) + 1; 0: empty */
	uint32_t *ids;
};

void graph_init(struct graph *g, struct pyctx *c, int full)
{
	memset(g, 0, sizeof(*g));
	g->c = c;
	g->full = full;
	g->cur = GRAPH_NONE;
}

void graph_free(struct graph *g)
{
	free(g->retained);
	for (size_t k = 0; k < g->nblocks; k++)
		munmap(g->blocks[k], REGION_BYTES * REGIONS_PER_BLOCK);
	free(g->blocks);
	free(g->regions);
	free(g->nodes);
	free(g->slots);
	free(g->edges);
	free(g->first);
	free(g->adj);
	free(g->guessed);
	free(g->roots);
	memset(g, 0, sizeof(*g));
}

size_t graph_bytes(const struct graph *g)
{
	return (size_t)g->cap * sizeof(*g->nodes) + g->nslots * sizeof(*g->slots) +
	       g->nregions * REGION_BYTES + g->region_cap * sizeof(*g->regions) +
	       g->ecap * sizeof(*g->edges) + (g->first ? ((size_t)g->n + 1) * 4 + g->ne * 4 : 0);
}

/* Finding a node by address.  Objects sit on 16-byte boundaries, in dense
 * runs (an arena's pools, a malloc heap), so each 1 MiB region of address
 * space that holds nodes gets a direct index, one 4-byte entry (node + 1)
 * per 16 bytes: a lookup is one access, near the previous one.  A hash
 * table scattered every lookup over all its memory instead, and its cache
 * misses were over half of a 3M-object census.  Region indexes are carved
 * from blocks mapped on demand, so only the pages touched take memory.
 * Addresses off the 16-byte grid (interpreter frames) use a small hash. */
static size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9E3779B97F4A7C15ull >> 17) & (cap - 1);
}

static void region_grow(struct graph *g)
{
	size_t cap = g->region_cap ? g->region_cap * 2 : 256;
	struct graph_region *v = xcalloc(cap, sizeof(*v));

	for (size_t k = 0; k < g->region_cap; k++) {
		size_t i;

		if (!g->regions[k].key)
			continue;
		for (i = slot_of(g->regions[k].key << 20, cap); v[i].key; i = (i + 1) & (cap - 1))
			;
		v[i] = g->regions[k];
	}
	free(g->regions);
	g->regions = v;
	g->region_cap = cap;
	g->last_region = NULL;
}

/* The index of addr's region, made on first use if create; NULL if none. */
static uint32_t *region_ids(struct graph *g, uint64_t addr, int create)
{
	uint64_t key = (addr >> REGION_SHIFT) + 1;
	struct graph_region *r = g->last_region;
	size_t i;

	if (r && r->key == key)
		return r->ids;
	if (!g->region_cap) {
		if (!create)
			return NULL;
		region_grow(g);
	}
	for (i = slot_of(key << 20, g->region_cap); g->regions[i].key; i = (i + 1) & (g->region_cap - 1))
		if (g->regions[i].key == key)
			return (g->last_region = &g->regions[i])->ids;
	if (!create)
		return NULL;
	if (2 * (g->nregions + 1) > g->region_cap) {
		region_grow(g);
		return region_ids(g, addr, create);
	}
	if (g->block_left == 0) {
		void *b = mmap(NULL, REGION_BYTES * REGIONS_PER_BLOCK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (b == MAP_FAILED)
			lt_fatal("cannot map %zu MiB for the reference graph", REGION_BYTES * REGIONS_PER_BLOCK >> 20);
		g->blocks = xreallocarray(g->blocks, g->nblocks + 1, sizeof(*g->blocks));
		g->blocks[g->nblocks++] = b;
		g->block_left = REGIONS_PER_BLOCK;
	}
	r = &g->regions[i];
	r->key = key;
	r->ids = (uint32_t *)((char *)g->blocks[g->nblocks - 1] +
			      REGION_BYTES * (REGIONS_PER_BLOCK - g->block_left--));
	g->nregions++;
	g->last_region = r;
	return r->ids;
}

static void rehash(struct graph *g)
{
	size_t cap = g->nslots ? g->nslots * 2 : 1 << 10;

	free(g->slots);
	g->slots = xcalloc(cap, sizeof(*g->slots));
	g->nslots = cap;
	for (uint32_t id = 0; id < g->n; id++) {
		size_t i;

		if (!(g->nodes[id].addr & 15))
			continue;
		for (i = slot_of(g->nodes[id].addr, cap); g->slots[i]; i = (i + 1) & (cap - 1))
			;
		g->slots[i] = id + 1;
	}
}

/* Where addr's node + 1 is or goes (0 there: no node yet); NULL when
 * !create and nothing could be there. */
static uint32_t *index_entry(struct graph *g, uint64_t addr, int create)
{
	size_t i;

	if (!(addr & 15)) {
		uint32_t *ids = region_ids(g, addr, create);

		return ids ? &ids[(addr & ((1u << REGION_SHIFT) - 1)) >> GRAIN_SHIFT] : NULL;
	}
	if (create && 2 * (g->nodd + 1) > g->nslots)
		rehash(g);
	if (!g->nslots)
		return NULL;
	for (i = slot_of(addr, g->nslots); g->slots[i]; i = (i + 1) & (g->nslots - 1))
		if (g->nodes[g->slots[i] - 1].addr == addr)
			break;
	return &g->slots[i];
}

uint32_t graph_find(const struct graph *g, uint64_t addr)
{
	uint32_t *e = index_entry((struct graph *)g, addr, 0);

	return e && *e ? *e - 1 : GRAPH_NONE;
}

/* The node for addr, created on first sight; GRAPH_NONE past the bound. */
static uint32_t node_of(struct graph *g, uint64_t addr, struct pytype *t, uint32_t flags)
{
	struct graph_node *nd;
	uint32_t *e = index_entry(g, addr, 1);

	if (*e) {
		g->nodes[*e - 1].flags |= flags;
		return *e - 1;
	}
	if (g->n >= GRAPH_MAX_NODES) {
		g->overflow = 1;
		return GRAPH_NONE;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1 << 14;
		g->nodes = xreallocarray(g->nodes, g->cap, sizeof(*g->nodes));
	}
	nd = &g->nodes[g->n];
	nd->addr = addr;
	nd->t = t;
	nd->flags = flags;
	nd->in = 0;
	nd->refcnt = 0;
	if (t && remote_read_cached(g->c->mem, addr + (uint64_t)g->c->lay->ob_refcnt, &nd->refcnt, 8) == 0 &&
	    g->c->minor >= 12)
		nd->refcnt = (int64_t)(uint32_t)nd->refcnt;  /* the upper half holds flags */
	/* No live object has a count below zero: a damaged one says nothing.
	 * -1 keeps it alive in graph_garbage, out of the external roots, and
	 * leaves room to subtract its references without overflowing. */
	if (nd->refcnt < 0)
		nd->refcnt = -1;
	*e = g->n + 1;
	g->nodd += (addr & 15) != 0;
	return g->n++;
}

void graph_source(struct graph *g, uint64_t obj, struct pytype *t, int tracked)
{
	g->cur = obj && (tracked || g->full) ? node_of(g, obj, t, tracked ? GN_TRACKED : 0) :
		 GRAPH_NONE;
}

void graph_frame_source(struct graph *g, uint64_t iframe, uint64_t tid, const char *name)
{
	g->cur = g->full ? node_of(g, iframe, NULL, GN_FRAME) : GRAPH_NONE;
	if (g->cur != GRAPH_NONE)
		graph_root(g, ROOT_THREAD, iframe, tid, name);
}

/* A node id fits 28 bits (GRAPH_MAX_NODES): until graph_finish, the top
 * bit of an edge's target says it was guessed. */
#define EDGE_GUESSED (1u << 31)

void graph_edge(struct graph *g, uint64_t obj, struct pytype *t, int tracked, int guessed)
{
	uint32_t to;

	if (g->cur == GRAPH_NONE || (!tracked && !g->full))
		return;
	to = node_of(g, obj, t, tracked ? GN_TRACKED : 0);
	if (to == GRAPH_NONE)
		return;
	if (g->ne >= GRAPH_MAX_EDGES) {
		g->overflow = 1;
		return;
	}
	if (g->ne == g->ecap) {
		g->ecap = g->ecap ? g->ecap * 2 : 1 << 16;
		g->edges = xreallocarray(g->edges, g->ecap, sizeof(*g->edges));
	}
	g->edges[g->ne][0] = g->cur;
	g->edges[g->ne][1] = to | (guessed ? EDGE_GUESSED : 0);
	g->ne++;
	g->nodes[to].in++;
}

void graph_root(struct graph *g, enum root_kind kind, uint64_t obj, uint64_t tid,
		const char *name)
{
	struct graph_root *r;
	uint32_t id = graph_find(g, obj);

	if (id == GRAPH_NONE)
		return;
	if (g->nroots == g->roots_cap) {
		g->roots_cap = g->roots_cap ? g->roots_cap * 2 : 64;
		g->roots = xreallocarray(g->roots, g->roots_cap, sizeof(*g->roots));
	}
	r = &g->roots[g->nroots++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->node = id;
	r->tid = tid;
	if (name)
		snprintf(r->name, sizeof(r->name), "%s", name);
}

void graph_finish(struct graph *g)
{
	uint32_t *pos;

	g->cur = GRAPH_NONE;
	g->first = xcalloc((size_t)g->n + 1, sizeof(*g->first));
	g->adj = xmalloc((g->ne ? g->ne : 1) * sizeof(*g->adj));
	g->guessed = xcalloc(g->ne / 8 + 1, 1);
	for (size_t e = 0; e < g->ne; e++)
		g->first[g->edges[e][0] + 1]++;
	for (uint32_t i = 0; i < g->n; i++)
		g->first[i + 1] += g->first[i];
	pos = xmalloc(((size_t)g->n + 1) * sizeof(*pos));
	memcpy(pos, g->first, ((size_t)g->n + 1) * sizeof(*pos));
	for (size_t e = 0; e < g->ne; e++) {
		uint32_t k = pos[g->edges[e][0]]++;

		g->adj[k] = g->edges[e][1] & ~EDGE_GUESSED;
		if (g->edges[e][1] & EDGE_GUESSED)
			g->guessed[k / 8] |= (uint8_t)(1u << (k % 8));
	}
	free(pos);
	free(g->edges);
	g->edges = NULL;
	g->ecap = 0;
}

void graph_write_edges(const struct graph *g, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (uint32_t i = 0; i < g->n; i++) {
		const struct graph_node *nd = &g->nodes[i];

		fprintf(f, "N %" PRIx64 " %s\n", nd->addr, nd->t ? nd->t->name : "(frame)");
		for (uint32_t k = g->first[i]; k < g->first[i + 1]; k++)
			fprintf(f, "E %" PRIx64 " %" PRIx64 "\n", nd->addr, g->nodes[g->adj[k]].addr);
	}
	fclose(f);
}

/* Does the class of t define __del__ (t or a class in its MRO)? */
static int has_del(struct pyctx *c, struct pytype *t)
{
	uint64_t v;

	if (!t->has_del)
		t->has_del = pytype_mro_find(c, t, "__del__", &v) ? 1 : -1;
	return t->has_del > 0;
}

static uint32_t find_set(uint32_t *up, uint32_t x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

void graph_garbage(struct graph *g, struct garbage *out)
{
	int64_t *refs = xmalloc(((size_t)g->n + 1) * sizeof(*refs));
	uint32_t *queue = xmalloc(((size_t)g->n + 1) * sizeof(*queue));
	uint32_t *up;
	size_t head = 0, tail = 0;

	memset(out, 0, sizeof(*out));
	/* What the references between tracked objects do not explain is held
	 * from outside them: those objects are alive, and all they reach. */
	for (uint32_t i = 0; i < g->n; i++)
		refs[i] = g->nodes[i].refcnt;
	for (uint32_t i = 0; i < g->n; i++) {
		if (!(g->nodes[i].flags & GN_TRACKED))
			continue;
		for (uint32_t e = g->first[i]; e < g->first[i + 1]; e++)
			refs[g->adj[e]]--;
	}
	for (uint32_t i = 0; i < g->n; i++) {
		/* Below zero means a reference the walk counted that the object
		 * does not own: trust the object, keep it alive. */
		if (!(g->nodes[i].flags & GN_TRACKED) || refs[i] != 0)
			queue[tail++] = i;
		else
			g->nodes[i].flags |= GN_GARBAGE;
	}
	while (head < tail) {
		uint32_t i = queue[head++];

		for (uint32_t e = g->first[i]; e < g->first[i + 1]; e++) {
			uint32_t j = g->adj[e];

			if (g->nodes[j].flags & GN_GARBAGE) {
				g->nodes[j].flags &= ~(uint32_t)GN_GARBAGE;
				queue[tail++] = j;
			}
		}
	}
	/* Cycles: garbage objects joined by references, counted as groups. */
	up = queue;
	for (uint32_t i = 0; i < g->n; i++)
		up[i] = i;
	for (uint32_t i = 0; i < g->n; i++) {
		if (!(g->nodes[i].flags & GN_GARBAGE))
			continue;
		for (uint32_t e = g->first[i]; e < g->first[i + 1]; e++) {
			uint32_t j = g->adj[e];

			if (g->nodes[j].flags & GN_GARBAGE)
				up[find_set(up, i)] = find_set(up, j);
		}
	}
	for (uint32_t i = 0; i < g->n; i++) {
		struct graph_node *nd = &g->nodes[i];
		int64_t size;

		if (!(nd->flags & GN_GARBAGE))
			continue;
		size = pyobj_sizeof(g->c, nd->addr, nd->t);
		if (size < 0)
			size = 0;
		out->objects++;
		out->bytes += (uint64_t)size;
		out->cycles += find_set(up, i) == i;
		out->finalizers += (uint64_t)has_del(g->c, nd->t);
		nd->t->garbage++;
		nd->t->garbage_bytes += (uint64_t)size;
	}
	free(refs);
	free(queue);
}

/* Breadth first from the roots of one strength, over nodes not reached yet. */
static int edge_guessed(const struct graph *g, uint32_t e)
{
	return g->guessed && (g->guessed[e / 8] >> (e % 8) & 1);
}

/* Breadth first from queue[0 .. tail): with guessed 0, over the edges of
 * known fields only. */
static void bfs(struct graph *g, struct graph_paths *p, uint32_t *queue, size_t tail, int guessed)
{
	size_t head = 0;

	while (head < tail) {
		uint32_t i = queue[head++];

		for (uint32_t e = g->first[i]; e < g->first[i + 1]; e++) {
			uint32_t j = g->adj[e];

			if (p->root_of[j] != GRAPH_NONE || (!guessed && edge_guessed(g, e)))
				continue;
			p->root_of[j] = p->root_of[i];
			p->parent[j] = i;
			queue[tail++] = j;
		}
	}
}

void graph_paths(struct graph *g, struct graph_paths *p)
{
	uint32_t *queue = xmalloc(((size_t)g->n + 1) * sizeof(*queue));
	size_t tail;

	p->parent = xmalloc(((size_t)g->n + 1) * sizeof(*p->parent));
	p->root_of = xmalloc(((size_t)g->n + 1) * sizeof(*p->root_of));
	memset(p->parent, 0xff, ((size_t)g->n + 1) * sizeof(*p->parent));
	memset(p->root_of, 0xff, ((size_t)g->n + 1) * sizeof(*p->root_of));
	/* Modules first: a global is the name a user fixes; then threads'
	 * frames, for what only a running function's locals hold. */
	for (int kind = ROOT_MODULE; kind <= ROOT_THREAD; kind++) {
		tail = 0;
		for (size_t r = 0; r < g->nroots; r++) {
			uint32_t i = g->roots[r].node;

			if ((int)g->roots[r].kind == kind && p->root_of[i] == GRAPH_NONE) {
				p->root_of[i] = (uint32_t)r;
				queue[tail++] = i;
			}
		}
		bfs(g, p, queue, tail, 0);
	}
	/* Then the edges the conservative scan guessed, from everything the
	 * known fields reached: a stale word in a C object's body must not
	 * shorten a chain that known references make. */
	tail = 0;
	for (uint32_t i = 0; i < g->n; i++)
		if (p->root_of[i] != GRAPH_NONE)
			queue[tail++] = i;
	bfs(g, p, queue, tail, 1);
	/* Held from C: more references than the walk saw.  Only objects the
	 * strong roots missed; the rest already have a better chain. */
	tail = 0;
	for (size_t r = 0; g->externals && r < g->nroots; r++) {
		uint32_t i = g->roots[r].node;

		if (g->roots[r].kind == ROOT_EXTERNAL && p->root_of[i] == GRAPH_NONE) {
			p->root_of[i] = (uint32_t)r;
			queue[tail++] = i;
		}
	}
	for (uint32_t i = 0; !g->externals && i < g->n; i++) {
		const struct graph_node *nd = &g->nodes[i];

		if (p->root_of[i] != GRAPH_NONE || !nd->t || nd->refcnt <= (int64_t)nd->in)
			continue;
		graph_root(g, ROOT_EXTERNAL, nd->addr, 0, NULL);
		p->root_of[i] = (uint32_t)(g->nroots - 1);
		queue[tail++] = i;
	}
	g->externals = 1;  /* a second call finds the same ones, already roots */
	bfs(g, p, queue, tail, 1);
	free(queue);
}

void graph_paths_free(struct graph_paths *p)
{
	free(p->parent);
	free(p->root_of);
	p->parent = p->root_of = NULL;
}
