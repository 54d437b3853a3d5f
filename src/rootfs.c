/* rootfs.c - opening the files of another root without leaving it. */
#include "config.h"
#include "rootfs.h"
#include "pages.h"
#include "util.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RESOLVE_IN_ROOT
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_IN_ROOT 0x10
#endif

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"

/* Without openat2: component by component from the root, refusing every
 * link and "..": a root that needs them is not read, never left. */
static int open_by_components(int dir, const char *path)
{
	char comp[256];
	int at = dup(dir);

	while (at >= 0) {
		const char *end;
		size_t n;
		int next;

		while (*path == '/')
			path++;
		end = strchr(path, '/');
		n = end ? (size_t)(end - path) : strlen(path);
		if (n == 0 || n >= sizeof(comp) || (n == 2 && memcmp(path, "..", 2) == 0)) {
			close(at);
			errno = n == 0 ? EISDIR : EXDEV;
			return -1;
		}
		memcpy(comp, path, n);
		comp[n] = '\0';
		path += n;
		next = openat(at, comp, (end ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK) |
			      O_NOFOLLOW | O_CLOEXEC);
		close(at);
		if (!end || next < 0)
			return next;
		at = next;
	}
	return -1;
}

int rootfs_open(const char *root, const char *path)
{
	struct stat st;
	int dir, fd = -1;

	if (!root || !root[0])
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	else if (path[0] != '/') {
		errno = EINVAL;
		return -1;
	} else {
		dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -1;
#ifdef SYS_openat2
		{
			struct { uint64_t flags, mode, resolve; } how = {
				O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0,
				RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

			fd = (int)syscall(SYS_openat2, dir, path + 1, &how, sizeof(how));
			if (fd < 0 && errno == ENOSYS)
				fd = open_by_components(dir, path);
		}
#else
		fd = open_by_components(dir, path);
#endif
		close(dir);
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, 0);
	return fd;
}

static const char *user_root(void **userdata)
{
	const struct rootfs_user *u = userdata ? *userdata : NULL;

	return u && u->root ? u->root : "";
}

/* path under root ("ROOT/usr/lib/x" -> "/usr/lib/x"), or NULL. */
static const char *inside(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (!n || !path || strncmp(path, root, n) != 0 || path[n] != '/')
		return NULL;
	return path + n;
}

static int set_user(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		    void *arg)
{
	(void)mod, (void)name, (void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

void rootfs_adopt(Dwfl *dwfl, struct rootfs_user *user)
{
	dwfl_getmodules(dwfl, set_user, user, 0);
}

int rootfs_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const char *root = user_root(userdata), *in = inside(root, name);
	size_t n = name ? strlen(name) : 0;
	int fd;

	/* The vDSO is the kernel's, the same in every process: ours, rather
	 * than a read of the target's that would give it the page. */
	if (name && strncmp(name, "[vdso", 5) == 0) {
		static unsigned char *copy;
		uint64_t len;
		const unsigned char *own = pages_own_vdso(&len);
		Dwarf_Addr low, high;

		dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
		if (own && high - low == len) {
			if (!copy) {
				copy = xmalloc(len);
				memcpy(copy, own, len);
			}
			*elfp = elf_memory((char *)copy, len);
			if (*elfp)
				return -1;
		}
	}
	if (!in)
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	/* A deleted file's name is the root's to reuse: a link by that name
	 * leads anywhere. */
	if (n > 10 && strcmp(name + n - 10, " (deleted)") == 0)
		return -1;
	fd = rootfs_open(root, in);
	if (fd >= 0)
		*file_name = xstrdup(name);
	return fd;
}

/* fd's ELF carries the build ID want (any, when wantlen <= 0)? */
static int has_build_id(int fd, const unsigned char *want, int wantlen)
{
	Elf *elf;
	const void *id = NULL;
	ssize_t n;
	int ok;

	if (wantlen <= 0)
		return 1;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	n = elf && elf_kind(elf) == ELF_K_ELF ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	ok = n == wantlen && memcmp(id, want, (size_t)n) == 0;
	if (elf)
		elf_end(elf);
	return ok;
}

/* Opens the first of the candidates (paths in the root's view) that is
 * the module's; its name, as we can open it, into *out. */
static int first_of(const char *root, char cands[][PATH_MAX], int ncands,
		    const unsigned char *want, int wantlen, char **out)
{
	for (int k = 0; k < ncands; k++) {
		int fd = cands[k][0] ? rootfs_open(root, cands[k]) : -1;

		if (fd < 0)
			continue;
		if (has_build_id(fd, want, wantlen)) {
			*out = xasprintf("%s%s", root, cands[k]);
			return fd;
		}
		close(fd);
	}
	return -1;
}

int rootfs_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const char *root = user_root(userdata), *in = inside(root, file_name);
	const unsigned char *want = NULL;
	GElf_Addr vaddr;
	int wantlen = dwfl_module_build_id(mod, &want, &vaddr), n = 0, fd;
	char cands[4][PATH_MAX];

	if (root[0] && !getenv("LEAKTOP_DEBUGINFO_PATH")) {
		if (wantlen > 1) {
			char hex[2 * 64 + 1];
			int len = wantlen < 64 ? wantlen : 64;

			for (int i = 0; i < len; i++)
				snprintf(hex + 2 * i, 3, "%02x", want[i]);
			snprintf(cands[n++], PATH_MAX, DEFAULT_DEBUG_DIR "/.build-id/%.2s/%s.debug",
				 hex, hex + 2);
		}
		if (in && debuglink_file && debuglink_file[0] && !strchr(debuglink_file, '/')) {
			const char *slash = strrchr(in, '/');
			int dlen = (int)(slash - in);

			snprintf(cands[n++], PATH_MAX, "%.*s/%s", dlen, in, debuglink_file);
			snprintf(cands[n++], PATH_MAX, "%.*s/.debug/%s", dlen, in, debuglink_file);
			snprintf(cands[n++], PATH_MAX, DEFAULT_DEBUG_DIR "%.*s/%s", dlen, in,
				 debuglink_file);
		}
		fd = first_of(root, cands, n, want, wantlen, debuginfo_file_name);
		if (fd >= 0)
			return fd;
	}
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

char *rootfs_debuginfo_path(const char *root)
{
	const char *env = getenv("LEAKTOP_DEBUGINFO_PATH");

	if (env)
		return xstrdup(env);
	/* Not libdwfl's default: its "" and ".debug" would look beside the
	 * module, through the root's links. */
	if (root && root[0])
		return xstrdup(DEFAULT_DEBUG_DIR);
	return NULL;
}
