/* tasks.h - asyncio's tasks in a snapshot: what each one waits on.
 *
 * Every Task and Future of the census (not only those a loop still lists:
 * a task that fell out of all_tasks() is found too), C or pure-Python: its
 * state, its coroutine stack followed through what each coroutine awaits
 * (cr_await), the future it waits on (_fut_waiter) and what that future is
 * (an Event's or Queue's waiter, a sleep's timer, a stream read, another
 * task, a gather) named by the chain that holds it; pending tasks grouped
 * by stack and by what they wait on, most first.  Reads the copy after the
 * release: the pause is the census's. */
#ifndef LEAKTOP_TASKS_H
#define LEAKTOP_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

struct session;
struct strpool;

/* Frames of one task's coroutine stack kept at most, and tasks listed. */
#define TASKS_MAX_STACK 32
#define TASKS_MAX 1000000
/* Groups in dump's and watch's JSON "tasks" (the command lists them all). */
#define TASKS_GROUPS_SHOWN 10

enum task_state { TASK_PENDING, TASK_CANCELLED, TASK_DONE, TASK_UNKNOWN };

/* Strings below are interned in the result's pool ("" when unknown): a
 * hundred thousand tasks share a handful of types, stacks and holders. */
struct task_frame {
	const char *qualname;
	const char *file;
	int line;               /* -1 when unknown */
};

struct task {
	uint64_t addr;
	const char *type;
	const char *name;       /* its name, "" if none */
	enum task_state state;
	const char *exception;  /* done with an exception: its type, else "" */
	const char *coro;       /* its coroutine's qualified name */
	struct task_frame *stack;   /* outermost first, as get_stack() walks cr_await */
	size_t nstack;
	uint64_t waits;         /* the future it waits on (_fut_waiter), 0 */
	const char *waits_type;
	const char *waits_name; /* a task it waits on: that task's name, else "" */
	const char *waits_kind; /* "event", "queue get", "sleep", "stream read", "task", ... */
	uint64_t waits_owner;   /* the object whose waiter that future is, 0 */
	const char *owner_type;
	const char *holder;     /* the chain to the owner (or the future), "" if none */
	int64_t fd;             /* stream read: its socket's descriptor, -1 */
	uint64_t loop;
	int64_t loop_thread;    /* the loop's thread (threading.get_ident()), -1 */
	uint64_t running_in;    /* the thread (its tid) running the task now, 0 */
	size_t awaited_by;      /* tasks waiting on this one */
	uint64_t retained;      /* bytes only it holds (0: not computed) */
};

/* An event loop the tasks belong to. */
struct task_loop {
	uint64_t addr;
	int64_t ident;          /* its thread's threading.get_ident() while it runs, -1 */
	uint64_t tid;           /* that thread's kernel id, 0 unknown */
	const char *thread_name;
	uint64_t tasks, pending;
	size_t current;         /* index of the task its thread runs now, or SIZE_MAX */
};

struct task_group {
	uint64_t count;
	uint64_t retained;
	size_t example;         /* index of one of its tasks */
};

struct tasks_result {
	struct task *v;
	size_t n;
	uint64_t futures;       /* Futures that are not Tasks */
	uint64_t pending, done, cancelled;
	uint64_t loops;         /* distinct loops the tasks belong to */
	struct task_loop *loopv;    /* them, by address */
	struct task_group *groups;  /* pending tasks alike, most first */
	size_t ngroups;
	char note[256];         /* what could not be read, "" if nothing */
	struct strpool *pool;   /* the strings of the tasks */
};

/* From the snapshot's reference graph g and its shortest chains p; with
 * the threads' stacks st (or NULL), which thread runs each loop and task. */
struct stacks;
void tasks_analyze(struct tasks_result *r, struct session *s, struct graph *g,
		   struct graph_paths *p, const struct stacks *st);
void tasks_free(struct tasks_result *r);

const char *task_state_name(enum task_state st);

/* For people: a task's coroutine stack ("main > serve > Event.wait"), what
 * it waits on ("event __main__.SHUTDOWN", "stream read fd 7 ..."), and a
 * group's label (both, indexes left out: the same for every snapshot). */
void task_stack_text(char *buf, size_t max, const struct task *tk);
void task_wait_text(char *buf, size_t max, const struct tasks_result *r, const struct task *tk);
void task_group_label(const struct tasks_result *r, size_t g, char *buf, size_t max);

/* The pending groups as a census (label, count, retained bytes): what
 * watch and the view follow over time. */
struct census;
void tasks_census(const struct tasks_result *r, struct census *out);

#endif
