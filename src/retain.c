/* retain.c - dominators of the reference graph, retained sizes, retainers. */
#include "config.h"
#include "retain.h"
#include "census.h"
#include "graph.h"
#include "pyobj.h"
#include "remote.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE GRAPH_NONE

/* The graph with a virtual root (node n) whose references are the roots. */
struct domgraph {
	const struct graph *g;
	uint32_t n;              /* real nodes; the virtual root is n */
	uint32_t *roots;         /* the virtual root's references */
	size_t nroots;
	uint32_t *pfirst, *pred; /* predecessors of v: pred[pfirst[v] .. pfirst[v + 1]) */
};

static size_t succ_count(const struct domgraph *d, uint32_t v)
{
	return v == d->n ? d->nroots : d->g->first[v + 1] - d->g->first[v];
}

static uint32_t succ(const struct domgraph *d, uint32_t v, size_t k)
{
	return v == d->n ? d->roots[k] : d->g->adj[d->g->first[v] + k];
}

/* Depth first from the virtual root: dfnum (1-based, 0 unreached), vertex
 * (by number) and the tree's parent.  cursor and stack are scratch. */
static uint32_t dfs(const struct domgraph *d, uint32_t *dfnum, uint32_t *vertex, uint32_t *parent,
		    uint32_t *cursor, uint32_t *stack)
{
	uint32_t count = 0;
	size_t top = 0;

	dfnum[d->n] = ++count;
	vertex[count] = d->n;
	cursor[d->n] = 0;
	stack[top++] = d->n;
	while (top) {
		uint32_t v = stack[top - 1];

		if (cursor[v] >= succ_count(d, v)) {
			top--;
			continue;
		}
		uint32_t w = succ(d, v, cursor[v]++);

		if (dfnum[w])
			continue;
		dfnum[w] = ++count;
		vertex[count] = w;
		parent[w] = v;
		cursor[w] = 0;
		stack[top++] = w;
	}
	return count;
}

/* Predecessors among the reached nodes. */
static void predecessors(struct domgraph *d, const uint32_t *dfnum)
{
	uint32_t n1 = d->n + 1;
	size_t total = 0;

	d->pfirst = xcalloc((size_t)n1 + 1, sizeof(*d->pfirst));
	for (uint32_t v = 0; v < n1; v++) {
		if (!dfnum[v])
			continue;
		for (size_t k = 0; k < succ_count(d, v); k++)
			d->pfirst[succ(d, v, k) + 1]++;
	}
	for (uint32_t v = 0; v < n1; v++) {
		total += d->pfirst[v + 1];
		d->pfirst[v + 1] = (uint32_t)total;
	}
	d->pred = xmalloc((total ? total : 1) * sizeof(*d->pred));
	{
		uint32_t *at = xmalloc((size_t)n1 * sizeof(*at));

		memcpy(at, d->pfirst, (size_t)n1 * sizeof(*at));
		for (uint32_t v = 0; v < n1; v++) {
			if (!dfnum[v])
				continue;
			for (size_t k = 0; k < succ_count(d, v); k++)
				d->pred[at[succ(d, v, k)]++] = v;
		}
		free(at);
	}
}

/* Lengauer-Tarjan's eval with path compression, without recursion. */
static uint32_t eval(uint32_t v, uint32_t *ancestor, uint32_t *label, const uint32_t *semi,
		     uint32_t *path)
{
	size_t n = 0;

	if (ancestor[v] == NONE)
		return v;
	for (uint32_t x = v; ancestor[ancestor[x]] != NONE; x = ancestor[x])
		path[n++] = x;
	while (n--) {
		uint32_t x = path[n], a = ancestor[x];

		if (semi[label[a]] < semi[label[x]])
			label[x] = label[a];
		ancestor[x] = ancestor[a];
	}
	return label[v];
}

/* idom[v] for every reached v (the virtual root's is NONE); returns the
 * number reached, vertex[] their depth-first order. */
static uint32_t dominators(struct domgraph *d, uint32_t *idom, uint32_t *vertex)
{
	size_t n1 = (size_t)d->n + 1;
	uint32_t *dfnum = xcalloc(n1, sizeof(*dfnum));
	uint32_t *parent = xmalloc(n1 * sizeof(*parent));
	uint32_t *semi = xmalloc(n1 * sizeof(*semi));
	uint32_t *label = xmalloc(n1 * sizeof(*label));
	uint32_t *ancestor = xmalloc(n1 * sizeof(*ancestor));
	uint32_t *bucket = xmalloc(n1 * sizeof(*bucket)), *next = xmalloc(n1 * sizeof(*next));
	uint32_t count, *path;

	/* label and ancestor serve the search as its cursor and stack */
	count = dfs(d, dfnum, vertex, parent, label, ancestor);
	predecessors(d, dfnum);
	for (size_t v = 0; v < n1; v++) {
		semi[v] = dfnum[v];
		label[v] = (uint32_t)v;
		ancestor[v] = NONE;
		bucket[v] = NONE;
		idom[v] = NONE;
	}
	path = dfnum;  /* its numbers live on in semi: eval's scratch from here */
	for (uint32_t i = count; i >= 2; i--) {
		uint32_t w = vertex[i], p = parent[w];

		for (uint32_t k = d->pfirst[w]; k < d->pfirst[w + 1]; k++) {
			uint32_t u = eval(d->pred[k], ancestor, label, semi, path);

			if (semi[u] < semi[w])
				semi[w] = semi[u];
		}
		next[w] = bucket[vertex[semi[w]]];
		bucket[vertex[semi[w]]] = w;
		ancestor[w] = p;
		for (uint32_t v = bucket[p]; v != NONE; v = next[v]) {
			uint32_t u = eval(v, ancestor, label, semi, path);

			idom[v] = semi[u] < semi[v] ? u : p;
		}
		bucket[p] = NONE;
	}
	for (uint32_t i = 2; i <= count; i++) {
		uint32_t w = vertex[i];

		if (idom[w] != vertex[semi[w]])
			idom[w] = idom[idom[w]];
	}
	free(dfnum);
	free(parent);
	free(semi);
	free(label);
	free(ancestor);
	free(bucket);
	free(next);
	return count;
}

/* Items of a container, -1 for other objects.  A set's `used` precedes
 * its mask (fill, used, mask: 3.8 to 3.15). */
static int64_t length_of(struct pyctx *c, const struct graph_node *nd)
{
	const struct py_layout *l = c->lay;
	int64_t n = -1;

	if (!nd->t)
		return -1;
	switch (nd->t->kind) {
	case PK_LIST:
	case PK_TUPLE:
		remote_read(c->mem, nd->addr + (uint64_t)l->ob_size, &n, 8);
		break;
	case PK_DICT:
		remote_read(c->mem, nd->addr + (uint64_t)l->dict_used, &n, 8);
		break;
	case PK_SET:
		remote_read(c->mem, nd->addr + (uint64_t)l->set_mask - 8, &n, 8);
		break;
	default:
		return -1;
	}
	return n >= 0 ? n : -1;
}

/* The nodes that hold names rather than data: modules and their __dict__,
 * classes and their __dict__, threads' frames.  What one of them (or the
 * virtual root) dominates directly is a retainer.  (A module's __dict__ is
 * also every running frame's globals: no module dominates it.) */
static uint8_t *name_holders(struct pyctx *c, const struct graph *g)
{
	uint8_t *is = xcalloc((size_t)g->n + 1, 1);

	for (uint32_t v = 0; v < g->n; v++) {
		const struct graph_node *nd = &g->nodes[v];
		uint64_t dict;
		uint32_t k;

		if (nd->flags & GN_FRAME || (nd->t && nd->t->kind == PK_FRAME)) {
			is[v] = 1;
			continue;
		}
		if (!nd->t || (nd->t->kind != PK_MODULE && nd->t->kind != PK_TYPE))
			continue;
		is[v] = 1;
		dict = pyobj_field(c, nd->addr, nd->t->kind == PK_MODULE ? c->lay->module_dict :
										c->lay->tp_dict);
		if (dict && (k = graph_find(g, dict)) != GRAPH_NONE)
			is[k] = 1;
	}
	is[g->n] = 1;  /* the virtual root */
	return is;
}

/* A weak container: a WeakSet or WeakValueDictionary, or a container whose
 * every reference is a weak reference object or a str or int key (logging's
 * _handlerList, the WeakSet's set, the WeakValueDictionary's dict).  What
 * it retains is its own weakref objects; what they track, it does not
 * hold.  A WeakKeyDictionary holds its values: it is no weak container. */
static int weak_holder(const struct graph *g, uint32_t v)
{
	const struct pytype *t = g->nodes[v].t;
	uint32_t weak = 0;

	if (strcmp(t->name, "_weakrefset.WeakSet") == 0 ||
	    strcmp(t->name, "weakref.WeakValueDictionary") == 0)
		return 1;
	if (t->kind != PK_LIST && t->kind != PK_SET && t->kind != PK_DICT && t->kind != PK_DEQUE)
		return 0;
	for (uint32_t e = g->first[v]; e < g->first[v + 1]; e++) {
		const struct pytype *u = g->nodes[g->adj[e]].t;

		if (u && u->kind == PK_WEAKREF)
			weak++;
		else if (!u || (u->kind != PK_STR && u->kind != PK_INT))
			return 0;
	}
	return weak > 0;
}

/* "__main__.registry" from a chain: the root's name and each step's via,
 * dotted; "[0]" and "['key']" steps stay as they are. */
static int by_type_bytes(const void *a, const void *b)
{
	const struct retained_type *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->type, y->type);
}

/* What each of the first RETAIN_MAX retainers holds, by type (own: each
 * node's size): every node belongs to the nearest of them on its dominator
 * chain (parents come before children in depth-first order, so one pass
 * finds it). */
static void retained_types(struct retainers *out, const struct graph *g, const uint32_t *idom,
			   const uint32_t *vertex, uint32_t count, const uint32_t *nodes,
			   const uint64_t *own)
{
	size_t n1 = (size_t)g->n + 1, nr = out->n < RETAIN_MAX ? out->n : RETAIN_MAX;
	uint32_t *owner = xmalloc(n1 * sizeof(*owner));

	memset(owner, 0xff, n1 * sizeof(*owner));
	for (size_t k = 0; k < nr; k++) {
		owner[nodes[k]] = (uint32_t)k;
		out->v[k].holds = xcalloc(RETAIN_TYPES + 1, sizeof(*out->v[k].holds));
	}
	for (uint32_t i = 2; i <= count; i++) {
		uint32_t w = vertex[i];
		const struct graph_node *nd = &g->nodes[w];
		struct retainer *r;
		size_t t;

		if (owner[w] == NONE && idom[w] != NONE)
			owner[w] = owner[idom[w]];
		if (owner[w] == NONE || !nd->t)
			continue;
		r = &out->v[owner[w]];
		for (t = 0; t < r->nholds && strcmp(r->holds[t].type, nd->t->name) != 0; t++)
			;
		if (t == r->nholds) {
			if (r->nholds < RETAIN_TYPES)
				snprintf(r->holds[r->nholds++].type, sizeof(r->holds[0].type), "%s",
					 nd->t->name);
			else
				t = RETAIN_TYPES;  /* "(other types)" */
		}
		r->holds[t].count++;
		r->holds[t].bytes += own[w];
	}
	for (size_t k = 0; k < nr; k++) {
		struct retainer *r = &out->v[k];

		if (r->holds[RETAIN_TYPES].count) {
			snprintf(r->holds[RETAIN_TYPES].type, sizeof(r->holds[0].type), "(other types)");
			r->holds[r->nholds++] = r->holds[RETAIN_TYPES];
		}
		lt_sort(r->holds, r->nholds, sizeof(*r->holds), by_type_bytes);
	}
	free(owner);
}

struct ranked {
	uint32_t node;
	uint64_t bytes;
};

static int by_bytes(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return (x->node > y->node) - (x->node < y->node);
}

void retainers_compute(struct retainers *out, struct session *s, struct graph *g,
		       struct graph_paths *p, size_t max)
{
	struct pyctx *c = &s->ctx;
	struct domgraph d = { .g = g, .n = g->n };
	size_t n1 = (size_t)g->n + 1, ncand = 0;
	uint32_t *idom = xmalloc(n1 * sizeof(*idom)), *vertex = xmalloc((n1 + 1) * sizeof(*vertex));
	uint64_t *bytes, *own;
	uint32_t *objects;
	struct ranked *cand;
	uint32_t count, *nodes;
	uint8_t *holders;

	memset(out, 0, sizeof(*out));
	d.roots = xmalloc((g->nroots ? g->nroots : 1) * sizeof(*d.roots));
	for (size_t r = 0; r < g->nroots; r++)
		d.roots[d.nroots++] = g->roots[r].node;
	count = dominators(&d, idom, vertex);
	free(d.pfirst);
	free(d.pred);
	free(d.roots);
	/* Sizes, then each one's own added to its dominator's, children
	 * (higher depth-first numbers) before parents. */
	own = xcalloc(n1, sizeof(*own));
	objects = xcalloc(n1, sizeof(*objects));
	for (uint32_t i = 2; i <= count; i++) {
		const struct graph_node *nd = &g->nodes[vertex[i]];
		int64_t size = nd->t ? pyobj_sizeof(c, nd->addr, nd->t) : 0;

		own[vertex[i]] = size > 0 ? (uint64_t)size : 0;
		objects[vertex[i]] = nd->t != NULL;
	}
	bytes = xmalloc(n1 * sizeof(*bytes));
	memcpy(bytes, own, n1 * sizeof(*bytes));
	for (uint32_t i = count; i >= 2; i--) {
		uint32_t w = vertex[i];

		bytes[idom[w]] += bytes[w];
		objects[idom[w]] += objects[w];
	}
	out->reachable_bytes = bytes[g->n];
	out->reachable_objects = objects[g->n];
	for (uint32_t i = 2; i <= count; i++) {
		uint32_t w = vertex[i];

		if (w < g->n && g->nodes[w].t && p->root_of[w] != GRAPH_NONE &&
		    g->roots[p->root_of[w]].kind == ROOT_EXTERNAL) {
			const struct pytype *rt = g->nodes[g->roots[p->root_of[w]].node].t;

			out->from_c_objects++;
			out->from_c_bytes += own[w];
			if (rt && rt->kind == PK_TYPE) {
				out->from_c_type_objects++;
				out->from_c_type_bytes += own[w];
			}
		}
	}
	for (size_t r = 0; r < g->nroots; r++) {
		const struct pytype *rt = g->nodes[g->roots[r].node].t;

		out->from_c_roots += g->roots[r].kind == ROOT_EXTERNAL;
		out->from_c_type_roots += g->roots[r].kind == ROOT_EXTERNAL && rt && rt->kind == PK_TYPE;
	}
	cand = xmalloc(n1 * sizeof(*cand));
	holders = name_holders(c, g);
	for (uint32_t i = 2; i <= count; i++) {
		uint32_t w = vertex[i];

		if (!holders[w] && g->nodes[w].t && holders[idom[w]])
			cand[ncand++] = (struct ranked){ w, bytes[w] };
	}
	free(holders);
	lt_sort(cand, ncand, sizeof(*cand), by_bytes);
	out->n = ncand < max ? ncand : max;
	out->v = xcalloc(out->n ? out->n : 1, sizeof(*out->v));
	nodes = xmalloc((out->n ? out->n : 1) * sizeof(*nodes));
	for (size_t k = 0; k < out->n; k++)
		nodes[k] = cand[k].node;
	{
		struct why_chain *chains = xcalloc(out->n ? out->n : 1, sizeof(*chains));

		why_chains_for(s, g, p, nodes, out->n, chains);
		for (size_t k = 0; k < out->n; k++) {
			struct retainer *r = &out->v[k];
			const struct graph_node *nd = &g->nodes[nodes[k]];

			r->addr = nd->addr;
			snprintf(r->type, sizeof(r->type), "%s", nd->t->name);
			r->len = length_of(c, nd);
			r->retained_bytes = bytes[nodes[k]];
			r->retained_objects = objects[nodes[k]];
			r->weak = weak_holder(g, nodes[k]);
			r->chain = chains[k];
			why_chain_path(&r->chain, r->chain.nsteps, r->path, sizeof(r->path));
		}
		free(chains);
	}
	retained_types(out, g, idom, vertex, count, nodes, own);
	out->known = 1;
	free(own);
	free(nodes);
	free(cand);
	free(idom);
	free(vertex);
	free(g->retained);
	g->retained = bytes;  /* why's steps say what each retains */
	free(objects);
}

void retainers_free(struct retainers *r)
{
	for (size_t k = 0; k < r->n; k++) {
		why_chain_free(&r->v[k].chain);
		free(r->v[k].holds);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

void retainers_census(const struct retainers *r, struct census *out)
{
	census_init(out);
	for (size_t k = 0; k < r->n; k++) {
		const struct retainer *x = &r->v[k];
		char key[512];

		snprintf(key, sizeof(key), "%s\t%s\t0x%llx%s", x->path, x->type, (unsigned long long)x->addr,
			 x->weak ? "\tweak" : "");
		census_add(out, key, x->len > 0 ? (uint64_t)x->len : 0, 0, x->retained_bytes);
	}
	census_finish(out);
}

int retainer_key_split(const char *key, char *path, size_t pmax, char *type, size_t tmax)
{
	const char *a = strchr(key, '\t'), *b = a ? strchr(a + 1, '\t') : NULL;

	if (!b)
		return -1;
	snprintf(path, pmax, "%.*s", (int)(a - key), key);
	snprintf(type, tmax, "%.*s", (int)(b - a - 1), a + 1);
	return strchr(b + 1, '\t') && strcmp(strchr(b + 1, '\t'), "\tweak") == 0;
}
