/* diff.h - what grew between two snapshots of one program: snapshot files,
 * or a file and the live process.
 *
 * Types, holders (named retainers, matched by path and type) and
 * descriptor groups whose counts changed, with, for the types that grew
 * most, the chains that hold their objects in the newer snapshot. */
#ifndef LEAKTOP_DIFF_H
#define LEAKTOP_DIFF_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "census.h"
#include "why.h"

struct session;
struct snapshot;
struct graph;

/* Types that grew most whose chains are followed, and chains each. */
#define DIFF_CHAIN_TYPES 5
#define DIFF_CHAINS 3

struct diff_side {
	int pid;
	time_t taken_at;
	char source[4200];       /* "pid 1234" or the file's path */
	char version[32];
};

struct diff_type {
	char *type;
	uint64_t count_old, count_new;
	int64_t delta, bytes_delta;
	int have_why;
	struct why_result why;   /* have_why: how the newer snapshot holds them */
};

struct diff_holder {
	char path[256], type[128];
	int64_t len_old, len_new;          /* -1: not a container / absent */
	uint64_t retained_old, retained_new;
	int in_old, in_new;
	int weak;                          /* a weak container: after the others */
};

struct diff_fd {
	char *group;
	uint64_t count_old, count_new;
};

/* What the older snapshot contributes (kept while the newer is taken). */
struct diff_old {
	struct diff_side side;
	struct census census;
	struct census fds;       /* fd_census of its table (empty: unread) */
	int fds_read;
	struct retainers_lite {
		char path[256], type[128];
		int64_t len;
		uint64_t retained;
		int weak;
	} *holders;
	size_t nholders;
	uint64_t *addrs;         /* its objects' addresses, ascending (diff_old_hook) */
	size_t naddrs;
};

/* The analyze hook for the older snapshot (arg: its struct diff_old, kept
 * later by diff_keep_old): the addresses of its objects, so that the
 * newer one's chains are those of the objects it did not have. */
void diff_old_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g);

struct diff {
	struct diff_side old, new_;
	struct diff_type *types; /* changed types, largest count growth first */
	size_t ntypes;
	struct diff_holder *holders;  /* changed holders, largest retained growth first */
	size_t nholders;
	struct diff_fd *fds;     /* changed descriptor groups, largest growth first */
	size_t nfds;
	int fds_known;           /* both descriptor tables were read */
	int complete;            /* both walks were complete */
};

/* Keep what diff needs of the older snapshot (taken from session se; the
 * addresses diff_old_hook put in o stay). */
void diff_keep_old(struct diff_old *o, const struct session *se, const struct snapshot *snap);
void diff_old_free(struct diff_old *o);

/* The analyze hook for the newer snapshot (arg: a struct diff_hook): the
 * chains of the types that grew most against the older census. */
struct diff_hook {
	const struct diff_old *old;
	struct diff_type chains[DIFF_CHAIN_TYPES];
	size_t nchains;
};
void diff_hook(void *arg, struct session *s, struct snapshot *snap, struct graph *g);

/* Compare; the hook's chains move into d.  Then print (text or JSON). */
void diff_compute(struct diff *d, struct diff_old *o, const struct session *se,
		  const struct snapshot *snap, struct diff_hook *h);
void diff_text(FILE *out, const struct diff *d, int top);
void diff_json(FILE *out, const struct diff *d);
void diff_free(struct diff *d);

#endif
