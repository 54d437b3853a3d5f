/* aio.c - asyncio's C Future and Task: where their fields are (aio.h). */
#include "config.h"
#include "aio.h"
#include "layout.h"
#include "pyobj.h"
#include "util.h"

#include <string.h>

/* _asyncio's Future and Task (Modules/_asynciomodule.c, FutureObj_HEAD
 * and TaskObj): their words after the object header, named as the
 * pure-Python asyncio.Future and Task name them (_callback0 and _context0
 * are the first callback, kept out of the _callbacks list); NULL for a word
 * that is no reference of its own: the state and flags, the dict and
 * weakref list (given elsewhere), 3.9 and 3.10's exception state link,
 * 3.14's links in the thread's list of tasks.  A layout is taken only
 * where the C type's basicsize is what it adds up to: 3.10's patch
 * releases differ (_exception_tb came in a later one). */
#define AIO_CB "_loop", "_callback0", "_context0", "_callbacks", "_exception"
#define AIO_EXC_STATE "_cancelled_exc", "_cancelled_exc", "_cancelled_exc", NULL
static const char *const aio_fut38[] = {
	AIO_CB, "_result", "_source_traceback", NULL, NULL, NULL, NULL,
};
static const char *const aio_fut39[] = {
	AIO_CB, "_result", "_source_traceback", "_cancel_message", NULL, NULL, NULL, NULL,
	AIO_EXC_STATE,
};
static const char *const aio_fut310[] = {
	AIO_CB, "_exception_tb", "_result", "_source_traceback", "_cancel_message", NULL, NULL,
	NULL, NULL, AIO_EXC_STATE,
};
static const char *const aio_fut311[] = {
	AIO_CB, "_exception_tb", "_result", "_source_traceback", "_cancel_message", NULL, NULL,
	NULL, NULL, "_cancelled_exc",
};
static const char *const aio_fut313[] = {
	AIO_CB, "_exception_tb", "_result", "_source_traceback", "_cancel_message",
	"_cancelled_exc", NULL,
};
static const char *const aio_fut314[] = {
	AIO_CB, "_exception_tb", "_result", "_source_traceback", "_cancel_message",
	"_cancelled_exc", "_awaited_by", NULL,
};
static const char *const aio_task38[] = { "_fut_waiter", "_coro", "_name", "_context", NULL };
static const char *const aio_task311[] = {
	"_fut_waiter", "_coro", "_name", "_context", NULL, NULL,
};
static const char *const aio_task313[] = { NULL, "_fut_waiter", "_coro", "_name", "_context" };
static const char *const aio_task314[] = {
	NULL, "_fut_waiter", "_coro", "_name", "_context", NULL, NULL,
};
#define AIO(lo, hi, fut, task, state) \
	{ lo, hi, fut, LT_ARRAY_SIZE(fut), task, LT_ARRAY_SIZE(task), state }
static const struct aio_layout {
	int minor_lo, minor_hi;
	const char *const *fut;
	size_t nfut;
	const char *const *task;  /* after the Future's words */
	size_t ntask;
	int state;                /* the word fut_state begins (the first after the pointers) */
} aio_layouts[] = {
	AIO(8, 8, aio_fut38, aio_task38, 7),
	AIO(9, 10, aio_fut39, aio_task38, 8),
	AIO(10, 10, aio_fut310, aio_task38, 9),
	AIO(11, 12, aio_fut311, aio_task311, 9),
	AIO(13, 13, aio_fut313, aio_task313, 10),
	AIO(14, 15, aio_fut314, aio_task314, 11),
};
#undef AIO

/* The C objects asyncio makes around a task (3.8-3.11's wakeup and step
 * callbacks, the iterator `await future` gives), by tp_name: their words
 * after the header. */
static const char *const aio_wakeup[] = { "__self__" };
static const char *const aio_step[] = { "__self__", "(arg)" };
static const char *const aio_iter[] = { "_future" };
static const struct {
	const char *tp_name;
	int minor_lo, minor_hi;
	const char *const *words;
	size_t n;
} aio_helpers[] = {
	{ "TaskWakeupMethWrapper", 8, 11, aio_wakeup, LT_ARRAY_SIZE(aio_wakeup) },
	{ "TaskStepMethWrapper", 8, 11, aio_step, LT_ARRAY_SIZE(aio_step) },
	{ "_asyncio.FutureIter", 8, 99, aio_iter, LT_ARRAY_SIZE(aio_iter) },
};
#define AIO_HELPER 64   /* t->aio of a helper: AIO_HELPER + its index */

int aio_c_layout(struct pyctx *c, struct pytype *t, struct aio_words *out)
{
	static const char *const names[] = { "_asyncio.Task", "_asyncio.Future" };
	const int64_t hdr = c->lay->ob_type + 8;
	const struct aio_layout *a;

	if (t->aio < 0) {
		const char *hnames[LT_ARRAY_SIZE(aio_helpers)];
		int64_t bs = 0;
		int which = pytype_match_base_size(c, t, names, 2, &bs);

		t->aio = 0;
		for (size_t i = 0; which >= 0 && i < LT_ARRAY_SIZE(aio_layouts); i++) {
			size_t n;

			a = &aio_layouts[i];
			n = a->nfut + (which == 0 ? a->ntask : 0);
			if (c->minor >= a->minor_lo && c->minor <= a->minor_hi &&
			    bs == hdr + (int64_t)n * 8) {
				t->aio = (signed char)(2 * i + 1 + (which == 0));
				break;
			}
		}
		for (size_t i = 0; i < LT_ARRAY_SIZE(aio_helpers); i++)
			hnames[i] = aio_helpers[i].tp_name;
		if (which < 0 &&
		    (which = pytype_match_base_size(c, t, hnames, LT_ARRAY_SIZE(hnames), &bs)) >= 0 &&
		    c->minor >= aio_helpers[which].minor_lo && c->minor <= aio_helpers[which].minor_hi &&
		    bs == hdr + (int64_t)aio_helpers[which].n * 8)
			t->aio = (signed char)(AIO_HELPER + which);
	}
	if (t->aio <= 0)
		return 0;
	out->first = hdr;
	if (t->aio >= AIO_HELPER) {
		size_t h = (size_t)(t->aio - AIO_HELPER);

		out->fut = aio_helpers[h].words;
		out->nfut = aio_helpers[h].n;
		out->task = NULL;
		out->ntask = 0;
		out->n = out->nfut;
		out->state = -1;
		out->is_task = 0;
		return 1;
	}
	a = &aio_layouts[(t->aio - 1) / 2];
	out->is_task = t->aio % 2 == 0;
	out->fut = a->fut;
	out->nfut = a->nfut;
	out->task = a->task;
	out->ntask = out->is_task ? a->ntask : 0;
	out->n = out->nfut + out->ntask;
	out->state = hdr + (int64_t)a->state * 8;
	return 1;
}

const char *aio_name(const struct aio_words *w, size_t i)
{
	return i < w->nfut ? w->fut[i] : i < w->n ? w->task[i - w->nfut] : NULL;
}

int64_t aio_word(const struct aio_words *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *n = aio_name(w, i);

		if (n && strcmp(n, name) == 0)
			return w->first + (int64_t)i * 8;
	}
	return -1;
}
