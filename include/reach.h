/* reach.h - objects the GC does not track, reached through references.
 *
 * Strings, ints, floats, bytes, untracked tuples and dicts, code objects...
 * never sit on a GC list.  They are found as referents of the tracked
 * objects (and of every thread's running frames), each counted once, and
 * followed in turn: an untracked tuple of strings leads to the strings. */
#ifndef LEAKTOP_REACH_H
#define LEAKTOP_REACH_H

#include <stddef.h>
#include <stdint.h>

struct graph;
struct pyctx;
struct pytype;

/* A bound on the untracked objects one snapshot follows (memory: ~32 bytes
 * each); past it the census is marked incomplete. */
#define REACH_MAX_OBJECTS (64u << 20)

/* Called once per untracked object found. */
typedef void (*reach_fn)(void *arg, uint64_t obj, struct pytype *t);

struct stacks;

struct reach {
	struct pyctx *c;
	reach_fn fn;
	void *arg;
	uint64_t *seen;            /* open addressing set of addresses */
	size_t seen_cap, nseen;
	struct reach_item { uint64_t obj; struct pytype *t; } *stack;
	size_t nstack, stack_cap;
	/* Leaves (str, int, float, bytes ...: nothing to follow) are collected
	 * with their duplicates and counted once each by reach_finish: sorting
	 * beats a hash set on millions of them, and reads them in address order. */
	struct reach_item *leaves;
	size_t nleaves, leaves_cap;
	uint64_t recent[1024];     /* leaves pushed lately: None, True, small ints ... */
	int finished;
	size_t cursor;             /* reach_seen's last position in leaves */
	int overflow;              /* REACH_MAX_OBJECTS was hit */
	uint64_t frames;           /* thread frames walked */
	uint64_t frame_steps, thread_steps;  /* links followed, bounded in total */
	char damage[200];          /* the first thread or frame list cut short, or "" */
	struct graph *graph;       /* if set, every reference followed is added to it */
	const struct stacks *stacks;  /* if set, threads are named by its ids (the kernel's) */
};

void reach_init(struct reach *r, struct pyctx *c, reach_fn fn, void *arg);
void reach_free(struct reach *r);
/* Follow the references of obj (of type t) to untracked objects. */
void reach_from(struct reach *r, uint64_t obj, struct pytype *t);
/* Count the leaves collected so far (each once); call after the walks. */
void reach_finish(struct reach *r);
/* After reach_finish: was the untracked object at addr counted? */
int reach_seen(struct reach *r, uint64_t addr);
/* Follow the locals of every thread's running frames (3.8-3.10 frame
 * objects are counted too); with a graph they become its thread roots.
 * Lists that loop or pass the bounds are cut, said in damage.  Returns
 * the frames walked. */
uint64_t reach_threads(struct reach *r, uint64_t runtime);

#endif
