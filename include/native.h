/* native.h - the native stacks of a stopped target's threads.
 *
 * Unwinding needs the threads stopped and reads only registers and stacks:
 * native_unwind (libunwind, with libunwind-ptrace's registers and the
 * modules' .eh_frame_hdr tables) records addresses during the stop.  Naming them reads only files: native_name
 * (libdw: the symbol tables, .symtab or .dynsym, and the line tables when
 * there is DWARF) runs after the target was let go. */
#ifndef LEAKTOP_NATIVE_H
#define LEAKTOP_NATIVE_H

#include <stdint.h>
#include <sys/types.h>

struct target;

/* Frames unwound per thread at most (a corrupt stack can loop). */
#define NATIVE_MAX_FRAMES 512

struct native_stack {
	pid_t tid;
	uint64_t *ip;            /* innermost first; later ones are return addresses */
	uint64_t *sp;            /* each frame's stack pointer: frame i's locals lie in
				  * [sp[i], sp[i + 1]) */
	int n;
	char error[96];          /* why the unwind stopped early, "" if it reached the end */
};

/* The unwind tables of a target's modules (their .eh_frame_hdr, found
 * through libdw, which opens the files as the target sees them, in a
 * container too): made before the stop. */
struct native_unwinder;
struct native_unwinder *native_unwinder_new(struct target *t);
void native_unwinder_free(struct native_unwinder *u);

/* Unwind thread tid of a target that leaktop holds stopped (attach.h).
 * Returns 0 (st->n >= 1) or -1 with st->error; st->ip is malloc'd. */
int native_unwind(struct native_unwinder *u, pid_t tid, struct native_stack *st);
void native_stack_free(struct native_stack *st);

struct native_name {
	char function[128];      /* "" when no symbol covers the address */
	uint64_t offset;         /* of the address into the function (into the module
				  * when no symbol covers it) */
	char module[128];        /* the shared object's file name ("libc.so.6") */
	char file[256];          /* source file and line, with DWARF; "" and -1 without */
	int line;
};

/* Name frame i of a stack (i > 0: a return address, named by the call
 * before it). */
void native_name(struct target *t, const struct native_stack *st, int i, struct native_name *out);

#endif
