/* memacct.h - where the target's resident memory goes.
 *
 * Every byte of the RSS, the sum of /proc/PID/smaps' Rss read right after
 * the target was let go, is put in one named part:
 *
 *   python_objects       the census's bytes less the buffers objects own
 *                        (static ones, in the interpreter's data pages,
 *                        taken out of the file mappings they lie in)
 *   owned_buffers        the census's buffer_bytes
 *   pymalloc_free        pymalloc's arenas: their resident bytes (pagemap)
 *                        less the bytes of their blocks in use (pool headers)
 *   malloc_unattributed  the heap no object accounts for: [heap], malloc's
 *                        arenas and mmap'd chunks, plus the arenas' blocks in
 *                        use, less the two parts above them
 *   file_mappings        resident pages of mapped files: code, libraries,
 *                        mmap'd files (their written private copies too)
 *   thread_stacks        [stack], the mappings holding a thread's stack
 *                        pointer, and those laid out as glibc and musl lay
 *                        out a thread's stack (below it a PROT_NONE guard)
 *   other_anonymous      the rest: anonymous memory that is neither malloc's
 *                        nor pymalloc's nor a stack (an anonymous mmap, the
 *                        interpreter's frame stacks, libraries' .bss),
 *                        shared memory, the kernel's [vdso]
 *
 * The first four share the heap's resident bytes; when the objects and
 * buffers need more than it holds, other anonymous memory is taken for
 * them first (a mapping leaktop did not recognise as malloc's), and what is
 * still missing is left out of their parts, with a note: the parts always
 * add up to the RSS exactly, and none is negative.
 *
 * Only a live target has a /proc: offline sessions (snapshot files, core
 * files) have no accounting.  A snapshot file could carry the smaps text
 * in a future format. */
#ifndef LEAKTOP_MEMACCT_H
#define LEAKTOP_MEMACCT_H

#include <stdint.h>
#include <stdio.h>

struct census;
struct json;
struct session;

enum mem_part {
	MEM_OBJECTS,
	MEM_BUFFERS,
	MEM_PYMALLOC_FREE,
	MEM_MALLOC_OTHER,
	MEM_FILES,
	MEM_STACKS,
	MEM_ANON_OTHER,
	MEM_NPARTS
};

#define MEM_NOTE_MAX 3

struct mem_account {
	int known;                    /* 0: not read (offline, or smaps refused) */
	uint64_t rss;                 /* the sum of smaps' Rss */
	uint64_t part[MEM_NPARTS];    /* adds up to rss */
	uint64_t mappings;            /* what smaps listed */
	/* What the parts were made from (memacct_read): */
	uint64_t heap_rss;            /* [heap], malloc's mappings */
	uint64_t arena_rss, arena_used;  /* pymalloc's arenas: resident, blocks in use */
	uint64_t arenas;              /* how many */
	uint64_t file_rss, stack_rss, anon_rss;
	uint64_t stacks;              /* mappings taken for stacks */
	/* The interpreter's image (the module holding _PyRuntime, to the
	 * end of its .bss): static objects (its types; 3.11+, the small
	 * ints and strings in _PyRuntime) are there, not in the heap.  The
	 * walk adds up their bytes. */
	uint64_t static_lo, static_len;
	uint64_t static_objects;      /* bytes of objects in it (the walk's) */
	uint64_t module_data_rss;     /* Rss of its writable file-backed pages */
	uint64_t borrowed;            /* other anonymous memory given to the objects */
	uint64_t unresident;          /* object and buffer bytes left out of their parts */
	int arenas_known;             /* arena_list answered */
	int pagemap;                  /* arena residency from pagemap (else estimated) */
	char notes[MEM_NOTE_MAX][240];
	int nnotes;
};

/* The part's name in JSON ("python_objects"), in text ("Python objects"),
 * and its letter in the view's bar. */
const char *mem_part_name(enum mem_part p);
const char *mem_part_label(enum mem_part p);
char mem_part_letter(enum mem_part p);

/* Right after the target was let go (s->ctx reading the copy): the
 * threads' stack pointers, pymalloc's arenas and their resident pages,
 * then smaps, streamed and classified mapping by mapping.  Everything
 * read is bounded, whatever the number of mappings.  Sets m->known, or
 * leaves it 0 with a note saying why. */
void memacct_read(struct mem_account *m, struct session *s);
/* After the walk: the parts, from what was read and the census. */
void memacct_finish(struct mem_account *m, const struct census *c);

/* dump's text block ("memory: ..." and indented rows), and the JSON
 * "memory" member (null when not known). */
void memacct_text(FILE *out, const struct mem_account *m);
void memacct_json(struct json *j, const struct mem_account *m);

/* Split width cells among the parts in proportion (largest remainders):
 * cells[i] for part i; returns the cells given (width, or 0 when not known). */
int memacct_bar(const struct mem_account *m, int width, int cells[MEM_NPARTS]);

#endif
