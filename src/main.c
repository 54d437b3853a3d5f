/* main.c - the command line: parse, run one command, map errors to exit codes.
 *
 * Exit status (../shared/spec/interface.md): 0 success; 1 the target could
 * not be inspected; 2 usage error.  Errors are one line on stderr. */
#include "config.h"
#include "attach.h"
#include "layout.h"
#include "report.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_TARGET 1
#define EXIT_USAGE 2

struct options {
	const char *command;
	pid_t pid;
	int json;
	int top;
	struct snapshot_opts snap;
};

static void usage(FILE *out)
{
	fputs("usage: leaktop [options] PID              interactive view (not built yet)\n"
	      "       leaktop dump [--json] [--top N] PID  one-shot census of the object heap\n"
	      "\n"
	      "Attach to a running CPython 3.8+ process, stop it for a moment, and report\n"
	      "its objects by type.  Nothing is run inside the target and its memory is\n"
	      "never written.\n"
	      "\n"
	      "options:\n"
	      "  --json            machine-readable output (format leaktop-dump/1)\n"
	      "  --top N           rows in the text table (default 30, 0 for all)\n"
	      "  --layout SOURCE   where struct layouts come from: auto (default), dwarf,\n"
	      "                    debug-offsets, table\n"
	      "  --no-block        read the target without stopping it (may be inconsistent)\n"
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

enum { OPT_LAYOUT = 256, OPT_NO_BLOCK, OPT_VERSION, OPT_TOP, OPT_JSON };

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		{ "no-block", no_argument, NULL, OPT_NO_BLOCK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *pid_arg = NULL;
	int ch;
	long v;

	memset(o, 0, sizeof(*o));
	o->top = 30;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1 || optind < argc) {
		if (ch == -1) {
			/* A positional argument: the command, then the PID. */
			const char *arg = argv[optind++];

			if (!o->command && !pid_arg && strspn(arg, "0123456789") != strlen(arg))
				o->command = arg;
			else if (!pid_arg)
				pid_arg = arg;
			else
				return usage_error("unexpected argument '%s'", arg);
			continue;
		}
		switch (ch) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("leaktop %s\n", PACKAGE_VERSION);
			exit(0);
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_TOP:
			if (parse_int(optarg, 0, INT_MAX, &v) < 0)
				return usage_error("--top needs a number of rows, not '%s'", optarg);
			o->top = (int)v;
			break;
		case OPT_LAYOUT:
			if (layout_source_parse(optarg, &o->snap.layout) < 0)
				return usage_error("--layout must be auto, dwarf, debug-offsets or table, "
						   "not '%s'", optarg);
			break;
		case OPT_NO_BLOCK:
			o->snap.no_block = 1;
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
	if (!pid_arg)
		return usage_error("%s needs the PID of a Python process", o->command);
	if (parse_int(pid_arg, 1, INT_MAX, &v) < 0)
		return usage_error("'%s' is not a process ID", pid_arg);
	o->pid = (pid_t)v;
	return 0;
}

static int fail(void)
{
	fprintf(stderr, "leaktop: %s\n", lt_last_error());
	return EXIT_TARGET;
}

static int cmd_dump(const struct options *o)
{
	struct session se;
	struct snapshot snap;

	if (session_open(&se, o->pid, &o->snap) < 0)
		return fail();
	if (session_snapshot(&se, &snap) < 0) {
		session_close(&se);
		return fail();
	}
	if (o->json)
		report_json(stdout, &snap);
	else
		report_text(stdout, &snap, o->top);
	snapshot_free(&snap);
	session_close(&se);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "leaktop: cannot write the report: %s\n", strerror(errno));
		return EXIT_TARGET;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	attach_install_signal_handlers();
	if (strcmp(o.command, "dump") == 0)
		return cmd_dump(&o);
	if (strcmp(o.command, "top") == 0 || strcmp(o.command, "watch") == 0 ||
	    strcmp(o.command, "why") == 0) {
		fprintf(stderr, "leaktop: '%s' is not built yet in this version; use leaktop dump PID\n",
			o.command);
		return EXIT_TARGET;
	}
	return usage_error("unknown command '%s'", o.command);
}
