/* why.c - chains from the roots to the objects a user asks about. */
#include "config.h"
#include "why.h"
#include "lineno.h"
#include "pyobj.h"
#include "refs.h"
#include "remote.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int why_parse_selector(const char *text, struct why_selector *sel)
{
	char *end;

	memset(sel, 0, sizeof(*sel));
	if (strncmp(text, "fd:", 3) == 0) {
		long fd;

		errno = 0;
		fd = strtol(text + 3, &end, 10);
		if (errno || end == text + 3 || *end || fd < 0 || fd > 1 << 30)
			return -1;
		sel->kind = WHY_FD;
		sel->fd = (int)fd;
		return 0;
	}
	if (strncmp(text, "0x", 2) == 0) {
		errno = 0;
		sel->addr = strtoull(text + 2, &end, 16);
		if (errno || end == text + 2 || *end || !sel->addr)
			return -1;
		sel->kind = WHY_ADDR;
		return 0;
	}
	if (!*text || strlen(text) >= sizeof(sel->type) || strchr(text, ' '))
		return -1;
	sel->kind = WHY_TYPE;
	snprintf(sel->type, sizeof(sel->type), "%s", text);
	return 0;
}

/* How a node is held by its parent on the chain, named. */
struct label {
	uint32_t node;          /* the child; GRAPH_NONE while not yet named */
	uint8_t how;            /* enum ref_how */
	uint8_t strkey;         /* text is a str key or attribute name, bare */
	int64_t index;
	char text[110];
};

struct labels {
	struct label *v;
	size_t n, cap;
	uint32_t *slots;        /* node -> index + 1 */
	size_t nslots;
};

static size_t lslot(uint32_t node, size_t cap)
{
	return (size_t)(node * 0x9E3779B1u) & (cap - 1);
}

static struct label *labels_get(struct labels *ls, uint32_t node)
{
	if (!ls->nslots)
		return NULL;
	for (size_t i = lslot(node, ls->nslots); ls->slots[i]; i = (i + 1) & (ls->nslots - 1))
		if (ls->v[ls->slots[i] - 1].node == node)
			return &ls->v[ls->slots[i] - 1];
	return NULL;
}

/* Ask for node's label; 0 if it was asked for already. */
static int labels_want(struct labels *ls, uint32_t node)
{
	size_t i;

	if (labels_get(ls, node))
		return 0;
	if (2 * (ls->n + 1) > ls->nslots) {
		size_t cap = ls->nslots ? ls->nslots * 2 : 1024;

		free(ls->slots);
		ls->slots = xcalloc(cap, sizeof(*ls->slots));
		ls->nslots = cap;
		for (size_t k = 0; k < ls->n; k++) {
			for (i = lslot(ls->v[k].node, cap); ls->slots[i]; i = (i + 1) & (cap - 1))
				;
			ls->slots[i] = (uint32_t)k + 1;
		}
	}
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 256;
		ls->v = xreallocarray(ls->v, ls->cap, sizeof(*ls->v));
	}
	memset(&ls->v[ls->n], 0, sizeof(ls->v[ls->n]));
	ls->v[ls->n].node = node;
	ls->v[ls->n].how = 0xff;
	for (i = lslot(node, ls->nslots); ls->slots[i]; i = (i + 1) & (ls->nslots - 1))
		;
	ls->slots[i] = (uint32_t)ls->n + 1;
	ls->n++;
	return 1;
}

static void name_label(struct pyctx *c, const struct ref_label *lab, struct label *out)
{
	struct pytype *kt;

	out->how = (uint8_t)lab->how;
	out->index = lab->index;
	switch (lab->how) {
	case REF_FIELD:
		snprintf(out->text, sizeof(out->text), "%s", lab->name);
		break;
	case REF_INDEX:
		snprintf(out->text, sizeof(out->text), "[%" PRId64 "]", lab->index);
		break;
	case REF_SET_ITEM:
		snprintf(out->text, sizeof(out->text), "{member}");
		break;
	case REF_DICT_KEY:
	case REF_DICT_VALUE:
	case REF_ATTR:
		kt = pyobj_type(c, lab->key);
		if (kt && kt->kind == PK_STR && pystr_read(c, lab->key, out->text, sizeof(out->text)) >= 0) {
			out->strkey = 1;
		} else if (kt) {
			pyobj_repr(c, lab->key, kt, out->text, sizeof(out->text));
		} else {
			snprintf(out->text, sizeof(out->text), "?");
		}
		break;
	case REF_SLOT:
	case REF_CFIELD:
		pyobj_slot_name(c, lab->key, lab->index, out->text, sizeof(out->text));
		break;
	case REF_LOCAL:
		pycode_local_name(c, lab->key, lab->index, out->text, sizeof(out->text));
		break;
	case REF_STACK:
		snprintf(out->text, sizeof(out->text), "(stack)");
		break;
	}
}

struct naming {
	struct pyctx *c;
	struct graph *g;
	struct graph_paths *p;
	struct labels *ls;
	uint32_t parent;
	size_t left;            /* children of parent still unnamed */
};

static int name_child(void *arg, uint64_t ref, const struct ref_label *lab)
{
	struct naming *nm = arg;
	uint32_t node = graph_find(nm->g, ref & ~(uint64_t)3);
	struct label *l;

	if (node == GRAPH_NONE || nm->p->parent[node] != nm->parent ||
	    !(l = labels_get(nm->ls, node)) || l->how != 0xff)
		return 0;
	name_label(nm->c, lab, l);
	return --nm->left ? 0 : 1;
}

static int by_first(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Name every (parent, child) step: each parent's references are read once,
 * however many of its children the chains go through. */
static void name_steps(struct pyctx *c, struct graph *g, struct graph_paths *p,
		       struct labels *ls)
{
	uint32_t (*pairs)[2] = xmalloc((ls->n ? ls->n : 1) * sizeof(*pairs));
	size_t n = 0;

	for (size_t i = 0; i < ls->n; i++) {
		pairs[n][0] = p->parent[ls->v[i].node];
		pairs[n][1] = ls->v[i].node;
		n++;
	}
	lt_sort(pairs, n, sizeof(*pairs), by_first);
	for (size_t i = 0; i < n;) {
		struct naming nm = { c, g, p, ls, pairs[i][0], 0 };
		const struct graph_node *pn = &g->nodes[nm.parent];
		size_t j = i;

		while (j < n && pairs[j][0] == nm.parent)
			j++;
		nm.left = j - i;
		if (pn->flags & GN_FRAME)
			refs_frame_each_labelled(c, pn->addr, name_child, &nm);
		else if (pn->t)
			refs_each_labelled(c, pn->addr, pn->t, name_child, &nm);
		i = j;
	}
	free(pairs);
}

/* The code object a generator or frame runs, or 0. */
static uint64_t code_of(struct pyctx *c, const struct graph_node *nd)
{
	uint64_t code = 0;

	if (nd->flags & GN_FRAME)
		pyframe_code(c, nd->addr, &code);
	else if (nd->t->kind == PK_GEN)
		pygen_code(c, nd->addr, &code);
	else if (nd->t->kind == PK_FRAME && c->minor <= 10)
		code = pyobj_field(c, nd->addr, c->lay->frame_code);
	return code;
}

/* Name, file and line of a step that runs code (generators, frames),
 * names of modules, functions and classes. */
static void describe(struct pyctx *c, const struct graph_node *nd, struct why_step *st)
{
	const struct py_layout *l = c->lay;
	uint64_t code = code_of(c, nd);

	st->line = -1;
	if (code) {
		pycode_describe(c, code, st->name, sizeof(st->name), st->file, sizeof(st->file));
		st->line = lineno_addr2line(c, code, (nd->flags & GN_FRAME) ?
						   lineno_iframe_offset(c, nd->addr, code) :
						   nd->t->kind == PK_GEN ? lineno_gen_offset(c, nd->addr, code) :
						   lineno_oldframe_offset(c, nd->addr));
		if (nd->t && nd->t->kind == PK_GEN && c->minor <= 10)
			pystr_read(c, pyobj_field(c, nd->addr, l->gen_qualname), st->name, sizeof(st->name));
		return;
	}
	if (!nd->t)
		return;
	switch (nd->t->kind) {
	case PK_MODULE:
		pystr_read(c, pyobj_field(c, nd->addr, l->module_name), st->name, sizeof(st->name));
		break;
	case PK_FUNCTION:
		pystr_read(c, pyobj_field(c, nd->addr, l->func_qualname), st->name, sizeof(st->name));
		break;
	case PK_TYPE: {
		struct pytype *t = pytype_get(c, nd->addr);

		if (t)
			snprintf(st->name, sizeof(st->name), "%s", t->name);
		break;
	}
	default:
		break;
	}
}

/* The free variable a closure cell holds: index i of func's __closure__. */
static void freevar_name(struct pyctx *c, uint64_t func, int64_t i, char *buf, size_t n)
{
	const struct py_layout *l = c->lay;
	uint64_t code = pyobj_field(c, func, l->func_code);

	snprintf(buf, n, "(closure)");
	if (c->minor >= 11) {
		uint64_t names = pyobj_field(c, code, l->code_localsplusnames);
		int64_t nnames = pytuple_len(c, names), ncells = pytuple_len(c, pyobj_field(c, func, l->func_closure));

		if (nnames >= 0 && ncells >= 0)
			pytuple_str(c, names, nnames - ncells + i, buf, n);
	} else {
		pytuple_str(c, pyobj_field(c, code, l->code_freevars), i, buf, n);
	}
}

struct path {
	uint32_t *v;            /* root first */
	size_t n;
	size_t elided;          /* nodes left out after the first WHY_MAX_STEPS / 2 */
};

/* Steps of a chain as people read it: the __dict__ of a module, class or
 * instance is folded into the name it holds, a generator's frame (3.8-3.10)
 * into its locals, a closure's tuple and cell into the variable.  With
 * detail, steps that run code get name, file and line. */
static size_t render(struct pyctx *c, struct graph *g, struct labels *ls, const struct path *pa,
		     struct why_step *out, size_t max, int detail)
{
	size_t n = 0;
	int bare = 0;
	char pending[160] = "";

	size_t skipped = 0;

	for (size_t i = 0; i < pa->n && n < max; i++) {
		const struct graph_node *nd = &g->nodes[pa->v[i]];
		struct label *lb = i ? labels_get(ls, pa->v[i]) : NULL;
		int last = i + 1 == pa->n;
		struct why_step *st = &out[n];

		if (pa->elided && i == WHY_MAX_STEPS / 2)
			skipped = pa->elided;
		if (lb && lb->how == 0xff)
			lb = NULL;
		if (!last && lb && nd->t && lb->how == REF_FIELD &&
		    ((nd->t->kind == PK_DICT && strcmp(lb->text, "__dict__") == 0) ||
		     (nd->t->kind == PK_FRAME && strcmp(lb->text, "gi_frame") == 0))) {
			bare = 1;
			continue;
		}
		if (!last && lb && nd->t && nd->t->kind == PK_TUPLE && lb->how == REF_FIELD &&
		    strcmp(lb->text, "__closure__") == 0 && i + 2 < pa->n) {
			struct label *cell = labels_get(ls, pa->v[i + 1]);

			if (cell && cell->how == REF_INDEX)
				freevar_name(c, g->nodes[pa->v[i - 1]].addr, cell->index, pending,
					     sizeof(pending));
			i++;  /* the cell too */
			continue;
		}
		memset(st, 0, sizeof(*st));
		st->skipped = skipped;
		skipped = 0;
		st->addr = nd->addr;
		st->line = -1;
		st->retained = g->retained ? g->retained[pa->v[i]] : 0;
		snprintf(st->type, sizeof(st->type), "%s",
			 nd->t ? nd->t->name : (nd->flags & GN_FRAME) ? "builtins.frame" : "?");
		if (pending[0]) {
			snprintf(st->via, sizeof(st->via), "%s", pending);
			pending[0] = 0;
		} else if (!lb) {
			snprintf(st->via, sizeof(st->via), "%s", i ? "?" : "");
		} else if (lb->strkey && (bare || lb->how == REF_ATTR)) {
			snprintf(st->via, sizeof(st->via), "%s", lb->text);
		} else if (lb->how == REF_DICT_VALUE) {
			snprintf(st->via, sizeof(st->via), lb->strkey ? "['%s']" : "[%s]", lb->text);
		} else if (lb->how == REF_DICT_KEY) {
			snprintf(st->via, sizeof(st->via), "(key %s)", lb->text);
		} else {
			snprintf(st->via, sizeof(st->via), "%s", lb->text);
		}
		bare = 0;
		if (detail)
			describe(c, nd, st);
		n++;
	}
	return n;
}

/* A chain's shape: its root, then each step's type and how it is held,
 * with list indexes, set members and plain dict keys left out.  Shapes are
 * interned step by step (a node's shape is its parent's plus one step), so
 * grouping every selected object costs one step per node on the chains,
 * however long they are. */
struct shape {
	uint32_t parent;        /* the parent node's shape, or GRAPH_NONE at a root */
	uint32_t root;          /* at a root: its key */
	const struct pytype *t;
	uint8_t how, flags;
	uint64_t hash;
	char *text;
};

struct shapes {
	struct shape *v;
	size_t n, cap;
	uint32_t *slots;        /* shape index + 1, open addressing on hash */
	size_t nslots;
	uint32_t *of;           /* node -> its shape, GRAPH_NONE until known */
};

static uint64_t fnv(const char *s, uint64_t h)
{
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static uint64_t shape_hash(const struct shape *k)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ k->parent) * 1099511628211ull;
	h = (h ^ k->root) * 1099511628211ull;
	h = (h ^ (uint64_t)(uintptr_t)k->t) * 1099511628211ull;
	h = (h ^ ((uint64_t)k->how << 8 | k->flags)) * 1099511628211ull;
	return fnv(k->text, h) | 1;
}

static int shape_eq(const struct shape *a, const struct shape *b)
{
	return a->hash == b->hash && a->parent == b->parent && a->root == b->root && a->t == b->t &&
	       a->how == b->how && a->flags == b->flags && strcmp(a->text, b->text) == 0;
}

static uint32_t shape_intern(struct shapes *sh, struct shape *k)
{
	size_t i;

	k->hash = shape_hash(k);
	if (2 * (sh->n + 1) > sh->nslots) {
		size_t cap = sh->nslots ? sh->nslots * 2 : 1024;

		free(sh->slots);
		sh->slots = xcalloc(cap, sizeof(*sh->slots));
		sh->nslots = cap;
		for (size_t q = 0; q < sh->n; q++) {
			for (i = sh->v[q].hash & (cap - 1); sh->slots[i]; i = (i + 1) & (cap - 1))
				;
			sh->slots[i] = (uint32_t)q + 1;
		}
	}
	for (i = k->hash & (sh->nslots - 1); sh->slots[i]; i = (i + 1) & (sh->nslots - 1))
		if (shape_eq(&sh->v[sh->slots[i] - 1], k))
			return sh->slots[i] - 1;
	if (sh->n == sh->cap) {
		sh->cap = sh->cap ? sh->cap * 2 : 256;
		sh->v = xreallocarray(sh->v, sh->cap, sizeof(*sh->v));
	}
	sh->v[sh->n] = *k;
	sh->v[sh->n].text = xstrdup(k->text);
	sh->slots[i] = (uint32_t)sh->n + 1;
	return (uint32_t)sh->n++;
}

/* The step into node as a shape keeps: names of attributes, fields,
 * locals and closure variables; not which item of a container. */
static void step_key(struct graph *g, struct graph_paths *p, struct labels *ls, uint32_t node,
		     struct shape *k)
{
	const struct label *lb = labels_get(ls, node), *up = labels_get(ls, p->parent[node]);
	int under_dict = up && up->how == REF_FIELD &&
			 (strcmp(up->text, "__dict__") == 0 || strcmp(up->text, "gi_frame") == 0 ||
			  strcmp(up->text, "__closure__") == 0);

	k->parent = GRAPH_NONE;
	k->root = 0;
	k->t = g->nodes[node].t;
	k->flags = (g->nodes[node].flags & GN_FRAME) ? 1 : 0;
	k->how = lb ? lb->how : 0xff;
	k->text = (char *)"";
	if (!lb || lb->how == 0xff || lb->how == REF_SET_ITEM)
		return;
	if ((lb->how == REF_INDEX || lb->how == REF_DICT_VALUE) && !under_dict)
		return;
	k->text = (char *)lb->text;
}

/* The shape of the chain to node: the shapes of the nodes above it first,
 * each node's once. */
static uint32_t shape_of(struct shapes *sh, struct graph *g, struct graph_paths *p,
			 struct labels *ls, uint32_t node, uint32_t *stack)
{
	size_t n = 0;
	uint32_t id = GRAPH_NONE;

	for (uint32_t i = node; i != GRAPH_NONE; i = p->parent[i]) {
		if (sh->of[i] != GRAPH_NONE) {
			id = sh->of[i];
			break;
		}
		stack[n++] = i;
	}
	while (n > 0) {
		uint32_t i = stack[--n];
		struct shape k;

		if (p->parent[i] == GRAPH_NONE) {
			const struct graph_root *r = &g->roots[p->root_of[i]];

			memset(&k, 0, sizeof(k));
			k.parent = GRAPH_NONE;
			/* objects held from C each are their own root: one shape for all */
			k.root = r->kind == ROOT_EXTERNAL ? UINT32_MAX : p->root_of[i];
			k.t = g->nodes[i].t;
			k.text = (char *)"";
		} else {
			step_key(g, p, ls, i, &k);
			k.parent = id;
		}
		id = sh->of[i] = shape_intern(sh, &k);
	}
	return id;
}

static void shapes_free(struct shapes *sh)
{
	for (size_t i = 0; i < sh->n; i++)
		free(sh->v[i].text);
	free(sh->v);
	free(sh->slots);
	free(sh->of);
}

struct group {
	uint64_t count;
	uint32_t example;
};

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->example > y->example) - (x->example < y->example);
}

/* The chain to node, root first; a long one (a linked list) keeps its
 * first and last WHY_MAX_STEPS / 2 nodes. */
static void path_of(struct graph_paths *p, uint32_t node, struct path *pa, uint32_t *tmp,
		    uint32_t limit)
{
	size_t k = 0, half = WHY_MAX_STEPS / 2;

	for (uint32_t i = node; i != GRAPH_NONE && k < limit; i = p->parent[i])
		tmp[k++] = i;
	pa->n = 0;
	pa->elided = k > WHY_MAX_STEPS ? k - WHY_MAX_STEPS : 0;
	for (size_t i = 0; i < k; i++) {
		if (pa->elided && i >= half && i < half + pa->elided)
			continue;
		pa->v[pa->n++] = tmp[k - 1 - i];
	}
}

static void select_nodes(struct snapshot *snap, struct graph *g, const struct why_selector *sel,
			 uint32_t **out, size_t *n)
{
	*n = 0;
	*out = xmalloc(sizeof(**out) * 16);
	if (sel->kind == WHY_ADDR || sel->kind == WHY_FD) {
		size_t nown = 0;
		const struct fd_owner *own = NULL;
		uint32_t id;

		if (sel->kind == WHY_FD)
			own = owners_of_fd(&snap->owners, sel->fd, &nown);
		else
			nown = 1;
		for (size_t k = 0; k < nown && *n < 16; k++) {
			id = graph_find(g, own ? own[k].addr : sel->addr);
			if (id != GRAPH_NONE && !(g->nodes[id].flags & GN_FRAME))
				(*out)[(*n)++] = id;
		}
		return;
	}
	{
		size_t cap = 16;
		const struct pytype *yes = NULL, *no = NULL;

		for (uint32_t i = 0; i < g->n && *n < WHY_MAX_SELECTED; i++) {
			const struct pytype *t = g->nodes[i].t;

			if (!t || t == no)
				continue;
			if (t != yes) {
				if (strcmp(t->name, sel->type) != 0) {
					no = t;
					continue;
				}
				yes = t;
			}
			if (sel->nskip && lt_bsearch_u64(sel->skip, sel->nskip, g->nodes[i].addr))
				continue;
			if (*n == cap) {
				cap *= 2;
				*out = xreallocarray(*out, cap, sizeof(**out));
			}
			(*out)[(*n)++] = i;
		}
	}
}

/* The chain of node along p, rendered (its steps malloc'd; none, and the
 * root kind unset, where no root reaches it).  steps: WHY_MAX_STEPS
 * scratch; pa and tmp: path_of's. */
static void fill_chain(struct pyctx *c, struct graph *g, struct graph_paths *p, struct labels *ls,
		       uint32_t node, struct path *pa, uint32_t *tmp, struct why_step *steps,
		       struct why_chain *ch)
{
	size_t nst = 0;

	memset(ch, 0, sizeof(*ch));
	if (p->root_of[node] != GRAPH_NONE) {
		const struct graph_root *root = &g->roots[p->root_of[node]];

		path_of(p, node, pa, tmp, g->n + 1);
		nst = render(c, g, ls, pa, steps, WHY_MAX_STEPS, 1);
		ch->root = root->kind;
		ch->root_tid = root->tid;
		snprintf(ch->root_name, sizeof(ch->root_name), "%s", root->name);
		ch->elided = pa->elided;
	}
	ch->steps = xmalloc((nst ? nst : 1) * sizeof(*ch->steps));
	memcpy(ch->steps, steps, nst * sizeof(*steps));
	ch->nsteps = nst;
}

void why_analyze(struct why_result *w, struct session *s, struct snapshot *snap,
		 struct graph *g, const struct why_selector *sel, size_t max)
{
	struct pyctx *c = &s->ctx;
	struct graph_paths p;
	struct labels ls = { 0 };
	struct shapes sh = { 0 };
	uint32_t *nodes, *tmp = xmalloc(((size_t)g->n + 1) * sizeof(*tmp));
	struct path pa = { xmalloc(((size_t)g->n + 1) * sizeof(*pa.v)), 0, 0 };
	struct why_step *steps = xcalloc(WHY_MAX_STEPS, sizeof(*steps));
	struct group *groups;
	size_t nsel, ngroups = 0;

	memset(w, 0, sizeof(*w));
	w->nodes = g->n;
	w->edges = g->ne;
	w->graph_bytes = graph_bytes(g);
	select_nodes(snap, g, sel, &nodes, &nsel);
	w->selected = nsel;
	graph_paths(g, &p);
	/* Which steps need naming: walk each chain up to a step already asked. */
	for (size_t k = 0; k < nsel; k++) {
		for (uint32_t i = nodes[k]; i != GRAPH_NONE && p.parent[i] != GRAPH_NONE; i = p.parent[i])
			if (!labels_want(&ls, i))
				break;
	}
	name_steps(c, g, &p, &ls);
	/* Group the chains by shape; a group is indexed by its shape. */
	sh.of = xmalloc(((size_t)g->n + 1) * sizeof(*sh.of));
	memset(sh.of, 0xff, ((size_t)g->n + 1) * sizeof(*sh.of));
	groups = xcalloc(nsel ? nsel : 1, sizeof(*groups));
	{
		uint32_t *group_of = NULL;
		size_t group_cap = 0;

		for (size_t k = 0; k < nsel; k++) {
			uint32_t id = nodes[k], shape;

			if (p.root_of[id] == GRAPH_NONE) {
				if (g->nodes[id].flags & GN_GARBAGE)
					w->garbage++;
				else
					w->unreached++;
				continue;
			}
			shape = shape_of(&sh, g, &p, &ls, id, tmp);
			if (shape >= group_cap) {
				size_t cap = sh.n > group_cap * 2 ? sh.n : group_cap * 2 + 64;

				group_of = xreallocarray(group_of, cap, sizeof(*group_of));
				memset(group_of + group_cap, 0xff, (cap - group_cap) * sizeof(*group_of));
				group_cap = cap;
			}
			if (group_of[shape] == GRAPH_NONE) {
				group_of[shape] = (uint32_t)ngroups;
				groups[ngroups].example = id;
				ngroups++;
			}
			groups[group_of[shape]].count++;
		}
		free(group_of);
	}
	w->shapes = ngroups;
	lt_sort(groups, ngroups, sizeof(*groups), by_count);
	w->nchains = ngroups < max ? ngroups : max;
	w->chains = xcalloc(w->nchains ? w->nchains : 1, sizeof(*w->chains));
	for (size_t k = 0; k < w->nchains; k++) {
		fill_chain(c, g, &p, &ls, groups[k].example, &pa, tmp, steps, &w->chains[k]);
		w->chains[k].count = groups[k].count;
	}
	if (!nsel)
		snprintf(w->note, sizeof(w->note), "%s",
			 sel->kind == WHY_FD ? "no Python object holds this descriptor" :
			 sel->kind == WHY_ADDR ? "no object at this address among those walked" :
			 "no object of this type");
	else if (nsel >= WHY_MAX_SELECTED)
		snprintf(w->note, sizeof(w->note), "only the first %u objects were followed",
			 WHY_MAX_SELECTED);
	free(groups);
	shapes_free(&sh);
	free(steps);
	free(pa.v);
	free(tmp);
	free(nodes);
	free(ls.v);
	free(ls.slots);
	graph_paths_free(&p);
}

void why_chains_for(struct session *s, struct graph *g, struct graph_paths *p,
		    const uint32_t *nodes, size_t n, struct why_chain *out)
{
	struct pyctx *c = &s->ctx;
	struct labels ls = { 0 };
	uint32_t *tmp = xmalloc(((size_t)g->n + 1) * sizeof(*tmp));
	struct path pa = { xmalloc(((size_t)g->n + 1) * sizeof(*pa.v)), 0, 0 };
	struct why_step *steps = xcalloc(WHY_MAX_STEPS, sizeof(*steps));

	for (size_t k = 0; k < n; k++)
		for (uint32_t i = nodes[k]; i != GRAPH_NONE && p->parent[i] != GRAPH_NONE; i = p->parent[i])
			if (!labels_want(&ls, i))
				break;
	name_steps(c, g, p, &ls);
	for (size_t k = 0; k < n; k++) {
		fill_chain(c, g, p, &ls, nodes[k], &pa, tmp, steps, &out[k]);
		out[k].count = 1;
	}
	free(steps);
	free(pa.v);
	free(tmp);
	free(ls.v);
	free(ls.slots);
}

void why_chain_path(const struct why_chain *ch, size_t nsteps, char *buf, size_t max)
{
	size_t n = 0;

	buf[0] = '\0';
	if (ch->root == ROOT_THREAD)
		n = (size_t)snprintf(buf, max, "thread %llu%s%s%s", (unsigned long long)ch->root_tid,
				     ch->root_name[0] ? " (" : "", ch->root_name,
				     ch->root_name[0] ? ")" : "");
	else if (ch->root == ROOT_EXTERNAL)
		n = (size_t)snprintf(buf, max, "held from C");
	else
		n = (size_t)snprintf(buf, max, "%s", ch->root_name);
	for (size_t k = 1; k < nsteps && k < ch->nsteps && n < max; k++) {
		const char *via = ch->steps[k].via;

		if (!via[0])
			continue;
		if (ch->root == ROOT_THREAD && k == 1 && ch->steps[0].name[0])
			n += (size_t)snprintf(buf + n, max - n, " %s", ch->steps[0].name);
		if (n >= max)
			break;
		n += (size_t)snprintf(buf + n, max - n, "%s%s", via[0] == '[' ? "" : ".", via);
	}
	if (ch->root == ROOT_EXTERNAL && ch->nsteps)
		snprintf(buf + n < buf + max ? buf + n : buf, n < max ? max - n : 0, ": %s at 0x%llx",
			 ch->steps[0].type, (unsigned long long)ch->steps[0].addr);
}

void why_chain_free(struct why_chain *ch)
{
	free(ch->steps);
	memset(ch, 0, sizeof(*ch));
}

void why_free(struct why_result *w)
{
	for (size_t k = 0; k < w->nchains; k++)
		why_chain_free(&w->chains[k]);
	free(w->chains);
	memset(w, 0, sizeof(*w));
}
