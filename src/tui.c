/* tui.c - the interactive view: header, growing holders, types panel,
 * handles panel, detail, threads, retainers and help screens, htop-style
 * keys.
 *
 * One thread: a snapshot is taken when its time comes, the screen is drawn,
 * and getch() waits for a key at most until the next snapshot is due.  Keys
 * typed during a snapshot are queued by the terminal and handled right after
 * it (snapshots take milliseconds to ~100 ms for a million objects).
 * Key handlers return flags, as htop's do, instead of acting deep down. */
#include "config.h"
#include "tui.h"
#include "attach.h"
#include "fds.h"
#include "history.h"
#include "proc.h"
#include "report.h"
#include "retain.h"
#include "snapfile.h"
#include "snapshot.h"
#include "stacks.h"
#include "util.h"
#include "why.h"

#include <ctype.h>
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum view {
	VIEW_MAIN, VIEW_HELP, VIEW_TYPE, VIEW_HANDLE, VIEW_GARBAGE, VIEW_THREADS, VIEW_THREAD,
	VIEW_RETAINERS, VIEW_RETAINER, VIEW_TASKS, VIEW_TASK
};
enum panel { PANEL_TYPES, PANEL_HANDLES };

enum { KEY_HANDLED = 1, KEY_REDRAW = 2, KEY_RESCAN = 4, KEY_QUIT = 8 };

/* Growing holders the main view shows above the types. */
#define HOLDERS_SHOWN 3

/* Colour pairs; with no colour (or NO_COLOR) the attributes fall back to
 * bold and reverse video. */
enum {
	C_LABEL = 1, C_GROW, C_SELECT, C_FKEY, C_FLABEL, C_WARN, C_PANEL, C_SPARK,
	C_COUNT_
};

static const double intervals[] = { 0.5, 1, 2, 3, 5, 10, 15, 30, 60, 120, 300 };

static const char *const sort_names[SORT_COUNT_OF] = {
	[SORT_GROWTH] = "growth", [SORT_COUNT] = "count", [SORT_BYTES] = "bytes",
	[SORT_DELTA] = "change", [SORT_DELTA_BASE] = "since base", [SORT_NAME] = "type",
};

struct tui {
	pid_t pid;
	const char *file;                 /* read-only: a snapshot file */
	struct session se;
	struct history h;
	struct snapshot last;
	int have_last;
	double interval;                  /* asked for (+/- change it) */
	double max_stopped;               /* --max-stopped, percent */
	double period;                    /* start to start, grown from interval when stops are long */
	int paused, exited;
	uint64_t started_us, next_due_us;
	char status[256];
	enum view view;
	enum panel focus;
	enum stat_sort sort;
	char filter[64];
	int editing_filter;
	int sel[2], top[2];               /* per panel: selected row, first row shown */
	char detail_type[512];
	char detail_group[512];
	struct history hf;                /* descriptor kinds and groups over time */
	struct type_stat *rows;           /* the filtered, sorted types shown */
	size_t nrows;
	struct type_stat *hrows;          /* descriptor groups shown */
	size_t nhrows;
	int color, utf8;
	struct why_result why;            /* chains for the detail view, from the last snapshot */
	int have_why;
	int detail_fd;                    /* handle detail: the descriptor whose chain is shown */
	/* Threads view: the selected row is frame thr_frame (-1: the header)
	 * of the thread with id thr_tid, or at position thr_pos when no
	 * thread of the last snapshot has that id. */
	uint64_t thr_tid;
	size_t thr_pos;
	long thr_frame;
	int thr_top;
	enum view thr_back;               /* where Back from the threads view goes */
	/* Thread view: the selected thread's merged stack, taken on Enter */
	struct stacks native;
	int have_native;
	uint64_t native_tid, native_tstate;  /* which thread of it */
	char native_title[160];           /* the thread as the snapshot named it */
	char native_error[256];           /* stacks_take failed: why */
	int native_top;
	/* Retainers: computed every snapshot but in detail views (their
	 * chains take the graph's hook), so the last computed are kept here,
	 * taken from their snapshot. */
	struct history hh;                /* retainers_census over time: the holders */
	struct retainers ret;
	uint64_t ret_census_bytes;        /* of their snapshot, for the share */
	int ret_fresh;                    /* the last snapshot computed them */
	struct holder_line holders[RETAIN_MAX];  /* growing, fastest first */
	size_t nholders;
	/* Retainers view: the selected row, followed by address across
	 * refreshes; the retainer view scrolls what it holds. */
	int ret_sel, ret_top, hold_top;
	uint64_t ret_addr;
	/* Tasks: asyncio's pending tasks by group over time; the selected
	 * group followed by its label. */
	struct history ht;
	int task_sel, task_top;
	char task_label[1024];
};

/* ---- drawing helpers ---- */

static attr_t attr_of(const struct tui *t, int pair, attr_t mono)
{
	return t->color ? COLOR_PAIR(pair) : mono;
}

static void put(int y, int x, int width, const char *s)
{
	/* UTF-8 aware enough for our strings: cut by bytes, never mid-sequence. */
	int n = 0, cols = 0;

	if (width <= 0)
		return;
	while (s[n] && cols < width) {
		unsigned char ch = (unsigned char)s[n];
		int len = ch < 0x80 ? 1 : ch < 0xE0 ? 2 : ch < 0xF0 ? 3 : 4;

		n += len;
		cols++;
	}
	mvaddnstr(y, x, s, n);
}

/* A whole row in attribute a (a selected row: its full width). */
static void put_row(int y, attr_t a, const char *s)
{
	attron(a);
	mvhline(y, 0, ' ', COLS);
	put(y, 0, COLS, s);
	attroff(a);
}

static void human(char *buf, size_t max, uint64_t v)
{
	report_human_bytes(buf, max, v);
}

/* A sparkline of the last `width` values. */
static void spark(const struct tui *t, char *out, size_t max, const uint64_t *v, size_t n,
		  size_t width)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583", "\u2584",
					      "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t start = n > width ? n - width : 0, len = 0;

	out[0] = '\0';
	for (size_t i = start; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	for (size_t i = start; i < n; i++) {
		int level = hi > lo ? (int)((v[i] - lo) * 7 / (hi - lo)) : 0;
		const char *b = t->utf8 ? blocks[level] : (char[]){ ascii[level], 0 };
		size_t bl = strlen(b);

		if (len + bl + 1 > max)
			break;
		memcpy(out + len, b, bl);
		len += bl;
		out[len] = '\0';
	}
}

/* ---- data ---- */

/* In a detail view the snapshot also names why its objects are alive,
 * while the target is stopped. */
static void why_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct tui *t = arg;
	struct why_selector sel;
	char text[64];

	if (t->view == VIEW_HANDLE)
		snprintf(text, sizeof(text), "fd:%d", t->detail_fd);
	if (why_parse_selector(t->view == VIEW_HANDLE ? text : t->detail_type, &sel) < 0)
		return;
	why_analyze(&t->why, s, snap, g, &sel, 3);
	t->have_why = 1;
}

/* Retainers the retainers view lists: those that know what they hold. */
static int ret_rows(const struct tui *t)
{
	return (int)(t->ret.n < RETAIN_MAX ? t->ret.n : RETAIN_MAX);
}

/* The listed retainer at addr, or -1. */
static int ret_find(const struct tui *t, uint64_t addr)
{
	for (int k = 0; k < ret_rows(t); k++)
		if (t->ret.v[k].addr == addr)
			return k;
	return -1;
}

/* New retainers: the selection stays on its object while it is listed;
 * otherwise the list keeps its row (the retainer view says it is gone).
 * Outside these views nothing is selected yet: r finds it again or starts
 * at the top. */
static void ret_sync(struct tui *t)
{
	int k = ret_find(t, t->ret_addr);

	if (t->view != VIEW_RETAINERS && t->view != VIEW_RETAINER)
		return;
	if (k >= 0) {
		t->ret_sel = k;
		return;
	}
	if (t->view == VIEW_RETAINER || !ret_rows(t))
		return;
	if (t->ret_sel >= ret_rows(t))
		t->ret_sel = ret_rows(t) - 1;
	t->ret_addr = t->ret.v[t->ret_sel].addr;
}

/* Follow the holders: snap's retainers go into the holders history and
 * become the view's (snap no longer owns them). */
static void take_retainers(struct tui *t, struct snapshot *snap, uint64_t t0)
{
	struct census rc;

	t->ret_fresh = snap->retainers.known;
	if (!snap->retainers.known)
		return;
	retainers_census(&snap->retainers, &rc);
	history_add(&t->hh, &rc, snap->taken_at, t0, 0, 0, -1);
	census_free(&rc);
	retainers_free(&t->ret);
	t->ret = snap->retainers;
	memset(&snap->retainers, 0, sizeof(snap->retainers));
	t->ret_census_bytes = snap->census.bytes;
	ret_sync(t);
	t->nholders = report_growing_holders(&t->hh, RETAIN_MAX, t->holders);
}

static int take_snapshot(struct tui *t)
{
	struct snapshot snap;
	uint64_t t0 = lt_now_us();
	int chains = !t->se.opts.gc_only && (t->view == VIEW_TYPE ||
					     (t->view == VIEW_HANDLE && t->detail_fd >= 0));

	session_sample(&t->se, t->view == VIEW_TYPE ? t->detail_type : NULL);
	if (t->have_why)
		why_free(&t->why);
	t->have_why = 0;
	t->se.analyze = chains ? why_hook : NULL;
	t->se.analyze_arg = t;
	if (session_snapshot(&t->se, &snap) < 0)
		return -1;
	t->period = snapshot_period(t->interval, t->max_stopped, snap.pause_us);
	/* a file does not change: walked again only when a view asks */
	t->next_due_us = t->file ? UINT64_MAX : t0 + (uint64_t)(t->period * 1e6);
	snap.period_s = t->period;
	snap.period_grown = t->period > t->interval;
	history_add(&t->h, &snap.census, snap.taken_at, t0, snap.pause_us,
		    t->file ? 0 : snap.memory.known ? snap.memory.rss : proc_rss_bytes(t->pid),
		    snap.fds_read ? (long)snap.fds.n : -1);
	if (snap.fds_read) {
		struct census fc;

		fd_census(&snap.fds, &fc);
		history_add(&t->hf, &fc, snap.taken_at, t0, 0, 0, (long)snap.fds.n);
		census_free(&fc);
	}
	take_retainers(t, &snap, t0);
	if (snap.tasks_known && (snap.tasks.n || t->ht.len)) {
		struct census tc;

		tasks_census(&snap.tasks, &tc);
		history_add(&t->ht, &tc, snap.taken_at, t0, 0, 0, -1);
		census_free(&tc);
	}
	if (t->have_last)
		snapshot_free(&t->last);
	t->last = snap;
	t->have_last = 1;
	return 0;
}

static int matches(const struct tui *t, const char *name)
{
	const char *f = t->filter;

	if (!*f)
		return 1;
	for (const char *p = name; *p; p++) {
		size_t i = 0;

		while (f[i] && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)f[i]))
			i++;
		if (!f[i])
			return 1;
	}
	return 0;
}

static void rebuild_rows(struct tui *t)
{
	struct type_stat *all;
	size_t n = history_stats(&t->h, t->sort, &all), out = 0;

	for (size_t i = 0; i < n; i++)
		if (matches(t, all[i].name))
			all[out++] = all[i];
	free(t->rows);
	t->rows = all;
	t->nrows = out;

	/* Descriptor groups, growing ones first. */
	n = history_stats(&t->hf, SORT_DELTA_BASE, &all);
	out = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(all[i].name, "group ", 6) == 0) {
			all[out] = all[i];
			all[out++].name += 6;
		}
	free(t->hrows);
	t->hrows = all;
	t->nhrows = out;
}

/* ---- threads ---- */

/* The threads of the last snapshot, or NULL when it has none. */
static const struct stacks *last_stacks(const struct tui *t)
{
	return t->have_last && t->last.stacks_read ? &t->last.stacks : NULL;
}

/* The thread a chain from a thread starts at, and the frame (-1: not
 * known) that holds it; -1 if none.  The root frame is looked for first:
 * on 3.8-3.10 a chain names its thread by pthread's id, the stacks by the
 * kernel's. */
static long thread_of_chain(const struct stacks *st, const struct why_chain *ch, long *frame)
{
	*frame = -1;
	if (!st || ch->root != ROOT_THREAD)
		return -1;
	for (size_t i = 0; ch->nsteps && i < st->n; i++)
		for (size_t k = 0; k < st->threads[i].n; k++)
			if (st->threads[i].frames[k].addr == ch->steps[0].addr) {
				*frame = (long)k;
				return (long)i;
			}
	for (size_t i = 0; ch->root_tid && i < st->n; i++)
		if (st->threads[i].tid == ch->root_tid)
			return (long)i;
	return -1;
}

/* Rows of the threads view: each thread's header, then its frames. */
static int thread_rows(const struct stacks *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->n; i++)
		n += 1 + st->threads[i].n;
	return (int)n;  /* bounded by STACKS_MAX_THREADS and STACKS_MAX_FRAMES */
}

/* Thread i and its frame k (-1: the header) at a row; -1 past the end. */
static int thread_locate(const struct stacks *st, int row, size_t *i, long *k)
{
	for (*i = 0; *i < st->n; (*i)++) {
		long len = 1 + (long)st->threads[*i].n;

		if (row < len) {
			*k = row - 1;
			return 0;
		}
		row -= (int)len;
	}
	return -1;
}

/* The selected row, found again in a snapshot whose threads changed. */
static int thread_sel_row(const struct tui *t, const struct stacks *st)
{
	size_t i = st->n;
	long frame;
	int row = 0;

	if (!st->n)
		return 0;
	if (t->thr_tid)
		for (i = 0; i < st->n && st->threads[i].tid != t->thr_tid; i++)
			;
	if (i == st->n)
		i = t->thr_pos < st->n ? t->thr_pos : st->n - 1;
	for (size_t j = 0; j < i; j++)
		row += 1 + (int)st->threads[j].n;
	frame = t->thr_frame < (long)st->threads[i].n ? t->thr_frame : (long)st->threads[i].n - 1;
	return row + 1 + frame;
}

static void thread_sel_set(struct tui *t, const struct stacks *st, int row)
{
	size_t i;
	long k;

	if (thread_locate(st, row, &i, &k) < 0)
		return;
	t->thr_pos = i;
	t->thr_tid = st->threads[i].tid;
	t->thr_frame = k;
}

/* The thread view's thread in the stacks taken for it, or NULL. */
static const struct thread_stack *native_thread(const struct tui *t)
{
	for (size_t i = 0; t->have_native && i < t->native.n; i++) {
		const struct thread_stack *th = &t->native.threads[i];

		if (t->native_tid ? th->tid == t->native_tid : th->tstate == t->native_tstate)
			return th;
	}
	return NULL;
}

/* Lines of the thread view: its frames, after the unwind's complaint. */
static int native_lines(const struct thread_stack *th)
{
	return th ? (int)th->n + (th->native_error[0] != '\0') : 1;
}

/* Enter on a thread: its native and Python frames, merged, in a short
 * stop of their own (the snapshots copy memory, they do not unwind). */
static void take_native(struct tui *t, const struct thread_stack *th)
{
	if (t->have_native)
		stacks_free(&t->native);
	t->have_native = 0;
	t->native_error[0] = '\0';
	t->native_top = 0;
	t->native_tid = th->tid;
	t->native_tstate = th->tstate;
	report_thread_title(t->native_title, sizeof(t->native_title), th);
	if (stacks_take(&t->se, &(struct stacks_opts){ .native = 1 }, &t->native) < 0) {
		snprintf(t->native_error, sizeof(t->native_error), "%s", lt_last_error());
		return;
	}
	t->have_native = 1;
}

/* ---- screens ---- */

/* "label value sparkline" at the cursor, label and sparkline in colour. */
static void label_value(const struct tui *t, const char *label, const char *value,
			const char *sparkline)
{
	attron(attr_of(t, C_LABEL, A_BOLD));
	addstr(label);
	attroff(attr_of(t, C_LABEL, A_BOLD));
	addstr(value);
	if (sparkline) {
		addstr(" ");
		attron(attr_of(t, C_SPARK, 0));
		addstr(sparkline);
		attroff(attr_of(t, C_SPARK, 0));
	}
}

static void draw_header(struct tui *t)
{
	const struct hist_snap *now = history_latest(&t->h);
	uint64_t series[256];
	char objs[64], bytes[32], rss[32], sp1[512], sp2[512], line[1024];
	uint64_t el = (lt_now_us() - t->started_us) / 1000000;
	size_t n;
	const struct mem_account *mem;
	int room, bw, sw, cells[MEM_NPARTS];

	attron(A_BOLD);
	if (t->file)
		snprintf(line, sizeof(line), "leaktop %s - snapshot file %s, pid %d", PACKAGE_VERSION,
			 t->file, (int)t->se.t.pid);
	else
		snprintf(line, sizeof(line), "leaktop %s - pid %d", PACKAGE_VERSION, (int)t->pid);
	put(0, 0, COLS, line);
	attroff(A_BOLD);
	put(0, (int)strlen(line) + 2, COLS - (int)strlen(line) - 2, t->se.t.cmdline);

	if (t->file) {
		char when[64];
		struct tm tm;
		time_t at = t->have_last ? t->last.taken_at : 0;

		localtime_r(&at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(line, sizeof(line), "read-only  Python %s (%s)  taken %s  pause %.1f ms",
			 t->se.version[0] ? t->se.version : "3.?", layout_source_name(t->se.lay.source),
			 when, now ? (double)now->pause_us / 1000.0 : 0.0);
	} else {
		snprintf(line, sizeof(line), "Python %s (%s)  watched %02llu:%02llu:%02llu  every %.1f s%s  "
			 "pause %.1f ms  #%u",
			 t->se.version[0] ? t->se.version : "3.?",
			 layout_source_name(t->se.lay.source), (unsigned long long)(el / 3600),
			 (unsigned long long)(el / 60 % 60), (unsigned long long)(el % 60), t->period,
			 t->period > t->interval ? " (grown: max-stopped)" : "",
			 now ? (double)now->pause_us / 1000.0 : 0.0, now ? now->seq : 0);
	}
	put(1, 0, COLS, line);

	snprintf(objs, sizeof(objs), "%llu", now ? (unsigned long long)now->objects : 0ull);
	human(bytes, sizeof(bytes), now ? now->bytes : 0);
	if (now && now->rss_bytes)
		human(rss, sizeof(rss), now->rss_bytes);
	else
		snprintf(rss, sizeof(rss), "-");  /* a snapshot file: not recorded */
	snprintf(line, sizeof(line), "%ld", now ? now->nfds : -1L);
	/* The sparklines (16 snapshots) and the RSS bar (memacct.h: a
	 * letter per part, in proportion) share what the numbers leave of
	 * the line: at 80 columns about 8 snapshots and 10 cells. */
	mem = t->have_last && t->last.memory.known ? &t->last.memory : NULL;
	room = COLS - 1 - (int)(strlen("objects   bytes   RSS   fds ") + strlen(objs) +
				 strlen(bytes) + strlen(rss) + strlen(line));
	bw = !mem ? 0 : room >= 2 * 17 + 21 ? 20 : room >= 11 ? 10 : 0;
	sw = (room - (bw ? bw + 1 : 0)) / 2 - 1;
	sw = sw > 16 ? 16 : sw < 3 ? 0 : sw;
	n = history_series_totals(&t->h, 16, series, NULL);
	spark(t, sp1, sizeof(sp1), series, n, (size_t)sw);
	n = history_series_totals(&t->h, 16, NULL, series);
	spark(t, sp2, sizeof(sp2), series, n, (size_t)sw);
	move(2, 0);
	label_value(t, "objects ", objs, sw ? sp1 : NULL);
	label_value(t, "  bytes ", bytes, sw ? sp2 : NULL);
	label_value(t, "  RSS ", rss, NULL);
	if (bw && memacct_bar(mem, bw, cells) == bw) {
		addstr(" ");
		attron(A_REVERSE);
		for (int i = 0; i < MEM_NPARTS; i++)
			for (int k = 0; k < cells[i]; k++)
				addch((chtype)mem_part_letter((enum mem_part)i));
		attroff(A_REVERSE);
	}
	label_value(t, "  fds ", "", NULL);
	addstr(line);

	/* Status line: filter being typed, pause, exit, messages. */
	move(3, 0);
	clrtoeol();
	if (t->editing_filter) {
		snprintf(line, sizeof(line), "Filter: %s_   (Enter done, Esc clear)", t->filter);
		put(3, 0, COLS, line);
	} else {
		line[0] = '\0';
		if (t->exited)
			snprintf(line, sizeof(line), "pid %d exited: showing the last data; q quits  ",
				 (int)t->pid);
		else if (t->paused)
			snprintf(line, sizeof(line), "PAUSED (space resumes)  ");
		if (*t->filter)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "filter: %s  ",
				 t->filter);
		if (*t->status)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s", t->status);
		attron(attr_of(t, C_WARN, A_BOLD));
		put(3, 0, COLS, line);
		attroff(attr_of(t, C_WARN, A_BOLD));
	}
}

static void panel_title(struct tui *t, int y, const char *text, int focused)
{
	attr_t a = attr_of(t, C_PANEL, A_REVERSE);

	attron(a | (focused ? A_BOLD : 0));
	mvhline(y, 0, ' ', COLS);
	put(y, 0, COLS, text);
	attroff(a | (focused ? A_BOLD : 0));
}

/* Clamp a selection to nrows rows and scroll so that it is in sight. */
static void keep_visible(int *sel, int *top, int nrows, int height)
{
	if (*sel >= nrows)
		*sel = nrows - 1;
	if (*sel < 0)
		*sel = 0;
	if (*sel < *top)
		*top = *sel;
	if (*sel >= *top + height)
		*top = *sel - height + 1;
	if (*top < 0)
		*top = 0;
}

static void draw_types(struct tui *t, int y0, int height)
{
	static const char *const heads[] = { "COUNT", "BYTES", "CHANGE", "SINCE BASE", "TREND" };
	static const enum stat_sort head_sort[] = { SORT_COUNT, SORT_BYTES, SORT_DELTA,
						    SORT_DELTA_BASE, SORT_GROWTH };
	static const int widths[] = { 10, 11, 9, 12, 11 };
	char line[1024], title[160];
	int x = 0;

	snprintf(title, sizeof(title), " TYPES (%zu)   sorted by %s%s", t->nrows,
		 sort_names[t->sort], t->focus == PANEL_TYPES ? "" : "   [Tab]");
	panel_title(t, y0, title, t->focus == PANEL_TYPES);
	attron(A_BOLD);
	for (size_t i = 0; i < LT_ARRAY_SIZE(heads); i++) {
		int marked = head_sort[i] == t->sort;

		snprintf(line, sizeof(line), "%*s%s", widths[i] - 1, heads[i], marked ? "*" : " ");
		put(y0 + 1, x, COLS - x, line);
		x += widths[i];
	}
	snprintf(line, sizeof(line), " TYPE%s", t->sort == SORT_NAME ? "*" : "");
	put(y0 + 1, x, COLS - x, line);
	attroff(A_BOLD);

	keep_visible(&t->sel[PANEL_TYPES], &t->top[PANEL_TYPES], (int)t->nrows, height - 2);
	for (int r = 0; r < height - 2; r++) {
		size_t i = (size_t)(t->top[PANEL_TYPES] + r);
		const struct type_stat *st;
		uint64_t series[64];
		char bytes[32], sp[256];
		size_t n;
		attr_t a = 0;

		if (i >= t->nrows)
			break;
		st = &t->rows[i];
		human(bytes, sizeof(bytes), st->bytes);
		n = history_series(&t->h, st->id, 10, series, NULL);
		spark(t, sp, sizeof(sp), series, n, 10);
		if ((int)i == t->sel[PANEL_TYPES] && t->focus == PANEL_TYPES)
			a = attr_of(t, C_SELECT, A_REVERSE);
		else if (st->growth > 0 && st->d_base_count > 0)
			a = attr_of(t, C_GROW, A_BOLD);
		attron(a);
		mvhline(y0 + 2 + r, 0, ' ', COLS);
		snprintf(line, sizeof(line), "%9llu %10s %+8lld %+11lld  ",
			 (unsigned long long)st->count, bytes, (long long)st->d_count,
			 (long long)st->d_base_count);
		put(y0 + 2 + r, 0, COLS, line);
		put(y0 + 2 + r, 43, COLS - 43, sp);
		put(y0 + 2 + r, 54, COLS - 54, st->name);
		attroff(a);
	}
}

static void draw_handles(struct tui *t, int y0, int height)
{
	char line[512];

	snprintf(line, sizeof(line), " HANDLES (%zu open, %zu groups)%s",
		 t->have_last ? t->last.fds.n : 0, t->nhrows,
		 t->focus == PANEL_HANDLES ? "" : "   [Tab]");
	panel_title(t, y0, line, t->focus == PANEL_HANDLES);
	attron(A_BOLD);
	snprintf(line, sizeof(line), "%9s %9s %11s  %s", "COUNT", "CHANGE", "SINCE BASE", "KIND AND TARGET");
	put(y0 + 1, 0, COLS, line);
	attroff(A_BOLD);
	keep_visible(&t->sel[PANEL_HANDLES], &t->top[PANEL_HANDLES], (int)t->nhrows, height - 2);
	for (int r = 0; r < height - 2; r++) {
		size_t i = (size_t)(t->top[PANEL_HANDLES] + r);
		const struct type_stat *st;
		attr_t a = 0;

		if (i >= t->nhrows)
			break;
		st = &t->hrows[i];
		if ((int)i == t->sel[PANEL_HANDLES] && t->focus == PANEL_HANDLES)
			a = attr_of(t, C_SELECT, A_REVERSE);
		else if (st->d_base_count > 0)
			a = attr_of(t, C_GROW, A_BOLD);
		attron(a);
		mvhline(y0 + 2 + r, 0, ' ', COLS);
		snprintf(line, sizeof(line), "%9llu %+9lld %+11lld  %s", (unsigned long long)st->count,
			 (long long)st->d_count, (long long)st->d_base_count, st->name);
		put(y0 + 2 + r, 0, COLS, line);
		attroff(a);
	}
}

static void draw_fkeys(struct tui *t, const char *const *keys)
{
	int x = 0;

	move(LINES - 1, 0);
	clrtoeol();
	for (int i = 0; keys[i] && x < COLS; i += 2) {
		attron(attr_of(t, C_FKEY, A_REVERSE));
		put(LINES - 1, x, COLS - x, keys[i]);
		attroff(attr_of(t, C_FKEY, A_REVERSE));
		x += (int)strlen(keys[i]);
		attron(attr_of(t, C_FLABEL, 0));
		put(LINES - 1, x, COLS - x, keys[i + 1]);
		attroff(attr_of(t, C_FLABEL, 0));
		x += (int)strlen(keys[i + 1]);
	}
}

/* The holders that grow, fastest first: a title and up to `rows` of them. */
static void draw_holders(struct tui *t, int y0, int rows)
{
	char line[640], title[160];

	snprintf(title, sizeof(title), " GROWING HOLDERS (%zu)   retained bytes, fastest first   [r]",
		 t->nholders);
	panel_title(t, y0, title, 0);
	for (int r = 0; r < rows && (size_t)r < t->nholders; r++) {
		attr_t a = attr_of(t, C_GROW, A_BOLD);

		line[0] = ' ';
		report_holder_text(line + 1, sizeof(line) - 1, &t->holders[r]);
		attron(a);
		put(y0 + 1 + r, 0, COLS, line);
		attroff(a);
	}
}

static void draw_main(struct tui *t)
{
	static const char *const keys[] = {
		/* 80 columns: b (baseline) and +- (interval) are in the help, Tab
		 * too (the unfocused panel's title says [Tab]) */
		"F1", "Help ", "/", "Filter ", "F6", "Sort ", "Spc", "Pause ", "Ent", "Detail ",
		"g", "Garbage ", "t", "Threads ", "r", "Retainers ", "F10", "Quit", NULL
	};
	int avail = LINES - 5;  /* header 4, function bar 1 */
	int y0 = 4, gh = (int)(t->nholders < HOLDERS_SHOWN ? t->nholders : HOLDERS_SHOWN), hh;

	draw_header(t);
	/* Growing holders first, when the types keep room for a few rows. */
	if (gh && avail - (gh + 1) >= 6) {
		draw_holders(t, y0, gh);
		y0 += gh + 1;
		avail -= gh + 1;
	}
	hh = avail / 3;
	if (hh < 4)
		hh = avail >= 8 ? 4 : 0;
	if (hh > 10)
		hh = 10;
	draw_types(t, y0, avail - hh);
	if (hh)
		draw_handles(t, y0 + avail - hh, hh);
	draw_fkeys(t, keys);
}

/* Bars of values over time, `height` rows, eighth-of-a-row resolution. */
static void draw_chart(struct tui *t, int y0, int height, const char *label, const uint64_t *v,
		       size_t n, int bytes)
{
	static const char *const eighths[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
					       "\u2585", "\u2586", "\u2587", "\u2588" };
	int width = COLS - 12;
	size_t start;
	uint64_t lo = UINT64_MAX, hi = 0;
	char lab[32];

	if (width < 8 || height < 2)
		return;
	start = n > (size_t)width ? n - (size_t)width : 0;
	for (size_t i = start; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	if (lo == UINT64_MAX)
		lo = hi = 0;
	/* Start the axis at zero unless the variation would be invisible. */
	if (lo < hi / 2)
		lo = 0;
	attron(A_BOLD);
	put(y0, 0, COLS, label);
	attroff(A_BOLD);
	for (int row = 0; row < height; row++) {
		int y = y0 + 1 + row;

		if (row == 0 || row == height - 1) {
			uint64_t val = row == 0 ? hi : lo;

			if (bytes)
				human(lab, sizeof(lab), val);
			else
				snprintf(lab, sizeof(lab), "%llu", (unsigned long long)val);
			put(y, 0, 11, lab);
		}
		for (size_t i = start; i < n; i++) {
			/* eighths of a row filled, counting from the bottom */
			long fill = hi > lo ? (long)((v[i] - lo) * (uint64_t)height * 8 / (hi - lo)) : 1;
			long here = fill - (long)(height - 1 - row) * 8;
			const char *c;

			if (here <= 0)
				continue;
			c = t->utf8 ? eighths[here >= 8 ? 8 : here] : (here >= 4 ? "#" : ".");
			attron(attr_of(t, C_SPARK, 0));
			mvaddstr(y, 12 + (int)(i - start), c);
			attroff(attr_of(t, C_SPARK, 0));
		}
	}
}

/* "module __main__ > _cache dict > [0] __main__.Leaky"; a thread is named
 * as the threads view names it when it is there. */
static void chain_line(const struct tui *t, const struct why_chain *ch, char *buf, size_t max)
{
	const struct stacks *threads = last_stacks(t);
	size_t used;

	if (ch->root == ROOT_MODULE) {
		used = (size_t)snprintf(buf, max, "module %s", ch->root_name);
	} else if (ch->root == ROOT_THREAD) {
		long frame, i = thread_of_chain(threads, ch, &frame);
		const struct thread_stack *th = i >= 0 ? &threads->threads[i] : NULL;
		uint64_t tid = th && th->tid ? th->tid : ch->root_tid;
		const char *name = th && th->name[0] ? th->name : ch->root_name;

		used = (size_t)snprintf(buf, max, "thread %llu%s%s%s", (unsigned long long)tid,
					name[0] ? " (" : "", name, name[0] ? ")" : "");
	} else {
		used = (size_t)snprintf(buf, max, "held from C");
	}
	for (size_t i = 1; i < ch->nsteps && used < max; i++) {
		const struct why_step *st = &ch->steps[i];

		used += (size_t)snprintf(buf + used, max - used, "%s %s %s%s%s%s",
					 st->skipped ? " > ..." : "", ">", st->via, st->via[0] ? " " : "",
					 st->type, st->name[0] ? " " : "");
		if (st->name[0] && used < max)
			used += (size_t)snprintf(buf + used, max - used, "%s", st->name);
		if (st->line >= 0 && used < max)
			used += (size_t)snprintf(buf + used, max - used, ":%d", st->line);
	}
	if (ch->nsteps == 1 && ch->root == ROOT_THREAD && used < max)
		snprintf(buf + used, max - used, " %s:%d", ch->steps[0].name, ch->steps[0].line);
}

/* Text from y in at most `rows` lines, indented, long text wrapped and
 * indented further; returns the lines used. */
static int put_wrapped(int y, int rows, const char *text)
{
	size_t len = strlen(text), at = 0, width = COLS > 8 ? (size_t)COLS - 4 : 4;
	int used = 0;

	while (at < len && used < rows) {
		char part[1200];

		snprintf(part, sizeof(part), "%s%.*s", at ? "    " : "  ", (int)width, text + at);
		put(y + used++, 0, COLS, part);
		at += width;
	}
	return used;
}

/* Up to `rows` lines from y: the chains of the last snapshot's why. */
static int draw_chains(struct tui *t, int y, int rows)
{
	char line[1200];
	int used = 0;

	attron(A_BOLD);
	put(y, 0, COLS, "why alive (shortest chains from a root)");
	attroff(A_BOLD);
	used++;
	if (!t->have_why) {
		put(y + used++, 0, COLS, t->paused ? "  (paused)" : "  (named at the next refresh)");
		return used;
	}
	if (t->why.garbage && used < rows) {
		snprintf(line, sizeof(line), "  %llu cyclic garbage: no root reaches them",
			 (unsigned long long)t->why.garbage);
		put(y + used++, 0, COLS, line);
	}
	if (!t->why.nchains && used < rows)
		put(y + used++, 0, COLS, t->why.note[0] ? t->why.note : "  (no chain found)");
	for (size_t k = 0; k < t->why.nchains && used < rows; k++) {
		char chain[1100];

		chain_line(t, &t->why.chains[k], chain, sizeof(chain));
		snprintf(line, sizeof(line), "%llu of %llu: %s",
			 (unsigned long long)t->why.chains[k].count,
			 (unsigned long long)t->why.selected, chain);
		used += put_wrapped(y + used, rows - used, line);
	}
	return used;
}

static void draw_type_detail(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "F1", "Help ", "Spc", "Pause ",
					    "t", "Threads ", "F10", "Quit", NULL };
	long id = history_type_id(&t->h, t->detail_type);
	uint64_t counts[1024], bytes[1024];
	size_t n = id >= 0 ? history_series(&t->h, (uint32_t)id, 1024, counts, bytes) : 0;
	const struct census_row *row = t->have_last ? census_find(&t->last.census, t->detail_type) : NULL;
	char line[1024], b[32];
	int chart_h = (LINES - 14) / 2, y;

	draw_header(t);
	human(b, sizeof(b), row ? row->bytes : 0);
	snprintf(line, sizeof(line), " %s   %llu objects, %s", t->detail_type,
		 row ? (unsigned long long)row->count : 0ull, b);
	panel_title(t, 4, line, 1);
	if (chart_h > 8)
		chart_h = 8;
	if (chart_h < 2)
		chart_h = 2;
	draw_chart(t, 5, chart_h, "count over time", counts, n, 0);
	y = 5 + chart_h + 1;
	if (LINES - y > 14) {
		draw_chart(t, y, chart_h, "bytes over time", bytes, n, 1);
		y += chart_h + 1;
	}
	if (!t->se.opts.gc_only)
		y += draw_chains(t, y, 6) + 1;
	attron(A_BOLD);
	snprintf(line, sizeof(line), "sample instances (%d)", t->last.nsamples);
	put(y, 0, COLS, line);
	snprintf(line, sizeof(line), "%-18s %8s  %s", "ADDRESS", "SIZE", "VALUE");
	put(y + 1, 0, COLS, line);
	attroff(A_BOLD);
	if (!t->last.nsamples)
		put(y + 2, 0, COLS, t->paused ? "(paused)" : "(collected at the next refresh)");
	for (int i = 0; i < t->last.nsamples && y + 2 + i < LINES - 1; i++) {
		const struct sample *s = &t->last.samples[i];

		snprintf(line, sizeof(line), "0x%016llx %8lld  %s", (unsigned long long)s->addr,
			 (long long)s->size, s->repr);
		put(y + 2 + i, 0, COLS, line);
	}
	draw_fkeys(t, keys);
}

static void draw_handle_detail(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Up/Dn", "Chain of ", "F1", "Help ",
					    "t", "Threads ", "F10", "Quit", NULL };
	char line[1024], target[320], group[320];
	int y = 6, chains_at = LINES - 6;

	draw_header(t);
	snprintf(line, sizeof(line), " %s", t->detail_group);
	panel_title(t, 4, line, 1);
	attron(A_BOLD);
	snprintf(line, sizeof(line), "%5s %-4s %-34s %s", "FD", "MODE", "TARGET", "HELD BY");
	put(5, 0, COLS, line);
	attroff(A_BOLD);
	for (size_t i = 0; t->have_last && i < t->last.fds.n && y < chains_at - 1; i++) {
		const struct fd_entry *e = &t->last.fds.v[i];
		size_t n;
		const struct fd_owner *o;

		fd_group(e, group, sizeof(group));
		if (strcmp(group, t->detail_group) != 0)
			continue;
		if (t->detail_fd < 0)
			t->detail_fd = e->fd;
		fd_describe(e, target, sizeof(target));
		o = owners_of_fd(&t->last.owners, e->fd, &n);
		snprintf(line, sizeof(line), "%5d %-4c %-34.34s ", e->fd, e->mode, target);
		if (!o) {
			strcat(line, "no Python object");
		} else {
			size_t len = strlen(line);

			snprintf(line + len, sizeof(line) - len, "%s 0x%llx%s%s", o->type,
				 (unsigned long long)o->addr, o->nwrap ? " in " : "",
				 o->nwrap ? o->wrap_type[o->nwrap - 1] : "");
		}
		if (e->fd == t->detail_fd)
			attron(A_REVERSE);
		put(y++, 0, COLS, line);
		attroff(A_REVERSE);
	}
	if (!t->se.opts.gc_only && t->detail_fd >= 0)
		draw_chains(t, chains_at, 5);
	draw_fkeys(t, keys);
}

static void draw_garbage(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "F1", "Help ", "F10", "Quit", NULL };
	const struct snapshot *s = &t->last;
	char line[1024], b[32];

	draw_header(t);
	if (!t->have_last || !s->garbage_known) {
		panel_title(t, 4, " cyclic garbage: not computed (--gc-only, or the walk was incomplete)", 1);
		draw_fkeys(t, keys);
		return;
	}
	human(b, sizeof(b), s->garbage.bytes);
	snprintf(line, sizeof(line), " cyclic garbage: %llu objects, %s, %llu cycles, %llu with __del__",
		 (unsigned long long)s->garbage.objects, b, (unsigned long long)s->garbage.cycles,
		 (unsigned long long)s->garbage.finalizers);
	panel_title(t, 4, line, 1);
	put(5, 0, COLS, " Unreachable objects the collector has not freed (gc disabled, or its");
	put(6, 0, COLS, " thresholds not reached). Nothing holds them; gc.collect() would.");
	attron(A_BOLD);
	snprintf(line, sizeof(line), "%10s %12s  %s", "COUNT", "BYTES", "TYPE");
	put(8, 0, COLS, line);
	attroff(A_BOLD);
	for (size_t i = 0; i < s->garbage_types.n && 9 + (int)i < LINES - 1; i++) {
		const struct census_row *r = &s->garbage_types.rows[i];

		human(b, sizeof(b), r->bytes);
		snprintf(line, sizeof(line), "%10llu %12s  %s", (unsigned long long)r->count, b, r->type);
		put(9 + (int)i, 0, COLS, line);
	}
	draw_fkeys(t, keys);
}

/* "builtins.list (1040)": a retainer's type, with its length if it has one. */
static void ret_type(const struct retainer *x, char *buf, size_t max)
{
	if (x->len >= 0)
		snprintf(buf, max, "%s (%lld)", x->type, (long long)x->len);
	else
		snprintf(buf, max, "%s", x->type);
}

/* Percent of all the bytes of its snapshot that x retains. */
static double ret_share(const struct tui *t, const struct retainer *x)
{
	return t->ret_census_bytes ?
	       100.0 * (double)x->retained_bytes / (double)t->ret_census_bytes : 0.0;
}

/* The last computed retainers, most retained first, as dump lists them. */
static void draw_retainers(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Ent", "Chain and contents ",
					    "F1", "Help ", "Spc", "Pause ", "F10", "Quit", NULL };
	char line[1024], type[160], b[32];
	int n = ret_rows(t), y0 = 6, height = LINES - 1 - y0, tw = 12;

	draw_header(t);
	if (!t->ret.known) {
		panel_title(t, 4, t->se.opts.gc_only ?
			    " RETAINERS: not computed with --gc-only" :
			    " RETAINERS: not computed (the walk or its reference graph was cut short)", 1);
		draw_fkeys(t, keys);
		return;
	}
	snprintf(line, sizeof(line), " RETAINERS (%d)   what freeing each would free; the roots "
		 "reach %llu objects", n, (unsigned long long)t->ret.reachable_objects);
	panel_title(t, 4, line, 1);
	/* The type column as wide as its longest, leaving the names 24 columns. */
	for (int k = 0; k < n; k++) {
		ret_type(&t->ret.v[k], type, sizeof(type));
		tw = (int)strlen(type) > tw ? (int)strlen(type) : tw;
	}
	if (tw > 36)
		tw = 36;
	if (tw > COLS - 33 - 24)
		tw = COLS - 33 - 24 > 12 ? COLS - 33 - 24 : 12;
	attron(A_BOLD);
	snprintf(line, sizeof(line), "%11s  %9s  %6s  %-*s %s", "RETAINED", "OBJECTS", "%", tw,
		 "TYPE (ITEMS)", "HELD AS");
	put(5, 0, COLS, line);
	attroff(A_BOLD);
	keep_visible(&t->ret_sel, &t->ret_top, n, height);
	for (int r = 0; r < height && t->ret_top + r < n; r++) {
		int k = t->ret_top + r;
		const struct retainer *x = &t->ret.v[k];
		attr_t a = k == t->ret_sel ? attr_of(t, C_SELECT, A_REVERSE) : 0;

		human(b, sizeof(b), x->retained_bytes);
		ret_type(x, type, sizeof(type));
		snprintf(line, sizeof(line), " %10s  %9llu  %5.1f%%  %-*.*s %s", b,
			 (unsigned long long)x->retained_objects, ret_share(t, x), tw, tw, type,
			 x->path);
		put_row(y0 + r, a, line);
	}
	draw_fkeys(t, keys);
}

/* One retainer: its chain from the root, and what it holds by type. */
static void draw_retainer(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Up/Dn", "Scroll ", "t", "Threads ",
					    "F1", "Help ", "F10", "Quit", NULL };
	int k = ret_find(t, t->ret_addr), y = 5, height;
	const struct retainer *x;
	char line[1200], chain[1100], type[160], b[32];

	draw_header(t);
	if (k < 0) {
		snprintf(line, sizeof(line), " retainer 0x%llx", (unsigned long long)t->ret_addr);
		panel_title(t, 4, line, 1);
		put(5, 0, COLS, "  no longer among the top retainers (freed, or it retains less now)");
		draw_fkeys(t, keys);
		return;
	}
	x = &t->ret.v[k];
	ret_type(x, type, sizeof(type));
	human(b, sizeof(b), x->retained_bytes);
	snprintf(line, sizeof(line), " %s   %s   retains %s, %llu objects, %.1f%% of all bytes",
		 x->path, type, b, (unsigned long long)x->retained_objects, ret_share(t, x));
	panel_title(t, 4, line, 1);
	attron(A_BOLD);
	put(y++, 0, COLS, "chain from its root");
	attroff(A_BOLD);
	if (x->chain.nsteps)
		chain_line(t, &x->chain, chain, sizeof(chain));
	else
		snprintf(chain, sizeof(chain), "%s", x->path);
	y += put_wrapped(y, 4, chain) + 1;
	attron(A_BOLD);
	snprintf(line, sizeof(line), "what it holds, by type (%zu)", x->nholds);
	put(y++, 0, COLS, line);
	snprintf(line, sizeof(line), "%10s %12s  %s", "COUNT", "BYTES", "TYPE");
	put(y++, 0, COLS, line);
	attroff(A_BOLD);
	height = LINES - 1 - y;
	if (t->hold_top > (int)x->nholds - height)
		t->hold_top = (int)x->nholds - height;
	if (t->hold_top < 0)
		t->hold_top = 0;
	for (size_t i = (size_t)t->hold_top; i < x->nholds && y < LINES - 1; i++) {
		human(b, sizeof(b), x->holds[i].bytes);
		snprintf(line, sizeof(line), "%10llu %12s  %s", (unsigned long long)x->holds[i].count,
			 b, x->holds[i].type);
		put(y++, 0, COLS, line);
	}
	draw_fkeys(t, keys);
}

/* The task groups now (count > 0), most first: their stats into *out. */
static size_t task_rows(struct tui *t, struct type_stat **out)
{
	size_t n = t->ht.len ? history_stats(&t->ht, SORT_COUNT, out) : 0, k = 0;

	if (!t->ht.len)
		*out = NULL;
	while (k < n && (*out)[k].count)
		k++;
	return k;
}

static void draw_tasks(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Ent", "Stack and wait ",
					    "F1", "Help ", "Spc", "Pause ", "F10", "Quit", NULL };
	const struct tasks_result *r = t->have_last ? &t->last.tasks : NULL;
	struct type_stat *st;
	size_t n = task_rows(t, &st);
	int y = 5, height;
	char line[1200], b[32];

	draw_header(t);
	if (!r || !t->last.tasks_known) {
		panel_title(t, 4, " TASKS: not computed in this snapshot (--gc-only, or the walk was "
			    "cut short)", 1);
		draw_fkeys(t, keys);
		free(st);
		return;
	}
	snprintf(line, sizeof(line), " TASKS   %llu pending, %llu done, %llu cancelled; %llu loop%s",
		 (unsigned long long)r->pending, (unsigned long long)r->done,
		 (unsigned long long)r->cancelled, (unsigned long long)r->loops,
		 r->loops == 1 ? "" : "s");
	panel_title(t, 4, line, 1);
	for (size_t k = 0; k < r->loops && y < LINES / 3; k++) {
		const struct task_loop *lp = &r->loopv[k];

		snprintf(line, sizeof(line), " loop 0x%llx %s%s: %llu tasks%s%s",
			 (unsigned long long)lp->addr, lp->thread_name[0] ? "thread " : "",
			 lp->thread_name, (unsigned long long)lp->tasks,
			 lp->current != SIZE_MAX ? ", running " : "",
			 lp->current != SIZE_MAX ? r->v[lp->current].name : "");
		put(y++, 0, COLS, line);
	}
	attron(A_BOLD);
	snprintf(line, sizeof(line), "%8s %8s %10s  %s", "TASKS", "CHANGE", "RETAINED",
		 "COROUTINE STACK -> WHAT THEY WAIT ON");
	put(y++, 0, COLS, line);
	attroff(A_BOLD);
	height = LINES - 1 - y;
	keep_visible(&t->task_sel, &t->task_top, (int)n, height);
	if (!n)
		put(y, 2, COLS - 2, "no pending task");
	for (int row = 0; row < height && t->task_top + row < (int)n; row++) {
		int k = t->task_top + row;
		attr_t a = k == t->task_sel ? attr_of(t, C_SELECT, A_REVERSE) : 0;

		human(b, sizeof(b), st[k].bytes);
		snprintf(line, sizeof(line), "%8llu %+8lld %10s  %s", (unsigned long long)st[k].count,
			 (long long)st[k].d_count, b, st[k].name);
		put_row(y + row, a, line);
	}
	if (t->task_sel < (int)n)
		snprintf(t->task_label, sizeof(t->task_label), "%s", st[t->task_sel].name);
	free(st);
	draw_fkeys(t, keys);
}

/* One group: its count, one of its tasks' stack, and what they wait on. */
static void draw_task(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "t", "Threads ",
					    "F1", "Help ", "F10", "Quit", NULL };
	const struct tasks_result *r = t->have_last && t->last.tasks_known ? &t->last.tasks : NULL;
	const struct task *tk = NULL;
	const struct task_group *gr = NULL;
	char line[1400], label[1024], b[32];
	int y = 5;

	draw_header(t);
	for (size_t g = 0; r && g < r->ngroups && !tk; g++) {
		task_group_label(r, g, label, sizeof(label));
		if (strcmp(label, t->task_label) == 0) {
			gr = &r->groups[g];
			tk = &r->v[gr->example];
		}
	}
	if (!tk) {
		panel_title(t, 4, " TASK GROUP", 1);
		put(y, 2, COLS - 2, "no pending task of this group now");
		draw_fkeys(t, keys);
		return;
	}
	human(b, sizeof(b), gr->retained);
	snprintf(line, sizeof(line), " %llu pending tasks alike, retaining %s",
		 (unsigned long long)gr->count, b);
	panel_title(t, 4, line, 1);
	attron(A_BOLD);
	snprintf(line, sizeof(line), "one of them: %s (%s at 0x%llx)", tk->name[0] ? tk->name : "",
		 tk->type, (unsigned long long)tk->addr);
	put(y++, 0, COLS, line);
	attroff(A_BOLD);
	for (size_t k = 0; k < tk->nstack && y < LINES - 6; k++) {
		snprintf(line, sizeof(line), "  %*s%s (%s:%d)", (int)(2 * (k < 10 ? k : 10)), "",
			 tk->stack[k].qualname, tk->stack[k].file, tk->stack[k].line);
		put(y++, 0, COLS, line);
	}
	y++;
	attron(A_BOLD);
	put(y++, 0, COLS, "waits on");
	attroff(A_BOLD);
	if (tk->waits) {
		snprintf(line, sizeof(line), "%s: %s at 0x%llx%s%s", tk->waits_kind, tk->waits_type,
			 (unsigned long long)tk->waits, tk->owner_type[0] ? ", the waiter of " : "",
			 tk->owner_type);
		y += put_wrapped(y, 2, line);
		snprintf(line, sizeof(line), "held as %s", tk->holder[0] ? tk->holder :
			 "(no root reaches it)");
		y += put_wrapped(y, 2, line);
	} else {
		put(y++, 2, COLS - 2, tk->running_in ? "nothing: its thread runs it now" :
		    "nothing: ready to run");
	}
	draw_fkeys(t, keys);
}

static void draw_threads(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Ent", "Native stack ", "F1", "Help ",
					    "Spc", "Pause ", "F10", "Quit", NULL };
	const struct stacks *st = last_stacks(t);
	char line[1024];
	int y0 = 5, height, sel;

	draw_header(t);
	if (!st) {
		panel_title(t, 4, " THREADS: the last snapshot read none", 1);
		draw_fkeys(t, keys);
		return;
	}
	snprintf(line, sizeof(line), " THREADS (%zu)   Python frames, innermost first", st->n);
	panel_title(t, 4, line, 1);
	if (st->note[0]) {
		snprintf(line, sizeof(line), "note: %s", st->note);
		put(y0++, 0, COLS, line);
	}
	height = LINES - 1 - y0;
	sel = thread_sel_row(t, st);
	keep_visible(&sel, &t->thr_top, thread_rows(st), height);
	for (int r = 0; r < height; r++) {
		int row = t->thr_top + r;
		size_t i;
		long k;
		attr_t a = 0;

		if (thread_locate(st, row, &i, &k) < 0)
			break;
		if (k < 0) {
			report_thread_title(line, sizeof(line), &st->threads[i]);
			a = A_BOLD;
		} else {
			report_frame_text(line, sizeof(line), &st->threads[i].frames[k], 0);
		}
		if (row == sel)
			a = attr_of(t, C_SELECT, A_REVERSE);
		put_row(y0 + r, a, line);
	}
	draw_fkeys(t, keys);
}

/* One thread's native and Python frames, as Enter took them. */
static void draw_thread(struct tui *t)
{
	static const char *const keys[] = { "Esc", "Back ", "Up/Dn", "Scroll ", "F1", "Help ",
					    "F10", "Quit", NULL };
	const struct thread_stack *th = native_thread(t);
	char line[1024], title[160];
	int height = LINES - 6, nlines = native_lines(th), y = 5, at;

	draw_header(t);
	if (!th) {
		snprintf(line, sizeof(line), " %s", t->native_title);
		panel_title(t, 4, line, 1);
		if (t->native_error[0])
			snprintf(line, sizeof(line), "  could not read the stacks: %s", t->native_error);
		else
			snprintf(line, sizeof(line), "  the thread exited after the snapshot");
		put(5, 0, COLS, line);
		draw_fkeys(t, keys);
		return;
	}
	report_thread_title(title, sizeof(title), th);
	snprintf(line, sizeof(line), " %s   native and Python frames, innermost first; stopped %.1f ms",
		 title, (double)t->native.pause_us / 1000.0);
	panel_title(t, 4, line, 1);
	if (t->native_top > nlines - height)
		t->native_top = nlines - height;
	if (t->native_top < 0)
		t->native_top = 0;
	at = t->native_top;
	if (th->native_error[0] && at-- == 0) {
		snprintf(line, sizeof(line), "    (%s)", th->native_error);
		put(y++, 0, COLS, line);
	}
	for (size_t k = at > 0 ? (size_t)at : 0; k < th->n && y < LINES - 1; k++) {
		report_frame_text(line, sizeof(line), &th->frames[k], 1);
		put(y++, 0, COLS, line);
	}
	draw_fkeys(t, keys);
}

static void draw_help(struct tui *t)
{
	static const char *const lines[] = {
		"leaktop - what grows in a live CPython process",
		"",
		"Every interval leaktop stops the target only to copy its memory, lets it",
		"go, and counts its objects by type in the copy.  Rows in colour grow",
		"steadily (up in at least two thirds of the last 10 snapshots, trending",
		"up); TREND is their count lately.  GROWING HOLDERS, above the types, are",
		"the names (globals, class attributes, locals) whose retained bytes do.",
		"",
		"  q, F10        quit                  h, F1, ?    this help",
		"  space         pause / resume        b           reset the baseline",
		"  + -           slower / faster       s, F6       next sort column",
		"  /, F4         filter types by name  Esc         clear filter, go back",
		"  Tab           types <-> handles     Enter       detail of the row",
		"  g             cyclic garbage        t           threads' stacks",
		"  r             retainers: what freeing each frees; Enter: chain, contents",
		"  a             asyncio's pending tasks by stack and wait; Enter: one group",
		"  arrows, PgUp/PgDn, Home/End  move;  Up/Down in a handle detail: chain of fd",
		"  RSS bar: o objects b buffers p pymalloc free m malloc f files s stacks a anon",
		"A detail view names why objects are alive: the shortest chains from a",
		"module, a thread's frame (t shows it) or C, as `leaktop why` prints them.",
		"CHANGE is since the previous snapshot, SINCE BASE since the baseline (the",
		"first snapshot, or the last b).  Sorting by growth ranks steady climbers",
		"above types that jump up and down.  Press any key to go back.",
		NULL
	};

	erase();
	attron(A_BOLD);
	put(0, 0, COLS, "Help");
	attroff(A_BOLD);
	for (int i = 0; lines[i] && i + 2 < LINES; i++)
		put(i + 2, 0, COLS, lines[i]);
}

static void draw(struct tui *t)
{
	erase();
	switch (t->view) {
	case VIEW_MAIN:
		draw_main(t);
		break;
	case VIEW_HELP:
		draw_help(t);
		break;
	case VIEW_TYPE:
		draw_type_detail(t);
		break;
	case VIEW_HANDLE:
		draw_handle_detail(t);
		break;
	case VIEW_GARBAGE:
		draw_garbage(t);
		break;
	case VIEW_THREADS:
		draw_threads(t);
		break;
	case VIEW_THREAD:
		draw_thread(t);
		break;
	case VIEW_RETAINERS:
		draw_retainers(t);
		break;
	case VIEW_RETAINER:
		draw_retainer(t);
		break;
	case VIEW_TASKS:
		draw_tasks(t);
		break;
	case VIEW_TASK:
		draw_task(t);
		break;
	}
	refresh();
}

/* ---- keys ---- */

static void step_interval(struct tui *t, int dir)
{
	size_t i = 0;

	while (i < LT_ARRAY_SIZE(intervals) - 1 && intervals[i] < t->interval)
		i++;
	if (dir > 0 && intervals[i] <= t->interval && i < LT_ARRAY_SIZE(intervals) - 1)
		i++;
	else if (dir < 0 && i > 0)
		i--;
	t->interval = intervals[i];
	t->period = snapshot_period(t->interval, t->max_stopped, t->have_last ? t->last.pause_us : 0);
	t->next_due_us = lt_now_us() + (uint64_t)(t->period * 1e6);
	snprintf(t->status, sizeof(t->status), "interval %.1f s", t->interval);
}

static int filter_key(struct tui *t, int ch)
{
	size_t len = strlen(t->filter);

	if (ch == '\n' || ch == KEY_ENTER) {
		t->editing_filter = 0;
	} else if (ch == 27) {
		t->filter[0] = '\0';
		t->editing_filter = 0;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len)
			t->filter[len - 1] = '\0';
	} else if (ch >= 32 && ch < 127 && len + 1 < sizeof(t->filter)) {
		t->filter[len] = (char)ch;
		t->filter[len + 1] = '\0';
	} else {
		return KEY_HANDLED;
	}
	t->sel[PANEL_TYPES] = t->top[PANEL_TYPES] = 0;
	return KEY_HANDLED | KEY_REDRAW | KEY_RESCAN;
}

/* Arrows, j/k, PgUp/PgDn, Home/End move *sel among nrows rows; 0 for
 * other keys. */
static int move_sel(int *sel, int nrows, int ch)
{
	int page = LINES / 2 > 1 ? LINES / 2 : 1;

	switch (ch) {
	case KEY_UP: case 'k': (*sel)--; break;
	case KEY_DOWN: case 'j': (*sel)++; break;
	case KEY_PPAGE: *sel -= page; break;
	case KEY_NPAGE: *sel += page; break;
	case KEY_HOME: *sel = 0; break;
	case KEY_END: *sel = nrows - 1; break;
	default: return 0;
	}
	if (*sel >= nrows)
		*sel = nrows - 1;
	if (*sel < 0)
		*sel = 0;
	return KEY_HANDLED | KEY_REDRAW;
}

static int move_key(struct tui *t, int ch)
{
	return move_sel(&t->sel[t->focus], t->focus == PANEL_TYPES ? (int)t->nrows : (int)t->nhrows,
			ch);
}

static int main_key(struct tui *t, int ch)
{
	int r = move_key(t, ch);

	if (r)
		return r;
	switch (ch) {
	case '/':
	case KEY_F(4):
		t->editing_filter = 1;
		return KEY_HANDLED | KEY_REDRAW;
	case 27:
		if (!*t->filter)
			return KEY_HANDLED;
		t->filter[0] = '\0';
		return KEY_HANDLED | KEY_REDRAW | KEY_RESCAN;
	case 's':
	case KEY_F(6):
		t->sort = (enum stat_sort)((t->sort + 1) % SORT_COUNT_OF);
		snprintf(t->status, sizeof(t->status), "sorted by %s", sort_names[t->sort]);
		return KEY_HANDLED | KEY_REDRAW | KEY_RESCAN;
	case '\t':
		t->focus = t->focus == PANEL_TYPES ? PANEL_HANDLES : PANEL_TYPES;
		return KEY_HANDLED | KEY_REDRAW;
	case '\n':
	case KEY_ENTER:
		if (t->focus == PANEL_TYPES && t->sel[PANEL_TYPES] < (int)t->nrows) {
			snprintf(t->detail_type, sizeof(t->detail_type), "%s",
				 t->rows[t->sel[PANEL_TYPES]].name);
			t->view = VIEW_TYPE;
			/* Sample instances now rather than at the next refresh. */
			t->next_due_us = 0;
		} else if (t->focus == PANEL_HANDLES && t->sel[PANEL_HANDLES] < (int)t->nhrows) {
			snprintf(t->detail_group, sizeof(t->detail_group), "%s",
				 t->hrows[t->sel[PANEL_HANDLES]].name);
			t->view = VIEW_HANDLE;
			t->detail_fd = -1;        /* the group's first, when drawn */
			t->next_due_us = 0;
		}
		return KEY_HANDLED | KEY_REDRAW;
	case 'g':
		t->view = VIEW_GARBAGE;
		return KEY_HANDLED | KEY_REDRAW;
	case 'a':
		t->view = VIEW_TASKS;
		return KEY_HANDLED | KEY_REDRAW;
	case 'r':
		t->view = VIEW_RETAINERS;
		if (ret_find(t, t->ret_addr) < 0) {
			t->ret_sel = t->ret_top = 0;
			t->ret_addr = ret_rows(t) ? t->ret.v[0].addr : 0;
		}
		if (!t->ret_fresh)
			t->next_due_us = 0;  /* a detail view's snapshots leave them out */
		return KEY_HANDLED | KEY_REDRAW;
	default:
		return 0;
	}
}

/* Handle detail: the next or previous descriptor of the group gets the chain. */
static void step_fd(struct tui *t, int dir)
{
	char group[320];
	int prev = -1, found = 0;

	for (size_t i = 0; t->have_last && i < t->last.fds.n; i++) {
		const struct fd_entry *e = &t->last.fds.v[i];

		fd_group(e, group, sizeof(group));
		if (strcmp(group, t->detail_group) != 0)
			continue;
		if (found) {
			t->detail_fd = e->fd;
			break;
		}
		if (e->fd == t->detail_fd) {
			if (dir < 0) {
				if (prev >= 0)
					t->detail_fd = prev;
				break;
			}
			found = 1;
		}
		prev = e->fd;
	}
	if (t->have_why)
		why_free(&t->why);
	t->have_why = 0;
	t->next_due_us = 0;  /* name its chain now */
}

static int is_back_key(int ch)
{
	return ch == 27 || ch == KEY_LEFT || ch == KEY_BACKSPACE || ch == 127;
}

/* Select the thread (and frame) a chain starts at; 0 if it starts at none. */
static int select_chain_thread(struct tui *t, const struct stacks *st, const struct why_chain *ch)
{
	long frame, i = thread_of_chain(st, ch, &frame);

	if (i < 0)
		return 0;
	t->thr_pos = (size_t)i;
	t->thr_tid = st->threads[i].tid;
	t->thr_frame = frame;
	return 1;
}

/* t: the threads of the last snapshot; from a detail view, with the
 * thread (and frame) of its most common chain from a thread selected. */
static int open_threads(struct tui *t)
{
	const struct stacks *st = last_stacks(t);

	if (t->view != VIEW_THREADS && t->view != VIEW_THREAD)
		t->thr_back = t->view;
	if ((t->view == VIEW_TYPE || t->view == VIEW_HANDLE) && t->have_why) {
		for (size_t k = 0; k < t->why.nchains; k++)
			if (select_chain_thread(t, st, &t->why.chains[k]))
				break;
	} else if (t->view == VIEW_RETAINER && ret_find(t, t->ret_addr) >= 0) {
		select_chain_thread(t, st, &t->ret.v[ret_find(t, t->ret_addr)].chain);
	}
	t->view = VIEW_THREADS;
	return KEY_HANDLED | KEY_REDRAW;
}

static int threads_key(struct tui *t, int ch)
{
	const struct stacks *st = last_stacks(t);
	int row, r;
	size_t i;
	long k;

	if (is_back_key(ch)) {
		t->view = t->thr_back;
		if (t->view == VIEW_TYPE || t->view == VIEW_HANDLE)
			t->next_due_us = 0;  /* name its chains again now */
		return KEY_HANDLED | KEY_REDRAW;
	}
	if (!st || !st->n)
		return KEY_HANDLED;
	row = thread_sel_row(t, st);
	r = move_sel(&row, thread_rows(st), ch);
	if (r) {
		thread_sel_set(t, st, row);
		return r;
	}
	if ((ch == '\n' || ch == KEY_ENTER) && thread_locate(st, row, &i, &k) == 0) {
		take_native(t, &st->threads[i]);
		t->view = VIEW_THREAD;
		return KEY_HANDLED | KEY_REDRAW;
	}
	return KEY_HANDLED;
}

static int thread_key(struct tui *t, int ch)
{
	int scroll = native_lines(native_thread(t)) - (LINES - 6) + 1, r;

	if (is_back_key(ch) || ch == '\n' || ch == KEY_ENTER) {
		t->view = VIEW_THREADS;
		return KEY_HANDLED | KEY_REDRAW;
	}
	r = move_sel(&t->native_top, scroll > 1 ? scroll : 1, ch);
	return r ? r : KEY_HANDLED;
}

static int retainers_key(struct tui *t, int ch)
{
	int n = ret_rows(t), r;

	if (is_back_key(ch)) {
		t->view = VIEW_MAIN;
		return KEY_HANDLED | KEY_REDRAW;
	}
	if (!n)
		return KEY_HANDLED;
	r = move_sel(&t->ret_sel, n, ch);
	if (r) {
		t->ret_addr = t->ret.v[t->ret_sel].addr;
		return r;
	}
	if ((ch == '\n' || ch == KEY_ENTER) && t->ret_sel < n) {
		t->ret_addr = t->ret.v[t->ret_sel].addr;
		t->hold_top = 0;
		t->view = VIEW_RETAINER;
		return KEY_HANDLED | KEY_REDRAW;
	}
	return KEY_HANDLED;
}

static int retainer_key(struct tui *t, int ch)
{
	int k = ret_find(t, t->ret_addr), r;

	if (is_back_key(ch) || ch == '\n' || ch == KEY_ENTER) {
		t->view = VIEW_RETAINERS;
		return KEY_HANDLED | KEY_REDRAW;
	}
	/* draw_retainer keeps the last rows in sight */
	r = k >= 0 && t->ret.v[k].nholds ? move_sel(&t->hold_top, (int)t->ret.v[k].nholds, ch) : 0;
	return r ? r : KEY_HANDLED;
}

static int tasks_key(struct tui *t, int ch)
{
	struct type_stat *st;
	int n = (int)task_rows(t, &st), r;

	free(st);
	if (is_back_key(ch)) {
		t->view = VIEW_MAIN;
		return KEY_HANDLED | KEY_REDRAW;
	}
	r = n ? move_sel(&t->task_sel, n, ch) : 0;
	if (r)
		return r;
	if ((ch == '\n' || ch == KEY_ENTER) && t->task_sel < n) {
		t->view = VIEW_TASK;   /* draw_tasks keeps task_label on the selected row */
		return KEY_HANDLED | KEY_REDRAW;
	}
	return KEY_HANDLED;
}

static int handle_key(struct tui *t, int ch)
{
	int r;

	if (t->editing_filter)
		return filter_key(t, ch);
	if (t->view == VIEW_HELP) {
		t->view = VIEW_MAIN;
		return KEY_HANDLED | KEY_REDRAW;
	}
	t->status[0] = '\0';
	switch (ch) {
	case 'q':
	case 'Q':
	case KEY_F(10):
		return KEY_QUIT;
	case 'h':
	case '?':
	case KEY_F(1):
		t->view = VIEW_HELP;
		return KEY_HANDLED | KEY_REDRAW;
	case ' ':
		if (t->file)
			return KEY_HANDLED;  /* nothing runs */
		t->paused = !t->paused;
		if (!t->paused)
			t->next_due_us = 0;
		return KEY_HANDLED | KEY_REDRAW;
	case 'b':
		history_reset_baseline(&t->h);
		history_reset_baseline(&t->hf);
		history_reset_baseline(&t->hh);
		history_reset_baseline(&t->ht);
		snprintf(t->status, sizeof(t->status), "baseline reset");
		return KEY_HANDLED | KEY_REDRAW | KEY_RESCAN;
	case '+':
	case '=':
		if (t->file)
			return KEY_HANDLED;
		step_interval(t, 1);
		return KEY_HANDLED | KEY_REDRAW;
	case '-':
		if (t->file)
			return KEY_HANDLED;
		step_interval(t, -1);
		return KEY_HANDLED | KEY_REDRAW;
	case KEY_RESIZE:
		return KEY_HANDLED | KEY_REDRAW;
	default:
		break;
	}
	if (ch == 't')
		return open_threads(t);
	if (t->view == VIEW_THREADS)
		return threads_key(t, ch);
	if (t->view == VIEW_THREAD)
		return thread_key(t, ch);
	if (t->view == VIEW_RETAINERS)
		return retainers_key(t, ch);
	if (t->view == VIEW_RETAINER)
		return retainer_key(t, ch);
	if (t->view == VIEW_TASKS)
		return tasks_key(t, ch);
	if (t->view == VIEW_TASK) {
		if (is_back_key(ch) || ch == '\n' || ch == KEY_ENTER)
			t->view = VIEW_TASKS;
		return KEY_HANDLED | KEY_REDRAW;
	}
	if (t->view == VIEW_HANDLE && (ch == KEY_UP || ch == KEY_DOWN || ch == 'k' || ch == 'j')) {
		step_fd(t, ch == KEY_DOWN || ch == 'j' ? 1 : -1);
		return KEY_HANDLED | KEY_REDRAW;
	}
	if (t->view != VIEW_MAIN) {
		if (is_back_key(ch) || ch == '\n' || ch == KEY_ENTER) {
			t->view = VIEW_MAIN;
			return KEY_HANDLED | KEY_REDRAW;
		}
		return KEY_HANDLED;
	}
	r = main_key(t, ch);
	return r ? r : KEY_HANDLED;
}

/* ---- set-up and loop ---- */

static void init_colors(struct tui *t)
{
	const char *nc = getenv("NO_COLOR");

	t->color = has_colors() && !(nc && *nc);
	if (!t->color)
		return;
	start_color();
	use_default_colors();
	init_pair(C_LABEL, COLOR_CYAN, -1);
	init_pair(C_GROW, COLOR_RED, -1);
	init_pair(C_SELECT, COLOR_BLACK, COLOR_CYAN);
	init_pair(C_FKEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(C_FLABEL, -1, -1);
	init_pair(C_WARN, COLOR_YELLOW, -1);
	init_pair(C_PANEL, COLOR_BLACK, COLOR_GREEN);
	init_pair(C_SPARK, COLOR_GREEN, -1);
}

int tui_run(pid_t pid, const char *file, const struct snapshot_opts *opts, double interval,
	    double max_stopped_pct)
{
	struct tui t;
	struct snapshot_opts o = *opts;
	struct sigaction old_int, old_term, old_hup;
	int quit = 0;

	memset(&t, 0, sizeof(t));
	t.pid = pid;
	t.file = file;
	t.interval = t.period = interval;
	t.max_stopped = max_stopped_pct;
	t.sort = SORT_GROWTH;
	history_init(&t.h);
	history_init(&t.hf);
	history_init(&t.hh);
	history_init(&t.ht);
	t.hh.growth_on_bytes = 1;
	t.thr_frame = -1;
	o.stacks = 1;                     /* the threads view shows the last snapshot's */
	o.retainers = o.gc_only ? 0 : RETAIN_TRACK;  /* the holders, followed */
	if ((file ? snapfile_session_open(&t.se, file, &o) : session_open(&t.se, pid, &o)) < 0) {
		history_free(&t.h);
		history_free(&t.hf);
		history_free(&t.hh);
		history_free(&t.ht);
		return -1;
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		/* Ctrl-C, kill and a closed terminal end the view like q
		 * does, from here on (the first snapshot too): a stopped
		 * target is let go at once, the snapshot under way fails its
		 * reads, the terminal is given back, the status is 0. */
		sa.sa_handler = attach_stop_signal_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGHUP, &sa, &old_hup);
	}
	t.started_us = lt_now_us();
	if (take_snapshot(&t) < 0) {
		int stopped = lt_stop_requested;

		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		session_close(&t.se);
		history_free(&t.h);
		history_free(&t.hf);
		history_free(&t.hh);
		history_free(&t.ht);
		return stopped ? 0 : -1;
	}

	setlocale(LC_ALL, "");
	t.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	init_colors(&t);
	rebuild_rows(&t);
	while (!quit && !lt_stop_requested) {
		uint64_t now = lt_now_us();
		int ch, flags;
		long wait_ms;

		if (!t.paused && !t.exited && now >= t.next_due_us) {
			if (take_snapshot(&t) < 0) {
				enum lt_errkind k = lt_last_errkind();

				if (k == LT_ERR_GONE || k == LT_ERR_NOTFOUND)
					t.exited = 1;
				else
					snprintf(t.status, sizeof(t.status), "%s", lt_last_error());
				t.next_due_us = lt_now_us() + (uint64_t)(t.period * 1e6);
			}
			rebuild_rows(&t);
		}
		draw(&t);
		now = lt_now_us();
		wait_ms = t.paused || t.exited || t.next_due_us <= now ? 1000 :
			  (long)((t.next_due_us - now) / 1000);
		timeout((int)(wait_ms < 1000 ? wait_ms : 1000));  /* redraw the clock */
		ch = getch();
		if (ch == ERR || lt_stop_requested)
			continue;
		flags = handle_key(&t, ch);
		if (flags & KEY_QUIT)
			quit = 1;
		if (flags & KEY_RESCAN)
			rebuild_rows(&t);
	}
	endwin();
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	free(t.rows);
	free(t.hrows);
	if (t.have_why)
		why_free(&t.why);
	if (t.have_native)
		stacks_free(&t.native);
	if (t.have_last)
		snapshot_free(&t.last);
	retainers_free(&t.ret);
	history_free(&t.h);
	history_free(&t.hf);
	history_free(&t.hh);
	session_close(&t.se);
	return 0;
}
