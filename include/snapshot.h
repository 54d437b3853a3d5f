/* snapshot.h - one consistent look at a target: stop, copy, let go, walk.
 *
 * A session holds what stays valid between snapshots (the target's modules,
 * its layout, the buffer of its memory image); each snapshot stops the
 * target only to copy its memory (image.h).  Walking, the reference graph,
 * garbage, chains, reprs and the descriptor joins run on the copy after the
 * target was let go. */
#ifndef LEAKTOP_SNAPSHOT_H
#define LEAKTOP_SNAPSHOT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "census.h"
#include "fds.h"
#include "gens.h"
#include "graph.h"
#include "image.h"
#include "layout.h"
#include "memacct.h"
#include "owners.h"
#include "pyobj.h"
#include "retain.h"
#include "stacks.h"
#include "target.h"
#include "tasks.h"

struct snapshot_opts {
	enum layout_source layout;
	int no_block;            /* read without stopping the target */
	int gc_only;             /* count GC-tracked objects only (faster) */
	int group_dicts;         /* count instance dicts as "dict of CLASS", as heapy does */
	long max_pause_ms;       /* release the target after this long, copied or not (0: never) */
	int stacks;              /* read every thread's Python stack from the copy */
	int native;              /* and unwind their native stacks in the stop */
	int retainers;           /* the dominator tree: this many top retainers (0: none) */
};

#define SNAPSHOT_DEFAULT_MAX_PAUSE_MS 1000

struct snapshot;

/* Memory with no process behind it, which a session's snapshots walk in
 * place of a stop's copy: a snapshot file (snapfile.h) or a core file
 * (core.h).  What a live snapshot reads from /proc is kept here too. */
struct session_offline {
	const char *kind;            /* "snapshot file", "core file" */
	char path[PATH_MAX];
	struct remote_source src;    /* all of its memory */
	time_t taken_at;
	uint64_t pause_us;           /* the stop that made it (0: unknown) */
	struct image_stats image;    /* its copy */
	int gc_retries;
	int collecting;              /* a collection was running */
	uint64_t late_pages;         /* pages read after the stop (kept as then read) */
	struct fd_table fds;         /* its descriptors, when fds_read */
	int fds_read;
	struct tid_pair *tids;       /* its threads: the host's ids and its own */
	size_t ntids;
	char note[256];              /* said in every census made from it, "" none */
	char layout_note[320];       /* how its recorded layout compares with leaktop's
				      * tables, "" when it matches one */
	int layout_suspect;          /* it does not match: every census is incomplete */
	void (*free)(struct session_offline *off);  /* frees the source's memory */
	void *arg;                   /* the source's */
};

struct session {
	struct target t;
	struct py_layout lay;
	struct pyctx ctx;
	struct snapshot_opts opts;
	char version[32];        /* "3.12.1" */
	char *sample_type;       /* collect sample instances of this type, or NULL */
	struct owner_layouts *owner_layouts;
	struct image img;        /* the last stop's copy; its buffer is reused */
	uint64_t *stop_sps;      /* the threads' stack pointers in that stop (memacct) */
	size_t nstop_sps, nstop_threads;
	/* If set, called after the walk with the full reference graph of the
	 * snapshot (untracked objects and thread roots included); reads go to
	 * the image, as the walk's did. */
	void (*analyze)(void *arg, struct session *s, struct snapshot *snap, struct graph *g);
	void *analyze_arg;
	struct native_stack *native;  /* opts.native: unwound in the stop, until merged */
	size_t nnative;
	struct session_offline *off;  /* not NULL: no process, this memory (owned) */
	int retry_broken_list;   /* a broken GC list ends the walk: stop again */
};

#define SNAPSHOT_MAX_SAMPLES 12

struct sample {
	uint64_t addr;
	int64_t size;
	char repr[96];
};

struct snapshot {
	pid_t pid;
	const struct session *session;
	time_t taken_at;
	uint64_t pause_us;       /* how long the target was stopped */
	uint64_t walk_us;        /* wall time of the whole snapshot */
	int gc_retries;          /* times the target was let go to finish a collection */
	int collecting;          /* one was still running in the copy */
	int list_retries;        /* stops taken again for a GC list found broken */
	/* Where the (last) stop's time went, microseconds: threads asked to
	 * stop, waited for, the plan made again and the copy, native stacks
	 * unwound, threads let go; other is the rest of the pause (the check
	 * for a running collection).  known 0: no stop (a file, a core,
	 * --no-block). */
	struct stop_stats {
		int known;
		uint64_t interrupt_us, wait_us, plan_us, copy_us, unwind_us, release_us, other_us;
	} stop;
	struct census census;
	struct sample samples[SNAPSHOT_MAX_SAMPLES];  /* of session->sample_type */
	int nsamples;
	struct image_stats image;  /* the copy (zero with --no-block) */
	uint64_t late_pages;     /* writable pages the image lacked, read after the release */
	uint64_t reads;          /* reads of target memory the walk made (bounded) */
	struct fd_table fds;     /* read right after the target was let go */
	struct owner_set owners; /* Python objects holding those descriptors */
	int fds_read;            /* 0: the fd table could not be read */
	/* Cyclic garbage (not with --gc-only): garbage_known says it was computed. */
	int garbage_known;
	struct garbage garbage;
	struct census garbage_types;
	size_t graph_bytes;      /* memory the reference graph took */
	struct gen_sites gens;   /* suspended generators and coroutines by code and line */
	int stacks_read;         /* opts.stacks: the threads' stacks */
	struct stacks stacks;
	struct retainers retainers;  /* opts.retainers (known: computed) */
	struct tasks_result tasks;   /* asyncio's tasks, with the retainers */
	int tasks_known;
	struct mem_account memory;   /* where the RSS goes (live only) */
	/* Set by repeating commands (watch, the view): the start-to-start
	 * period they use from now on, and whether --max-stopped grew it past
	 * the asked interval.  0 for one-shot commands. */
	double period_s;
	int period_grown;
};

/* Find the interpreter and its layout; does not stop the target.
 * Returns 0 or -1 with lt_error. */
int session_open(struct session *s, pid_t pid, const struct snapshot_opts *o);
void session_close(struct session *s);

/* A session over off (made by snapfile_open or core_open), which it owns
 * from now on, as it does t: what runs there (pid, version, &_PyRuntime,
 * its symbols; t->mem an offline memory, remote_open_offline).  lay: its
 * layout, or NULL to load it from t's debug info or tables.  Every
 * snapshot walks off->src.  Returns 0 or -1 with lt_error (off and t
 * freed either way on failure). */
int session_open_offline(struct session *s, const struct target *t, const struct py_layout *lay,
			 struct session_offline *off, const struct snapshot_opts *o);

/* Take one snapshot.  Returns 0 (snap filled; snap->census.complete says
 * whether everything was walked) or -1 with lt_error; the target is running
 * and untraced on return either way. */
int session_snapshot(struct session *s, struct snapshot *snap);
void snapshot_free(struct snapshot *snap);

/* The start-to-start period for the next snapshot: the asked interval,
 * grown so that a stop as long as the last one takes at most max_stopped_pct
 * percent of it. */
double snapshot_period(double interval_s, double max_stopped_pct, uint64_t pause_us);

/* The exact version (s->version): before 3.11 there is no Py_Version, so
 * sys.version is read from the sys dict (wherever s->ctx reads). */
void session_read_version(struct session *s);

/* Ask the next snapshots for sample instances of a type (NULL: none). */
void session_sample(struct session *s, const char *type);

#endif
