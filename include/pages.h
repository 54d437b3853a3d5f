/* pages.h - a target's pages as it has them, read without touching it.
 *
 * Reading a page the target never touched (process_vm_readv, /proc/PID/mem)
 * gives it that page: a file's page joins its RSS, an anonymous one maps
 * the zero page, which every later plan then copies.  Looking must not
 * change what is looked at: such a read is answered without the target,
 * from what the page holds (zeros, or its file's bytes through
 * /proc/PID/map_files), and a clean page of a mapped file is read from the
 * file too.  /proc/PID/pagemap tells which pages those are.
 *
 * Used by remote.c for every live read of a live target, and by image.c
 * for what its copy lacks. */
#ifndef LEAKTOP_PAGES_H
#define LEAKTOP_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

struct pages;

/* For pid, its mappings read now.  NULL when its pagemap cannot be read
 * (then reads are plain live reads). */
struct pages *pages_open(pid_t pid);
void pages_close(struct pages *p);
/* Read the mappings again (after a stop: new ones may exist). */
void pages_refresh(struct pages *p);

/* The pagemap entry of addr's page (bit 63 present, 62 swapped, 61 a
 * file's page or shared); 0, or -1 when it cannot be read. */
int pages_entry(struct pages *p, uint64_t addr, uint64_t *ent);

/* The bytes of m's file behind [addr, addr+len) (within one page, inside
 * m); past the file's end, zeros.  0, or -1 when it cannot be read. */
int pages_file_bytes(struct pages *p, const struct proc_map *m, uint64_t addr, void *buf,
		     size_t len);

/* [addr, addr+len), within one page, by the pagemap now: 0 its bytes are
 * in buf, had without the target (a page it never touched); 1 read it
 * live (present, swapped: read and counted, or not known); -1 no mapping
 * holds it (the maps are read again first when they are not fresh). */
int pages_read(struct pages *p, uint64_t addr, void *buf, size_t len);

/* What m's page at addr holds when the target never touched it: zeros,
 * or its file's bytes.  0, or -1 when the file cannot be read. */
int pages_untouched(struct pages *p, const struct proc_map *m, uint64_t addr, void *buf,
		    size_t len);

/* Our own vDSO and its length (NULL when not found): the kernel maps the
 * same image into every process, a target's read from it is read here. */
const unsigned char *pages_own_vdso(uint64_t *len);

#endif
