/* target.h - a live process that may be a CPython: its memory, its modules,
 * its symbols, and which Python it runs.
 *
 * target_open() does not stop the process; attach.h does that. */
#ifndef LEAKTOP_TARGET_H
#define LEAKTOP_TARGET_H

#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct remote;

struct target {
	pid_t pid;
	struct remote *mem;
	Dwfl *dwfl;
	Dwfl_Module *pymod;          /* the module that defines _PyRuntime */
	char pymod_path[PATH_MAX];
	char exe[PATH_MAX];
	char cmdline[1024];
	uint64_t runtime_addr;       /* &_PyRuntime */
	uint64_t py_version_addr;    /* &Py_Version (3.11+), 0 if absent */
	int major, minor, micro;     /* micro is -1 until known */
	int free_threaded;           /* 3.13t+; -1 unknown */
};

/* Find the interpreter in pid: the module defining _PyRuntime, its version.
 * Returns 0, or -1 with lt_error: LT_ERR_NOTFOUND, LT_ERR_PERM (explained),
 * LT_ERR_NOTPYTHON, LT_ERR_GONE. */
int target_open(struct target *t, pid_t pid);
void target_close(struct target *t);

/* Address of a symbol defined in the Python module (then in any module).
 * Returns 0 with *addr set, -1 if not found (no lt_error). */
int target_symbol(struct target *t, const char *name, uint64_t *addr);

/* The Python module's DWARF (from the file, a separate debug file, or
 * debuginfod), or NULL when none can be found. */
Dwarf *target_dwarf(struct target *t, Dwarf_Addr *bias);

/* Parse "python3.12", "libpython3.12.so.1.0", "libpython3.13t.so" into
 * major/minor (and free-threading); 0 on success, -1 if the name says nothing. */
int target_version_from_name(const char *path, int *major, int *minor, int *ft);

#endif
