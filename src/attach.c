/* attach.c - PTRACE_SEIZE/INTERRUPT every thread; detach on every path. */
#include "config.h"
#include "attach.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Rounds of "list the tasks, seize the new ones" before giving up on a
 * process that spawns threads faster than we can stop them. */
#define MAX_TASK_ROUNDS 50
/* How long a thread may take to reach its stop (it may be in a syscall). */
#define STOP_TIMEOUT_US 3000000

/* The attach a signal handler must undo.  Only one is held at a time. */
static struct attach *volatile held;

static void add_tid(struct attach *a, pid_t tid)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->tids = xreallocarray(a->tids, a->cap, sizeof(*a->tids));
		a->pending_sig = xreallocarray(a->pending_sig, a->cap, sizeof(*a->pending_sig));
		a->stopped = xreallocarray(a->stopped, a->cap, sizeof(*a->stopped));
	}
	a->tids[a->n] = tid;
	a->pending_sig[a->n] = 0;
	a->stopped[a->n] = 0;
	a->n++;
}

static int have_tid(const struct attach *a, pid_t tid)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->tids[i] == tid)
			return 1;
	return 0;
}

static int has_cap_sys_ptrace(void)
{
	char text[4096];
	const char *p;

	if (lt_read_file("/proc/self/status", text, sizeof(text)) < 0)
		return 0;
	p = strstr(text, "CapEff:");
	if (!p)
		return 0;
	return (strtoull(p + 7, NULL, 16) >> 19) & 1;  /* CAP_SYS_PTRACE = 19 */
}

void attach_explain_eperm(pid_t pid, const char *what)
{
	struct proc_status st;
	int scope = proc_ptrace_scope();
	int cap = has_cap_sys_ptrace();
	char scope_txt[160];

	if (proc_status_read(pid, &st) == 0 && st.tracer_pid != 0 && st.tracer_pid != getpid()) {
		struct proc_status tr;
		char name[64] = "?";

		if (proc_status_read(st.tracer_pid, &tr) == 0)
			snprintf(name, sizeof(name), "%s", tr.name);
		lt_error(LT_ERR_PERM,
			 "permission denied %s pid %d: it is already traced by pid %d (%s); "
			 "detach that debugger or tracer first",
			 what, (int)pid, (int)st.tracer_pid, name);
		return;
	}
	if (scope < 0)
		snprintf(scope_txt, sizeof(scope_txt), "no Yama ptrace_scope");
	else
		snprintf(scope_txt, sizeof(scope_txt), "kernel.yama.ptrace_scope is %d%s", scope,
			 scope == 1 ? " (only descendants may be traced)" :
			 scope == 2 ? " (only CAP_SYS_PTRACE may trace)" :
			 scope == 3 ? " (no tracing at all, until reboot)" : "");
	if (scope == 3) {
		lt_error(LT_ERR_PERM, "permission denied %s pid %d: %s; nothing can attach "
			 "until the next boot", what, (int)pid, scope_txt);
	} else if (!cap) {
		const char *owner = "";
		char buf[96] = "";

		if (proc_status_read(pid, &st) == 0 && st.uid_eff != geteuid()) {
			snprintf(buf, sizeof(buf), ", it belongs to uid %u and leaktop runs as uid %u",
				 (unsigned)st.uid_eff, (unsigned)geteuid());
			owner = buf;
		}
		lt_error(LT_ERR_PERM, "permission denied %s pid %d: %s%s and leaktop lacks "
			 "CAP_SYS_PTRACE; run it as root (sudo) or as the target's user%s",
			 what, (int)pid, scope_txt, owner,
			 scope == 1 || scope == 2 ? ", or lower ptrace_scope with sysctl" : "");
	} else {
		lt_error(LT_ERR_PERM, "permission denied %s pid %d although leaktop has "
			 "CAP_SYS_PTRACE (%s): a security module (SELinux, AppArmor, seccomp) "
			 "or a container boundary forbids it", what, (int)pid, scope_txt);
	}
}

/* Wait until thread i reaches a stop.  Returns 1 stopped, 0 thread gone,
 * -1 timeout. */
static int wait_stopped(struct attach *a, size_t i)
{
	uint64_t deadline = lt_now_us() + STOP_TIMEOUT_US;

	for (unsigned polls = 0;; polls++) {
		int status;
		pid_t r = waitpid(a->tids[i], &status, __WALL | WNOHANG);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;  /* ECHILD: gone */
		}
		if (r == 0) {
			if (lt_now_us() > deadline || lt_stop_requested)
				return -1;
			/* A thread that exited may linger as a zombie waitpid
			 * does not report (its group's leader, until the others
			 * are reaped), and PTRACE_INTERRUPT on it succeeds: ask
			 * /proc rather than wait for a stop that cannot come. */
			if (polls % 16 == 15 && proc_task_exited(a->pid, a->tids[i]))
				return 0;
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			a->stopped[i] = 1;
			return 1;
		}
		/* A signal-delivery stop: keep the signal to give back on detach,
		 * the interrupt we sent is still pending, but this is a stop too. */
		if (WSTOPSIG(status) != SIGTRAP)
			a->pending_sig[i] = WSTOPSIG(status);
		a->stopped[i] = 1;
		return 1;
	}
}

static void detach_one(struct attach *a, size_t i)
{
	pid_t tid = a->tids[i];

	if (ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)a->pending_sig[i]) == 0)
		return;
	if (errno != ESRCH)
		return;
	/* ESRCH: not in a ptrace-stop (never reached it) or gone.  Stop it so
	 * the detach can happen; the kernel resumes it either way if we die. */
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return;
	if (wait_stopped(a, i) == 1)
		ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)a->pending_sig[i]);
}

void attach_release(struct attach *a)
{
	if (held == a)
		held = NULL;
	if (a->n == 0 && a->tids == NULL)
		return;
	a->release_begin_us = lt_now_us();
	for (size_t i = 0; i < a->n; i++)
		detach_one(a, i);
	a->stop_end_us = lt_now_us();
	free(a->tids);
	free(a->pending_sig);
	free(a->stopped);
	a->tids = NULL;
	a->pending_sig = NULL;
	a->stopped = NULL;
	a->n = a->cap = 0;
}

uint64_t attach_pause_us(const struct attach *a)
{
	if (a->stop_end_us < a->stop_begin_us)
		return 0;
	return a->stop_end_us - a->stop_begin_us;
}

static int seize_new_threads(struct attach *a, int *added)
{
	pid_t *tids;
	long n = proc_tasks(a->pid, &tids);

	*added = 0;
	if (n < 0) {
		if (errno == ENOENT)
			lt_error(a->n ? LT_ERR_GONE : LT_ERR_NOTFOUND, a->n ?
				 "pid %d exited while leaktop was attaching" :
				 "no such process: pid %d; check the PID (ps, pgrep)", (int)a->pid);
		else
			attach_explain_eperm(a->pid, "reading the threads of");
		return -1;
	}
	for (long k = 0; k < n; k++) {
		pid_t tid = tids[k];

		if (have_tid(a, tid))
			continue;
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
			if (errno == ESRCH)
				continue;  /* the thread exited meanwhile */
			int err = errno;

			free(tids);
			/* A zombie, or a process already gone, refuses
			 * PTRACE_SEIZE with EPERM. */
			if (err == EPERM && (a->n > 0 || proc_exited(a->pid)))
				/* Permission does not differ between threads: a later
				 * thread refusing means the process is exiting. */
				lt_error(LT_ERR_GONE, "pid %d exited while leaktop was attaching",
					 (int)a->pid);
			else if (err == EPERM)
				attach_explain_eperm(a->pid, "attaching to");
			else
				lt_error(LT_ERR_PERM, "cannot attach to pid %d thread %d: %s",
					 (int)a->pid, (int)tid, strerror(err));
			return -1;
		}
		add_tid(a, tid);
		if (!a->stop_begin_us)
			a->stop_begin_us = lt_now_us();
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		a->interrupted_us = lt_now_us();
		(*added)++;
	}
	free(tids);
	return 0;
}

int attach_stop(struct attach *a, pid_t pid)
{
	struct proc_status st;

	memset(a, 0, sizeof(*a));
	a->pid = pid;
	if (proc_status_read(pid, &st) < 0) {
		lt_error(LT_ERR_NOTFOUND, "no such process: pid %d; check the PID (ps, pgrep)", (int)pid);
		return -1;
	}
	if (st.state == 'Z' || st.state == 'X') {
		lt_error(LT_ERR_GONE, "pid %d is a zombie: the process has exited", (int)pid);
		return -1;
	}
	held = a;
	for (int round = 0; round < MAX_TASK_ROUNDS; round++) {
		int added;

		if (seize_new_threads(a, &added) < 0)
			goto fail;
		if (!added)
			break;
		/* Wait for all newly seized threads before re-listing: a thread
		 * that is stopped cannot create new ones. */
		for (size_t i = 0; i < a->n; i++) {
			if (a->stopped[i] || a->tids[i] == 0)
				continue;
			int r = wait_stopped(a, i);

			if (r == 0) {
				a->tids[i] = a->tids[--a->n];
				a->pending_sig[i] = a->pending_sig[a->n];
				a->stopped[i] = a->stopped[a->n];
				i--;
			} else if (r < 0) {
				lt_error(LT_ERR_OTHER, "thread %d of pid %d did not stop within %d s "
					 "(stuck in the kernel?); try again", (int)a->tids[i], (int)pid,
					 STOP_TIMEOUT_US / 1000000);
				goto fail;
			}
		}
		if (round == MAX_TASK_ROUNDS - 1) {
			lt_error(LT_ERR_OTHER, "pid %d keeps creating threads; could not stop them all",
				 (int)pid);
			goto fail;
		}
	}
	if (a->n == 0) {
		lt_error(LT_ERR_GONE, "pid %d exited while leaktop was attaching", (int)pid);
		goto fail;
	}
	a->stopped_us = lt_now_us();
	return 0;
fail:
	attach_release(a);
	return -1;
}

void attach_release_from_signal(void)
{
	struct attach *a = held;

	if (a) {
		held = NULL;
		for (size_t i = 0; i < a->n; i++)
			ptrace(PTRACE_DETACH, a->tids[i], NULL, (void *)(long)a->pending_sig[i]);
	}
}

/* Fatal signals: detach (a few syscalls, async-signal-safe) and re-raise. */
static void on_fatal_signal(int sig)
{
	attach_release_from_signal();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void release_held(void)
{
	if (held)
		attach_release(held);
}

void attach_install_signal_handlers(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS,
				    SIGABRT, SIGFPE, SIGILL, SIGPIPE, SIGXCPU };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < LT_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	lt_set_fatal_hook(release_held);
	atexit(release_held);
}

void attach_stop_signal_handler(int sig)
{
	(void)sig;
	attach_release_from_signal();
	lt_stop_requested = 1;
}

size_t attach_stack_pointers(const struct attach *a, uint64_t *sps, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n && n < max; i++) {
		struct user_regs_struct regs;
		struct iovec io = { &regs, sizeof(regs) };

		if (!a->stopped[i] || ptrace(PTRACE_GETREGSET, a->tids[i], (void *)(long)NT_PRSTATUS, &io) < 0 ||
		    io.iov_len != sizeof(regs))   /* a 32-bit tracee's are smaller */
			continue;
#if defined(__x86_64__)
		sps[n++] = regs.rsp;
#elif defined(__aarch64__)
		sps[n++] = regs.sp;
#else
		(void)regs;
#endif
	}
	return n;
}
