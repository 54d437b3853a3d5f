/* metrics.c - snapshots as Prometheus text. */
#include "config.h"
#include "metrics.h"
#include "outfile.h"
#include "memacct.h"
#include "fds.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A label value: backslash, double quote and newline escaped; cut at max. */
static void escaped(FILE *out, const char *s, size_t max)
{
	for (size_t n = 0; *s && n < max; s++, n++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* {pid="..",command="..",python=".."} with one or two more labels when
 * key (and key2) are set. */
static void labels2(FILE *out, const struct snapshot *s, const char *key, const char *value,
		    const char *key2, const char *value2)
{
	const struct session *se = s->session;

	fprintf(out, "{pid=\"%d\",command=\"", (int)s->pid);
	escaped(out, se->t.cmdline, 200);
	fputs("\",python=\"", out);
	escaped(out, se->version, 32);
	fputc('"', out);
	if (key) {
		fprintf(out, ",%s=\"", key);
		escaped(out, value, 256);
		fputc('"', out);
	}
	if (key2) {
		fprintf(out, ",%s=\"", key2);
		escaped(out, value2, 256);
		fputc('"', out);
	}
	fputc('}', out);
}

static void labels(FILE *out, const struct snapshot *s, const char *key, const char *value)
{
	labels2(out, s, key, value, NULL, NULL);
}

struct coro_count {
	const char *coro;
	int state;
	uint64_t n;
};

static int by_state_coro(const void *a, const void *b)
{
	const struct coro_count *x = a, *y = b;

	if (x->state != y->state)
		return x->state - y->state;
	return strcmp(x->coro, y->coro);
}

static int by_state_count(const void *a, const void *b)
{
	const struct coro_count *x = a, *y = b;

	if (x->state != y->state)
		return x->state - y->state;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->coro, y->coro);
}

/* leaktop_asyncio_tasks{coro,state}: per state, the top coroutines by
 * count, the rest as coro="other". */
static void asyncio_tasks(FILE *out, const struct snapshot *s, size_t top)
{
	const struct tasks_result *r = &s->tasks;
	struct coro_count *v;
	size_t n = 0;

	if (!s->tasks_known || !r->n)
		return;
	v = xcalloc(r->n, sizeof(*v));
	for (size_t i = 0; i < r->n; i++)
		v[i] = (struct coro_count){ r->v[i].coro[0] ? r->v[i].coro : "?", (int)r->v[i].state, 1 };
	lt_sort(v, r->n, sizeof(*v), by_state_coro);
	for (size_t i = 0; i < r->n; i++) {
		if (n && v[n - 1].state == v[i].state && strcmp(v[n - 1].coro, v[i].coro) == 0)
			v[n - 1].n++;
		else
			v[n++] = v[i];
	}
	lt_sort(v, n, sizeof(*v), by_state_count);
	for (size_t i = 0, j; i < n; i = j) {
		const char *state = task_state_name((enum task_state)v[i].state);
		uint64_t rest = 0;

		for (j = i; j < n && v[j].state == v[i].state; j++) {
			if (j - i >= top) {
				rest += v[j].n;
				continue;
			}
			fputs("leaktop_asyncio_tasks", out);
			labels2(out, s, "coro", v[j].coro, "state", state);
			fprintf(out, " %" PRIu64 "\n", v[j].n);
		}
		if (j - i > top) {
			fputs("leaktop_asyncio_tasks", out);
			labels2(out, s, "coro", "other", "state", state);
			fprintf(out, " %" PRIu64 "\n", rest);
		}
	}
	free(v);
}

static void head(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

enum which { OBJECTS, BYTES };

static void per_type(FILE *out, const struct snapshot *s, size_t top, enum which w)
{
	const struct census *c = &s->census;
	uint64_t rest = 0;

	for (size_t i = 0; i < c->n; i++) {
		uint64_t v = w == OBJECTS ? c->rows[i].count : c->rows[i].bytes;

		if (i >= top) {
			rest += v;
			continue;
		}
		fputs(w == OBJECTS ? "leaktop_objects" : "leaktop_bytes", out);
		labels(out, s, "type", c->rows[i].type);
		fprintf(out, " %" PRIu64 "\n", v);
	}
	if (c->n > top) {
		fputs(w == OBJECTS ? "leaktop_objects" : "leaktop_bytes", out);
		labels(out, s, "type", "other");
		fprintf(out, " %" PRIu64 "\n", rest);
	}
}

/* The metrics with one sample per process: 0 when it has none. */
static int objects_all(const struct snapshot *s, double *v)
{
	*v = (double)s->census.objects;
	return 1;
}

static int bytes_all(const struct snapshot *s, double *v)
{
	*v = (double)s->census.bytes;
	return 1;
}

static int garbage_objects(const struct snapshot *s, double *v)
{
	*v = (double)s->garbage.objects;
	return s->garbage_known;
}

static int garbage_bytes(const struct snapshot *s, double *v)
{
	*v = (double)s->garbage.bytes;
	return s->garbage_known;
}

static int pause_seconds(const struct snapshot *s, double *v)
{
	*v = (double)s->pause_us / 1e6;
	return 1;
}

static int complete(const struct snapshot *s, double *v)
{
	*v = s->census.complete ? 1 : 0;
	return 1;
}

static int taken_at(const struct snapshot *s, double *v)
{
	*v = (double)s->taken_at;
	return 1;
}

static int rss_bytes(const struct snapshot *s, double *v)
{
	*v = (double)s->memory.rss;
	return s->memory.known;
}

static const struct {
	const char *name, *help;
	int (*get)(const struct snapshot *s, double *v);
} scalars[] = {
	{ "leaktop_objects_all", "Python objects in all.", objects_all },
	{ "leaktop_bytes_all", "Bytes of Python objects in all.", bytes_all },
	{ "leaktop_rss_bytes", "Resident memory of the process (the sum of smaps' Rss).", rss_bytes },
	{ "leaktop_garbage_objects",
	  "Cyclic garbage: objects no root reaches that the collector has not freed.",
	  garbage_objects },
	{ "leaktop_garbage_bytes", "Bytes of cyclic garbage.", garbage_bytes },
	{ "leaktop_pause_seconds", "How long the snapshot kept the process stopped.", pause_seconds },
	{ "leaktop_census_complete",
	  "1 when the snapshot walked everything, 0 when its notes say what it missed.", complete },
	{ "leaktop_snapshot_timestamp_seconds", "When the snapshot was taken (Unix time).", taken_at },
};

void metrics_write(FILE *out, const struct snapshot *const *snaps, size_t n, size_t top)
{
	head(out, "leaktop_objects", "Python objects by type (the top types by bytes; the rest as type=\"other\").");
	for (size_t k = 0; k < n; k++)
		per_type(out, snaps[k], top, OBJECTS);
	head(out, "leaktop_bytes", "Bytes of Python objects by type, as sys.getsizeof counts them.");
	for (size_t k = 0; k < n; k++)
		per_type(out, snaps[k], top, BYTES);
	head(out, "leaktop_retained_bytes", "What freeing each top retainer would free, by the name that holds it.");
	for (size_t k = 0; k < n; k++) {
		const struct retainers *r = &snaps[k]->retainers;

		for (size_t i = 0; r->known && i < r->n && i < 10; i++) {
			fputs("leaktop_retained_bytes", out);
			labels(out, snaps[k], "holder", r->v[i].path);
			fprintf(out, " %" PRIu64 "\n", r->v[i].retained_bytes);
		}
	}
	head(out, "leaktop_descriptors", "Open file descriptors by kind.");
	for (size_t k = 0; k < n; k++) {
		uint64_t count[FDK_COUNT] = { 0 };

		if (!snaps[k]->fds_read)
			continue;
		for (size_t i = 0; i < snaps[k]->fds.n; i++)
			count[snaps[k]->fds.v[i].kind]++;
		for (int kind = 0; kind < FDK_COUNT; kind++) {
			fputs("leaktop_descriptors", out);
			labels(out, snaps[k], "kind", fd_kind_name((enum fd_kind)kind));
			fprintf(out, " %" PRIu64 "\n", count[kind]);
		}
	}
	head(out, "leaktop_asyncio_tasks", "asyncio tasks by their coroutine's qualified name and state "
	     "(the top coroutines by count; the rest as coro=\"other\").");
	for (size_t k = 0; k < n; k++)
		asyncio_tasks(out, snaps[k], top);
	head(out, "leaktop_memory_bytes", "The resident memory (RSS) by where it goes; the parts add up to it.");
	for (size_t k = 0; k < n; k++) {
		const struct mem_account *m = &snaps[k]->memory;

		for (int p = 0; m->known && p < MEM_NPARTS; p++) {
			fputs("leaktop_memory_bytes", out);
			labels(out, snaps[k], "part", mem_part_name((enum mem_part)p));
			fprintf(out, " %" PRIu64 "\n", m->part[p]);
		}
	}
	for (size_t i = 0; i < LT_ARRAY_SIZE(scalars); i++) {
		head(out, scalars[i].name, scalars[i].help);
		for (size_t k = 0; k < n; k++) {
			double v;

			if (!scalars[i].get(snaps[k], &v))
				continue;
			fputs(scalars[i].name, out);
			labels(out, snaps[k], NULL, NULL);
			fprintf(out, " %.15g\n", v);
		}
	}
}

int metrics_write_file(const char *path, const struct snapshot *s, size_t top)
{
	struct outfile o;

	/* readable by the textfile collector: it holds no heap contents */
	if (outfile_open(&o, path, 0644) < 0)
		return -1;
	metrics_write(o.f, &s, 1, top);
	return outfile_commit(&o);
}
