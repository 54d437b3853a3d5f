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
struct dwarf_types;

/* DWARF type indexes already built, per module. */
struct target_types {
	Dwfl_Module *mod;
	struct dwarf_types *dt;   /* NULL: the module has no DWARF */
};

struct target {
	pid_t pid;
	pid_t nspid;                 /* its PID in its own PID namespace (a container's) */
	/* A target in a chroot or another mount namespace: "/proc/PID/root",
	 * through which its files are opened, and where its root lies in our
	 * view when we can see it (a chroot), for showing paths as it sees
	 * them.  Both "" when its root is ours. */
	char root[64];
	char root_prefix[PATH_MAX];
	struct remote *mem;
	Dwfl *dwfl;
	Dwfl_Callbacks callbacks;    /* per target: where its debug files are */
	char *debuginfo_path;
	Dwfl_Module *pymod;          /* the module that defines _PyRuntime */
	char pymod_path[PATH_MAX];   /* as the target sees it */
	char exe[PATH_MAX];          /* as the target sees it */
	char cmdline[1024];
	uint64_t runtime_addr;       /* &_PyRuntime */
	uint64_t py_version_addr;    /* &Py_Version (3.11+), 0 if absent */
	int major, minor, micro;     /* micro is -1 until known */
	int free_threaded;           /* 3.13t+; -1 unknown */
	struct target_types types[16];
	int ntypes;
	/* A target with no process and no modules (a snapshot file): what the
	 * walk asks of its symbols, as recorded (target_record_symbols); owned. */
	struct target_sym *syms;
	size_t nsyms;
	/* A core file's target (core.h): no process behind it, so nothing is
	 * read from /proc; its Dwfl's callbacks live in dwfl_owner (the
	 * target is copied into its session, its own callbacks would move),
	 * freed by dwfl_owner_free after the Dwfl. */
	int core;
	void *dwfl_owner;
	void (*dwfl_owner_free)(void *owner);
};

/* A symbol's address; for "function:NAME" and "module:NAME" 1 when the
 * interpreter defines the function or the module is loaded, else 0. */
struct target_sym {
	char name[48];
	uint64_t addr;
};

/* Find the interpreter in pid: the module defining _PyRuntime, its version.
 * Returns 0, or -1 with lt_error: LT_ERR_NOTFOUND, LT_ERR_PERM (explained),
 * LT_ERR_NOTPYTHON, LT_ERR_GONE. */
int target_open(struct target *t, pid_t pid);
void target_close(struct target *t);

/* The second half of target_open, for a target whose modules t->dwfl
 * has (reported and ended) and whose memory t->mem reads: the module that
 * defines _PyRuntime, the Python version, free-threading.  what names the
 * target in errors ("pid 42").  Returns 0, or -1 with lt_error (t->pymod
 * is NULL when no module defines _PyRuntime); t is left for the caller to
 * close. */
int target_find_python(struct target *t, const char *what);


/* Address of a symbol defined in the Python module (then in any module).
 * Returns 0 with *addr set, -1 if not found (no lt_error). */
int target_symbol(struct target *t, const char *name, uint64_t *addr);

/* The Python module's DWARF (from the file, a separate debug file, or
 * debuginfod), or NULL when none can be found. */
Dwarf *target_dwarf(struct target *t, Dwarf_Addr *bias);

/* The DWARF type index of a module, built on first use and kept.  NULL when
 * the module has no debug info. */
struct dwarf_types *target_types(struct target *t, Dwfl_Module *mod);

/* The type index for the objects of an extension module: the shared object
 * whose file name starts with "<name>." (re-reading the process's modules
 * once if it was loaded since), or the interpreter itself when the module is
 * built in.  NULL when neither has DWARF. */
struct dwarf_types *target_module_types(struct target *t, const char *name);

/* Does the interpreter define the function `name`?  (Debug builds have
 * _Py_NegativeRefcount, for example.) */
int target_has_function(struct target *t, const char *name);

/* Is the extension module `name` loaded (a "<name>.*" shared object) or
 * built into the interpreter (it defines PyInit_<name>)? */
int target_has_module(struct target *t, const char *name);

/* What the walkers ask of t's symbols (target_symbol, target_has_function,
 * target_has_module), answered now, for a target that will have no process
 * behind it; returns how many, in a new array (free it). */
size_t target_record_symbols(struct target *t, struct target_sym **out);

/* Parse "python3.12", "libpython3.12.so.1.0", "libpython3.13t.so" into
 * major/minor (and free-threading); 0 on success, -1 if the name says nothing. */
int target_version_from_name(const char *path, int *major, int *minor, int *ft);

#endif
