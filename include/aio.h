/* aio.h - asyncio's Futures and Tasks: which objects they are, where their
 * fields are.
 *
 * The C accelerator's (_asyncio) FutureObj and TaskObj: their words after
 * the object header per version, named as the pure-Python classes name
 * their attributes, taken only where the type's basicsize is what the
 * words add up to.  The pure-Python classes (asyncio.futures.Future,
 * asyncio.tasks.Task) keep the same names as instance attributes. */
#ifndef LEAKTOP_AIO_H
#define LEAKTOP_AIO_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct pytype;

/* fut_state of the C classes; the pure-Python ones say it in words. */
enum aio_state { AIO_PENDING = 0, AIO_CANCELLED = 1, AIO_FINISHED = 2 };

struct aio_words {
	const char *const *fut;    /* per word: its attribute name, NULL: no reference */
	size_t nfut;
	const char *const *task;   /* a Task's words, after the Future's */
	size_t ntask;
	size_t n;                  /* words in all */
	int64_t first;             /* offset of word 0 */
	int64_t state;             /* offset of fut_state (a C int), -1 for none */
	int is_task;
};

/* 1 with *out set when t is _asyncio.Future or Task, or a subclass of
 * either, of a layout leaktop knows, or one of the C objects around a task
 * (3.8-3.11's TaskWakeupMethWrapper and TaskStepMethWrapper, whose task is
 * "__self__"; FutureIter, whose future is "_future"), memoized in t->aio;
 * 0 otherwise. */
int aio_c_layout(struct pyctx *c, struct pytype *t, struct aio_words *out);

/* Word i's attribute name, NULL for a word that holds no reference of its
 * own (the state, flags, the dict and weakref list). */
const char *aio_name(const struct aio_words *a, size_t i);

/* Offset of the word named name ("_fut_waiter", "_coro", ...), or -1. */
int64_t aio_word(const struct aio_words *a, const char *name);

#endif
