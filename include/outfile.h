/* outfile.h - the files leaktop writes, made safely beside their name.
 *
 * leaktop runs as root next to users it must not trust, and a snapshot
 * file holds a whole heap.  A file is written under a fresh random name in
 * its destination's directory, created with O_CREAT|O_EXCL|O_NOFOLLOW (a
 * symlink or file planted there makes creation fail and another name is
 * tried; nothing is ever followed), checked with fstat to be the regular
 * file just made, given its mode whatever the umask (0600 for what holds
 * heap contents), and renamed over the destination once complete: a reader
 * sees the old file or the whole new one, and a symlink at the destination
 * is replaced, not followed. */
#ifndef LEAKTOP_OUTFILE_H
#define LEAKTOP_OUTFILE_H

#include <stdio.h>
#include <sys/types.h>

struct outfile {
	FILE *f;
	char *tmp;   /* the temporary name, NULL once committed or aborted */
	char *path;  /* the destination, as the user named it */
};

/* Creates the temporary beside path.  0, or -1 with lt_error naming path. */
int outfile_open(struct outfile *o, const char *path, mode_t mode);
/* Flushes, closes and renames it over path.  0, or -1 with lt_error (the
 * temporary is removed). */
int outfile_commit(struct outfile *o);
/* Closes and removes the temporary (after a failure). */
void outfile_abort(struct outfile *o);

#endif
