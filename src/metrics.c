/* metrics.c - snapshots as Prometheus text. */
#include "config.h"
#include "metrics.h"
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

/* {pid="..",command="..",python=".."} with one more label when key is set. */
static void labels(FILE *out, const struct snapshot *s, const char *key, const char *value)
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
	fputc('}', out);
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

void metrics_write(FILE *out, const struct snapshot *const *snaps, size_t n, size_t top)
{
	head(out, "leaktop_objects", "Python objects by type (the top types by bytes; the rest as type=\"other\").");
	for (size_t k = 0; k < n; k++)
		per_type(out, snaps[k], top, OBJECTS);
	head(out, "leaktop_bytes", "Bytes of Python objects by type, as sys.getsizeof counts them.");
	for (size_t k = 0; k < n; k++)
		per_type(out, snaps[k], top, BYTES);
	head(out, "leaktop_objects_all", "Python objects in all.");
	for (size_t k = 0; k < n; k++) {
		fputs("leaktop_objects_all", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %" PRIu64 "\n", snaps[k]->census.objects);
	}
	head(out, "leaktop_bytes_all", "Bytes of Python objects in all.");
	for (size_t k = 0; k < n; k++) {
		fputs("leaktop_bytes_all", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %" PRIu64 "\n", snaps[k]->census.bytes);
	}
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
	head(out, "leaktop_garbage_objects", "Cyclic garbage: objects no root reaches that the collector has not freed.");
	for (size_t k = 0; k < n; k++) {
		if (!snaps[k]->garbage_known)
			continue;
		fputs("leaktop_garbage_objects", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %" PRIu64 "\n", snaps[k]->garbage.objects);
	}
	head(out, "leaktop_garbage_bytes", "Bytes of cyclic garbage.");
	for (size_t k = 0; k < n; k++) {
		if (!snaps[k]->garbage_known)
			continue;
		fputs("leaktop_garbage_bytes", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %" PRIu64 "\n", snaps[k]->garbage.bytes);
	}
	head(out, "leaktop_pause_seconds", "How long the snapshot kept the process stopped.");
	for (size_t k = 0; k < n; k++) {
		fputs("leaktop_pause_seconds", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %.6f\n", (double)snaps[k]->pause_us / 1e6);
	}
	head(out, "leaktop_census_complete", "1 when the snapshot walked everything, 0 when its notes say what it missed.");
	for (size_t k = 0; k < n; k++) {
		fputs("leaktop_census_complete", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %d\n", snaps[k]->census.complete ? 1 : 0);
	}
	head(out, "leaktop_snapshot_timestamp_seconds", "When the snapshot was taken (Unix time).");
	for (size_t k = 0; k < n; k++) {
		fputs("leaktop_snapshot_timestamp_seconds", out);
		labels(out, snaps[k], NULL, NULL);
		fprintf(out, " %lld\n", (long long)snaps[k]->taken_at);
	}
}

int metrics_write_file(const char *path, const struct snapshot *s, size_t top)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	int err;

	if (!f) {
		lt_error(LT_ERR_OTHER, "cannot write %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	metrics_write(f, &s, 1, top);
	err = ferror(f) ? EIO : 0;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		lt_error(LT_ERR_OTHER, "cannot write %s: %s", path, strerror(err));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
