/* rootfs.h - opening the files of another root without leaving it.
 *
 * A process in a container (reached through /proc/PID/root) and a core
 * read with --exe ROOT name their files by paths of their own root, and
 * the symlinks in that root are theirs to set: an absolute link, or enough
 * "..", would take a plain open() through the root to the host's files.
 * Everything leaktop opens in such a root (the modules' ELF files, their
 * separate debug files) goes through rootfs_open, which resolves the whole
 * path, links included, inside the root. */
#ifndef LEAKTOP_ROOTFS_H
#define LEAKTOP_ROOTFS_H

#include <elfutils/libdwfl.h>

/* Opens path (absolute, in root's view) read-only inside root, a directory
 * ("" or NULL: our own root, a plain open).  Links resolve inside root
 * (openat2 RESOLVE_IN_ROOT; a kernel without it gets no links and no ".."
 * at all).  Only a regular file is opened (a FIFO would block).  Returns
 * the descriptor, or -1 with errno. */
int rootfs_open(const char *root, const char *path);

/* The userdata of every module of a Dwfl that uses the callbacks below
 * (a struct that begins with it will do). */
struct rootfs_user {
	const char *root;   /* "" or NULL: the host's own files */
};

/* Make user the userdata of every module dwfl has reported. */
void rootfs_adopt(Dwfl *dwfl, struct rootfs_user *user);

/* libdwfl's find_elf for a live process: a module named under root
 * ("ROOT/usr/lib/libc.so.6") is opened inside it; one named so that it was
 * deleted is not opened at all; anything else as libdwfl would. */
int rootfs_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp);

/* libdwfl's find_debuginfo: inside root, the module's build-id file under
 * /usr/lib/debug/.build-id, then its debuglink beside it, in .debug/ and
 * under /usr/lib/debug, each with the module's build ID; then libdwfl's
 * own search of the Dwfl's debuginfo_path (which for a root must name only
 * the host's directories: rootfs_debuginfo_path). */
int rootfs_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name);

/* The debuginfo path for a Dwfl whose files live under root: the user's
 * (LEAKTOP_DEBUGINFO_PATH: then nothing is looked for inside the root),
 * the host's /usr/lib/debug for a root, or NULL (libdwfl's default).
 * Malloc'd or NULL. */
char *rootfs_debuginfo_path(const char *root);

#endif
