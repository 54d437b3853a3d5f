/* attach.h - stop every thread of a target with ptrace, and let it go.
 *
 * PTRACE_SEIZE (not ATTACH) so that if leaktop dies, even by SIGKILL, the
 * kernel resumes the target by itself.  While an attach is held, fatal
 * signals to leaktop (INT, TERM, HUP, QUIT, and crashes) detach first. */
#ifndef LEAKTOP_ATTACH_H
#define LEAKTOP_ATTACH_H

#include <stdint.h>
#include <sys/types.h>

struct attach {
	pid_t pid;
	pid_t *tids;       /* seized threads */
	int *pending_sig;  /* signal seen in a signal-delivery stop, re-injected on detach */
	unsigned char *stopped;
	size_t n, cap;
	uint64_t stop_begin_us, stop_end_us;
	uint64_t interrupted_us;  /* the last thread asked to stop */
	uint64_t stopped_us;      /* every thread stopped */
	uint64_t release_begin_us;
};

/* Seize and stop every thread of pid, re-reading the task list until no new
 * thread appears.  Returns 0 with all threads stopped, or -1 with lt_error
 * (LT_ERR_NOTFOUND, LT_ERR_PERM with the reason, LT_ERR_GONE) and nothing
 * left attached. */
int attach_stop(struct attach *a, pid_t pid);

/* The stack pointer of each stopped thread (its registers), at most max,
 * into sps; returns how many. */
size_t attach_stack_pointers(const struct attach *a, uint64_t *sps, size_t max);

/* Detach from every thread; the target runs again.  Safe to call twice and
 * on a partially attached state.  Records the pause length. */
void attach_release(struct attach *a);

/* Microseconds the target was held stopped by the last stop/release pair. */
uint64_t attach_pause_us(const struct attach *a);

/* Install handlers so that SIGINT/TERM/HUP/QUIT/SEGV/BUS/ABRT/FPE detach any
 * held attach before leaktop exits.  Call once at start-up. */
void attach_install_signal_handlers(void);
/* Let the held target go now, from a signal handler (async-signal-safe: a
 * PTRACE_DETACH per thread); the attach's owner still calls attach_release. */
void attach_release_from_signal(void);

/* For SIGINT, SIGTERM and SIGHUP in a loop that ends in order (the view,
 * serve): lets a held target go at once and sets lt_stop_requested, which
 * fails the reads of a snapshot under way. */
void attach_stop_signal_handler(int sig);
/* Explain why a process cannot be traced, for an EPERM: who traces it
 * already, ptrace_scope, ownership and the CAP_SYS_PTRACE capability.
 * Records the lt_error (LT_ERR_PERM). */
void attach_explain_eperm(pid_t pid, const char *what);

#endif
