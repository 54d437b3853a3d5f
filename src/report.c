/* report.c - text and JSON presenters for a snapshot. */
#include "config.h"
#include "report.h"
#include "tasks.h"
#include "json.h"
#include "layout.h"
#include "memacct.h"
#include "snapshot.h"
#include "history.h"
#include "util.h"
#include "why.h"

#include <inttypes.h>
#include <stdlib.h>
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
	if (se->t.nspid != s->pid)
		fprintf(out, "pid %d (%d in its namespace)  %s\n", (int)s->pid, (int)se->t.nspid,
			se->t.cmdline);
	else
		fprintf(out, "pid %d  %s\n", (int)s->pid, se->t.cmdline);
	fprintf(out, "python %s  %s  layout %s\n", ver ? ver : "3.?", se->t.exe,
		layout_source_name(se->lay.source));
	fprintf(out, "objects %" PRIu64 "  gc-tracked %" PRIu64 "  bytes %s  pause %.1f ms%s\n",
		c->objects, c->gc_tracked, total, (double)s->pause_us / 1000.0,
		c->complete ? "" : "  (incomplete)");
	if (!se->opts.no_block) {
		char copied[32];

		report_human_bytes(copied, sizeof(copied), s->image.copied_bytes);
		fprintf(out, "copied %s in %.1f ms while stopped, walked after; %" PRIu64
			" pages read late\n", copied, (double)s->image.copy_us / 1000.0, s->late_pages);
	}
	if (s->stop.known)
		fprintf(out, "stop: interrupt %.1f ms, wait %.1f, plan %.1f, copy %.1f, unwind %.1f, "
			"release %.1f, other %.1f\n", s->stop.interrupt_us / 1000.0,
			s->stop.wait_us / 1000.0, s->stop.plan_us / 1000.0, s->stop.copy_us / 1000.0,
			s->stop.unwind_us / 1000.0, s->stop.release_us / 1000.0,
			s->stop.other_us / 1000.0);
	for (size_t i = 0; i < c->nnotes; i++)
		fprintf(out, "note: %s\n", c->notes[i]);
	fprintf(out, "\n %4s  %10s  %12s  %s\n", "num", "#objects", "#bytes", "type");
	for (size_t i = 0; i < c->n && (top <= 0 || (int)i < top); i++)
		fprintf(out, "%4zu:  %10" PRIu64 "  %12" PRIu64 "  %s\n", i + 1, c->rows[i].count,
			c->rows[i].bytes, c->rows[i].type);
	fprintf(out, "Total  %10" PRIu64 "  %12" PRIu64 "  (%zu types)\n", c->objects, c->bytes, c->n);
	memacct_text(out, &s->memory);
	report_retainers_text(out, s, top > 0 && top < 10 ? top : 10);
	report_garbage_text(out, s, top);
	report_gens_text(out, s, top);
	report_fds_text(out, s);
}

void report_retainers_text(FILE *out, const struct snapshot *s, int top)
{
	const struct retainers *r = &s->retainers;

	if (!r->known)
		return;
	fprintf(out, "\nretainers: what freeing each would free (of %" PRIu64 " objects the roots "
		"reach)\n %10s  %9s  %6s  %-36s %s\n", r->reachable_objects, "retained", "objects",
		"%", "type (items)", "held as");
	for (size_t k = 0; k < r->n && (top <= 0 || (int)k < top); k++) {
		const struct retainer *x = &r->v[k];
		char bytes[32], type[160];

		report_human_bytes(bytes, sizeof(bytes), x->retained_bytes);
		if (x->len >= 0)
			snprintf(type, sizeof(type), "%s (%" PRId64 ")%s", x->type, x->len,
				 x->weak ? " weak" : "");
		else
			snprintf(type, sizeof(type), "%s%s", x->type, x->weak ? " weak" : "");
		fprintf(out, " %10s  %9" PRIu64 "  %5.1f%%  %-36s %s\n", bytes, x->retained_objects,
			s->census.bytes ? 100.0 * (double)x->retained_bytes / (double)s->census.bytes : 0.0,
			type, x->path);
	}
	{
		char bytes[32];

		report_human_bytes(bytes, sizeof(bytes), r->from_c_bytes);
		fprintf(out, "   held only from C: %" PRIu64 " objects, %s, under %" PRIu64
			" objects with more references than leaktop sees", r->from_c_objects, bytes,
			r->from_c_roots);
		report_human_bytes(bytes, sizeof(bytes), r->from_c_type_bytes);
		if (r->from_c_type_roots)
			fprintf(out, "; %" PRIu64 " of them (%s) under %" PRIu64 " classes defined in C",
				r->from_c_type_objects, bytes, r->from_c_type_roots);
		fputc('\n', out);
	}
}

void report_garbage_text(FILE *out, const struct snapshot *s, int top)
{
	const struct garbage *g = &s->garbage;
	char bytes[32];

	if (!s->garbage_known)
		return;
	if (!g->objects) {
		fprintf(out, "\ncyclic garbage: none\n");
		return;
	}
	report_human_bytes(bytes, sizeof(bytes), g->bytes);
	fprintf(out, "\ncyclic garbage: %" PRIu64 " objects, %s in %" PRIu64 " cycle%s",
		g->objects, bytes, g->cycles, g->cycles == 1 ? "" : "s");
	if (g->finalizers)
		fprintf(out, ", %" PRIu64 " with __del__", g->finalizers);
	fprintf(out, " (no root reaches them; the collector has not freed them yet)\n");
	for (size_t i = 0; i < s->garbage_types.n && (top <= 0 || (int)i < top); i++)
		fprintf(out, "       %10" PRIu64 "  %12" PRIu64 "  %s\n", s->garbage_types.rows[i].count,
			s->garbage_types.rows[i].bytes, s->garbage_types.rows[i].type);
}

/* "app.py:40" or "app.py (not started)" */
static void site_where(const struct gen_site *g, char *buf, size_t max)
{
	if (g->offset < 0)
		snprintf(buf, max, "%s (not started)", g->file);
	else if (g->line >= 0)
		snprintf(buf, max, "%s:%d", g->file, g->line);
	else
		snprintf(buf, max, "%s:?", g->file);
}

void report_gens_text(FILE *out, const struct snapshot *s, int top)
{
	char where[300];

	if (!s->gens.n)
		return;
	fprintf(out, "\nsuspended generators and coroutines, by where they wait:\n");
	for (size_t i = 0; i < s->gens.n && (top <= 0 || (int)i < top); i++) {
		const struct gen_site *g = &s->gens.v[i];

		site_where(g, where, sizeof(where));
		fprintf(out, "%10" PRIu64 " x %s %s  at %s\n", g->count, g->type, g->name, where);
	}
}

/* "_io.FileIO '/data/x.csv' in _io.BufferedReader, _io.TextIOWrapper" */
static void describe_owner(const struct fd_owner *o, char *buf, size_t max)
{
	size_t len;

	snprintf(buf, max, "%s", o->type);
	if (o->name) {
		len = strlen(buf);
		snprintf(buf + len, max - len, " '%s'", o->name);
	}
	for (int w = 0; w < o->nwrap; w++) {
		len = strlen(buf);
		snprintf(buf + len, max - len, "%s%s", w ? ", " : " in ", o->wrap_type[w]);
	}
}

void report_fds_text(FILE *out, const struct snapshot *s)
{
	if (!s->fds_read) {
		fprintf(out, "\nopen descriptors: unreadable\n");
		return;
	}
	fprintf(out, "\nopen descriptors: %zu\n", s->fds.n);
	fprintf(out, "%5s %-4s %-10s %-40s %s\n", "FD", "MODE", "KIND", "TARGET", "OWNER");
	for (size_t i = 0; i < s->fds.n; i++) {
		const struct fd_entry *e = &s->fds.v[i];
		char target[320], owner[512];
		size_t n;
		const struct fd_owner *o = owners_of_fd(&s->owners, e->fd, &n);

		fd_describe(e, target, sizeof(target));
		if (!o)
			snprintf(owner, sizeof(owner), "(no Python owner)");
		else
			describe_owner(o, owner, sizeof(owner));
		fprintf(out, "%5d %-4c %-10s %-40s %s", e->fd, e->mode, fd_kind_name(e->kind), target,
			owner);
		for (size_t k = 1; k < n; k++) {
			describe_owner(&o[k], owner, sizeof(owner));
			fprintf(out, "; also %s", owner);
		}
		fputc('\n', out);
	}
}

static void json_addr(struct json *j, const char *key, uint64_t addr)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
	json_str(j, key, buf);
}

static void json_owner(struct json *j, const char *key, const struct fd_owner *o)
{
	json_begin_object(j, key);
	json_str(j, "type", o->type);
	json_addr(j, "address", o->addr);
	json_str(j, "name", o->name);
	json_begin_array(j, "wrapped_by");
	for (int w = 0; w < o->nwrap; w++) {
		json_begin_object(j, NULL);
		json_str(j, "type", o->wrap_type[w]);
		json_addr(j, "address", o->wrap_addr[w]);
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

/* What the stop copied, and what had to be read after it. */
static void json_image(struct json *j, const struct snapshot *s)
{
	const struct image_stats *im = &s->image;

	json_u64(j, "late_pages", s->late_pages);
	if (s->session->opts.no_block) {
		json_null(j, "copy");
		return;
	}
	json_begin_object(j, "copy");
	json_u64(j, "bytes", im->copied_bytes);
	json_u64(j, "planned_bytes", im->planned_bytes);
	json_u64(j, "replanned_bytes", im->replanned_bytes);
	json_u64(j, "copy_us", im->copy_us);
	json_u64(j, "plan_us", im->plan_us);
	json_u64(j, "mb_per_s", im->copy_us ? im->copied_bytes / im->copy_us : 0);
	json_u64(j, "ranges", im->ranges);
	json_u64(j, "copiers", im->copiers);
	json_u64(j, "payload_bytes", im->payload_bytes);
	json_u64(j, "hole_bytes", im->hole_bytes);
	json_u64(j, "swapped_bytes", im->swapped_bytes);
	json_bool(j, "cut", im->cut);
	json_end_object(j);
}

static void json_stop(struct json *j, const struct snapshot *s)
{
	if (!s->stop.known) {
		json_null(j, "stop");
		return;
	}
	json_begin_object(j, "stop");
	json_u64(j, "interrupt_us", s->stop.interrupt_us);
	json_u64(j, "wait_us", s->stop.wait_us);
	json_u64(j, "plan_us", s->stop.plan_us);
	json_u64(j, "copy_us", s->stop.copy_us);
	json_u64(j, "unwind_us", s->stop.unwind_us);
	json_u64(j, "release_us", s->stop.release_us);
	json_u64(j, "other_us", s->stop.other_us);
	json_u64(j, "retries", (uint64_t)(s->gc_retries + s->list_retries));
	json_end_object(j);
}

static void json_fds(struct json *j, const struct snapshot *s)
{
	if (!s->fds_read) {
		json_null(j, "fds");
		return;
	}
	json_begin_array(j, "fds");
	for (size_t i = 0; i < s->fds.n; i++) {
		const struct fd_entry *e = &s->fds.v[i];
		char target[320], flags[256], mode[2] = { e->mode, 0 };
		size_t n;
		const struct fd_owner *o = owners_of_fd(&s->owners, e->fd, &n);

		json_begin_object(j, NULL);
		json_i64(j, "fd", e->fd);
		json_str(j, "mode", e->mode == '?' ? NULL : mode);
		json_str(j, "kind", fd_kind_name(e->kind));
		fd_describe(e, target, sizeof(target));
		json_str(j, "target", target);
		if (e->have_info) {
			json_i64(j, "pos", e->pos);
			fd_flags_str(e->flags, flags, sizeof(flags));
			json_str(j, "flags", flags);
		} else {
			json_null(j, "pos");
			json_null(j, "flags");
		}
		if (e->detail[0])
			json_str(j, "detail", e->detail);
		if (e->sock) {
			json_begin_object(j, "socket");
			json_str(j, "proto", e->sock->proto);
			json_str(j, "state", e->sock->state[0] ? e->sock->state : NULL);
			json_str(j, "local", e->sock->local[0] ? e->sock->local : NULL);
			json_str(j, "remote", e->sock->remote[0] ? e->sock->remote : NULL);
			if (e->sock->type[0])
				json_str(j, "type", e->sock->type);
			json_u64(j, "inode", e->sock->inode);
			json_end_object(j);
		} else if (e->kind == FDK_SOCK) {
			json_null(j, "socket");
		}
		if (o)
			json_owner(j, "owner", o);
		else
			json_null(j, "owner");
		if (n > 1) {
			json_begin_array(j, "owners");
			for (size_t k = 0; k < n; k++)
				json_owner(j, NULL, &o[k]);
			json_end_array(j);
		}
		json_end_object(j);
	}
	json_end_array(j);
}

/* The interpreter: version, executable, where the layout came from. */
static void json_python(struct json *j, const struct session *se)
{
	json_begin_object(j, "python");
	json_str(j, "version", se->version[0] ? se->version : NULL);
	json_bool(j, "free_threaded", se->t.free_threaded == 1);
	json_str(j, "executable", se->t.exe[0] ? se->t.exe : NULL);
	json_str(j, "layout_source", layout_source_name(se->lay.source));
	json_str(j, "layout_table", se->lay.table_version);
	json_bool(j, "layout_table_nearest", se->lay.table_nearest);
	json_i64(j, "nspid", se->t.nspid);
	json_end_object(j);
}

static void json_frame(struct json *j, const struct stack_frame *f)
{
	json_begin_object(j, NULL);
	json_str(j, "kind", f->kind == FRAME_PYTHON ? "python" : "native");
	json_str(j, "function", f->function);
	json_str(j, "file", f->file[0] ? f->file : NULL);
	json_i64_known(j, "line", f->line);
	json_str(j, "module", f->module[0] ? f->module : NULL);
	if (f->kind == FRAME_NATIVE) {
		char addr[24];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, f->addr);
		json_str(j, "address", addr);
		json_u64(j, "offset", f->offset);
	}
	if (f->locals) {
		json_begin_array(j, "locals");
		for (int k = 0; k < f->nlocals; k++) {
			json_begin_object(j, NULL);
			json_str(j, "name", f->locals[k].name);
			json_str(j, "repr", f->locals[k].repr);
			json_end_object(j);
		}
		json_end_array(j);
	}
	json_end_object(j);
}

/* "threads": every thread with its frames, innermost first. */
/* The loop of tasks r that thread tid runs, or NULL. */
static const struct task_loop *loop_on(const struct tasks_result *r, uint64_t tid)
{
	for (size_t k = 0; r && tid && k < r->loops; k++)
		if (r->loopv[k].tid == tid)
			return &r->loopv[k];
	return NULL;
}

/* "asyncio: loop 0x..: 23 tasks, 21 pending; running task blocker
 * (block)" under a thread that runs an event loop; "" for one that does
 * not.  Without the census (a live stacks), what it runs now. */
static void thread_asyncio_text(char *buf, size_t max, const struct thread_stack *th,
				const struct tasks_result *r)
{
	const struct task_loop *lp = loop_on(r, th->tid);
	size_t running, n;

	buf[0] = '\0';
	if (!stacks_thread_loop(th, &running))
		return;
	if (lp)
		n = (size_t)snprintf(buf, max, "asyncio: loop 0x%" PRIx64 ": %" PRIu64 " tasks, %"
				     PRIu64 " pending", lp->addr, lp->tasks, lp->pending);
	else
		n = (size_t)snprintf(buf, max, "asyncio: an event loop runs here (leaktop tasks "
				     "lists its tasks)");
	if (n >= max)
		return;
	if (lp && lp->current != SIZE_MAX)
		snprintf(buf + n, max - n, "; running task %s", r->v[lp->current].name);
	else if (running != SIZE_MAX)
		snprintf(buf + n, max - n, "; running %s (%s:%d)", th->frames[running].function,
			 th->frames[running].file, th->frames[running].line);
	else
		snprintf(buf + n, max - n, "; waiting for events");
}

static void json_thread_asyncio(struct json *j, const struct thread_stack *th,
				const struct tasks_result *r)
{
	const struct task_loop *lp = loop_on(r, th->tid);
	size_t running;
	char hex[32];

	if (!stacks_thread_loop(th, &running)) {
		json_null(j, "asyncio");
		return;
	}
	json_begin_object(j, "asyncio");
	if (lp) {
		snprintf(hex, sizeof(hex), "0x%" PRIx64, lp->addr);
		json_str(j, "loop", hex);
		json_u64(j, "tasks", lp->tasks);
		json_u64(j, "pending", lp->pending);
	} else {
		json_null(j, "loop");
		json_null(j, "tasks");
		json_null(j, "pending");
	}
	json_str(j, "running", running != SIZE_MAX ? th->frames[running].function : NULL);
	if (lp && lp->current != SIZE_MAX) {
		snprintf(hex, sizeof(hex), "0x%" PRIx64, r->v[lp->current].addr);
		json_str(j, "running_task", hex);
	} else {
		json_null(j, "running_task");
	}
	json_end_object(j);
}

static void json_threads(struct json *j, const struct stacks *st, const struct tasks_result *r)
{
	json_begin_array(j, "threads");
	for (size_t i = 0; i < st->n; i++) {
		const struct thread_stack *th = &st->threads[i];

		json_begin_object(j, NULL);
		json_u64(j, "tid", th->tid);
		json_str(j, "name", th->name[0] ? th->name : NULL);
		if (th->gil >= 0)
			json_bool(j, "gil", th->gil);
		else
			json_null(j, "gil");
		json_bool(j, "collecting", th->collecting);
		json_bool(j, "python", th->tstate != 0);
		json_thread_asyncio(j, th, r);
		if (th->native_error[0])
			json_str(j, "native_error", th->native_error);
		json_begin_array(j, "frames");
		for (size_t k = 0; k < th->n; k++)
			json_frame(j, &th->frames[k]);
		json_end_array(j);
		json_end_object(j);
	}
	json_end_array(j);
}

void report_stacks_json(FILE *out, const struct session *se, const struct stacks *st)
{
	struct json j;

	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", "leaktop-stacks/1");
	json_i64(&j, "pid", se->t.pid);
	json_u64(&j, "pause_us", st->pause_us);
	json_python(&j, se);
	json_bool(&j, "collecting", st->collecting);
	json_begin_array(&j, "notes");
	if (st->note[0])
		json_str(&j, NULL, st->note);
	json_end_array(&j);
	json_threads(&j, st, NULL);
	json_end_object(&j);
	fputc('\n', out);
}

void report_thread_title(char *buf, size_t max, const struct thread_stack *th)
{
	size_t n = (size_t)snprintf(buf, max, "Thread %" PRIu64, th->tid);

	if (n < max && th->name[0])
		n += (size_t)snprintf(buf + n, max - n, " (%s)", th->name);
	if (n < max && !th->tstate)
		n += (size_t)snprintf(buf + n, max - n, ", no Python");
	else if (n < max && th->gil == 1)
		n += (size_t)snprintf(buf + n, max - n, ", holds the GIL");
	else if (n < max && th->gil < 0)
		n += (size_t)snprintf(buf + n, max - n, ", GIL unknown");
	if (n < max && th->collecting)
		snprintf(buf + n, max - n, ", collecting garbage");
}

void report_frame_text(char *buf, size_t max, const struct stack_frame *f, int tagged)
{
	char line[24] = "?";

	if (f->line >= 0)
		snprintf(line, sizeof(line), "%d", f->line);
	if (f->kind == FRAME_PYTHON)
		snprintf(buf, max, "    %s%s (%s:%s)", tagged ? "(Python) " : "", f->function, f->file,
			 line);
	else if (strcmp(f->function, "??") == 0)  /* no symbol: module+offset */
		snprintf(buf, max, "    (C) ?? (%s+0x%" PRIx64 ")", f->module[0] ? f->module : "?",
			 f->offset);
	else
		snprintf(buf, max, "    (C) %s+0x%" PRIx64 " (%s%s%s%s%s)", f->function, f->offset,
			 f->module[0] ? f->module : "?", f->file[0] ? ", " : "", f->file,
			 f->file[0] ? ":" : "", f->file[0] ? line : "");
}

void report_stacks_text(FILE *out, const struct session *se, const struct stacks *st)
{
	char line[1024];

	fprintf(out, "Process %d: Python %s (%s); stopped %.1f ms\n", (int)se->t.pid,
		se->version[0] ? se->version : "3.?", se->t.exe[0] ? se->t.exe : "?",
		(double)st->pause_us / 1000.0);
	if (st->note[0])
		fprintf(out, "note: %s\n", st->note);
	for (size_t i = 0; i < st->n; i++) {
		const struct thread_stack *th = &st->threads[i];

		report_thread_title(line, sizeof(line), th);
		fprintf(out, "\n%s\n", line);
		thread_asyncio_text(line, sizeof(line), th, NULL);
		if (line[0])
			fprintf(out, "    (%s)\n", line);
		if (th->native_error[0])
			fprintf(out, "    (%s)\n", th->native_error);
		for (size_t k = 0; k < th->n; k++) {
			const struct stack_frame *f = &th->frames[k];

			report_frame_text(line, sizeof(line), f, 1);
			fprintf(out, "%s\n", line);
			for (int v = 0; v < f->nlocals; v++)
				fprintf(out, "        %s = %s\n", f->locals[v].name, f->locals[v].repr);
		}
	}
}

static const char *const root_kinds[] = {
	[ROOT_MODULE] = "module", [ROOT_THREAD] = "thread", [ROOT_EXTERNAL] = "external",
};

/* A chain's root, elision and steps (root first), in the object open. */
void report_chain_json(struct json *j, const struct why_chain *ch)
{
	json_begin_object(j, "root");
	json_str(j, "kind", root_kinds[ch->root]);
	json_str(j, "name", ch->root_name[0] ? ch->root_name : NULL);
	if (ch->root == ROOT_THREAD)
		json_u64(j, "tid", ch->root_tid);
	json_end_object(j);
	json_u64(j, "elided", ch->elided);
	json_begin_array(j, "path");
	for (size_t i = 0; i < ch->nsteps; i++) {
		const struct why_step *st = &ch->steps[i];

		json_begin_object(j, NULL);
		json_str(j, "type", st->type);
		if (i)
			json_str(j, "via", st->via);
		if (st->name[0])
			json_str(j, "name", st->name);
		if (st->file[0]) {
			json_str(j, "file", st->file);
			json_i64_known(j, "line", st->line);
		}
		json_addr(j, "address", st->addr);
		if (st->skipped)
			json_u64(j, "skipped_before", st->skipped);
		if (st->retained)
			json_u64(j, "retained_bytes", st->retained);
		json_end_object(j);
	}
	json_end_array(j);
}

/* "retainers": the objects that hold the most, with what freeing each frees. */
static void json_retainers(struct json *j, const struct snapshot *s)
{
	const struct retainers *r = &s->retainers;

	if (!r->known) {
		json_null(j, "retainers");
		json_null(j, "held_from_c");
		return;
	}
	json_begin_object(j, "held_from_c");
	json_u64(j, "objects", r->from_c_objects);
	json_u64(j, "bytes", r->from_c_bytes);
	json_u64(j, "roots", r->from_c_roots);
	json_begin_object(j, "types");
	json_u64(j, "objects", r->from_c_type_objects);
	json_u64(j, "bytes", r->from_c_type_bytes);
	json_u64(j, "roots", r->from_c_type_roots);
	json_end_object(j);
	json_end_object(j);
	json_begin_array(j, "retainers");
	for (size_t k = 0; k < r->n && k < RETAIN_MAX; k++) {
		const struct retainer *x = &r->v[k];

		json_begin_object(j, NULL);
		json_str(j, "path", x->path);
		json_str(j, "type", x->type);
		json_bool(j, "weak", x->weak);
		json_i64_known(j, "len", x->len);
		json_addr(j, "address", x->addr);
		json_u64(j, "retained_bytes", x->retained_bytes);
		json_u64(j, "retained_objects", x->retained_objects);
		json_begin_object(j, "chain");
		report_chain_json(j, &x->chain);
		json_end_object(j);
		json_begin_array(j, "holds");
		for (size_t t = 0; t < x->nholds && t < 5; t++) {
			json_begin_object(j, NULL);
			json_str(j, "type", x->holds[t].type);
			json_u64(j, "count", x->holds[t].count);
			json_u64(j, "bytes", x->holds[t].bytes);
			json_end_object(j);
		}
		json_end_array(j);
		json_end_object(j);
	}
	json_end_array(j);
}

static void json_delta(struct json *j, const char *key, int64_t count, int64_t bytes)
{
	json_begin_object(j, key);
	json_i64(j, "count", count);
	json_i64(j, "bytes", bytes);
	json_end_object(j);
}

/* One leaktop-dump/1 object; with a history, the leaktop-watch/1 additions:
 * seq, and per type and for the totals the change since the previous
 * snapshot (delta) and since the baseline (delta_total). */
/* Descriptor kinds and groups from the fd history ("kind X", "group X"). */
static void json_fd_growth(struct json *j, const struct history *hf)
{
	struct type_stat *st;
	size_t n = history_stats(hf, SORT_NAME, &st);

	for (int pass = 0; pass < 2; pass++) {
		const char *prefix = pass ? "group " : "kind ";
		size_t plen = strlen(prefix);

		json_begin_array(j, pass ? "fd_groups" : "fd_kinds");
		for (size_t i = 0; i < n; i++) {
			if (strncmp(st[i].name, prefix, plen) != 0)
				continue;
			json_begin_object(j, NULL);
			json_str(j, pass ? "group" : "kind", st[i].name + plen);
			json_u64(j, "count", st[i].count);
			json_i64(j, "delta", st[i].d_count);
			json_i64(j, "delta_total", st[i].d_base_count);
			json_end_object(j);
		}
		json_end_array(j);
	}
	free(st);
}

static void json_garbage(struct json *j, const struct snapshot *s)
{
	if (!s->garbage_known) {
		json_null(j, "garbage");
		return;
	}
	json_begin_object(j, "garbage");
	json_u64(j, "objects", s->garbage.objects);
	json_u64(j, "bytes", s->garbage.bytes);
	json_u64(j, "cycles", s->garbage.cycles);
	json_u64(j, "finalizers", s->garbage.finalizers);
	json_begin_array(j, "types");
	for (size_t i = 0; i < s->garbage_types.n; i++) {
		json_begin_object(j, NULL);
		json_str(j, "type", s->garbage_types.rows[i].type);
		json_u64(j, "count", s->garbage_types.rows[i].count);
		json_u64(j, "bytes", s->garbage_types.rows[i].bytes);
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

static void json_gens(struct json *j, const struct snapshot *s)
{
	json_begin_array(j, "generators");
	for (size_t i = 0; i < s->gens.n; i++) {
		const struct gen_site *g = &s->gens.v[i];

		json_begin_object(j, NULL);
		json_str(j, "type", g->type);
		json_str(j, "name", g->name);
		json_str(j, "file", g->file);
		json_i64_known(j, "line", g->line);
		json_bool(j, "started", g->offset >= 0);
		json_u64(j, "count", g->count);
		json_u64(j, "bytes", g->bytes);
		json_end_object(j);
	}
	json_end_array(j);
}

/* "holders": the retainers whose retained bytes grow steadily. */
static void json_holders(struct json *j, const struct snapshot *s, const struct history *hh)
{
	struct holder_line hl[RETAIN_MAX];
	size_t n = report_growing_holders(hh, RETAIN_MAX, hl);

	json_begin_array(j, "holders");
	for (size_t k = 0; k < n; k++) {
		json_begin_object(j, NULL);
		json_str(j, "path", hl[k].path);
		json_str(j, "type", hl[k].type);
		json_bool(j, "weak", hl[k].weak);
		json_u64(j, "len", hl[k].len);
		json_i64(j, "delta_len", hl[k].d_len);
		json_i64(j, "growth", (int64_t)(hl[k].growth + 0.5));
		json_u64(j, "retained_bytes", hl[k].retained_bytes);
		json_i64(j, "delta_retained_bytes", hl[k].d_bytes);
		json_double(j, "len_per_s", hl[k].len_per_s);
		json_double(j, "retained_bytes_per_s", hl[k].bytes_per_s);
		json_end_object(j);
	}
	json_end_array(j);
}

/* "tasks": asyncio's, when the heap has any: how many in each state, and
 * the pending ones' groups (with watch, their change and growth, fastest
 * growing first). */
static void json_tasks_summary(struct json *j, const struct snapshot *s, const struct history *ht)
{
	const struct tasks_result *r = &s->tasks;
	struct type_stat *st = NULL;
	size_t n = 0;
	char label[1024];

	if (!s->tasks_known || (!r->n && !r->futures && (!ht || !ht->ntypes)))
		return;
	json_begin_object(j, "tasks");
	json_u64(j, "pending", r->pending);
	json_u64(j, "done", r->done);
	json_u64(j, "cancelled", r->cancelled);
	json_u64(j, "futures", r->futures);
	json_begin_array(j, "groups");
	if (ht) {
		n = history_stats(ht, SORT_GROWTH, &st);
		for (size_t i = 0; i < n && i < TASKS_GROUPS_SHOWN; i++) {
			json_begin_object(j, NULL);
			json_str(j, "label", st[i].name);
			json_u64(j, "count", st[i].count);
			json_u64(j, "retained_bytes", st[i].bytes);
			json_delta(j, "delta", st[i].d_count, st[i].d_bytes);
			json_delta(j, "delta_total", st[i].d_base_count, st[i].d_base_bytes);
			json_i64(j, "growth", (int64_t)(st[i].growth + 0.5));
			json_end_object(j);
		}
		free(st);
	} else {
		for (size_t g = 0; g < r->ngroups && g < TASKS_GROUPS_SHOWN; g++) {
			task_group_label(r, g, label, sizeof(label));
			json_begin_object(j, NULL);
			json_str(j, "label", label);
			json_u64(j, "count", r->groups[g].count);
			json_u64(j, "retained_bytes", r->groups[g].retained);
			json_end_object(j);
		}
	}
	json_end_array(j);
	json_end_object(j);
}

static void write_json(FILE *out, const struct snapshot *s, const struct history *h,
		       const struct history *hf, const struct history *hh, const struct history *ht)
{
	const struct session *se = s->session;
	const struct census *c = &s->census;
	struct type_stat *stats = NULL, **by_id = NULL;
	size_t nstats = 0;
	struct json j;
	char when[32];
	struct tm tm;

	if (h) {
		nstats = history_stats(h, SORT_NAME, &stats);
		by_id = xcalloc(h->ntypes ? h->ntypes : 1, sizeof(*by_id));
		for (size_t i = 0; i < nstats; i++)
			by_id[stats[i].id] = &stats[i];
	}
	gmtime_r(&s->taken_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", h ? "leaktop-watch/1" : "leaktop-dump/1");
	if (h)
		json_u64(&j, "seq", history_latest(h)->seq);
	json_i64(&j, "pid", s->pid);
	json_str(&j, "taken_at", when);
	json_u64(&j, "pause_us", s->pause_us);
	json_u64(&j, "gc_retries", (uint64_t)s->gc_retries);
	json_image(&j, s);
	json_stop(&j, s);
	if (s->period_s > 0) {
		json_double(&j, "interval_s", s->period_s);
		json_bool(&j, "interval_grown", s->period_grown);
	}
	json_python(&j, se);
	json_begin_object(&j, "census");
	json_u64(&j, "objects", c->objects);
	json_u64(&j, "bytes", c->bytes);
	json_u64(&j, "gc_tracked", c->gc_tracked);
	json_u64(&j, "buffer_bytes", c->buffer_bytes);
	json_u64(&j, "mapped_bytes", c->mapped_bytes);
	json_bool(&j, "complete", c->complete);
	if (h) {
		const struct hist_snap *now = history_latest(h);
		const struct hist_snap *prev = h->len > 1 ? &h->ring[h->len - 2] : now;

		json_delta(&j, "delta", (int64_t)(now->objects - prev->objects),
			   (int64_t)(now->bytes - prev->bytes));
		json_delta(&j, "delta_total", (int64_t)(now->objects - h->baseline.objects),
			   (int64_t)(now->bytes - h->baseline.bytes));
	}
	json_begin_array(&j, "notes");
	for (size_t i = 0; i < c->nnotes; i++)
		json_str(&j, NULL, c->notes[i]);
	json_end_array(&j);
	json_begin_array(&j, "types");
	for (size_t i = 0; i < c->n; i++) {
		long id = h ? history_type_id(h, c->rows[i].type) : -1;
		const struct type_stat *st = id >= 0 ? by_id[id] : NULL;

		json_begin_object(&j, NULL);
		json_str(&j, "type", c->rows[i].type);
		json_u64(&j, "count", c->rows[i].count);
		json_u64(&j, "gc_tracked", c->rows[i].gc_tracked);
		json_u64(&j, "bytes", c->rows[i].bytes);
		json_u64(&j, "gc_tracked_bytes", c->rows[i].gc_bytes);
		if (c->rows[i].buffer_bytes)
			json_u64(&j, "buffer_bytes", c->rows[i].buffer_bytes);
		if (c->rows[i].mapped_bytes)
			json_u64(&j, "mapped_bytes", c->rows[i].mapped_bytes);
		if (c->rows[i].object_only)
			json_str(&j, "sizeof", "object only");
		if (st) {
			json_delta(&j, "delta", st->d_count, st->d_bytes);
			json_delta(&j, "delta_total", st->d_base_count, st->d_base_bytes);
			json_i64(&j, "growth", (int64_t)(st->growth + 0.5));
		}
		json_end_object(&j);
	}
	/* Types that were there before and are gone now, so a drop to zero shows. */
	for (size_t i = 0; i < nstats; i++) {
		if (stats[i].count)
			continue;
		json_begin_object(&j, NULL);
		json_str(&j, "type", stats[i].name);
		json_u64(&j, "count", 0);
		json_u64(&j, "gc_tracked", 0);
		json_u64(&j, "bytes", 0);
		json_delta(&j, "delta", stats[i].d_count, stats[i].d_bytes);
		json_delta(&j, "delta_total", stats[i].d_base_count, stats[i].d_base_bytes);
		json_i64(&j, "growth", 0);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_garbage(&j, s);
	json_gens(&j, s);
	json_fds(&j, s);
	memacct_json(&j, &s->memory);
	if (!h)
		json_retainers(&j, s);
	if (s->stacks_read)
		json_threads(&j, &s->stacks, s->tasks_known ? &s->tasks : NULL);
	if (hf)
		json_fd_growth(&j, hf);
	if (hh)
		json_holders(&j, s, hh);
	json_tasks_summary(&j, s, ht);
	json_end_object(&j);
	fputc('\n', out);
	free(stats);
	free(by_id);
}

void report_json(FILE *out, const struct snapshot *s)
{
	write_json(out, s, NULL, NULL, NULL, NULL);
}

void report_watch_json(FILE *out, const struct snapshot *s, const struct history *h,
		       const struct history *hf, const struct history *hh, const struct history *ht)
{
	write_json(out, s, h, hf, hh, ht);
}

static void signed_human(char *buf, size_t max, int64_t v)
{
	char tmp[24];

	report_human_bytes(tmp, sizeof(tmp), v < 0 ? -(uint64_t)v : (uint64_t)v);
	snprintf(buf, max, "%c%s", v < 0 ? '-' : '+', tmp);
}

/* "handles 59 (+5): REG /tmp/ *.csv +5, SOCK tcp ->... +1" (groups that changed) */
static void watch_handles_text(FILE *out, const struct snapshot *s, const struct history *hf)
{
	struct type_stat *st;
	size_t n = history_stats(hf, SORT_DELTA, &st);
	int shown = 0;

	fprintf(out, "  handles %zu", s->fds.n);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(st[i].name, "group ", 6) != 0 || !st[i].d_count)
			continue;
		fprintf(out, "%s%s %+lld", shown++ ? ", " : ": ", st[i].name + 6, (long long)st[i].d_count);
	}
	fputc('\n', out);
	free(st);
}

/* Holders whose retained bytes grow steadily, fastest first (growth > 0):
 * their stats into *out (malloc'd), at most max; returns the count. */
static size_t growing_holders(const struct history *hh, size_t max, struct type_stat **out)
{
	size_t n = hh ? history_stats(hh, SORT_GROWTH, out) : 0, k = 0;

	if (!hh) {
		*out = NULL;
		return 0;
	}
	while (k < n && (*out)[k].growth > 0)
		k++;
	/* Weak containers after the others: the container that accumulates
	 * is the line to read, not the registry that watches it weakly. */
	for (size_t i = 0, strong = 0; i < k; i++) {
		struct type_stat x = (*out)[i];
		char p[8], t[8];

		if (retainer_key_split(x.name, p, sizeof(p), t, sizeof(t)) == 1)
			continue;
		memmove(&(*out)[strong + 1], &(*out)[strong], (i - strong) * sizeof(x));
		(*out)[strong++] = x;
	}
	return k < max ? k : max;
}

size_t report_growing_holders(const struct history *hh, size_t max, struct holder_line *out)
{
	struct type_stat *st;
	size_t n = growing_holders(hh, max, &st);
	double period_s = 0;

	/* The rates over the time between the last two snapshots as taken
	 * (a slow walk, or a detail view of the view, stretches it). */
	if (n && hh->len >= 2 && hh->ring[hh->len - 1].mono_us > hh->ring[hh->len - 2].mono_us)
		period_s = (double)(hh->ring[hh->len - 1].mono_us - hh->ring[hh->len - 2].mono_us) / 1e6;

	for (size_t k = 0; k < n; k++) {
		struct holder_line *x = &out[k];

		memset(x, 0, sizeof(*x));
		x->weak = retainer_key_split(st[k].name, x->path, sizeof(x->path), x->type,
					     sizeof(x->type));
		if (x->weak < 0) {
			snprintf(x->path, sizeof(x->path), "%s", st[k].name);
			x->weak = 0;
		}
		x->len = st[k].count;
		x->retained_bytes = st[k].bytes;
		x->d_len = st[k].d_count;
		x->d_bytes = st[k].d_bytes;
		x->growth = st[k].growth;
		x->len_per_s = period_s > 0 ? (double)st[k].d_count / period_s : 0;
		x->bytes_per_s = period_s > 0 ? (double)st[k].d_bytes / period_s : 0;
	}
	free(st);
	return n;
}

/* "__main__.AUDIT_LOG builtins.list: 1593 items (+42/s), retains 1.2 MiB (+310.0 KiB/s)" */
void report_holder_text(char *buf, size_t max, const struct holder_line *x)
{
	char bytes[32], rate[40];

	report_human_bytes(bytes, sizeof(bytes), x->retained_bytes);
	signed_human(rate, sizeof(rate), (int64_t)x->bytes_per_s);
	if (!x->len && !x->d_len)  /* no container: an Event, a logger, a session */
		snprintf(buf, max, "%s %s%s: retains %s (%s/s)", x->path, x->type,
			 x->weak ? " (weak)" : "", bytes, rate);
	else
		snprintf(buf, max, "%s %s%s: %" PRIu64 " items (%+.0f/s), retains %s (%s/s)", x->path,
			 x->type, x->weak ? " (weak)" : "", x->len, x->len_per_s, bytes, rate);
}

/* "tasks 2846 pending (+120): notify > Event.wait -> event __main__.SHUTDOWN
 * 2846 (+120)", the groups that grew, fastest first. */
static void watch_tasks_text(FILE *out, const struct snapshot *s, const struct history *ht)
{
	const struct hist_snap *now = history_latest(ht), *prev = ht->len > 1 ? &ht->ring[ht->len - 2] : now;
	struct type_stat *st;
	size_t n = history_stats(ht, SORT_GROWTH, &st), shown = 0;
	int64_t d = (int64_t)(now->objects - prev->objects);

	fprintf(out, "  tasks %" PRIu64 " pending (%+" PRId64 "), %" PRIu64 " done, %" PRIu64
		" cancelled\n", s->tasks.pending, d, s->tasks.done, s->tasks.cancelled);
	for (size_t i = 0; i < n && shown < 3; i++) {
		if (st[i].d_count <= 0)
			continue;
		fprintf(out, "    %s: %" PRIu64 " (%+" PRId64 ")\n", st[i].name, st[i].count, st[i].d_count);
		shown++;
	}
	free(st);
}

void report_watch_text(FILE *out, const struct snapshot *s, const struct history *h,
		       const struct history *hf, const struct history *hh, const struct history *ht,
		       int top)
{
	const struct hist_snap *now = history_latest(h);
	const struct hist_snap *prev = h->len > 1 ? &h->ring[h->len - 2] : now;
	struct type_stat *st;
	size_t n = history_stats(h, SORT_GROWTH, &st);
	char when[16], total[32], dbytes[40];
	struct tm tm;
	int shown = 0;

	localtime_r(&s->taken_at, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	report_human_bytes(total, sizeof(total), now->bytes);
	signed_human(dbytes, sizeof(dbytes), (int64_t)(now->bytes - prev->bytes));
	fprintf(out, "%s #%u  objects %" PRIu64 " (%+" PRId64 ")  bytes %s (%s)  pause %.1f ms%s\n",
		when, now->seq, now->objects, (int64_t)(now->objects - prev->objects), total, dbytes,
		(double)s->pause_us / 1000.0, s->census.complete ? "" : "  (incomplete)");
	{
		struct holder_line hl[5];
		size_t nh = report_growing_holders(hh, 5, hl);
		char line[600];

		for (size_t k = 0; k < nh; k++) {
			report_holder_text(line, sizeof(line), &hl[k]);
			fprintf(out, "  %s %s\n", k ? "       " : "growing", line);
		}
	}
	if (now->seq == 0) {
		fprintf(out, "  baseline: %" PRIu64 " objects in %zu types\n", now->objects, n);
	} else {
		for (size_t i = 0; i < n && (top <= 0 || shown < top); i++) {
			if (!st[i].d_count && !st[i].d_base_count)
				continue;
			if (!shown++)
				fprintf(out, "  %-44s %10s %9s %10s\n", "type", "count", "change", "total");
			fprintf(out, "  %-44s %10" PRIu64 " %+9" PRId64 " %+10" PRId64 "\n", st[i].name,
				st[i].count, st[i].d_count, st[i].d_base_count);
		}
		if (!shown)
			fprintf(out, "  no type changed\n");
	}
	if (hf && s->fds_read)
		watch_handles_text(out, s, hf);
	if (ht && s->tasks_known && (s->tasks.n || ht->ntypes))
		watch_tasks_text(out, s, ht);
	free(st);
}


/* "module __main__", "thread 1234 (MainThread)", "C (...)": what holds a chain */
static void root_text(const struct why_chain *ch, char *buf, size_t max)
{
	if (ch->root == ROOT_MODULE)
		snprintf(buf, max, "module %s", ch->root_name);
	else if (ch->root == ROOT_THREAD)
		snprintf(buf, max, "thread %" PRIu64 "%s%s%s", ch->root_tid, ch->root_name[0] ? " (" : "",
			 ch->root_name, ch->root_name[0] ? ")" : "");
	else
		snprintf(buf, max, "C (more references than leaktop can see)");
}

/* A walk cut short (a damaged heap, its bounds): chains may be missing. */
static void why_incomplete_text(FILE *out, const struct snapshot *s)
{
	if (s->census.complete)
		return;
	fprintf(out, "note: the walk was incomplete, chains may be missing:\n");
	for (size_t i = 1; i < s->census.nnotes; i++)
		fprintf(out, "  %s\n", s->census.notes[i]);
}

void report_chain_text(FILE *out, const struct why_chain *ch, uint64_t selected)
{
	char root[160];

	root_text(ch, root, sizeof(root));
	fprintf(out, "\n%" PRIu64 " of %" PRIu64 " held from %s%s:\n", ch->count, selected, root,
		ch->count > 1 ? " (one of them shown)" : "");
	for (size_t i = 0; i < ch->nsteps; i++) {
		const struct why_step *st = &ch->steps[i];

		if (st->skipped)
			fprintf(out, "%*s... %zu more objects ...\n", (int)(2 + 2 * (i < 12 ? i : 12)), "",
				st->skipped);
		fprintf(out, "%*s%s%s%s %s", (int)(2 + 2 * (i < 12 ? i : 12)), "", i ? "-> " : "",
			st->via, st->via[0] ? ":" : "", st->type);
		if (st->name[0])
			fprintf(out, " %s", st->name);
		if (st->file[0] && st->line >= 0)
			fprintf(out, " (%s:%d)", st->file, st->line);
		else if (st->file[0])
			fprintf(out, " (%s)", st->file);
		fprintf(out, " at 0x%" PRIx64, st->addr);
		if (st->retained) {
			char bytes[32];

			report_human_bytes(bytes, sizeof(bytes), st->retained);
			fprintf(out, ", retains %s", bytes);
		}
		fputc('\n', out);
	}
}

void report_why_text(FILE *out, const struct why_result *w, const struct snapshot *s,
		     const char *selector)
{
	if (!w->selected) {
		fprintf(out, "%s: %s\n", selector, w->note);
		why_incomplete_text(out, s);
		return;
	}
	fprintf(out, "%s: %" PRIu64 " object%s", selector, w->selected, w->selected == 1 ? "" : "s");
	if (w->garbage)
		fprintf(out, ", %" PRIu64 " of them cyclic garbage (no root reaches them)", w->garbage);
	if (w->unreached)
		fprintf(out, ", %" PRIu64 " reached from no root leaktop knows", w->unreached);
	fprintf(out, "\n");
	if (w->note[0])
		fprintf(out, "note: %s\n", w->note);
	why_incomplete_text(out, s);
	for (size_t k = 0; k < w->nchains; k++)
		report_chain_text(out, &w->chains[k], w->selected);
	if (w->shapes > w->nchains)
		fprintf(out, "\n(%" PRIu64 " more chain shapes; --max shows more)\n", w->shapes - w->nchains);
}

void report_why_json(FILE *out, const struct why_result *w, const struct snapshot *s,
		     const char *selector)
{
	struct json j;

	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", "leaktop-why/1");
	json_i64(&j, "pid", s->pid);
	json_str(&j, "selector", selector);
	json_u64(&j, "pause_us", s->pause_us);
	json_image(&j, s);
	json_u64(&j, "selected", w->selected);
	json_u64(&j, "garbage", w->garbage);
	json_u64(&j, "unreached", w->unreached);
	json_u64(&j, "shapes", w->shapes);
	json_str(&j, "note", w->note[0] ? w->note : NULL);
	json_bool(&j, "complete", s->census.complete);
	json_begin_array(&j, "notes");
	for (size_t i = 0; i < s->census.nnotes; i++)
		json_str(&j, NULL, s->census.notes[i]);
	json_end_array(&j);
	json_begin_object(&j, "graph");
	json_u64(&j, "nodes", w->nodes);
	json_u64(&j, "edges", w->edges);
	json_u64(&j, "bytes", w->graph_bytes);
	json_end_object(&j);
	json_begin_array(&j, "chains");
	for (size_t k = 0; k < w->nchains; k++) {
		const struct why_chain *ch = &w->chains[k];
		const struct why_step *last = &ch->steps[ch->nsteps - 1];

		json_begin_object(&j, NULL);
		json_u64(&j, "count", ch->count);
		json_begin_object(&j, "object");
		json_str(&j, "type", last->type);
		json_addr(&j, "address", last->addr);
		json_end_object(&j);
		report_chain_json(&j, ch);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	fputc('\n', out);
}

/* ---- tasks ---- */

void report_tasks_text(FILE *out, const struct tasks_result *r, const struct snapshot *s,
		       int top, int all)
{
	const struct session *se = s->session;
	char stack[512], wait[512], bytes[32];

	fprintf(out, "pid %d  python %s\n", (int)s->pid, se->version[0] ? se->version : "3.?");
	fprintf(out, "tasks %zu: %" PRIu64 " pending, %" PRIu64 " done, %" PRIu64
		" cancelled; %" PRIu64 " other futures; %" PRIu64 " loop%s\n", r->n, r->pending,
		r->done, r->cancelled, r->futures, r->loops, r->loops == 1 ? "" : "s");
	if (r->note[0])
		fprintf(out, "note: %s\n", r->note);
	for (size_t i = 0; i < s->census.nnotes && !s->census.complete; i++)
		fprintf(out, "note: %s\n", s->census.notes[i]);
	for (size_t k = 0; k < r->loops; k++) {
		const struct task_loop *lp = &r->loopv[k];

		fprintf(out, "loop 0x%" PRIx64, lp->addr);
		if (lp->tid)
			fprintf(out, " in thread %" PRIu64 "%s%s%s", lp->tid, lp->thread_name[0] ? " (" : "",
				lp->thread_name, lp->thread_name[0] ? ")" : "");
		else if (lp->ident < 0)
			fprintf(out, " (not running)");
		fprintf(out, ": %" PRIu64 " tasks, %" PRIu64 " pending", lp->tasks, lp->pending);
		if (lp->current != SIZE_MAX) {
			const struct task *ct = &r->v[lp->current];

			task_stack_text(stack, sizeof(stack), ct);
			fprintf(out, "; running %s (%s)", ct->name[0] ? ct->name : "a task", stack);
		}
		fputc('\n', out);
	}
	if (r->ngroups)
		fprintf(out, "\npending tasks alike, most first:\n %8s  %10s  %s\n", "#tasks",
			"retained", "coroutine stack -> what they wait on");
	for (size_t g = 0; g < r->ngroups && (top <= 0 || (int)g < top); g++) {
		const struct task *tk = &r->v[r->groups[g].example];

		task_stack_text(stack, sizeof(stack), tk);
		task_wait_text(wait, sizeof(wait), r, tk);
		report_human_bytes(bytes, sizeof(bytes), r->groups[g].retained);
		fprintf(out, " %8" PRIu64 "  %10s  %s -> %s\n", r->groups[g].count,
			r->groups[g].retained ? bytes : "-", stack, wait);
		if (tk->nstack) {
			const struct task_frame *f = &tk->stack[0];

			fprintf(out, " %8s  %10s    (%s:%d)\n", "", "", f->file, f->line);
		}
	}
	if (!all) {
		if (r->done + r->cancelled)
			fprintf(out, "\n%" PRIu64 " done or cancelled (--all lists every task)\n",
				r->done + r->cancelled);
		return;
	}
	fprintf(out, "\nevery task:\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct task *tk = &r->v[i];

		fprintf(out, "  %s 0x%" PRIx64 " %s %s", tk->name[0] ? tk->name : "(no name)", tk->addr,
			tk->type, task_state_name(tk->state));
		if (tk->exception[0])
			fprintf(out, " (%s)", tk->exception);
		if (tk->awaited_by)
			fprintf(out, ", awaited by %zu", tk->awaited_by);
		if (tk->running_in)
			fprintf(out, ", running in thread %" PRIu64, tk->running_in);
		fputc('\n', out);
		for (size_t k = 0; k < tk->nstack; k++)
			fprintf(out, "    %s (%s:%d)\n", tk->stack[k].qualname, tk->stack[k].file,
				tk->stack[k].line);
		if (tk->waits) {
			task_wait_text(wait, sizeof(wait), r, tk);
			fprintf(out, "    waits on %s 0x%" PRIx64 ": %s\n", tk->waits_type, tk->waits, wait);
		}
	}
}

static void json_task(struct json *j, const struct task *tk)
{
	char hex[32];

	json_begin_object(j, NULL);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, tk->addr);
	json_str(j, "addr", hex);
	json_str(j, "type", tk->type);
	json_str(j, "name", tk->name[0] ? tk->name : NULL);
	json_str(j, "state", task_state_name(tk->state));
	json_str(j, "exception", tk->exception[0] ? tk->exception : NULL);
	json_str(j, "coro", tk->coro[0] ? tk->coro : NULL);
	json_begin_array(j, "stack");
	for (size_t k = 0; k < tk->nstack; k++) {
		json_begin_object(j, NULL);
		json_str(j, "qualname", tk->stack[k].qualname);
		json_str(j, "file", tk->stack[k].file);
		json_i64(j, "line", tk->stack[k].line);
		json_end_object(j);
	}
	json_end_array(j);
	if (!tk->waits) {
		json_null(j, "waits");
	} else {
		json_begin_object(j, "waits");
		snprintf(hex, sizeof(hex), "0x%" PRIx64, tk->waits);
		json_str(j, "addr", hex);
		json_str(j, "type", tk->waits_type);
		json_str(j, "kind", tk->waits_kind);
		if (tk->waits_owner) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, tk->waits_owner);
			json_str(j, "owner", hex);
			json_str(j, "owner_type", tk->owner_type);
		} else {
			json_null(j, "owner");
			json_null(j, "owner_type");
		}
		json_str(j, "holder", tk->holder[0] ? tk->holder : NULL);
		if (tk->fd >= 0)
			json_i64(j, "fd", tk->fd);
		else
			json_null(j, "fd");
		json_end_object(j);
	}
	json_u64(j, "awaited_by", tk->awaited_by);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, tk->loop);
	json_str(j, "loop", tk->loop ? hex : NULL);
	if (tk->loop_thread >= 0)
		json_i64(j, "loop_thread", tk->loop_thread);
	else
		json_null(j, "loop_thread");
	if (tk->running_in)
		json_u64(j, "running_in", tk->running_in);
	else
		json_null(j, "running_in");
	json_u64(j, "retained_bytes", tk->retained);
	json_end_object(j);
}

void report_tasks_json(FILE *out, const struct tasks_result *r, const struct snapshot *s)
{
	struct json j;
	struct tm tm;
	char when[32], stack[512], wait[512];

	gmtime_r(&s->taken_at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_init(&j, out);
	json_begin_object(&j, NULL);
	json_str(&j, "format", "leaktop-tasks/1");
	json_i64(&j, "pid", s->pid);
	json_str(&j, "taken_at", when);
	json_u64(&j, "pause_us", s->pause_us);
	json_python(&j, s->session);
	json_bool(&j, "complete", s->census.complete && !r->note[0]);
	json_begin_array(&j, "notes");
	if (r->note[0])
		json_str(&j, NULL, r->note);
	for (size_t i = 0; i < s->census.nnotes && !s->census.complete; i++)
		json_str(&j, NULL, s->census.notes[i]);
	json_end_array(&j);
	json_u64(&j, "pending", r->pending);
	json_u64(&j, "done", r->done);
	json_u64(&j, "cancelled", r->cancelled);
	json_u64(&j, "futures", r->futures);
	json_u64(&j, "loops", r->loops);
	json_begin_array(&j, "event_loops");
	for (size_t k = 0; k < r->loops; k++) {
		const struct task_loop *lp = &r->loopv[k];
		char hex[32];

		json_begin_object(&j, NULL);
		snprintf(hex, sizeof(hex), "0x%" PRIx64, lp->addr);
		json_str(&j, "addr", hex);
		if (lp->tid)
			json_u64(&j, "tid", lp->tid);
		else
			json_null(&j, "tid");
		json_str(&j, "thread_name", lp->thread_name[0] ? lp->thread_name : NULL);
		json_u64(&j, "tasks", lp->tasks);
		json_u64(&j, "pending", lp->pending);
		if (lp->current != SIZE_MAX) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, r->v[lp->current].addr);
			json_str(&j, "current_task", hex);
		} else {
			json_null(&j, "current_task");
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_begin_array(&j, "groups");
	for (size_t g = 0; g < r->ngroups; g++) {
		const struct task *tk = &r->v[r->groups[g].example];

		task_stack_text(stack, sizeof(stack), tk);
		task_wait_text(wait, sizeof(wait), r, tk);
		json_begin_object(&j, NULL);
		json_u64(&j, "count", r->groups[g].count);
		json_u64(&j, "retained_bytes", r->groups[g].retained);
		json_str(&j, "stack", stack);
		json_str(&j, "waits", wait);
		json_str(&j, "kind", tk->waits ? tk->waits_kind : NULL);
		json_str(&j, "holder", tk->holder[0] ? tk->holder : NULL);
		snprintf(when, sizeof(when), "0x%" PRIx64, tk->addr);
		json_str(&j, "example", when);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_begin_array(&j, "tasks");
	for (size_t i = 0; i < r->n; i++)
		json_task(&j, &r->v[i]);
	json_end_array(&j);
	json_end_object(&j);
	fputc('\n', out);
}
