/* report.h - presenting a snapshot as text for people or JSON for tools. */
#ifndef LEAKTOP_REPORT_H
#define LEAKTOP_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct snapshot;
struct history;
struct why_result;
struct session;
struct stacks;
struct thread_stack;
struct stack_frame;
struct tasks_result;

/* jmap-style report: header, then the top `top` types by bytes. */
void report_text(FILE *out, const struct snapshot *s, int top);
/* One leaktop-dump/1 object and a newline. */
void report_json(FILE *out, const struct snapshot *s);

/* leaktop-watch/1: report_json plus seq and changes from the history the
 * snapshot was just added to, (hf: the history of fd_census) the
 * descriptor kinds and groups with their changes, and (hh: the history of
 * retainers_census) the holders that grow. */
void report_watch_json(FILE *out, const struct snapshot *s, const struct history *h,
		       const struct history *hf, const struct history *hh, const struct history *ht);
/* A compact growth table (types that changed, steadiest growth first), then
 * the descriptor groups that changed. */
void report_watch_text(FILE *out, const struct snapshot *s, const struct history *h,
		       const struct history *hf, const struct history *hh, const struct history *ht,
		       int top);

/* A holder whose retained bytes grow (hh: the history of retainers_census,
 * growth_on_bytes), with its rates over the last interval. */
struct holder_line {
	char path[256], type[128];
	uint64_t len, retained_bytes;
	int64_t d_len, d_bytes;
	double growth, len_per_s, bytes_per_s;
	int weak;                /* a weak container: ranked after the others */
};
/* The steadily growing holders, fastest first (weak containers after the
 * others), at most max, with their
 * rates over the time between the last two snapshots.  Returns how many. */
size_t report_growing_holders(const struct history *hh, size_t max, struct holder_line *out);
void report_holder_text(char *buf, size_t max, const struct holder_line *x);

/* The top retainers, most retained first (nothing when not computed). */
void report_retainers_text(FILE *out, const struct snapshot *s, int top);
/* Cyclic garbage by type (nothing when it was not computed). */
void report_garbage_text(FILE *out, const struct snapshot *s, int top);
/* Suspended generators and coroutines grouped by code and line. */
void report_gens_text(FILE *out, const struct snapshot *s, int top);

/* `why`: chains, most common first, each step "via: type name (file:line)". */
struct json;
struct why_chain;
/* One chain, as why prints it (text: with "N of SELECTED held from ..."),
 * or its root, elision and path into the JSON object open. */
void report_chain_text(FILE *out, const struct why_chain *ch, uint64_t selected);
void report_chain_json(struct json *j, const struct why_chain *ch);

void report_why_text(FILE *out, const struct why_result *w, const struct snapshot *s,
		     const char *selector);
/* One leaktop-why/1 object and a newline. */
void report_why_json(FILE *out, const struct why_result *w, const struct snapshot *s,
		     const char *selector);

/* The lsof-like descriptor table: FD MODE KIND TARGET OWNER. */
void report_fds_text(FILE *out, const struct snapshot *s);

/* `stacks`: every thread's frames, innermost first (text), or one
 * leaktop-stacks/1 object and a newline. */
void report_stacks_text(FILE *out, const struct session *se, const struct stacks *st);
void report_stacks_json(FILE *out, const struct session *se, const struct stacks *st);
/* "Thread 1234 (MainThread), holds the GIL": a thread as they head it. */
void report_thread_title(char *buf, size_t max, const struct thread_stack *th);
/* "    (Python) run (app.py:12)", "    (C) poll+0x1b (libc.so.6, poll.c:29)";
 * Python frames without "(Python) " unless tagged. */
void report_frame_text(char *buf, size_t max, const struct stack_frame *f, int tagged);

/* "45.2 MiB" */
void report_human_bytes(char *buf, size_t max, uint64_t bytes);

/* leaktop tasks: the pending tasks grouped (the first `top` groups), and
 * with `all` every task; or JSON (leaktop-tasks/1). */
void report_tasks_text(FILE *out, const struct tasks_result *r, const struct snapshot *s,
		       int top, int all);
void report_tasks_json(FILE *out, const struct tasks_result *r, const struct snapshot *s);

#endif
