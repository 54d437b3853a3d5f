/* report.c - text and JSON presenters for a snapshot. */
#include "config.h"
#include "report.h"
#include "json.h"
#include "layout.h"
#include "snapshot.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

void report_human_bytes(char *buf, size_t max, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, max, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, max, "%.1f %s", v, units[u]);
}

static const char *version_of(const struct snapshot *s)
{
	return s->session->version[0] ? s->session->version : NULL;
}

void report_text(FILE *out, const struct snapshot *s, int top)
{
	const struct session *se = s->session;
	const struct census *c = &s->census;
	char total[32];
	const char *ver = version_of(s);

	report_human_bytes(total, sizeof(total), c->bytes);
	fprintf(out, "pid %d  %s\n", (int)s->pid, se->t.cmdline);
	fprintf(out, "python %s  %s  layout %s\n", ver ? ver : "3.?", se->t.exe,
		layout_source_name(se->lay.source));
	fprintf(out, "objects %" PRIu64 "  gc-tracked %" PRIu64 "  bytes %s  pause %.1f ms%s\n",
		c->objects, c->gc_tracked, total, (double)s->pause_us / 1000.0,
		c->complete ? "" : "  (incomplete)");
	for (size_t i = 0; i < c->nnotes; i++)
		fprintf(out, "note: %s\n", c->notes[i]);
	fprintf(out, "\n %4s  %10s  %12s  %s\n", "num", "#objects", "#bytes", "type");
	for (size_t i = 0; i < c->n && (top <= 0 || (int)i < top); i++)
		fprintf(out, "%4zu:  %10" PRIu64 "  %12" PRIu64 "  %s\n", i + 1, c->rows[i].count,
			c->rows[i].bytes, c->rows[i].type);
	fprintf(out, "Total  %10" PRIu64 "  %12" PRIu64 "  (%zu types)\n", c->objects, c->bytes, c->n);
}

void report_json(FILE *out, const struct snapshot *s)
{
	const struct session *se = s->session;
	const struct census *c = &s->census;
	struct json j;
	char when[32];
	struct tm tm;

	gmtime_r(&s->taken_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", "leaktop-dump/1");
	json_i64(&j, "pid", s->pid);
	json_str(&j, "taken_at", when);
	json_u64(&j, "pause_us", s->pause_us);
	json_u64(&j, "gc_retries", (uint64_t)s->gc_retries);
	json_begin_object(&j, "python");
	json_str(&j, "version", version_of(s));
	json_bool(&j, "free_threaded", se->t.free_threaded == 1);
	json_str(&j, "executable", se->t.exe[0] ? se->t.exe : NULL);
	json_str(&j, "layout_source", layout_source_name(se->lay.source));
	json_end_object(&j);
	json_begin_object(&j, "census");
	json_u64(&j, "objects", c->objects);
	json_u64(&j, "bytes", c->bytes);
	json_u64(&j, "gc_tracked", c->gc_tracked);
	json_bool(&j, "complete", c->complete);
	json_begin_array(&j, "notes");
	for (size_t i = 0; i < c->nnotes; i++)
		json_str(&j, NULL, c->notes[i]);
	json_end_array(&j);
	json_begin_array(&j, "types");
	for (size_t i = 0; i < c->n; i++) {
		json_begin_object(&j, NULL);
		json_str(&j, "type", c->rows[i].type);
		json_u64(&j, "count", c->rows[i].count);
		json_u64(&j, "gc_tracked", c->rows[i].gc_tracked);
		json_u64(&j, "bytes", c->rows[i].bytes);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_end_object(&j);
	fputc('\n', out);
}
