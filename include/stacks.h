/* stacks.h - what every thread is doing: its Python frames and its native
 * frames, merged.
 *
 * Python frames are read from the thread states (any memory: the live
 * target, stopped, or the image of a snapshot).  Native frames are unwound
 * while the target is stopped (native.h) and named after the release; the
 * Python frames then take the place of the evaluation-loop frames that run
 * them, innermost first, as pystack shows them. */
#ifndef LEAKTOP_STACKS_H
#define LEAKTOP_STACKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "native.h"

struct pyctx;
struct target;
struct session;

/* Bounds against a damaged heap: threads, and Python frames in all. */
#define STACKS_MAX_THREADS 4096
#define STACKS_MAX_FRAMES 100000
/* Locals shown per frame at most (--locals). */
#define STACKS_MAX_LOCALS 64

enum frame_kind { FRAME_PYTHON, FRAME_NATIVE };

struct stack_local {
	char name[64];
	char repr[128];
};

struct stack_frame {
	enum frame_kind kind;
	char function[128];      /* Python: the code's qualified name (3.11+; co_name before) */
	char file[256];          /* Python: co_filename; native: source file with DWARF, else "" */
	int line;                /* -1 when unknown */
	char module[128];        /* Python: the globals' __name__; native: the shared object */
	uint64_t addr;           /* native: the address; Python: the frame */
	uint64_t offset;         /* native: into the function */
	int entry;               /* Python: the outermost frame of one evaluation-loop call */
	uint64_t anchor;         /* Python, 3.12+ entry frames: the loop's shim frame, a
				  * local of that call, so on its native frame's stack */
	uint64_t code, globals;  /* Python: what it runs, and its globals (named later) */
	int64_t instr;           /* Python: byte offset of its instruction, -1 unknown */
	struct stack_local *locals;  /* --locals only */
	int nlocals;
};

struct thread_stack {
	uint64_t tid;            /* the kernel's thread id (the host's, for a target in a
				  * container); 0 when it cannot be told */
	uint64_t tstate;         /* its PyThreadState, 0 for a thread without Python */
	uint64_t interp;         /* its interpreter */
	uint64_t ident;          /* threading.get_ident(): its pthread_t */
	char name[64];           /* threading's name for it, "" if it has none */
	int gil;                 /* 1 holds the GIL, 0 not, -1 unknown */
	int collecting;          /* runs a garbage collection now */
	struct stack_frame *frames;  /* innermost first */
	size_t n, cap;
	int native;              /* native frames were unwound (and merged) */
	char native_error[96];
};

struct stacks {
	struct thread_stack *threads;
	size_t n, cap;
	int collecting;          /* a collection is running (in the thread holding the GIL) */
	char note[256];          /* a structure that was cut short, "" if none */
	uint64_t pause_us;       /* how long the target was stopped (stacks_take) */
};

struct stacks_opts {
	int native;              /* unwind and merge native frames */
	int locals;              /* read each Python frame's locals */
};

/* Every thread state's Python frames (what code, where, and with `locals`
 * their local variables) and GIL state, from c's memory (runtime:
 * &_PyRuntime): what changes while the target runs, so read in the stop or
 * from its copy.  Bounded; a damaged list ends with a note. */
void stacks_read_python(struct pyctx *c, uint64_t runtime, int locals, struct stacks *out);
/* A target's threads: the ids the host gives them (ptrace's, ours) and
 * those of the target's own PID namespace (what it records), the same
 * unless it runs in a container. */
struct tid_pair {
	pid_t host, own;
};

/* pid's threads now, in a new array (free it); returns the count, 0 (and
 * NULL) if they cannot be read. */
size_t stacks_task_ids(pid_t pid, struct tid_pair **out);

/* Name what stacks_read_python found: functions, files, lines, modules,
 * thread names, and the threads' ids as the host knows them (from ids, the
 * target's threads; none: unknown): none of it changes while code runs, so
 * the target may run again.  pid's own thread is MainThread when threading
 * does not name it. */
void stacks_describe(struct pyctx *c, struct stacks *st, pid_t pid, const struct tid_pair *ids,
		     size_t nids);

/* The whole command: stop the session's target, read its Python stacks and
 * (o->native) unwind every thread, let it go, name and merge.  Returns 0,
 * or -1 with lt_error; the target runs untraced on return either way. */
int stacks_take(struct session *s, const struct stacks_opts *o, struct stacks *out);

/* Name the native frames of every thread (after the release) and put the
 * Python frames in place of the evaluation loops that run them. */
void stacks_merge(struct stacks *st, struct target *t, struct native_stack *native, size_t n);

void stacks_free(struct stacks *st);

/* Whether thread th runs an asyncio event loop (a run_forever frame of
 * asyncio's base_events.py): 1 with *running the index of the frame it
 * runs now (the outermost one of the callback or task step a Handle runs,
 * asyncio's own task-step frames left out), or SIZE_MAX while it waits for
 * events; 0 when it runs no loop. */
int stacks_thread_loop(const struct thread_stack *th, size_t *running);

#endif
