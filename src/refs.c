/* refs.c - referents of the core container types. */
#include "config.h"
#include "refs.h"
#include "pyobj.h"
#include "remote.h"

/* Items read per remote call when walking an array of pointers. */
#define CHUNK 64
#define MAX_ITEMS ((int64_t)1 << 32)

static int array_each(struct pyctx *c, uint64_t items, int64_t n, int stride, ref_fn fn,
		      void *arg)
{
	uint64_t buf[CHUNK * 2];
	int per = stride / 8;

	for (int64_t i = 0; i < n; i += CHUNK) {
		int64_t m = n - i < CHUNK ? n - i : CHUNK;

		if (remote_read_cached(c->mem, items + (uint64_t)(i * stride), buf,
				       (size_t)(m * stride)) < 0)
			return -1;
		for (int64_t k = 0; k < m; k++) {
			uint64_t ref = buf[k * per];
			int r;

			if (!ref || ref == c->set_dummy)
				continue;
			r = fn(arg, ref);
			if (r)
				return r;
		}
	}
	return 0;
}

struct kv_forward {
	ref_fn fn;
	void *arg;
};

static int forward_kv(void *arg, uint64_t key, uint64_t value)
{
	struct kv_forward *f = arg;
	int r = f->fn(f->arg, key);

	return r ? r : f->fn(f->arg, value);
}

int refs_each(struct pyctx *c, uint64_t obj, const struct pytype *t, ref_fn fn, void *arg)
{
	const struct py_layout *l = c->lay;
	struct kv_forward f = { fn, arg };
	int64_t n;
	uint64_t items;
	int r;

	switch (t->kind) {
	case PK_LIST:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0 ||
		    remote_read_cached(c->mem, obj + (uint64_t)l->list_items, &items, 8) < 0 ||
		    n < 0 || n > MAX_ITEMS)
			return -1;
		r = array_each(c, items, n, 8, fn, arg);
		break;
	case PK_TUPLE:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->ob_size, &n, 8) < 0 || n < 0 ||
		    n > MAX_ITEMS)
			return -1;
		r = array_each(c, obj + (uint64_t)l->tuple_items, n, 8, fn, arg);
		break;
	case PK_DICT:
	case PK_ODICT:
		r = pydict_each(c, obj, forward_kv, &f);
		break;
	case PK_SET:
		if (remote_read_cached(c->mem, obj + (uint64_t)l->set_mask, &n, 8) < 0 ||
		    remote_read_cached(c->mem, obj + (uint64_t)l->set_table, &items, 8) < 0 ||
		    n < 0 || n >= MAX_ITEMS)
			return -1;
		/* setentry {key, hash}: every slot, skipping empty and dummy ones */
		r = array_each(c, items, n + 1, l->setentry_size, fn, arg);
		break;
	default:
		r = 0;
		break;
	}
	if (r)
		return r;
	/* Attributes of instances (and of dict/list subclasses). */
	if (t->flags & PY_TPFLAGS_HEAPTYPE)
		return pyobj_attrs_each(c, obj, t, forward_kv, &f);
	return 0;
}
