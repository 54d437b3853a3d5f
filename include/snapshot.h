/* snapshot.h - one consistent look at a target: stop, walk, resume.
 *
 * A session holds what stays valid between snapshots (the target's modules,
 * its layout); each snapshot stops the target only for the walk. */
#ifndef LEAKTOP_SNAPSHOT_H
#define LEAKTOP_SNAPSHOT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "census.h"
#include "fds.h"
#include "gens.h"
#include "graph.h"
#include "layout.h"
#include "owners.h"
#include "pyobj.h"
#include "target.h"

struct snapshot_opts {
	enum layout_source layout;
	int no_block;            /* read without stopping the target */
	int gc_only;             /* count GC-tracked objects only (faster) */
	int group_dicts;         /* count instance dicts as "dict of CLASS", as heapy does */
};

struct snapshot;

struct session {
	struct target t;
	struct py_layout lay;
	struct pyctx ctx;
	struct snapshot_opts opts;
	char version[32];        /* "3.12.1" */
	char *sample_type;       /* collect sample instances of this type, or NULL */
	struct owner_layouts *owner_layouts;
	/* If set, called while the target is still stopped with the full
	 * reference graph of the snapshot (untracked objects and thread roots
	 * included): chains are named from live memory. */
	void (*analyze)(void *arg, struct session *s, struct snapshot *snap, struct graph *g);
	void *analyze_arg;
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
	struct census census;
	struct sample samples[SNAPSHOT_MAX_SAMPLES];  /* of session->sample_type */
	int nsamples;
	struct fd_table fds;     /* read while the target was stopped */
	struct owner_set owners; /* Python objects holding those descriptors */
	int fds_read;            /* 0: the fd table could not be read */
	/* Cyclic garbage (not with --gc-only): garbage_known says it was computed. */
	int garbage_known;
	struct garbage garbage;
	struct census garbage_types;
	size_t graph_bytes;      /* memory the reference graph took */
	struct gen_sites gens;   /* suspended generators and coroutines by code and line */
};

/* Find the interpreter and its layout; does not stop the target.
 * Returns 0 or -1 with lt_error. */
int session_open(struct session *s, pid_t pid, const struct snapshot_opts *o);
void session_close(struct session *s);

/* Take one snapshot.  Returns 0 (snap filled; snap->census.complete says
 * whether everything was walked) or -1 with lt_error; the target is running
 * and untraced on return either way. */
int session_snapshot(struct session *s, struct snapshot *snap);
void snapshot_free(struct snapshot *snap);
/* Ask the next snapshots for sample instances of a type (NULL: none). */
void session_sample(struct session *s, const char *type);

#endif
