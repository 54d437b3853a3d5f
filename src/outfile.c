/* outfile.c - files created without following links, renamed into place. */
#include "config.h"
#include "outfile.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTFILE_TRIES 100

int outfile_open(struct outfile *o, const char *path, mode_t mode)
{
	int fd = -1, err = 0;
	struct stat st;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < OUTFILE_TRIES && fd < 0; i++) {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r = (uint32_t)lt_now_us() ^ (uint32_t)getpid() << 16 ^ (uint32_t)i;
		free(o->tmp);
		o->tmp = xasprintf("%s.tmp-%08x", path, r);
		fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		err = errno;
		if (fd < 0 && err != EEXIST)
			break;  /* no directory, no permission: trying again will not help */
	}
	if (fd >= 0) {
		/* what was opened is the regular file just made, and ours */
		errno = 0;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
		    st.st_uid != geteuid() || fchmod(fd, mode) < 0) {
			err = errno ? errno : EPERM;
			close(fd);
			unlink(o->tmp);
			fd = -1;
		}
	}
	if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
		if (fd >= 0) {
			err = errno;
			close(fd);
			unlink(o->tmp);
		}
		lt_error(LT_ERR_OTHER, "cannot write %s: %s", path, strerror(err ? err : EIO));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	o->path = xstrdup(path);
	return 0;
}

int outfile_commit(struct outfile *o)
{
	int err = 0;

	if (fflush(o->f) != 0 || ferror(o->f))
		err = errno ? errno : EIO;
	if (fclose(o->f) != 0 && !err)
		err = errno;
	o->f = NULL;
	if (!err && rename(o->tmp, o->path) < 0)
		err = errno;
	if (err) {
		lt_error(LT_ERR_OTHER, "cannot write %s: %s", o->path, strerror(err));
		unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return err ? -1 : 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
