/* census.h - objects by type: count, GC-tracked count, bytes. */
#ifndef LEAKTOP_CENSUS_H
#define LEAKTOP_CENSUS_H

#include <stddef.h>
#include <stdint.h>

struct census_row {
	char *type;              /* module.qualname */
	uint64_t count, gc_tracked, bytes;
	uint64_t gc_bytes;       /* bytes of the GC-tracked ones */
	uint64_t buffer_bytes;   /* of bytes, buffers the objects own outside
				  * their own block (a numpy array's data) */
	uint64_t mapped_bytes;   /* not in bytes: what they map (mmap.mmap) */
	int object_only;         /* __sizeof__ is Python code: bytes are the
				  * objects alone (pytype_python_sizeof) */
};

struct census {
	struct census_row *rows; /* sorted by bytes, descending */
	size_t n, cap;
	uint64_t objects, bytes, gc_tracked;
	uint64_t buffer_bytes;   /* the rows' buffer_bytes, summed */
	uint64_t mapped_bytes;   /* the rows' mapped_bytes, summed */
	int complete;
	char **notes;
	size_t nnotes;
};

void census_init(struct census *c);
void census_free(struct census *c);
/* Add counts for a type name; rows with the same name are merged by
 * census_finish.  Returns the row, for fields beyond these. */
struct census_row *census_add(struct census *c, const char *type, uint64_t count,
			      uint64_t gc_tracked, uint64_t bytes);
/* Merge same-named rows, compute totals, sort by bytes (then count, name). */
void census_finish(struct census *c);
void census_note(struct census *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The row for a type name, or NULL. */
const struct census_row *census_find(const struct census *c, const char *type);

#endif
