/* owners.h - which Python objects hold which file descriptors.
 *
 * While the heap is walked, objects whose type (or a base of it) is a
 * descriptor holder are recorded with the fd they hold: _io.FileIO,
 * _socket.socket and subclasses (socket.socket, ssl.SSLSocket), select.epoll,
 * mmap.mmap, sqlite3.Connection (its database files).  Wrappers are recorded too (Buffered* around a FileIO,
 * TextIOWrapper around a Buffered*), so an owner can say what wraps it.
 * Holders the GC does not track (epoll, mmap, plain _socket.socket) are
 * found among the references of tracked objects.  The table of holder
 * types is OWNER_CLASSES in owners.c: one line per type. */
#ifndef LEAKTOP_OWNERS_H
#define LEAKTOP_OWNERS_H

#include <stddef.h>
#include <stdint.h>

struct pyctx;
struct pytype;
struct target;
struct py_layout;

#define OWNER_MAX_WRAPPERS 2

struct fd_owner {
	int fd;
	uint64_t addr;
	const char *type;            /* module.qualname (owned by the owner set) */
	char *name;                  /* FileIO's name, or NULL */
	int nwrap;
	uint64_t wrap_addr[OWNER_MAX_WRAPPERS];
	const char *wrap_type[OWNER_MAX_WRAPPERS];
};

struct owner_set {
	struct fd_owner *v;
	size_t n, cap;
	/* wrappers seen: (wrapper, wrapped) */
	struct { uint64_t addr, inner; const char *type; } *wraps;
	size_t nwraps, wraps_cap;
	char **strings;              /* names and types, freed with the set */
	size_t nstrings, strings_cap;
	/* addresses already recorded, to count an owner once */
	uint64_t *seen;
	size_t seen_cap, nseen;
};

/* Per-session resolution of holder layouts (extension modules' DWARF). */
struct owner_layouts;
struct owner_layouts *owner_layouts_new(struct target *t);
/* Fill the layout's descriptor-holder offsets it lacks from the extension
 * modules' DWARF (for the built-in tables: `leaktop layout-table`). */
void owner_layouts_fill(struct owner_layouts *ol, struct py_layout *lay);
void owner_layouts_free(struct owner_layouts *ol);

void owner_set_init(struct owner_set *s);
void owner_set_free(struct owner_set *s);

/* Look at one object (from the GC walk); records it if it holds an fd or
 * wraps a holder. */
void owners_visit(struct owner_layouts *ol, struct pyctx *c, struct owner_set *s, uint64_t obj,
		  struct pytype *t);
/* Look at the referents of one object for holders the GC does not track. */
void owners_visit_refs(struct owner_layouts *ol, struct pyctx *c, struct owner_set *s,
		       uint64_t obj, struct pytype *t);
struct fd_entry;
/* Could a holder the GC does not track hold this (unclaimed) descriptor?
 * Only if its kind fits and the holder's module is loaded. */
int owners_worth_a_ref_scan(struct owner_layouts *ol, const struct fd_entry *e);

/* Link wrappers to the holders they wrap; order holders by fd. */
void owners_finish(struct owner_set *s);
/* After owners_finish: the holders of fd (*n of them, 0 -> NULL). */
const struct fd_owner *owners_of_fd(const struct owner_set *s, int fd, size_t *n);

#endif
