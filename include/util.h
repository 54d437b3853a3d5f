/* util.h - error vocabulary and small helpers shared by every layer.
 *
 * Convention for every function in leaktop that can fail: it returns 0 (or a
 * non-negative value) on success and -1 on failure, after recording one line
 * that says what failed and what to do with lt_error().  Only the CLI prints
 * that line (lt_last_error()) and decides the exit status; no lower layer
 * prints or exits. */
#ifndef LEAKTOP_UTIL_H
#define LEAKTOP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>

#define LT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What kind of failure the last error was; the CLI maps it to exit codes and
 * callers use it to tell "the target went away" from "this object is bad". */
enum lt_errkind {
	LT_ERR_NONE = 0,
	LT_ERR_GONE,       /* the target exited */
	LT_ERR_NOTFOUND,   /* no such process */
	LT_ERR_PERM,       /* not allowed to trace or read */
	LT_ERR_NOTPYTHON,  /* not a CPython we understand */
	LT_ERR_LAYOUT,     /* layouts unavailable or refused */
	LT_ERR_READ,       /* a remote address could not be read */
	LT_ERR_OTHER,
};

/* Record the error line (without "leaktop: " and without newline). */
void lt_error(enum lt_errkind kind, const char *fmt, ...) LT_PRINTF(2, 3);
const char *lt_last_error(void);
enum lt_errkind lt_last_errkind(void);
void lt_error_clear(void);

/* Allocation that cannot fail: on exhaustion, leaktop detaches (via the
 * atexit/fatal hook) and exits; memory exhaustion is not a recoverable state. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
/* src into dst of size n (n > 0), cut to fit, always terminated. */
char *lt_strcpy(char *dst, size_t n, const char *src);
/* A copy of n bytes at p (p may be NULL when n is 0). */
void *xmemdup(const void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) LT_PRINTF(1, 2);
/* Record a note in buf unless it holds one already: the first structure
 * that was cut short is the one to name. */
void lt_note_first(char *buf, size_t size, const char *fmt, ...) LT_PRINTF(3, 4);

/* Called on fatal internal errors before exiting; set by the attach layer so a
 * dying leaktop never leaves its target stopped. */
void lt_set_fatal_hook(void (*hook)(void));
void lt_fatal(const char *fmt, ...) LT_PRINTF(1, 2) __attribute__((noreturn));

/* qsort that accepts an empty array (qsort(NULL, 0, ...) is undefined). */
static inline void lt_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

/* CRC-32 (IEEE 802.3, zlib's) of n bytes at p, continuing from crc (0 to
 * start). */
uint32_t lt_crc32(uint32_t crc, const void *p, size_t n);

/* Is v among the n ascending values of a? */
int lt_bsearch_u64(const uint64_t *a, size_t n, uint64_t v);

/* |v| for a count read from the target, -1 for INT64_MIN (no such count). */
static inline int64_t lt_abs_count(int64_t v)
{
	return v == INT64_MIN ? -1 : v < 0 ? -v : v;
}

/* Brent's loop detection for a linked list in untrusted memory, walked node
 * by node: lt_loop_seen is 1 once the walk is back at a node it passed
 * (at most twice the loop's length later); constant memory. */
struct lt_loop {
	uint64_t saved, power, steps;
};

static inline void lt_loop_init(struct lt_loop *b, uint64_t first)
{
	b->saved = first;
	b->power = 1;
	b->steps = 0;
}

static inline int lt_loop_seen(struct lt_loop *b, uint64_t node)
{
	if (node == b->saved)
		return 1;
	if (++b->steps == b->power) {
		b->saved = node;
		b->power *= 2;
		b->steps = 0;
	}
	return 0;
}

/* Set from a signal handler when leaktop should wind down (the view's
 * Ctrl-C, SIGTERM, SIGHUP): walks fail their reads and return at once. */
extern volatile sig_atomic_t lt_stop_requested;

/* Monotonic clock in microseconds. */
uint64_t lt_now_us(void);

/* Read a whole small file (/proc) into a NUL-terminated buffer of at most
 * max bytes.  Returns the length, or -1 with errno set (no lt_error). */
long lt_read_file(const char *path, char *buf, size_t max);

#endif
