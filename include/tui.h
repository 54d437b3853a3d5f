/* tui.h - the interactive view (`leaktop PID`, `leaktop top PID`). */
#ifndef LEAKTOP_TUI_H
#define LEAKTOP_TUI_H

#include <sys/types.h>

struct snapshot_opts;

/* Run the full-screen view until the user quits.  The first snapshot is
 * taken before the screen is set up, so failing to inspect the target is a
 * plain one-line error (returns -1 with lt_error).  Returns 0 on quit. */
int tui_run(pid_t pid, const struct snapshot_opts *opts, double interval);

#endif
