/* owners.c - Python objects that hold file descriptors, and their wrappers. */
#include "config.h"
#include "owners.h"
#include "dwarf_types.h"
#include "fds.h"
#include "layout.h"
#include "pyobj.h"
#include "refs.h"
#include "remote.h"
#include "target.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum role { HOLDER, WRAPPER, DATABASE };

/* One line per type that holds or wraps a descriptor.  `field` is where the
 * interpreter's layout keeps the offset of the descriptor (holders) or of
 * the inner object (wrappers); for an extension module's type, `module`
 * names the module whose DWARF describes ctype, asked first (the layout has
 * it only when the interpreter links the module, or from a built-in table).
 * `untracked` holders may be instances the GC does not track, found only as
 * references. */
#define KINDS(a, b, c) ((1u << (a)) | (1u << (b)) | (1u << (c)))

#define FIELD(f) offsetof(struct py_layout, f)

static const struct owner_class {
	const char *tp_name;
	enum role role;
	size_t field;
	const char *module, *ctype, *member;
	int untracked;
	unsigned kinds;        /* untracked holders: the fd kinds they can hold */
} OWNER_CLASSES[] = {
	{ "_io.FileIO", HOLDER, FIELD(fileio_fd), NULL, NULL, NULL, 0, 0 },
	{ "_socket.socket", HOLDER, FIELD(sock_fd), "_socket", "PySocketSockObject", "sock_fd", 1,
	  KINDS(FDK_SOCK, FDK_SOCK, FDK_SOCK) },
	{ "select.epoll", HOLDER, FIELD(epoll_fd), "select", "pyEpoll_Object", "epfd", 1,
	  KINDS(FDK_ANON, FDK_ANON, FDK_ANON) },
	{ "mmap.mmap", HOLDER, FIELD(mmap_fd), "mmap", "mmap_object", "fd", 1,
	  KINDS(FDK_REG, FDK_CHR, FDK_BLK) },
	/* the database files of its sqlite3 handle (sqlite_fds): the handle is
	 * the first field on every version */
	{ "sqlite3.Connection", DATABASE, FIELD(ob_type), "_sqlite3", NULL, NULL, 1,
	  KINDS(FDK_REG, FDK_REG, FDK_REG) },
	{ "_io.BufferedReader", WRAPPER, FIELD(buffered_raw), NULL, NULL, NULL, 0, 0 },
	{ "_io.BufferedWriter", WRAPPER, FIELD(buffered_raw), NULL, NULL, NULL, 0, 0 },
	{ "_io.BufferedRandom", WRAPPER, FIELD(buffered_raw), NULL, NULL, NULL, 0, 0 },
	{ "_io.TextIOWrapper", WRAPPER, FIELD(textio_buffer), NULL, NULL, NULL, 0, 0 },
};
#define NCLASSES LT_ARRAY_SIZE(OWNER_CLASSES)

struct owner_layouts {
	struct target *t;
	int32_t offset[NCLASSES];   /* of the fd (holders) or inner object (wrappers); -2 unresolved */
	const char *names[NCLASSES];
};

struct owner_layouts *owner_layouts_new(struct target *t)
{
	struct owner_layouts *ol = xcalloc(1, sizeof(*ol));

	ol->t = t;
	for (size_t i = 0; i < NCLASSES; i++) {
		ol->offset[i] = -2;
		ol->names[i] = OWNER_CLASSES[i].tp_name;
	}
	return ol;
}

void owner_layouts_free(struct owner_layouts *ol)
{
	free(ol);
}

/* The extension module's own DWARF for class k's field, or -1. */
static int32_t module_offset(struct owner_layouts *ol, size_t k)
{
	const struct owner_class *oc = &OWNER_CLASSES[k];
	struct dwarf_types *dt = oc->module ? target_module_types(ol->t, oc->module) : NULL;
	long off = dt ? dwarf_types_query(dt, DQ_OFFSET, oc->ctype, oc->member) : -1;

	return off >= 0 && off < (1 << 16) ? (int32_t)off : -1;
}

static int32_t class_offset(struct owner_layouts *ol, const struct py_layout *l, size_t k)
{
	if (ol->offset[k] == -2) {
		int32_t off = module_offset(ol, k);

		ol->offset[k] = off >= 0 ? off : *(const int32_t *)((const char *)l + OWNER_CLASSES[k].field);
	}
	return ol->offset[k];
}

void owner_layouts_fill(struct owner_layouts *ol, struct py_layout *lay)
{
	for (size_t k = 0; k < NCLASSES; k++) {
		int32_t *f = (int32_t *)((char *)lay + OWNER_CLASSES[k].field);
		int32_t off;

		if (*f < 0 && OWNER_CLASSES[k].ctype && (off = module_offset(ol, k)) >= 0)
			*f = off;
	}
}

static int class_of(struct owner_layouts *ol, struct pyctx *c, struct pytype *t)
{
	if (!t->owner_class) {
		int i = pytype_match_base(c, t, ol->names, NCLASSES);

		t->owner_class = (signed char)(i < 0 ? -1 : i + 1);
	}
	return t->owner_class > 0 ? t->owner_class - 1 : -1;
}

void owner_set_init(struct owner_set *s)
{
	memset(s, 0, sizeof(*s));
}

void owner_set_free(struct owner_set *s)
{
	for (size_t i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->v);
	free(s->wraps);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}

static const char *keep(struct owner_set *s, const char *str)
{
	if (s->nstrings == s->strings_cap) {
		s->strings_cap = s->strings_cap ? s->strings_cap * 2 : 32;
		s->strings = xreallocarray(s->strings, s->strings_cap, sizeof(*s->strings));
	}
	s->strings[s->nstrings] = xstrdup(str);
	return s->strings[s->nstrings++];
}

/* Open-addressing set of owner addresses; returns 1 if addr was new. */
static int remember(struct owner_set *s, uint64_t addr)
{
	size_t i;

	if (2 * (s->nseen + 1) > s->seen_cap) {
		uint64_t *old = s->seen;
		size_t oldcap = s->seen_cap;

		s->seen_cap = oldcap ? oldcap * 2 : 256;
		s->seen = xcalloc(s->seen_cap, sizeof(*s->seen));
		s->nseen = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k])
				remember(s, old[k]);
		free(old);
	}
	for (i = (size_t)(addr >> 4) & (s->seen_cap - 1); s->seen[i]; i = (i + 1) & (s->seen_cap - 1))
		if (s->seen[i] == addr)
			return 0;
	s->seen[i] = addr;
	s->nseen++;
	return 1;
}

/* FileIO keeps its name in its __dict__: a str, or an int for FileIO(fd). */
static const char *fileio_name(struct pyctx *c, struct owner_set *s, uint64_t obj)
{
	uint64_t dict, name;
	char buf[512];

	if (remote_read_u64(c->mem, obj + (uint64_t)c->lay->fileio_dict, &dict) < 0 || !dict ||
	    pydict_get_str(c, dict, "name", &name) < 0)
		return NULL;
	if (pystr_read(c, name, buf, sizeof(buf)) < 0) {
		uint64_t type;
		struct pytype *nt;

		if (remote_read_u64(c->mem, name + (uint64_t)c->lay->ob_type, &type) < 0 ||
		    !(nt = pytype_get(c, type)))
			return NULL;
		pyobj_repr(c, name, nt, buf, sizeof(buf));
	}
	return keep(s, buf);
}

static struct fd_owner *add_owner(struct owner_set *s, uint64_t obj, int fd, struct pytype *t)
{
	struct fd_owner *o;

	/* one entry per object and descriptor (a database may have two) */
	if (!remember(s, obj | (uint64_t)fd << 48))
		return NULL;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	o = &s->v[s->n++];
	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->addr = obj;
	o->type = keep(s, t->name);
	return o;
}

/* The files an sqlite3.Connection's handle has open, through sqlite's own
 * structures (sqliteInt.h, the same from sqlite 3.8 to 3.50): sqlite3
 * {pVfs, pVdbe, pDfltColl, mutex, aDb, int nDb}; Db {zDbSName, pBt, ...},
 * 32 bytes each; Btree {db, pBt}; BtShared {pPager}; Pager {pVfs, ...} whose
 * open files (unixFile {pMethod, pVfs, pInode, int h}: the database and its
 * journal) are the words among its first that point to a structure with
 * the handle's vfs one word in.  Every link is checked back to the handle
 * and every count bounded: this memory is the target's. */
#define SQLITE_MAX_DBS 12      /* main, temp and SQLITE_MAX_ATTACHED (10) */
#define SQLITE_PAGER_WORDS 32

static void sqlite_fds(struct pyctx *c, struct owner_set *s, uint64_t obj, struct pytype *t)
{
	uint64_t db, vfs, adb, x, words[SQLITE_PAGER_WORDS];
	int32_t ndb;

	if (remote_read_cached(c->mem, obj + (uint64_t)c->lay->ob_type + 8, &db, 8) < 0 || !db ||
	    remote_read_cached(c->mem, db, &vfs, 8) < 0 || !vfs ||
	    remote_read_cached(c->mem, db + 32, &adb, 8) < 0 || !adb ||
	    remote_read_cached(c->mem, db + 40, &ndb, 4) < 0 || ndb <= 0)
		return;
	for (int32_t i = 0; i < ndb && i < SQLITE_MAX_DBS; i++) {
		uint64_t btree, shared, pager;

		if (remote_read_cached(c->mem, adb + 32 * (uint64_t)i + 8, &btree, 8) < 0 || !btree ||
		    remote_read_cached(c->mem, btree, &x, 8) < 0 || x != db ||
		    remote_read_cached(c->mem, btree + 8, &shared, 8) < 0 || !shared ||
		    remote_read_cached(c->mem, shared, &pager, 8) < 0 || !pager ||
		    remote_read_cached(c->mem, pager, words, sizeof(words)) < 0 || words[0] != vfs)
			continue;
		for (int w = 1; w < SQLITE_PAGER_WORDS; w++) {
			uint64_t file = words[w], method;
			int32_t fd;

			if (!file || (file & 7) || remote_read_cached(c->mem, file + 8, &x, 8) < 0 ||
			    x != vfs || remote_read_cached(c->mem, file, &method, 8) < 0 || !method ||
			    remote_read_cached(c->mem, file + 24, &fd, 4) < 0 || fd < 0 || fd >= 1 << 20)
				continue;
			add_owner(s, obj, fd, t);
		}
	}
}

static void record(struct owner_layouts *ol, struct pyctx *c, struct owner_set *s, uint64_t obj,
		   struct pytype *t, size_t k)
{
	const struct owner_class *oc = &OWNER_CLASSES[k];
	struct fd_owner *o;
	int32_t off;

	if (oc->role == DATABASE) {
		sqlite_fds(c, s, obj, t);
		return;
	}
	if ((off = class_offset(ol, c->lay, k)) < 0)
		return;
	if (oc->role == WRAPPER) {
		uint64_t inner;

		if (remote_read_u64(c->mem, obj + (uint64_t)off, &inner) < 0 || !inner)
			return;
		if (s->nwraps == s->wraps_cap) {
			s->wraps_cap = s->wraps_cap ? s->wraps_cap * 2 : 64;
			s->wraps = xreallocarray(s->wraps, s->wraps_cap, sizeof(*s->wraps));
		}
		s->wraps[s->nwraps].addr = obj;
		s->wraps[s->nwraps].inner = inner;
		s->wraps[s->nwraps].type = keep(s, t->name);
		s->nwraps++;
		return;
	}
	int32_t fd;

	if (remote_read_cached(c->mem, obj + (uint64_t)off, &fd, sizeof(fd)) < 0 || fd < 0)
		return;  /* closed objects hold nothing */
	if (!(o = add_owner(s, obj, fd, t)))
		return;
	if (strcmp(oc->tp_name, "_io.FileIO") == 0) {
		const char *name = fileio_name(c, s, obj);

		o->name = (char *)name;
	}
}

void owners_visit(struct owner_layouts *ol, struct pyctx *c, struct owner_set *s, uint64_t obj,
		  struct pytype *t)
{
	int k = class_of(ol, c, t);

	if (k >= 0)
		record(ol, c, s, obj, t, (size_t)k);
}

struct ref_scan {
	struct owner_layouts *ol;
	struct pyctx *c;
	struct owner_set *s;
};

static int scan_ref(void *arg, uint64_t ref, int guessed)
{
	struct ref_scan *rs = arg;
	uint64_t type;
	struct pytype *t;
	int k;

	(void)guessed;  /* a guessed word was checked to be an object as well */
	if (remote_read_cached(rs->c->mem, ref + (uint64_t)rs->c->lay->ob_type, &type, 8) < 0 ||
	    !(t = pytype_get(rs->c, type)))
		return 0;
	k = class_of(rs->ol, rs->c, t);
	if (k >= 0 && OWNER_CLASSES[k].untracked)
		record(rs->ol, rs->c, rs->s, ref, t, (size_t)k);
	return 0;
}

void owners_visit_refs(struct owner_layouts *ol, struct pyctx *c, struct owner_set *s,
		       uint64_t obj, struct pytype *t)
{
	struct ref_scan rs = { ol, c, s };

	refs_each(c, obj, t, scan_ref, &rs);
}

static int by_inner(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)((const char *)a + sizeof(uint64_t));
	uint64_t y = *(const uint64_t *)((const char *)b + sizeof(uint64_t));

	return (x > y) - (x < y);
}

static int by_fd_addr(const void *a, const void *b)
{
	const struct fd_owner *x = a, *y = b;

	if (x->fd != y->fd)
		return (x->fd > y->fd) - (x->fd < y->fd);
	return (x->addr > y->addr) - (x->addr < y->addr);
}

int owners_worth_a_ref_scan(struct owner_layouts *ol, const struct fd_entry *e)
{
	for (size_t k = 0; k < NCLASSES; k++) {
		const struct owner_class *oc = &OWNER_CLASSES[k];

		if (!oc->untracked || !(oc->kinds & (1u << e->kind)))
			continue;
		if (e->kind == FDK_ANON && !strstr(e->target, "[eventpoll]"))
			continue;
		if (target_has_module(ol->t, oc->module))
			return 1;
	}
	return 0;
}

void owners_finish(struct owner_set *s)
{
	lt_sort(s->wraps, s->nwraps, sizeof(*s->wraps), by_inner);
	lt_sort(s->v, s->n, sizeof(*s->v), by_fd_addr);
	for (size_t i = 0; i < s->n; i++) {
		struct fd_owner *o = &s->v[i];
		uint64_t inner = o->addr;

		o->nwrap = 0;
		/* FileIO <- Buffered* <- TextIOWrapper: the first wrapper found */
		while (o->nwrap < OWNER_MAX_WRAPPERS) {
			size_t lo = 0, hi = s->nwraps;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (s->wraps[mid].inner < inner)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == s->nwraps || s->wraps[lo].inner != inner)
				break;
			o->wrap_addr[o->nwrap] = s->wraps[lo].addr;
			o->wrap_type[o->nwrap] = s->wraps[lo].type;
			o->nwrap++;
			inner = s->wraps[lo].addr;
		}
	}
}

const struct fd_owner *owners_of_fd(const struct owner_set *s, int fd, size_t *n)
{
	size_t lo = 0, hi = s->n, start;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	start = lo;
	while (lo < s->n && s->v[lo].fd == fd)
		lo++;
	*n = lo - start;
	return *n ? &s->v[start] : NULL;
}
