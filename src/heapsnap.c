/* heapsnap.c - the reference graph in DevTools' heap snapshot format.
 *
 * The layout is V8's (what node's v8.writeHeapSnapshot writes and memlab
 * and DevTools' Memory tab parse): a "snapshot" block naming the fields,
 * then flat "nodes" (7 numbers each) and "edges" (3 each, grouped by their
 * source node, in node order), empty trace and location arrays, and the
 * "strings" every name points into.  Nodes and edges are streamed; only
 * the strings are kept until the end, deduplicated.
 *
 * Nodes, by ordinal:
 *   0   the synthetic root ("", id 1: memlab and DevTools take the first
 *       node as the root).  Its edges: "(GC roots)", then a property edge
 *       per module in sys.modules (named as sys.modules names it: __main__)
 *       and per thread ("thread TID (NAME)").
 *   1   "(GC roots)" (synthetic), as V8 has it: DevTools gives what only
 *       it reaches the system distance, and memlab, which starts its
 *       shortest paths from it too, postpones "(Global handles)" (V8's
 *       name for what native code holds) until the modules and threads
 *       reached all they reach: leaktop's order of roots.
 *   2   "(Global handles)" (synthetic, the edge to it named "held from
 *       C"): the objects whose reference count exceeds the references the
 *       walk saw and that no module or thread reaches (graph_paths'
 *       external roots), element edges 1..n.
 *   3   one "hidden" node per thread, "thread TID (NAME)", its running
 *       frames as elements 0..n, the innermost first.
 *   then the graph's nodes in order.  Every Python object is of type
 *       "object" named by its type as leaktop prints it (__main__.Leaky,
 *       builtins.str: strings too, not V8's "string" whose name would be
 *       the value), so that per-name counts and sizes are leaktop's census
 *       (DevTools' summary groups "object" nodes by name); self_size is
 *       sys.getsizeof.  A 3.11+ interpreter frame (not an object) is
 *       "hidden", named "(frame QUALNAME)"; 3.8-3.10 frames are objects.
 * Ids are odd as V8's are (2 * ordinal + 1): not addresses, and not stable
 * from one file to the next.
 *
 * Edges carry the labels `why` gives references: "element" with the index
 * for list and tuple items; "property" for named ones (a field such as
 * __dict__ or __code__, an attribute, a slot or a local by its name, a dict
 * value as ['key'] or [repr]); "internal" otherwise ({member} of a set,
 * (key K) for a dict's key, (stack), "?" where the label could not be
 * read).  The edges are the graph's: labels are matched to them in the
 * order the walk met them, so an edge the labelled walk does not name
 * still counts. */
#include "config.h"
#include "heapsnap.h"
#include "graph.h"
#include "json.h"
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

/* V8's node and edge types, in V8's order (the numbers written are
 * indexes into these). */
enum { NT_HIDDEN = 0, NT_OBJECT = 3, NT_SYNTHETIC = 9 };
enum { ET_ELEMENT = 1, ET_PROPERTY = 2, ET_INTERNAL = 3 };

#define NODE_FIELDS 7
#define SYNTHETIC 3              /* root, (GC roots), (Global handles) */
/* Past this many bytes of distinct names, new labels share one ("?"). */
#define MAX_STRING_BYTES ((size_t)512 << 20)
#define LABEL_MAX 160

static const char meta[] =
	"{\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\",\"trace_node_id\","
	"\"detachedness\"],"
	"\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\",\"closure\",\"regexp\","
	"\"number\",\"native\",\"synthetic\",\"concatenated string\",\"sliced string\",\"symbol\","
	"\"bigint\",\"object shape\",\"wasm object\"],\"string\",\"number\",\"number\",\"number\","
	"\"number\",\"number\"],"
	"\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
	"\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\",\"hidden\",\"shortcut\","
	"\"weak\"],\"string_or_number\",\"node\"],"
	"\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\","
	"\"line\",\"column\"],"
	"\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],"
	"\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
	"\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]}";

/* The strings table: insertion order, open addressing on a hash. */
struct strtab {
	char **v;
	uint64_t *hash;
	size_t n, cap, bytes;
	uint32_t *slots;         /* index + 1 */
	size_t nslots;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static uint32_t str_intern(struct strtab *st, const char *s)
{
	uint64_t h = str_hash(s);
	size_t i, len;

	if (2 * (st->n + 1) > st->nslots) {
		size_t cap = st->nslots ? st->nslots * 2 : 4096;

		free(st->slots);
		st->slots = xcalloc(cap, sizeof(*st->slots));
		st->nslots = cap;
		for (size_t k = 0; k < st->n; k++) {
			for (i = st->hash[k] & (cap - 1); st->slots[i]; i = (i + 1) & (cap - 1))
				;
			st->slots[i] = (uint32_t)k + 1;
		}
	}
	for (i = h & (st->nslots - 1); st->slots[i]; i = (i + 1) & (st->nslots - 1)) {
		uint32_t k = st->slots[i] - 1;

		if (st->hash[k] == h && strcmp(st->v[k], s) == 0)
			return k;
	}
	len = strlen(s);
	if (st->bytes + len > MAX_STRING_BYTES && strcmp(s, "?") != 0)
		return str_intern(st, "?");
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 1024;
		st->v = xreallocarray(st->v, st->cap, sizeof(*st->v));
		st->hash = xreallocarray(st->hash, st->cap, sizeof(*st->hash));
	}
	st->v[st->n] = xstrdup(s);
	st->hash[st->n] = h;
	st->bytes += len + 1;
	st->slots[i] = (uint32_t)st->n + 1;
	return (uint32_t)st->n++;
}

static void strtab_free(struct strtab *st)
{
	for (size_t k = 0; k < st->n; k++)
		free(st->v[k]);
	free(st->v);
	free(st->hash);
	free(st->slots);
}

/* Names of __slots__ members by (type, offset), read once each. */
struct slot_name {
	uint64_t type;
	int64_t off;
	uint32_t str;
};

struct slotcache {
	struct slot_name *v;     /* open addressing; type 0: empty */
	size_t cap, n;
};

struct hs {
	FILE *out;
	struct pyctx *c;
	struct graph *g;
	struct strtab st;
	struct slotcache slots;
	uint32_t first;          /* ordinal of the graph's first node */
	size_t nedges;           /* edges written so far */
	int failed;
};

/* Write a line of numbers: "\n," then the values joined by commas ("\n"
 * alone before the first of an array). */
static void put_row(struct hs *h, int first, const uint64_t *v, int n)
{
	char buf[8 + 21 * NODE_FIELDS], *p = buf + sizeof(buf);

	for (int i = n - 1; i >= 0; i--) {
		uint64_t x = v[i];

		do {
			*--p = (char)('0' + x % 10);
			x /= 10;
		} while (x);
		if (i)
			*--p = ',';
	}
	if (!first)
		*--p = ',';
	*--p = '\n';
	fwrite(p, 1, (size_t)(buf + sizeof(buf) - p), h->out);
}

static void put_node(struct hs *h, uint32_t ordinal, int type, uint32_t name, uint64_t size,
		     uint64_t edges)
{
	uint64_t v[NODE_FIELDS] = { (uint64_t)type, name, 2 * (uint64_t)ordinal + 1,
				    size > UINT32_MAX ? UINT32_MAX : size, edges, 0, 0 };

	put_row(h, ordinal == 0, v, NODE_FIELDS);
}

static void put_edge(struct hs *h, int type, uint64_t name_or_index, uint32_t to_ordinal)
{
	uint64_t v[3] = { (uint64_t)type, name_or_index, (uint64_t)to_ordinal * NODE_FIELDS };

	put_row(h, h->nedges == 0, v, 3);
	h->nedges++;
}

static void put_named_edge(struct hs *h, int type, const char *name, uint32_t to_ordinal)
{
	put_edge(h, type, str_intern(&h->st, name), to_ordinal);
}

static uint32_t slot_label(struct hs *h, uint64_t type, int64_t off)
{
	struct slotcache *sc = &h->slots;
	size_t i;
	char name[LABEL_MAX];

	if (2 * (sc->n + 1) > sc->cap) {
		struct slot_name *old = sc->v;
		size_t oldcap = sc->cap;

		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->v = xcalloc(sc->cap, sizeof(*sc->v));
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].type)
				continue;
			for (i = (size_t)((old[k].type >> 4) ^ (uint64_t)old[k].off) & (sc->cap - 1);
			     sc->v[i].type; i = (i + 1) & (sc->cap - 1))
				;
			sc->v[i] = old[k];
		}
		free(old);
	}
	for (i = (size_t)((type >> 4) ^ (uint64_t)off) & (sc->cap - 1); sc->v[i].type;
	     i = (i + 1) & (sc->cap - 1))
		if (sc->v[i].type == type && sc->v[i].off == off)
			return sc->v[i].str;
	pyobj_slot_name(h->c, type, off, name, sizeof(name));
	sc->v[i].type = type ? type : 1;
	sc->v[i].off = off;
	sc->v[i].str = str_intern(&h->st, name);
	sc->n++;
	return sc->v[i].str;
}

/* The text of a dict key or attribute name: the str itself (*bare set),
 * else a short repr. */
static void key_text(struct pyctx *c, uint64_t key, char *buf, size_t n, int *bare)
{
	struct pytype *kt = pyobj_type(c, key);

	*bare = 0;
	if (kt && kt->kind == PK_STR && pystr_read(c, key, buf, n) >= 0)
		*bare = 1;
	else if (kt)
		pyobj_repr(c, key, kt, buf, n);
	else
		snprintf(buf, n, "?");
}

/* One labelled edge, as `why` words the label. */
static void put_labelled_edge(struct hs *h, const struct ref_label *lab, uint32_t to)
{
	char text[LABEL_MAX - 8], label[LABEL_MAX];
	int bare;

	switch (lab->how) {
	case REF_FIELD:
		put_named_edge(h, ET_PROPERTY, lab->name ? lab->name : "?", to);
		return;
	case REF_INDEX:
		if (lab->index >= 0 && lab->index <= (int64_t)UINT32_MAX) {
			put_edge(h, ET_ELEMENT, (uint64_t)lab->index, to);
		} else {
			snprintf(label, sizeof(label), "[%" PRId64 "]", lab->index);
			put_named_edge(h, ET_PROPERTY, label, to);
		}
		return;
	case REF_SET_ITEM:
		put_named_edge(h, ET_INTERNAL, "{member}", to);
		return;
	case REF_DICT_KEY:
		key_text(h->c, lab->key, text, sizeof(text), &bare);
		snprintf(label, sizeof(label), "(key %s)", text);
		put_named_edge(h, ET_INTERNAL, label, to);
		return;
	case REF_DICT_VALUE:
		key_text(h->c, lab->key, text, sizeof(text), &bare);
		snprintf(label, sizeof(label), bare ? "['%s']" : "[%s]", text);
		put_named_edge(h, ET_PROPERTY, label, to);
		return;
	case REF_ATTR:
		key_text(h->c, lab->key, text, sizeof(text), &bare);
		put_named_edge(h, ET_PROPERTY, text, to);
		return;
	case REF_SLOT:
	case REF_CFIELD:
		put_edge(h, ET_PROPERTY, slot_label(h, lab->key, lab->index), to);
		return;
	case REF_LOCAL:
		pycode_local_name(h->c, lab->key, lab->index, label, sizeof(label));
		put_named_edge(h, ET_PROPERTY, label[0] ? label : "?", to);
		return;
	case REF_STACK:
		put_named_edge(h, ET_INTERNAL, "(stack)", to);
		return;
	}
	put_named_edge(h, ET_INTERNAL, "?", to);
}

/* Matching a node's labelled references to its edges in the graph: the
 * walk added them in the order refs_each gives them, leaving out what was
 * not an object, so the edges are a subsequence of the references. */
struct matching {
	struct hs *h;
	const uint32_t *adj;
	uint32_t k, end;
};

static int match_ref(void *arg, uint64_t ref, const struct ref_label *lab)
{
	struct matching *m = arg;
	uint32_t j;

	if (m->k >= m->end)
		return 1;
	j = (ref & 7) ? GRAPH_NONE : graph_find(m->h->g, ref);
	if (j == GRAPH_NONE || j != m->adj[m->k])
		return 0;
	put_labelled_edge(m->h, lab, j + m->h->first);
	return ++m->k >= m->end;
}

static void node_edges(struct hs *h, uint32_t i)
{
	const struct graph *g = h->g;
	const struct graph_node *nd = &g->nodes[i];
	struct matching m = { h, g->adj, g->first[i], g->first[i + 1] };

	if (m.k < m.end && !lt_stop_requested) {
		if (nd->flags & GN_FRAME)
			refs_frame_each_labelled(h->c, nd->addr, match_ref, &m);
		else if (nd->t)
			refs_each_labelled(h->c, nd->addr, nd->t, match_ref, &m);
	}
	for (; m.k < m.end; m.k++)
		put_named_edge(h, ET_INTERNAL, "?", g->adj[m.k] + h->first);
}

/* The threads the thread roots belong to, and the roots by thread. */
struct threads {
	struct thread {
		uint64_t tid;
		const char *name;
		size_t nroots, at;  /* its roots: order[at .. at + nroots) */
	} *v;
	size_t n;
	uint32_t *order;         /* indexes into g->roots, thread by thread */
};

static void group_threads(struct threads *th, const struct graph *g)
{
	uint32_t *of = xmalloc((g->nroots ? g->nroots : 1) * sizeof(*of));
	size_t last = SIZE_MAX;

	th->v = xmalloc((g->nroots ? g->nroots : 1) * sizeof(*th->v));
	th->order = xmalloc((g->nroots ? g->nroots : 1) * sizeof(*th->order));
	th->n = 0;
	for (size_t r = 0; r < g->nroots; r++) {
		const struct graph_root *gr = &g->roots[r];
		size_t k = last;

		if (gr->kind != ROOT_THREAD)
			continue;
		/* The walk adds a thread's frames one after the other: a frame
		 * of another thread starts a new one (the same id met again
		 * after another thread, which only a damaged list would give,
		 * is a node of its own). */
		if (k >= th->n || th->v[k].tid != gr->tid || strcmp(th->v[k].name, gr->name) != 0)
			k = th->n;
		if (k == th->n) {
			th->v[k].tid = gr->tid;
			th->v[k].name = gr->name;
			th->v[k].nroots = 0;
			th->n++;
		}
		th->v[k].nroots++;
		of[r] = (uint32_t)k;
		last = k;
	}
	for (size_t k = 0, at = 0; k < th->n; k++) {
		th->v[k].at = at;
		at += th->v[k].nroots;
		th->v[k].nroots = 0;
	}
	for (size_t r = 0; r < g->nroots; r++)
		if (g->roots[r].kind == ROOT_THREAD) {
			struct thread *t = &th->v[of[r]];

			th->order[t->at + t->nroots++] = (uint32_t)r;
		}
	free(of);
}

static void thread_label(const struct thread *t, char *buf, size_t n)
{
	snprintf(buf, n, "thread %" PRIu64 "%s%s%s", t->tid, t->name[0] ? " (" : "", t->name,
		 t->name[0] ? ")" : "");
}

/* Name of a 3.11+ interpreter frame: what it runs. */
static uint32_t frame_name(struct hs *h, uint64_t iframe)
{
	char qual[128] = "", file[8], name[160];
	uint64_t code = 0;

	if (pyframe_code(h->c, iframe, &code) == 0 && code)
		pycode_describe(h->c, code, qual, sizeof(qual), file, sizeof(file));
	snprintf(name, sizeof(name), "(frame%s%s)", qual[0] ? " " : "", qual);
	return str_intern(&h->st, name);
}

int heapsnap_write(FILE *out, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct hs h = { .out = out, .c = &s->ctx, .g = g };
	struct graph_paths paths;
	struct threads th;
	struct json j;
	size_t nmodules = 0, nexternal = 0;
	uint64_t edges, nodes;
	char label[128];
	int err = 0;

	(void)snap;
	if (!g->first) {
		errno = EINVAL;  /* graph_finish was not called */
		return -1;
	}
	/* The external roots (objects held from C) are added by graph_paths. */
	graph_paths(g, &paths);
	graph_paths_free(&paths);
	for (size_t r = 0; r < g->nroots; r++) {
		nexternal += g->roots[r].kind == ROOT_EXTERNAL;
		nmodules += g->roots[r].kind == ROOT_MODULE;
	}
	group_threads(&th, g);
	h.first = SYNTHETIC + (uint32_t)th.n;
	nodes = (uint64_t)h.first + g->n;
	edges = 1 + nmodules + th.n + 1 + nexternal;
	for (size_t k = 0; k < th.n; k++)
		edges += th.v[k].nroots;
	edges += g->first[g->n];

	fprintf(out, "{\"snapshot\":{\"meta\":%s,\"node_count\":%" PRIu64 ",\"edge_count\":%" PRIu64
		",\"trace_function_count\":0},\n\"nodes\":[", meta, nodes, edges);
	put_node(&h, 0, NT_SYNTHETIC, str_intern(&h.st, ""), 0, 1 + nmodules + th.n);
	put_node(&h, 1, NT_SYNTHETIC, str_intern(&h.st, "(GC roots)"), 0, 1);
	put_node(&h, 2, NT_SYNTHETIC, str_intern(&h.st, "(Global handles)"), 0, nexternal);
	for (size_t k = 0; k < th.n; k++) {
		thread_label(&th.v[k], label, sizeof(label));
		put_node(&h, SYNTHETIC + (uint32_t)k, NT_HIDDEN, str_intern(&h.st, label), 0,
			 th.v[k].nroots);
	}
	for (uint32_t i = 0; i < g->n && !ferror(out); i++) {
		const struct graph_node *nd = &g->nodes[i];
		uint64_t nedges = g->first[i + 1] - g->first[i];

		if (nd->t) {
			int64_t size = pyobj_sizeof(h.c, nd->addr, nd->t);

			put_node(&h, h.first + i, NT_OBJECT, str_intern(&h.st, nd->t->name),
				 size > 0 ? (uint64_t)size : 0, nedges);
		} else {
			put_node(&h, h.first + i, NT_HIDDEN, (nd->flags & GN_FRAME) ?
				 frame_name(&h, nd->addr) : str_intern(&h.st, "?"), 0, nedges);
		}
	}
	fputs("],\n\"edges\":[", out);
	/* The root: (GC roots), the modules, the threads. */
	put_edge(&h, ET_ELEMENT, 1, 1);
	for (size_t r = 0; r < g->nroots; r++)
		if (g->roots[r].kind == ROOT_MODULE)
			put_named_edge(&h, ET_PROPERTY, g->roots[r].name[0] ? g->roots[r].name : "?",
				       h.first + g->roots[r].node);
	for (size_t k = 0; k < th.n; k++) {
		thread_label(&th.v[k], label, sizeof(label));
		put_named_edge(&h, ET_PROPERTY, label, SYNTHETIC + (uint32_t)k);
	}
	put_named_edge(&h, ET_PROPERTY, "held from C", 2);  /* (GC roots) */
	for (size_t r = 0, k = 0; r < g->nroots; r++)
		if (g->roots[r].kind == ROOT_EXTERNAL)
			put_edge(&h, ET_ELEMENT, ++k, h.first + g->roots[r].node);
	/* Each thread: its frames, the running one first. */
	for (size_t k = 0; k < th.n; k++)
		for (size_t f = 0; f < th.v[k].nroots; f++)
			put_edge(&h, ET_ELEMENT, f, h.first + g->roots[th.order[th.v[k].at + f]].node);
	for (uint32_t i = 0; i < g->n && !ferror(out); i++)
		node_edges(&h, i);
	fputs("],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n"
	      "\"locations\":[],\n\"strings\":", out);
	json_init(&j, out);
	json_begin_array(&j, NULL);
	for (size_t k = 0; k < h.st.n && !ferror(out); k++) {
		fputc('\n', out);
		json_str(&j, NULL, h.st.v[k]);
	}
	json_end_array(&j);
	fputs("}\n", out);
	if (fflush(out) != 0 || ferror(out))
		err = errno ? errno : EIO;
	strtab_free(&h.st);
	free(h.slots.v);
	free(th.v);
	free(th.order);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
