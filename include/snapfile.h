/* snapfile.h - snapshot files: one stop's copy, kept to be read later.
 *
 * A snapshot file holds what a walk needs and cannot find again once the
 * process has moved on: the memory copied in the stop (and the read-only
 * pages the walk read besides), the interpreter's layout and the symbols
 * the walkers ask for, the process's facts, its descriptors and threads.
 * Reading one is walking that memory again (an offline session,
 * snapshot.h): the census, chains, retainers and stacks come out as they
 * did from the live process.  The format is described in snapfile.c and in
 * the man page (SNAPSHOT FILES); it is the same on every machine
 * (little-endian integers, fields by name). */
#ifndef LEAKTOP_SNAPFILE_H
#define LEAKTOP_SNAPFILE_H

#include <stdio.h>

struct image;
struct session;
struct snapshot;
struct snapshot_opts;

/* Call before the session_snapshot whose result will be saved: its walk
 * then remembers the pages it reads live (read-only data the copy lacks:
 * type names, code), which the file needs too. */
void snapfile_prepare(struct session *s);

/* Write snap, just taken from the live session s (snapfile_prepare'd), to
 * f (standard output, or an outfile made 0600 before the target was
 * stopped), name saying which in an error.  Returns 0, or -1 with lt_error. */
int snapfile_save(struct session *s, const struct snapshot *snap, FILE *f, const char *name);

/* Open the snapshot file at path ("-": standard input) as an offline
 * session.  A damaged or truncated file is refused with one line saying
 * what is wrong.  Returns 0, or -1 with lt_error. */
int snapfile_session_open(struct session *s, const char *path, const struct snapshot_opts *o);

/* The memory of a session snapfile_session_open made, which its snapshots
 * walk: segments ascending and disjoint, their off into buf, the file's
 * data (a private writable mapping, so the fuzz harness can damage it in
 * place; the MEM section's bytes, contiguous).  NULL for any other
 * session. */
struct image *snapfile_image(struct session *s);

#endif
