/* tui.h - the interactive view (`leaktop PID`, `leaktop top PID`). */
#ifndef LEAKTOP_TUI_H
#define LEAKTOP_TUI_H

#include <sys/types.h>

struct snapshot_opts;

/* Run the full-screen view until the user quits, a snapshot every interval
 * seconds from start to start, longer when a stop would take more than
 * max_stopped_pct percent of it.  The first snapshot is taken before the
 * screen is set up, so failing to inspect the target is a plain one-line
 * error (returns -1 with lt_error).  Every snapshot also reads the
 * threads' Python stacks (opts->stacks is implied), for the threads view,
 * and computes the top RETAIN_TRACK retainers (opts->retainers is implied;
 * not with opts->gc_only, nor while a detail view names chains), for the
 * growing holders and the retainers view.  With file (a snapshot file, pid
 * 0) the view is read-only: the file is walked once, and again only when a
 * view asks for chains; there is nothing to refresh.  Returns 0 on quit. */
int tui_run(pid_t pid, const char *file, const struct snapshot_opts *opts, double interval,
	    double max_stopped_pct);

#endif
