/* core.h - a dead process's ELF core file (gcore's, the kernel's) as the
 * memory of a session: the same census, chains and stacks as live. */
#ifndef LEAKTOP_CORE_H
#define LEAKTOP_CORE_H

struct session;
struct snapshot_opts;

/* Open the core at path as an offline session (snapshot.h): its memory
 * from the core's segments and, for what the core left out (code,
 * read-only data), from the files it had mapped (exe: the program that
 * dumped it, when the core's own record of it cannot be opened); its
 * threads and command line from the core's notes.  What a core lacks
 * (descriptors, sockets) is said in a note.  Returns 0, or -1 with
 * lt_error and a message saying what to do. */
int core_session_open(struct session *s, const char *path, const char *exe,
		      const struct snapshot_opts *o);

#endif
