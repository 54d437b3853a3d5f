/* main.c - the command line: parse, run one command, map errors to exit codes.
 *
 * Exit status (../shared/spec/interface.md): 0 success; 1 the target could
 * not be inspected; 2 usage error.  Errors are one line on stderr. */
#include "config.h"
#include "attach.h"
#include "core.h"
#include "diff.h"
#include "heapsnap.h"
#include "history.h"
#include "proc.h"
#include "layout.h"
#include "metrics.h"
#include "outfile.h"
#include "owners.h"
#include "report.h"
#include "retain.h"
#include "serve.h"
#include "snapfile.h"
#include "snapshot.h"
#include "stacks.h"
#include "tui.h"
#include "util.h"
#include "why.h"
#include "tasks.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_TARGET 1
#define EXIT_USAGE 2

struct options {
	const char *command;
	pid_t pid;               /* the live process, or 0 */
	const char *file;        /* or a snapshot file ("-": standard input) */
	const char *core;        /* or a core file (--core), exe its program (--exe) */
	const char *exe;
	const char *save;        /* dump: also write a snapshot file ("-": stdout) */
	int heapsnapshot;        /* dump --format heapsnapshot */
	const char *newer;       /* diff: the second PID or FILE (the first is pid/file) */
	int json;
	int top;
	double interval;         /* seconds between snapshots (watch, top) */
	long count;              /* snapshots to take (watch); 0 = until interrupted */
	const char *selector;    /* why: what to explain */
	long max;                /* why: chains to show */
	double max_stopped;      /* watch, top: largest share of time the target may spend stopped, % */
	int locals;              /* stacks: each Python frame's locals */
	int all;                 /* tasks: every task, not only the groups */
	const char *prometheus;  /* watch: the metrics file, rewritten each snapshot */
	const char *listen;      /* serve: HOST:PORT */
	pid_t pids[SERVE_MAX_PIDS];  /* serve: every PID given */
	size_t npids;
	struct snapshot_opts snap;
};

static void usage(FILE *out)
{
	fputs("usage: leaktop [options] PID               interactive view (same as top)\n"
	      "       leaktop top [--interval S] PID       interactive view, refreshed every S s\n"
	      "       leaktop dump [--json] [--top N] PID   one-shot census of the object heap\n"
	      "       leaktop dump --save FILE PID          also keep it in a snapshot file\n"
	      "                                            (- for stdout: | zstd > heap.lts)\n"
	      "       leaktop dump --format heapsnapshot PID > heap.heapsnapshot\n"
	      "                                            the heap for DevTools' Memory tab\n"
	      "                                            and memlab\n"
	      "       leaktop diff [--json] OLD NEW         what grew between two snapshot files\n"
	      "                                            (or a file and a PID)\n"
	      "       leaktop watch [--json] [--prometheus FILE] [--interval S] [--count N] PID\n"
	      "                                            a snapshot every S s: what grew\n"
	      "       leaktop serve --listen HOST:PORT [--interval S] PID...\n"
	      "                                            the metrics of each PID on\n"
	      "                                            http://HOST:PORT/metrics (Prometheus)\n"
	      "       leaktop stacks [--json] [--native] [--locals] PID\n"
	      "                                            what every thread is doing: its\n"
	      "                                            Python frames (and native ones)\n"
	      "       leaktop why [--json] [--max N] PID SELECTOR\n"
	      "                                            chains from a root to the objects:\n"
	      "                                            a type (__main__.Leaky), an address\n"
	      "                                            (0x7f...) or fd:N (the fd's owner)\n"
	      "       leaktop tasks [--json] [--all] [--top N] PID\n"
	      "                                            asyncio's tasks: the pending ones\n"
	      "                                            grouped by stack and what they wait on\n"
	      "\n"
	      "dump, why, stacks, tasks, diff and the view read a snapshot FILE in place of a\n"
	      "PID, and dump, why, stacks and tasks a core file with --core CORE [--exe PYTHON].\n"
	      "\n"
	      "Attach to a running CPython 3.8+ process, stop it only to copy its memory,\n"
	      "let it go, and report its objects by type from the copy.  Nothing is run\n"
	      "inside the target and its memory is never written.\n"
	      "\n"
	      "options:\n"
	      "  --json            machine-readable output (format leaktop-dump/1)\n"
	      "  --top N           rows in the text table (default 30, 0 for all; watch 20)\n"
	      "  --interval S      seconds between snapshots (default 2)\n"
	      "  --count N         snapshots to take, then exit (default: until interrupted)\n"
	      "  --max N           why: chain shapes to show, most common first (default 5)\n"
	      "  --native          stacks, dump: native frames too, unwound in the stop,\n"
	      "                    with the Python frames in place of the evaluation loops\n"
	      "  --locals          stacks: each Python frame's local variables\n"
	      "  --prometheus FILE watch: also write the metrics in Prometheus text format to\n"
	      "                    FILE at each snapshot (atomically: node_exporter's\n"
	      "                    textfile collector)\n"
	      "  --save FILE       dump: write the snapshot to FILE too (- : stdout, no report)\n"
	      "  --format F        dump: text (default), json, or heapsnapshot\n"
	      "  --core CORE       dump, why, stacks: read an ELF core file (gcore's, the\n"
	      "                    kernel's) instead of a process\n"
	      "  --exe PYTHON      with --core: the program that dumped it, when the core's\n"
	      "                    own record of its path no longer opens\n"
	      "  --layout SOURCE   where struct layouts come from: auto (default), dwarf,\n"
	      "                    debug-offsets, table\n"
	      "  --max-pause MS    longest stop per snapshot (default 1000); past it the\n"
	      "                    census is finished from the running target, incomplete\n"
	      "  --max-stopped PCT watch, top: largest share of time the target may spend\n"
	      "                    stopped (default 5); the interval grows to keep it\n"
	      "  --no-block        read the target without stopping it (may be inconsistent)\n"
	      "  --gc-only         count only GC-tracked objects (faster; no str, int ...)\n"
	      "  --group-dicts     count instance __dict__s as 'dict of CLASS' (as heapy)\n"
	      "  -h, --help        this help\n"
	      "  --version         version\n"
	      "\n"
	      "exit status: 0 success, 1 the target could not be inspected, 2 usage error\n",
	      out);
}

static int usage_error(const char *fmt, ...) LT_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("leaktop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try leaktop --help)\n", stderr);
	return EXIT_USAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum { OPT_LAYOUT = 256, OPT_NO_BLOCK, OPT_VERSION, OPT_TOP, OPT_JSON, OPT_INTERVAL, OPT_COUNT,
       OPT_GC_ONLY, OPT_GROUP_DICTS, OPT_MAX, OPT_MAX_PAUSE, OPT_MAX_STOPPED, OPT_NATIVE,
       OPT_LOCALS, OPT_PROMETHEUS, OPT_LISTEN, OPT_SAVE, OPT_FORMAT, OPT_CORE, OPT_EXE, OPT_ALL };

/* A decimal number (seconds, a percentage), within [lo, hi]: digits and
 * one point (strtod alone would take 0x10, inf and 1e3 too). */
static int parse_decimal(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s || strspn(s, "0123456789.") != strlen(s) || strchr(s, '.') != strrchr(s, '.') ||
	    strcmp(s, ".") == 0)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		{ "no-block", no_argument, NULL, OPT_NO_BLOCK },
		{ "gc-only", no_argument, NULL, OPT_GC_ONLY },
		{ "group-dicts", no_argument, NULL, OPT_GROUP_DICTS },
		{ "max-pause", required_argument, NULL, OPT_MAX_PAUSE },
		{ "max-stopped", required_argument, NULL, OPT_MAX_STOPPED },
		{ "native", no_argument, NULL, OPT_NATIVE },
		{ "locals", no_argument, NULL, OPT_LOCALS },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "core", required_argument, NULL, OPT_CORE },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *pid_arg = NULL, *more[SERVE_MAX_PIDS];
	size_t nmore = 0;
	int ch;
	long v;

	memset(o, 0, sizeof(*o));
	o->top = -1;
	o->interval = 2.0;
	o->max_stopped = 5.0;
	o->snap.max_pause_ms = SNAPSHOT_DEFAULT_MAX_PAUSE_MS;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1 || optind < argc) {
		if (ch == -1) {
			/* A positional argument: the command, then the PID. */
			const char *arg = argv[optind++];

			if (!o->command && !pid_arg && strspn(arg, "0123456789") != strlen(arg))
				o->command = arg;
			else if (!pid_arg)
				pid_arg = arg;
			else if (o->command && strcmp(o->command, "why") == 0 && !o->selector)
				o->selector = arg;
			else if (o->command && strcmp(o->command, "diff") == 0 && !o->newer)
				o->newer = arg;
			else if (o->command && strcmp(o->command, "serve") == 0 &&
				 nmore < SERVE_MAX_PIDS - 1)
				more[nmore++] = arg;
			else
				return usage_error("unexpected argument '%s'", arg);
			continue;
		}
		switch (ch) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("leaktop %s\nbuilt-in layout tables:", PACKAGE_VERSION);
			for (size_t i = 0; i < layout_tables_count; i++)
				printf(" %s%s%s", layout_tables[i].version, layout_tables[i].debug ? "d" : "",
				       layout_tables[i].verified ? "" : " (unverified)");
			printf("\n");
			exit(0);
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_TOP:
			if (parse_int(optarg, 0, INT_MAX, &v) < 0)
				return usage_error("--top needs a number of rows, not '%s'", optarg);
			o->top = (int)v;
			break;
		case OPT_INTERVAL:
			if (parse_decimal(optarg, 0.1, 86400, &o->interval) < 0)
				return usage_error("--interval needs seconds from 0.1 to 86400, not '%s'",
						   optarg);
			break;
		case OPT_COUNT:
			if (parse_int(optarg, 1, LONG_MAX, &v) < 0)
				return usage_error("--count needs a positive number, not '%s'", optarg);
			o->count = v;
			break;
		case OPT_MAX:
			if (parse_int(optarg, 1, 100000, &v) < 0)
				return usage_error("--max needs a number of chains from 1 to 100000, not '%s'",
						   optarg);
			o->max = v;
			break;
		case OPT_LAYOUT:
			if (layout_source_parse(optarg, &o->snap.layout) < 0)
				return usage_error("--layout must be auto, dwarf, debug-offsets or table, "
						   "not '%s'", optarg);
			break;
		case OPT_NO_BLOCK:
			o->snap.no_block = 1;
			break;
		case OPT_GC_ONLY:
			o->snap.gc_only = 1;
			break;
		case OPT_GROUP_DICTS:
			o->snap.group_dicts = 1;
			break;
		case OPT_NATIVE:
			o->snap.native = 1;
			break;
		case OPT_LOCALS:
			o->locals = 1;
			break;
		case OPT_ALL:
			o->all = 1;
			break;
		case OPT_LISTEN:
			if (!strrchr(optarg, ':') || strrchr(optarg, ':') == optarg ||
			    parse_int(strrchr(optarg, ':') + 1, 0, 65535, &v) < 0)
				return usage_error("--listen needs HOST:PORT (127.0.0.1:9123), not '%s'",
						   optarg);
			o->listen = optarg;
			break;
		case OPT_SAVE:
			if (!*optarg)
				return usage_error("--save needs a file name, or - for standard output");
			o->save = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				o->json = 1;
			else if (strcmp(optarg, "heapsnapshot") == 0)
				o->heapsnapshot = 1;
			else if (strcmp(optarg, "text") != 0)
				return usage_error("--format must be text, json or heapsnapshot, not '%s'",
						   optarg);
			break;
		case OPT_CORE:
			if (!*optarg)
				return usage_error("--core needs the core file");
			o->core = optarg;
			break;
		case OPT_EXE:
			if (!*optarg)
				return usage_error("--exe needs the program's path");
			o->exe = optarg;
			break;
		case OPT_PROMETHEUS:
			if (!*optarg)
				return usage_error("--prometheus needs a file name");
			o->prometheus = optarg;
			break;
		case OPT_MAX_PAUSE:
			if (parse_int(optarg, 1, 3600000, &v) < 0)
				return usage_error("--max-pause needs milliseconds from 1 to 3600000, not '%s'",
						   optarg);
			o->snap.max_pause_ms = v;
			break;
		case OPT_MAX_STOPPED:
			if (parse_decimal(optarg, 0.01, 100, &o->max_stopped) < 0)
				return usage_error("--max-stopped needs a percentage from 0.01 to 100, not '%s'",
						   optarg);
			break;
		case '?':
		default:
			if (optopt)
				return usage_error("option '%s' needs a value or is unknown",
						   argv[optind - 1]);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!o->command)
		o->command = "top";
	if (o->top < 0)
		o->top = strcmp(o->command, "watch") == 0 ? 20 : 30;
	if (o->core && strcmp(o->command, "why") == 0 && pid_arg && !o->selector) {
		o->selector = pid_arg;  /* why --core CORE SELECTOR */
		pid_arg = NULL;
	}
	if (o->core && pid_arg)
		return usage_error("give a PID, a snapshot file or --core CORE, not two of them");
	if (o->core && strcmp(o->command, "dump") != 0 && strcmp(o->command, "why") != 0 &&
	    strcmp(o->command, "stacks") != 0 && strcmp(o->command, "tasks") != 0)
		return usage_error("--core is for leaktop dump, why, stacks and tasks");
	if (o->exe && !o->core)
		return usage_error("--exe goes with --core");
	if (!pid_arg && !o->core && strcmp(o->command, "diff") == 0)
		return usage_error("diff needs two snapshots: OLD NEW (snapshot files, or a file and "
				   "a PID)");
	if (!pid_arg && !o->core)
		return usage_error("%s needs the PID of a Python process", o->command);
	if (pid_arg && strspn(pid_arg, "0123456789") != strlen(pid_arg)) {
		/* not a number: a snapshot file */
		if (strcmp(o->command, "dump") != 0 && strcmp(o->command, "why") != 0 &&
		    strcmp(o->command, "stacks") != 0 && strcmp(o->command, "diff") != 0 &&
		    strcmp(o->command, "top") != 0 && strcmp(o->command, "tasks") != 0)
			return usage_error("%s needs the PID of a live process, not '%s' (dump, why, "
					   "stacks, tasks, diff and the view read snapshot files)",
					   o->command, pid_arg);
		/* a word that names no file is a mistyped PID */
		if (strcmp(pid_arg, "-") != 0 && access(pid_arg, F_OK) != 0)
			return usage_error("'%s' is neither a process ID nor a snapshot file", pid_arg);
		o->file = pid_arg;
	} else if (pid_arg) {
		if (parse_int(pid_arg, 1, INT_MAX, &v) < 0)
			return usage_error("'%s' is not a process ID", pid_arg);
		o->pid = (pid_t)v;
	}
	if (strcmp(o->command, "diff") == 0 && !o->newer)
		return usage_error("diff needs two snapshots: OLD NEW (snapshot files, or a file and "
				   "a PID)");
	if (o->save && (strcmp(o->command, "dump") != 0 || !o->pid))
		return usage_error("--save is for leaktop dump of a live process (PID)");
	if (o->heapsnapshot && strcmp(o->command, "dump") != 0)
		return usage_error("--format heapsnapshot is for leaktop dump");
	if (o->heapsnapshot && o->snap.gc_only)
		return usage_error("--format heapsnapshot follows every reference; it cannot run "
				   "with --gc-only");
	if (o->snap.native && !o->pid)
		return usage_error("--native unwinds a live process; a snapshot file or core has "
				   "no native stacks");
	o->pids[o->npids++] = o->pid;
	for (size_t k = 0; k < nmore; k++) {
		if (parse_int(more[k], 1, INT_MAX, &v) < 0)
			return usage_error("'%s' is not a process ID", more[k]);
		o->pids[o->npids++] = (pid_t)v;
	}
	if (strcmp(o->command, "serve") == 0 && !o->listen)
		return usage_error("serve needs --listen HOST:PORT (127.0.0.1:9123)");
	if (o->listen && strcmp(o->command, "serve") != 0)
		return usage_error("--listen is for leaktop serve");
	if (o->locals && strcmp(o->command, "stacks") != 0)
		return usage_error("--locals is for leaktop stacks");
	if (o->all && strcmp(o->command, "tasks") != 0)
		return usage_error("--all is for leaktop tasks");
	if (o->prometheus && strcmp(o->command, "watch") != 0)
		return usage_error("--prometheus is for leaktop watch");
	if (o->snap.native && strcmp(o->command, "stacks") != 0 && strcmp(o->command, "dump") != 0)
		return usage_error("--native is for leaktop stacks and leaktop dump");
	if (strcmp(o->command, "why") == 0) {
		struct why_selector sel;

		if (!o->selector)
			return usage_error("why needs a SELECTOR after the PID (or FILE): a type name, "
					   "an address or fd:N");
		if (why_parse_selector(o->selector, &sel) < 0)
			return usage_error("'%s' is not a selector: give a type name (__main__.Leaky), "
					   "an address (0x7f...) or fd:N", o->selector);
		if (o->snap.gc_only)
			return usage_error("why follows every reference; it cannot run with --gc-only");
		if (!o->max)
			o->max = 5;
	}
	return 0;
}

static pid_t target_pid;  /* for fail(): the PID the command was given */

/* How long a target released after a failed read or layout check is given
 * to finish exiting: one that was shutting down while leaktop read it (its
 * interpreter half torn down) is gone well within this. */
#define EXIT_GRACE_MS 300

/* The error line.  When the target died meanwhile, or was dying, whatever
 * failed (a read, a layout check) failed because of that: say so instead. */
static int fail(void)
{
	enum lt_errkind k = lt_last_errkind();

	if (target_pid > 0 && k != LT_ERR_GONE && k != LT_ERR_NOTFOUND && k != LT_ERR_PERM &&
	    proc_wait_exit(target_pid, EXIT_GRACE_MS))
		fprintf(stderr, "leaktop: pid %d exited while leaktop was reading it\n", (int)target_pid);
	else
		fprintf(stderr, "leaktop: %s\n", lt_last_error());
	return EXIT_TARGET;
}

/* 0, or EXIT_TARGET when the report could not be written (a full disk, a
 * closed pipe), said on stderr. */
static int flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "leaktop: cannot write the report: %s\n", strerror(errno));
		return EXIT_TARGET;
	}
	return 0;
}

/* The session a reading command works on: the live process, a snapshot
 * file or a core (file: the PID or FILE argument, or diff's second). */
static int open_source(const struct options *o, pid_t pid, const char *file,
		       const struct snapshot_opts *so, struct session *se)
{
	if (o->core)
		return core_session_open(se, o->core, o->exe, so);
	if (file)
		return snapfile_session_open(se, file, so);
	return session_open(se, pid, so);
}

struct heapsnap_job {
	int rc, done, err;
};

static void heapsnap_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct heapsnap_job *job = arg;

	job->rc = heapsnap_write(stdout, s, snap, g);
	job->err = errno;
	job->done = 1;
}

static int cmd_dump(const struct options *o)
{
	struct session se;
	struct snapshot snap;
	struct snapshot_opts so = o->snap;
	struct heapsnap_job hs = { 0, 0, 0 };
	struct outfile saved = { NULL, NULL, NULL };
	int to_file = o->save && strcmp(o->save, "-") != 0;

	so.stacks = 1;  /* the threads' Python stacks, read from the copy */
	so.retainers = so.gc_only || o->heapsnapshot ? 0 : RETAIN_MAX;  /* who holds the memory */
	/* The file first: a destination that cannot be written stops nothing. */
	if (to_file && outfile_open(&saved, o->save, 0600) < 0)
		return fail();
	if (open_source(o, o->pid, o->file, &so, &se) < 0) {
		outfile_abort(&saved);
		return fail();
	}
	if (o->heapsnapshot) {
		se.analyze = heapsnap_hook;
		se.analyze_arg = &hs;
	}
	if (o->save)
		snapfile_prepare(&se);
	if (session_snapshot(&se, &snap) < 0) {
		outfile_abort(&saved);
		session_close(&se);
		return fail();
	}
	if (o->save && (snapfile_save(&se, &snap, to_file ? saved.f : stdout,
				      to_file ? o->save : "(standard output)") < 0 ||
			(to_file && outfile_commit(&saved) < 0))) {
		outfile_abort(&saved);
		snapshot_free(&snap);
		session_close(&se);
		return fail();
	}
	if (o->heapsnapshot && !hs.done) {
		fprintf(stderr, "leaktop: the heap could not be walked completely enough to follow "
			"references (%s); try again\n",
			snap.census.nnotes ? snap.census.notes[0] : "no reason recorded");
		snapshot_free(&snap);
		session_close(&se);
		return EXIT_TARGET;
	}
	if (o->heapsnapshot && !snap.census.complete)
		fprintf(stderr, "leaktop: warning: the walk was incomplete, the export may lack "
			"objects or labels (%s)\n", snap.census.notes[snap.census.nnotes - 1]);
	if (o->heapsnapshot && hs.rc < 0)
		errno = hs.err;  /* flush_stdout says it */
	else if (o->heapsnapshot || (o->save && strcmp(o->save, "-") == 0))
		;  /* stdout holds the export or the file */
	else if (o->json)
		report_json(stdout, &snap);
	else
		report_text(stdout, &snap, o->top);
	snapshot_free(&snap);
	session_close(&se);
	if (o->heapsnapshot && hs.rc < 0) {
		fprintf(stderr, "leaktop: cannot write the heap snapshot: %s\n", strerror(hs.err));
		return EXIT_TARGET;
	}
	return flush_stdout();
}

struct why_job {
	struct why_selector sel;
	size_t max;
	struct why_result res;
	int done;
};

static void why_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g)
{
	struct why_job *job = arg;

	why_analyze(&job->res, s, snap, g, &job->sel, job->max);
	job->done = 1;
}

static int cmd_stacks(const struct options *o)
{
	struct session se;
	struct snapshot snap;
	struct stacks st;
	struct stacks_opts so = { .native = o->snap.native, .locals = o->locals };
	struct snapshot_opts sno = o->snap;
	int offline = o->file || o->core;

	/* A file or a core: the stacks its memory holds, read by a snapshot
	 * (the census with it, cheaply: tracked objects only). */
	sno.stacks = offline;
	sno.gc_only = offline;
	if (open_source(o, o->pid, o->file, &sno, &se) < 0)
		return fail();
	if (offline ? session_snapshot(&se, &snap) : stacks_take(&se, &so, &st)) {
		session_close(&se);
		return fail();
	}
	if (offline) {
		st = snap.stacks;
		memset(&snap.stacks, 0, sizeof(snap.stacks));
		snapshot_free(&snap);
	}
	if (o->json)
		report_stacks_json(stdout, &se, &st);
	else
		report_stacks_text(stdout, &se, &st);
	stacks_free(&st);
	session_close(&se);
	return flush_stdout();
}

static int cmd_why(const struct options *o)
{
	struct session se;
	struct snapshot snap;
	struct why_job job = { .max = (size_t)o->max };
	struct snapshot_opts so = o->snap;
	int rc = 0;

	so.stacks = 1;  /* chains from a thread name it by the id stacks show */
	so.retainers = 1;  /* the dominator tree: what each step retains */
	why_parse_selector(o->selector, &job.sel);
	if (open_source(o, o->pid, o->file, &so, &se) < 0)
		return fail();
	se.analyze = why_hook;
	se.analyze_arg = &job;
	if (session_snapshot(&se, &snap) < 0) {
		session_close(&se);
		return fail();
	}
	if (!job.done) {
		fprintf(stderr, "leaktop: pid %d: the heap could not be walked completely enough to "
			"follow references (%s); try again\n", (int)se.t.pid,
			snap.census.nnotes ? snap.census.notes[0] : "no reason recorded");
		rc = EXIT_TARGET;
	} else if (o->json) {
		report_why_json(stdout, &job.res, &snap, o->selector);
	} else {
		report_why_text(stdout, &job.res, &snap, o->selector);
	}
	why_free(&job.res);
	snapshot_free(&snap);
	session_close(&se);
	return flush_stdout() ? EXIT_TARGET : rc;
}

static int cmd_tasks(const struct options *o)
{
	struct session se;
	struct snapshot snap;
	struct snapshot_opts so = o->snap;
	int rc = 0;

	so.retainers = 1;  /* the graph's chains, and what each task alone holds */
	so.stacks = 1;     /* the threads that run the loops and the tasks */
	so.gc_only = 0;
	if (open_source(o, o->pid, o->file, &so, &se) < 0)
		return fail();
	if (session_snapshot(&se, &snap) < 0) {
		session_close(&se);
		return fail();
	}
	if (!snap.tasks_known) {
		fprintf(stderr, "leaktop: pid %d: the heap could not be walked completely enough to "
			"follow references (%s); try again\n", (int)se.t.pid,
			snap.census.nnotes ? snap.census.notes[0] : "no reason recorded");
		rc = EXIT_TARGET;
	} else if (o->json) {
		report_tasks_json(stdout, &snap.tasks, &snap);
	} else {
		report_tasks_text(stdout, &snap.tasks, &snap, o->top, o->all);
	}
	snapshot_free(&snap);
	session_close(&se);
	return flush_stdout() ? EXIT_TARGET : rc;
}

/* diff OLD NEW: the older snapshot's census and holders kept, the newer
 * taken with the chains of what grew most. */
static int cmd_diff(const struct options *o)
{
	struct session se;
	struct snapshot snap;
	struct snapshot_opts so = o->snap;
	struct diff_old old = { 0 };
	struct diff_hook hook = { 0 };
	struct diff d;
	long v;
	pid_t newer_pid = 0;
	const char *newer_file = NULL;

	if (strspn(o->newer, "0123456789") == strlen(o->newer)) {
		if (parse_int(o->newer, 1, INT_MAX, &v) < 0)
			return usage_error("'%s' is not a process ID", o->newer);
		newer_pid = (pid_t)v;
	} else if (strcmp(o->newer, "-") == 0 || access(o->newer, F_OK) == 0) {
		newer_file = o->newer;
	} else {
		return usage_error("'%s' is neither a process ID nor a snapshot file", o->newer);
	}
	so.retainers = so.gc_only ? 0 : RETAIN_TRACK;
	so.stacks = 1;
	if (open_source(o, o->pid, o->file, &so, &se) < 0)
		return fail();
	if (!so.gc_only) {
		se.analyze = diff_old_hook;
		se.analyze_arg = &old;
	}
	if (session_snapshot(&se, &snap) < 0) {
		session_close(&se);
		diff_old_free(&old);
		return fail();
	}
	diff_keep_old(&old, &se, &snap);
	snapshot_free(&snap);
	session_close(&se);
	target_pid = newer_pid;
	if (open_source(o, newer_pid, newer_file, &so, &se) < 0) {
		diff_old_free(&old);
		return fail();
	}
	hook.old = &old;
	if (!so.gc_only) {
		se.analyze = diff_hook;
		se.analyze_arg = &hook;
	}
	if (session_snapshot(&se, &snap) < 0) {
		session_close(&se);
		diff_old_free(&old);
		return fail();
	}
	diff_compute(&d, &old, &se, &snap, &hook);
	if (o->json)
		diff_json(stdout, &d);
	else
		diff_text(stdout, &d, o->top);
	diff_free(&d);
	diff_old_free(&old);
	snapshot_free(&snap);
	session_close(&se);
	return flush_stdout();
}

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Snapshots until --count or the target exits, one every --interval from
 * start to start (longer when --max-stopped asks); the target runs freely
 * and untraced between them. */
static int cmd_watch(const struct options *o)
{
	struct session se;
	struct history h, hf, hh, ht;
	struct snapshot_opts so = o->snap;
	int rc = 0;

	so.retainers = so.gc_only ? 0 : RETAIN_TRACK;  /* the holders, followed */
	if (o->prometheus) {
		/* a destination that cannot be written stops nothing */
		struct outfile probe;

		if (outfile_open(&probe, o->prometheus, 0644) < 0)
			return fail();
		outfile_abort(&probe);
	}
	if (session_open(&se, o->pid, &so) < 0)
		return fail();
	history_init(&h);
	history_init(&hf);
	history_init(&hh);
	history_init(&ht);
	hh.growth_on_bytes = 1;
	uint64_t prev_t0 = 0;

	for (long n = 0; !o->count || n < o->count; n++) {
		struct snapshot snap;
		uint64_t t0 = lt_now_us();
		double period, spent;

		if (session_snapshot(&se, &snap) < 0) {
			enum lt_errkind k = lt_last_errkind();

			if (n > 0 && (k == LT_ERR_GONE || k == LT_ERR_NOTFOUND || proc_exited(o->pid)))
				fprintf(stderr, "leaktop: pid %d exited after %ld snapshot%s\n",
					(int)o->pid, n, n == 1 ? "" : "s");
			else
				fail();
			rc = EXIT_TARGET;
			break;
		}
		period = snapshot_period(o->interval, o->max_stopped, snap.pause_us);
		/* The interval used: since the previous start (the walk may take
		 * longer than asked); the first, the one planned. */
		snap.period_s = n > 0 ? (double)(t0 - prev_t0) / 1e6 : period;
		snap.period_grown = period > o->interval;
		prev_t0 = t0;
		history_add(&h, &snap.census, snap.taken_at, t0, snap.pause_us,
			    proc_rss_bytes(o->pid), (long)snap.fds.n);
		if (snap.fds_read) {
			struct census fc;

			fd_census(&snap.fds, &fc);
			history_add(&hf, &fc, snap.taken_at, t0, 0, 0, (long)snap.fds.n);
			census_free(&fc);
		}
		if (snap.retainers.known) {
			struct census rc_;

			retainers_census(&snap.retainers, &rc_);
			history_add(&hh, &rc_, snap.taken_at, t0, 0, 0, -1);
			census_free(&rc_);
		}
		if (snap.tasks_known && (snap.tasks.n || ht.len)) {
			struct census tc;

			tasks_census(&snap.tasks, &tc);
			history_add(&ht, &tc, snap.taken_at, t0, 0, 0, -1);
			census_free(&tc);
		}
		if (o->prometheus && metrics_write_file(o->prometheus, &snap, METRICS_TOP_TYPES) < 0) {
			fprintf(stderr, "leaktop: %s\n", lt_last_error());
			snapshot_free(&snap);
			rc = EXIT_TARGET;
			break;
		}
		if (o->json)
			report_watch_json(stdout, &snap, &h, hf.len ? &hf : NULL, hh.len ? &hh : NULL,
					  ht.len ? &ht : NULL);
		else
			report_watch_text(stdout, &snap, &h, hf.len ? &hf : NULL, hh.len ? &hh : NULL,
					  ht.len ? &ht : NULL, o->top);
		snapshot_free(&snap);
		if (fflush(stdout) != 0) {
			rc = EXIT_TARGET;
			break;
		}
		if (o->count && n + 1 >= o->count)
			break;
		spent = (double)(lt_now_us() - t0) / 1e6;
		if (spent < period)
			sleep_seconds(period - spent);
	}
	history_free(&h);
	history_free(&hf);
	history_free(&hh);
	history_free(&ht);
	session_close(&se);
	return rc;
}

/* Development aid for tools/gen-layout-tables: the DWARF layout of a live
 * interpreter, printed as a built-in table entry. */
static int cmd_layout_table(const struct options *o)
{
	struct snapshot_opts so = o->snap;
	struct session se;
	struct snapshot snap;
	char ver[32], from[PATH_MAX + 64];

	so.layout = LAYOUT_DWARF;
	so.gc_only = 1;
	if (session_open(&se, o->pid, &so) < 0)
		return fail();
	if (session_snapshot(&se, &snap) < 0) {  /* reads the exact version */
		session_close(&se);
		return fail();
	}
	snapshot_free(&snap);
	snprintf(ver, sizeof(ver), "%s", se.version);
	snprintf(from, sizeof(from), "CPython %s, %s", se.version,
		 strrchr(se.t.pymod_path, '/') ? strrchr(se.t.pymod_path, '/') + 1 : se.t.pymod_path);
	owner_layouts_fill(se.owner_layouts, &se.lay);
	layout_print_table(stdout, &se.lay, ver, from,
			   target_has_function(&se.t, "_Py_NegativeRefcount"));
	session_close(&se);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	target_pid = o.pid;  /* 0 for a file or a core: nothing to wait for */
	attach_install_signal_handlers();
	if (strcmp(o.command, "dump") == 0)
		return cmd_dump(&o);
	if (strcmp(o.command, "watch") == 0)
		return cmd_watch(&o);
	if (strcmp(o.command, "layout-table") == 0)
		return cmd_layout_table(&o);
	if (strcmp(o.command, "top") == 0) {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
			fprintf(stderr, "leaktop: the interactive view needs a terminal; use leaktop dump "
				"or leaktop watch in scripts\n");
			return EXIT_USAGE;
		}
		return tui_run(o.pid, o.file, &o.snap, o.interval, o.max_stopped) < 0 ? fail() : 0;
	}
	if (strcmp(o.command, "why") == 0)
		return cmd_why(&o);
	if (strcmp(o.command, "stacks") == 0)
		return cmd_stacks(&o);
	if (strcmp(o.command, "tasks") == 0)
		return cmd_tasks(&o);
	if (strcmp(o.command, "diff") == 0)
		return cmd_diff(&o);
	if (strcmp(o.command, "serve") == 0)
		return serve_run(o.listen, o.pids, o.npids, &o.snap, o.interval) < 0 ? fail() : 0;
	return usage_error("unknown command '%s'", o.command);
}
