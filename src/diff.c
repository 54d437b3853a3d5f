/* diff.c - compare two snapshots: types, holders, descriptors, chains. */
#include "config.h"
#include "diff.h"
#include "fds.h"
#include "json.h"
#include "pyobj.h"
#include "report.h"
#include "retain.h"
#include "snapshot.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void side_of(struct diff_side *d, const struct session *se, const struct snapshot *snap)
{
	d->pid = (int)se->t.pid;
	d->taken_at = snap->taken_at;
	if (se->off)
		snprintf(d->source, sizeof(d->source), "%s", se->off->path);
	else
		snprintf(d->source, sizeof(d->source), "pid %d", (int)se->t.pid);
	snprintf(d->version, sizeof(d->version), "%s", se->version);
}

static void copy_census(struct census *to, const struct census *from)
{
	census_init(to);
	for (size_t i = 0; i < from->n; i++)
		census_add(to, from->rows[i].type, from->rows[i].count, from->rows[i].gc_tracked,
			   from->rows[i].bytes);
	census_finish(to);
	to->complete = from->complete;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void diff_old_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct diff_old *o = arg;

	(void)s, (void)snap;
	o->addrs = xcalloc(g->n ? g->n : 1, sizeof(*o->addrs));
	for (uint32_t i = 0; i < g->n; i++)
		if (!(g->nodes[i].flags & GN_FRAME))
			o->addrs[o->naddrs++] = g->nodes[i].addr;
	lt_sort(o->addrs, o->naddrs, sizeof(*o->addrs), cmp_u64);
}

void diff_keep_old(struct diff_old *o, const struct session *se, const struct snapshot *snap)
{
	const struct retainers *r = &snap->retainers;
	uint64_t *addrs = o->addrs;
	size_t naddrs = o->naddrs;

	memset(o, 0, sizeof(*o));
	o->addrs = addrs;
	o->naddrs = naddrs;
	side_of(&o->side, se, snap);
	copy_census(&o->census, &snap->census);
	o->fds_read = snap->fds_read;
	if (snap->fds_read)
		fd_census(&snap->fds, &o->fds);
	else
		census_init(&o->fds);
	o->holders = xcalloc(r->n ? r->n : 1, sizeof(*o->holders));
	for (size_t i = 0; r->known && i < r->n; i++) {
		snprintf(o->holders[i].path, sizeof(o->holders[i].path), "%s", r->v[i].path);
		snprintf(o->holders[i].type, sizeof(o->holders[i].type), "%s", r->v[i].type);
		o->holders[i].len = r->v[i].len;
		o->holders[i].retained = r->v[i].retained_bytes;
		o->holders[i].weak = r->v[i].weak;
		o->nholders++;
	}
}

void diff_old_free(struct diff_old *o)
{
	census_free(&o->census);
	census_free(&o->fds);
	free(o->holders);
	free(o->addrs);
	memset(o, 0, sizeof(*o));
}

void diff_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct diff_hook *h = arg;
	struct pyctx *c = &s->ctx;
	struct { struct pytype *t; int64_t delta; } top[DIFF_CHAIN_TYPES];
	size_t ntop = 0;

	/* The types that grew most, by the counts the walk just made. */
	PYCTX_FOREACH_TYPE(c, t) {
		const struct census_row *r = census_find(&h->old->census, t->name);
		int64_t delta = (int64_t)t->count - (int64_t)(r ? r->count : 0);
		size_t k;

		if (delta <= 0)
			continue;
		for (k = ntop; k > 0 && top[k - 1].delta < delta; k--)
			;
		if (k >= DIFF_CHAIN_TYPES)
			continue;
		if (ntop < DIFF_CHAIN_TYPES)
			ntop++;
		memmove(&top[k + 1], &top[k], (ntop - 1 - k) * sizeof(top[0]));
		top[k].t = t;
		top[k].delta = delta;
	}
	for (size_t k = 0; k < ntop && !lt_stop_requested; k++) {
		struct why_selector sel = { .kind = WHY_TYPE, .skip = h->old->addrs,
					    .nskip = h->old->naddrs };
		struct diff_type *dt = &h->chains[h->nchains++];

		snprintf(sel.type, sizeof(sel.type), "%s", top[k].t->name);
		dt->type = xstrdup(top[k].t->name);
		why_analyze(&dt->why, s, snap, g, &sel, DIFF_CHAINS);
		dt->have_why = 1;
	}
}

static int by_type_delta(const void *a, const void *b)
{
	const struct diff_type *x = a, *y = b;

	if (x->delta != y->delta)
		return x->delta < y->delta ? 1 : -1;
	if (x->bytes_delta != y->bytes_delta)
		return x->bytes_delta < y->bytes_delta ? 1 : -1;
	return strcmp(x->type, y->type);
}

static int by_holder_delta(const void *a, const void *b)
{
	const struct diff_holder *x = a, *y = b;
	int64_t dx = (int64_t)(x->retained_new - x->retained_old);
	int64_t dy = (int64_t)(y->retained_new - y->retained_old);

	if (x->weak != y->weak)
		return x->weak - y->weak;
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->path, y->path);
}

static int by_fd_delta(const void *a, const void *b)
{
	const struct diff_fd *x = a, *y = b;
	int64_t dx = (int64_t)(x->count_new - x->count_old), dy = (int64_t)(y->count_new - y->count_old);

	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->group, y->group);
}

static void add_type(struct diff *d, size_t *cap, const char *type, const struct census_row *o,
		     const struct census_row *n)
{
	struct diff_type *t;
	uint64_t co = o ? o->count : 0, cn = n ? n->count : 0;
	uint64_t bo = o ? o->bytes : 0, bn = n ? n->bytes : 0;

	if (co == cn && bo == bn)
		return;
	if (d->ntypes == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		d->types = xreallocarray(d->types, *cap, sizeof(*d->types));
	}
	t = &d->types[d->ntypes++];
	memset(t, 0, sizeof(*t));
	t->type = xstrdup(type);
	t->count_old = co;
	t->count_new = cn;
	t->delta = (int64_t)(cn - co);
	t->bytes_delta = (int64_t)(bn - bo);
}

static void diff_types(struct diff *d, const struct census *old, const struct census *new_)
{
	size_t cap = 0;

	for (size_t i = 0; i < new_->n; i++)
		add_type(d, &cap, new_->rows[i].type, census_find(old, new_->rows[i].type),
			 &new_->rows[i]);
	for (size_t i = 0; i < old->n; i++)
		if (!census_find(new_, old->rows[i].type))
			add_type(d, &cap, old->rows[i].type, &old->rows[i], NULL);
	lt_sort(d->types, d->ntypes, sizeof(*d->types), by_type_delta);
}

static void diff_holders(struct diff *d, const struct diff_old *o, const struct retainers *r)
{
	size_t cap = o->nholders + (r->known ? r->n : 0) + 1;
	char *matched = xcalloc(o->nholders + 1, 1);

	d->holders = xcalloc(cap, sizeof(*d->holders));
	for (size_t i = 0; r->known && i < r->n; i++) {
		struct diff_holder *h = &d->holders[d->nholders];
		size_t k;

		for (k = 0; k < o->nholders; k++)
			if (!matched[k] && strcmp(o->holders[k].path, r->v[i].path) == 0 &&
			    strcmp(o->holders[k].type, r->v[i].type) == 0)
				break;
		snprintf(h->path, sizeof(h->path), "%s", r->v[i].path);
		snprintf(h->type, sizeof(h->type), "%s", r->v[i].type);
		h->in_new = 1;
		h->len_new = r->v[i].len;
		h->retained_new = r->v[i].retained_bytes;
		h->weak = r->v[i].weak;
		h->len_old = -1;
		if (k < o->nholders) {
			matched[k] = 1;
			h->in_old = 1;
			h->len_old = o->holders[k].len;
			h->retained_old = o->holders[k].retained;
		}
		if (h->retained_new != h->retained_old || h->len_new != h->len_old)
			d->nholders++;
	}
	for (size_t k = 0; k < o->nholders; k++) {
		struct diff_holder *h = &d->holders[d->nholders];

		if (matched[k])
			continue;
		memset(h, 0, sizeof(*h));
		snprintf(h->path, sizeof(h->path), "%s", o->holders[k].path);
		snprintf(h->type, sizeof(h->type), "%s", o->holders[k].type);
		h->in_old = 1;
		h->len_old = o->holders[k].len;
		h->retained_old = o->holders[k].retained;
		h->weak = o->holders[k].weak;
		h->len_new = -1;
		d->nholders++;
	}
	free(matched);
	lt_sort(d->holders, d->nholders, sizeof(*d->holders), by_holder_delta);
}

/* Descriptor groups ("group REG /var/log .log"), not the per-kind rows. */
static void diff_fds(struct diff *d, const struct census *old, const struct census *new_)
{
	size_t cap = old->n + new_->n + 1;

	d->fds = xcalloc(cap, sizeof(*d->fds));
	for (int pass = 0; pass < 2; pass++) {
		const struct census *a = pass ? old : new_, *b = pass ? new_ : old;

		for (size_t i = 0; i < a->n; i++) {
			const char *name = a->rows[i].type;
			const struct census_row *other = census_find(b, name);
			struct diff_fd *f = &d->fds[d->nfds];

			if (strncmp(name, "group ", 6) != 0 || (pass && other))
				continue;
			f->count_new = pass ? 0 : a->rows[i].count;
			f->count_old = pass ? a->rows[i].count : other ? other->count : 0;
			if (f->count_new == f->count_old)
				continue;
			f->group = xstrdup(name + 6);
			d->nfds++;
		}
	}
	lt_sort(d->fds, d->nfds, sizeof(*d->fds), by_fd_delta);
}

void diff_compute(struct diff *d, struct diff_old *o, const struct session *se,
		  const struct snapshot *snap, struct diff_hook *h)
{
	memset(d, 0, sizeof(*d));
	d->old = o->side;
	side_of(&d->new_, se, snap);
	d->complete = o->census.complete && snap->census.complete;
	diff_types(d, &o->census, &snap->census);
	diff_holders(d, o, &snap->retainers);
	d->fds_known = o->fds_read && snap->fds_read;
	if (d->fds_known) {
		struct census nf;

		fd_census(&snap->fds, &nf);
		diff_fds(d, &o->fds, &nf);
		census_free(&nf);
	}
	/* the hook's chains go to their types */
	for (size_t k = 0; k < h->nchains; k++) {
		for (size_t i = 0; i < d->ntypes; i++)
			if (!d->types[i].have_why && strcmp(d->types[i].type, h->chains[k].type) == 0) {
				d->types[i].why = h->chains[k].why;
				d->types[i].have_why = 1;
				h->chains[k].have_why = 0;
				break;
			}
		if (h->chains[k].have_why)
			why_free(&h->chains[k].why);
		free(h->chains[k].type);
	}
	h->nchains = 0;
}

void diff_free(struct diff *d)
{
	for (size_t i = 0; i < d->ntypes; i++) {
		free(d->types[i].type);
		if (d->types[i].have_why)
			why_free(&d->types[i].why);
	}
	free(d->types);
	free(d->holders);
	for (size_t i = 0; i < d->nfds; i++)
		free(d->fds[i].group);
	free(d->fds);
	memset(d, 0, sizeof(*d));
}

static void side_text(FILE *out, const char *label, const struct diff_side *s)
{
	char when[64];
	struct tm tm;

	localtime_r(&s->taken_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "%s %s (pid %d, Python %s, taken %s)\n", label, s->source, s->pid,
		s->version[0] ? s->version : "3.?", when);
}

void diff_text(FILE *out, const struct diff *d, int top)
{
	size_t shown = 0;

	side_text(out, "old:", &d->old);
	side_text(out, "new:", &d->new_);
	if (!d->complete)
		fprintf(out, "note: a walk was incomplete; see leaktop dump of each for its notes\n");
	fprintf(out, "\n%12s %12s %10s %12s  %s\n", "OLD", "NEW", "DELTA", "BYTES DELTA", "TYPE");
	for (size_t i = 0; i < d->ntypes && (!top || shown < (size_t)top); i++, shown++) {
		const struct diff_type *t = &d->types[i];

		fprintf(out, "%12" PRIu64 " %12" PRIu64 " %+10" PRId64 " %+12" PRId64 "  %s\n",
			t->count_old, t->count_new, t->delta, t->bytes_delta, t->type);
	}
	if (!d->ntypes)
		fprintf(out, "(no type changed)\n");
	if (d->nholders) {
		fprintf(out, "\nholders that changed (retained bytes):\n");
		for (size_t i = 0; i < d->nholders && i < 10; i++) {
			const struct diff_holder *h = &d->holders[i];

			fprintf(out, "  %+12" PRId64 "  %s (%s%s)", (int64_t)(h->retained_new - h->retained_old),
				h->path, h->type, h->weak ? ", weak" : "");
			if (h->len_old >= 0 && h->len_new >= 0)
				fprintf(out, ", len %" PRId64 " -> %" PRId64, h->len_old, h->len_new);
			fprintf(out, "%s\n", !h->in_old ? " (new)" : !h->in_new ? " (gone)" : "");
		}
	}
	if (d->nfds) {
		fprintf(out, "\ndescriptors that changed:\n");
		for (size_t i = 0; i < d->nfds && i < 20; i++)
			fprintf(out, "  %6" PRIu64 " -> %-6" PRIu64 " %s\n", d->fds[i].count_old,
				d->fds[i].count_new, d->fds[i].group);
	} else if (!d->fds_known) {
		fprintf(out, "\n(descriptors not compared: a side has no descriptor table)\n");
	}
	for (size_t i = 0; i < d->ntypes; i++) {
		const struct diff_type *t = &d->types[i];

		if (!t->have_why || !t->why.nchains)
			continue;
		fprintf(out, "\n%s grew by %" PRId64 "; %" PRIu64 " of them are new (at addresses the "
			"old snapshot did not have), held so:\n", t->type, t->delta, t->why.selected);
		for (size_t k = 0; k < t->why.nchains; k++)
			report_chain_text(out, &t->why.chains[k], t->why.selected);
	}
}

static void side_json(struct json *j, const char *key, const struct diff_side *s)
{
	json_begin_object(j, key);
	json_str(j, "source", s->source);
	json_i64(j, "pid", s->pid);
	json_str(j, "python", s->version[0] ? s->version : NULL);
	json_i64(j, "taken_at", (int64_t)s->taken_at);
	json_end_object(j);
}

void diff_json(FILE *out, const struct diff *d)
{
	struct json j;

	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", "leaktop-diff/1");
	side_json(&j, "old", &d->old);
	side_json(&j, "new", &d->new_);
	json_bool(&j, "complete", d->complete);
	json_begin_array(&j, "types");
	for (size_t i = 0; i < d->ntypes; i++) {
		const struct diff_type *t = &d->types[i];

		json_begin_object(&j, NULL);
		json_str(&j, "type", t->type);
		json_u64(&j, "count_old", t->count_old);
		json_u64(&j, "count_new", t->count_new);
		json_i64(&j, "delta", t->delta);
		json_i64(&j, "bytes_delta", t->bytes_delta);
		if (t->have_why) {
			json_u64(&j, "new_objects", t->why.selected);
			json_begin_array(&j, "chains");
			for (size_t k = 0; k < t->why.nchains; k++) {
				json_begin_object(&j, NULL);
				json_u64(&j, "count", t->why.chains[k].count);
				report_chain_json(&j, &t->why.chains[k]);
				json_end_object(&j);
			}
			json_end_array(&j);
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_begin_array(&j, "holders");
	for (size_t i = 0; i < d->nholders; i++) {
		const struct diff_holder *h = &d->holders[i];

		json_begin_object(&j, NULL);
		json_str(&j, "path", h->path);
		json_str(&j, "type", h->type);
		json_bool(&j, "weak", h->weak);
		json_i64_known(&j, "len_old", h->in_old ? h->len_old : -1);
		json_i64_known(&j, "len_new", h->in_new ? h->len_new : -1);
		json_u64(&j, "retained_bytes_old", h->retained_old);
		json_u64(&j, "retained_bytes_new", h->retained_new);
		json_i64(&j, "delta_retained_bytes", (int64_t)(h->retained_new - h->retained_old));
		json_end_object(&j);
	}
	json_end_array(&j);
	if (d->fds_known) {
		json_begin_array(&j, "fds");
		for (size_t i = 0; i < d->nfds; i++) {
			json_begin_object(&j, NULL);
			json_str(&j, "group", d->fds[i].group);
			json_u64(&j, "count_old", d->fds[i].count_old);
			json_u64(&j, "count_new", d->fds[i].count_new);
			json_i64(&j, "delta", (int64_t)(d->fds[i].count_new - d->fds[i].count_old));
			json_end_object(&j);
		}
		json_end_array(&j);
	} else {
		json_null(&j, "fds");
	}
	json_end_object(&j);
	fputc('\n', out);
}
