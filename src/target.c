/* target.c - find CPython inside a process with libdwfl. */
#include "config.h"
#include "target.h"
#include "attach.h"
#include "dwarf_types.h"
#include "proc.h"
#include "remote.h"
#include "rootfs.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The path of a mapped file as we open it, for a target under another
 * root: its maps name a file in its own view (a target in another mount
 * namespace) or, when its root is in ours (a chroot), in ours.  Either way
 * the result is t->root followed by the path in the target's view, opened
 * inside that root (rootfs_find_elf).  A path outside a visible root stays
 * as it is: not the root's to redirect. */
static void mapped_path(const struct target *t, const char *path, char *out, size_t max)
{
	size_t n = strlen(t->root_prefix);

	if (path[0] != '/')
		snprintf(out, max, "%s", path);
	else if (!n)
		snprintf(out, max, "%s%s", t->root, path);
	else if (strncmp(path, t->root_prefix, n) == 0 && path[n] == '/')
		snprintf(out, max, "%s%s", t->root, path + n);
	else
		snprintf(out, max, "%s", path);
}

/* Report the target's modules to libdwfl.  For a target whose root is ours
 * libdwfl reads /proc/PID/maps itself; otherwise we give it the maps with
 * every file's path rewritten so that it opens. */
static int report_modules(struct target *t)
{
	char path[64], *text, *out = NULL;
	size_t outlen = 0;
	long n;
	FILE *f, *mf;
	int rc;

	if (!t->root[0])
		return dwfl_linux_proc_report(t->dwfl, t->pid);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	text = xmalloc(16u << 20);
	n = lt_read_file(path, text, 16u << 20);
	if (n < 0) {
		rc = errno;
		free(text);
		return rc;
	}
	mf = open_memstream(&out, &outlen);
	if (!mf) {
		free(text);
		return ENOMEM;
	}
	for (char *line = text, *nl; *line; line = nl ? nl + 1 : line + strlen(line)) {
		char head[256], file[PATH_MAX], fixed[PATH_MAX + 64];
		int off = 0;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		/* "start-end perms offset dev inode   path" */
		if (sscanf(line, "%*s %*s %*s %*s %*s %n", &off) < 0 || !off ||
		    line[off] != '/' || (size_t)off >= sizeof(head)) {
			fprintf(mf, "%s\n", line);
			continue;
		}
		memcpy(head, line, (size_t)off);
		head[off] = '\0';
		snprintf(file, sizeof(file), "%s", line + off);
		mapped_path(t, file, fixed, sizeof(fixed));
		fprintf(mf, "%s%s\n", head, fixed);
	}
	free(text);
	fclose(mf);
	f = fmemopen(out, outlen ? outlen : 1, "r");
	rc = f ? dwfl_linux_proc_maps_report(t->dwfl, f) : ENOMEM;
	if (f)
		fclose(f);
	free(out);
	return rc;
}

int target_version_from_name(const char *path, int *major, int *minor, int *ft)
{
	const char *base = strrchr(path, '/');
	const char *p;

	base = base ? base + 1 : path;
	for (p = strstr(base, "python"); p; p = strstr(p + 1, "python")) {
		const char *v = p + 6;
		char *end;
		long maj, min;

		if (v[0] < '0' || v[0] > '9')
			continue;
		maj = strtol(v, &end, 10);
		if (*end != '.' || end[1] < '0' || end[1] > '9')
			continue;
		min = strtol(end + 1, &end, 10);
		if (maj < 2 || maj > 3 || min < 0 || min > 99)
			continue;
		*major = (int)maj;
		*minor = (int)min;
		*ft = *end == 't';
		return 0;
	}
	return -1;
}

struct find_ctx {
	const char *name;
	uint64_t addr;
	Dwfl_Module *mod;
	int python_only;
};

static int module_defines(Dwfl_Module *mod, const char *name, uint64_t *addr, int func)
{
	int n = dwfl_module_getsymtab(mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr a;
		GElf_Word shndx;
		const char *s = dwfl_module_getsym_info(mod, i, &sym, &a, &shndx, NULL, NULL);

		if (!s || sym.st_shndx == SHN_UNDEF)
			continue;
		if (GELF_ST_TYPE(sym.st_info) != (func ? STT_FUNC : STT_OBJECT) &&
		    GELF_ST_TYPE(sym.st_info) != STT_NOTYPE)
			continue;
		/* Link-time optimisation renames file statics "name.lto_priv.0". */
		if (strcmp(s, name) == 0 ||
		    (GELF_ST_BIND(sym.st_info) == STB_LOCAL && strncmp(s, name, strlen(name)) == 0 &&
		     s[strlen(name)] == '.')) {
			*addr = a;
			return 1;
		}
	}
	return 0;
}

static int find_cb(Dwfl_Module *mod, void **userdata, const char *mname,
		   Dwarf_Addr start, void *arg)
{
	struct find_ctx *c = arg;
	const char *base = strrchr(mname, '/');

	base = base ? base + 1 : mname;
	if (c->python_only && !strstr(base, "python"))
		return DWARF_CB_OK;
	if (module_defines(mod, c->name, &c->addr, 0)) {
		c->mod = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

struct old_ctx {
	int major, minor, found;
};

static int old_cb(Dwfl_Module *mod, void **userdata, const char *mname, Dwarf_Addr start,
		  void *arg)
{
	struct old_ctx *o = arg;
	uint64_t addr;
	int ft;

	if (target_version_from_name(mname, &o->major, &o->minor, &ft) < 0 ||
	    !module_defines(mod, "Py_Initialize", &addr, 1))
		return DWARF_CB_OK;
	o->found = 1;
	return DWARF_CB_ABORT;
}

/* A Python before 3.7 has no _PyRuntime: its interpreter module is named
 * python2.7, libpython3.6m... and defines Py_Initialize.  0 with the
 * version, or -1. */
static int old_python(struct target *t, int *major, int *minor)
{
	struct old_ctx o = { 0, 0, 0 };

	dwfl_getmodules(t->dwfl, old_cb, &o, 0);
	if (!o.found)
		return -1;
	*major = o.major;
	*minor = o.minor;
	return 0;
}

/* Offline: the recorded answer for name, or NULL. */
static const struct target_sym *recorded(const struct target *t, const char *kind, const char *name)
{
	char key[sizeof(((struct target_sym *)0)->name)];

	snprintf(key, sizeof(key), "%s%s", kind, name);
	for (size_t i = 0; i < t->nsyms; i++)
		if (strcmp(t->syms[i].name, key) == 0)
			return &t->syms[i];
	return NULL;
}

int target_symbol(struct target *t, const char *name, uint64_t *addr)
{
	struct find_ctx c = { .name = name };

	if (!t->dwfl) {
		/* no process behind it (offline): what was recorded, if anything */
		const struct target_sym *r = recorded(t, "", name);

		if (!r || !r->addr)
			return -1;
		*addr = r->addr;
		return 0;
	}
	if (t->pymod && module_defines(t->pymod, name, addr, 0))
		return 0;
	dwfl_getmodules(t->dwfl, find_cb, &c, 0);
	if (!c.mod)
		return -1;
	*addr = c.addr;
	return 0;
}

Dwarf *target_dwarf(struct target *t, Dwarf_Addr *bias)
{
	return t->pymod ? dwfl_module_getdwarf(t->pymod, bias) : NULL;
}

/* The modules' userdata for rootfs_find_elf and rootfs_find_debuginfo:
 * the root's own copy, owned by the target (it outlives moves of it). */
struct live_owner {
	struct rootfs_user user;
	char root[sizeof(((struct target *)0)->root)];
};

int target_open(struct target *t, pid_t pid)
{
	struct live_owner *owner;
	char exe[PATH_MAX], what[32];
	int rc;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->micro = -1;
	t->free_threaded = -1;
	if (pid <= 0 || !proc_exists(pid)) {
		lt_error(LT_ERR_NOTFOUND, "no such process: pid %d; check the PID (ps, pgrep)", (int)pid);
		return -1;
	}
	if (proc_is_kernel_thread(pid)) {
		lt_error(LT_ERR_OTHER, "pid %d is a kernel thread, not a Python process: check the "
			 "PID (ps, pgrep)", (int)pid);
		return -1;
	}
	if (proc_exited(pid)) {
		lt_error(LT_ERR_GONE, "pid %d has exited: a zombie until its parent reaps it, with no "
			 "memory left to inspect", (int)pid);
		return -1;
	}
	t->nspid = proc_nspid(pid);
	proc_root(pid, t->root, sizeof(t->root), t->root_prefix, sizeof(t->root_prefix));
	proc_exe(pid, exe, sizeof(exe));
	snprintf(t->exe, sizeof(t->exe), "%s", proc_in_root(t->root_prefix, exe));
	proc_cmdline(pid, t->cmdline, sizeof(t->cmdline));
	/* A target in a container: its files, its own /usr/lib/debug first,
	 * opened inside its root. */
	owner = xcalloc(1, sizeof(*owner));
	snprintf(owner->root, sizeof(owner->root), "%s", t->root);
	owner->user.root = owner->root;
	t->dwfl_owner = owner;
	t->dwfl_owner_free = free;
	t->debuginfo_path = rootfs_debuginfo_path(t->root);
	t->callbacks.find_elf = rootfs_find_elf;
	t->callbacks.find_debuginfo = rootfs_find_debuginfo;
	t->callbacks.debuginfo_path = &t->debuginfo_path;
	t->dwfl = dwfl_begin(&t->callbacks);
	if (!t->dwfl) {
		lt_error(LT_ERR_OTHER, "libdwfl: %s", dwfl_errmsg(-1));
		return -1;
	}
	rc = report_modules(t);
	if (rc != 0) {
		if (rc == ENOENT || rc == ESRCH)
			lt_error(LT_ERR_NOTFOUND, "no such process: pid %d; check the PID (ps, pgrep)", (int)pid);
		else if (rc == EACCES || rc == EPERM)
			attach_explain_eperm(pid, "reading the memory map of");
		else
			lt_error(LT_ERR_OTHER, "cannot read the modules of pid %d: %s", (int)pid,
				 rc > 0 ? strerror(rc) : dwfl_errmsg(-1));
		goto fail;
	}
	dwfl_report_end(t->dwfl, NULL, NULL);
	rootfs_adopt(t->dwfl, &owner->user);
	t->mem = remote_open(pid);
	snprintf(what, sizeof(what), "pid %d", (int)pid);
	if (target_find_python(t, what) < 0)
		goto fail;
	return 0;
fail:
	target_close(t);
	return -1;
}

int target_find_python(struct target *t, const char *what)
{
	struct find_ctx c = { .name = "_PyRuntime", .python_only = 1 };
	const char *mname;
	int ft = 0;

	/* Look in modules named like python first (libpython3.X.so, python3.X),
	 * then everywhere: an embedding application links libpython under any name. */
	dwfl_getmodules(t->dwfl, find_cb, &c, 0);
	if (!c.mod) {
		c.python_only = 0;
		dwfl_getmodules(t->dwfl, find_cb, &c, 0);
	}
	if (!c.mod) {
		int maj, min;

		if (!t->core && proc_exited(t->pid))
			lt_error(LT_ERR_GONE, "%s exited while leaktop was reading it", what);
		else if (old_python(t, &maj, &min) == 0)
			lt_error(LT_ERR_NOTPYTHON, "%s (%s) runs Python %d.%d; leaktop supports "
				 "CPython 3.8 and later", what, t->exe[0] ? t->exe : "?", maj, min);
		else
			lt_error(LT_ERR_NOTPYTHON, "%s (%s) is not a CPython process: no loaded "
				 "module defines _PyRuntime (CPython 3.8 or later is needed)", what,
				 t->exe[0] ? t->exe : "?");
		return -1;
	}
	t->pymod = c.mod;
	t->runtime_addr = c.addr;
	mname = dwfl_module_info(c.mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (mname && t->root[0] && strncmp(mname, t->root, strlen(t->root)) == 0)
		mname += strlen(t->root);
	snprintf(t->pymod_path, sizeof(t->pymod_path), "%s",
		 mname ? proc_in_root(t->root_prefix, mname) : "?");

	if (target_symbol(t, "Py_Version", &t->py_version_addr) == 0) {
		uint32_t hex;

		if (remote_read(t->mem, t->py_version_addr, &hex, sizeof(hex)) == 0) {
			t->major = (int)(hex >> 24);
			t->minor = (int)((hex >> 16) & 0xff);
			t->micro = (int)((hex >> 8) & 0xff);
		} else if (!t->core && (errno == EPERM || errno == EACCES)) {
			attach_explain_eperm(t->pid, "reading the memory of");
			return -1;
		}
	}
	if (t->micro < 0 && target_version_from_name(t->pymod_path, &t->major, &t->minor, &ft) < 0 &&
	    target_version_from_name(t->exe, &t->major, &t->minor, &ft) < 0) {
		lt_error(LT_ERR_NOTPYTHON, "%s: cannot tell which Python version %s is "
			 "(no Py_Version symbol, no version in its name)", what, t->pymod_path);
		return -1;
	}
	if (ft)
		t->free_threaded = 1;
	if (t->major != 3 || t->minor < 8) {
		lt_error(LT_ERR_NOTPYTHON, "%s runs Python %d.%d; leaktop supports CPython 3.8 "
			 "and later", what, t->major, t->minor);
		return -1;
	}
	return 0;
}

struct dwarf_types *target_types(struct target *t, Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Dwarf *dw;
	struct dwarf_types *dt;

	if (!t->dwfl || !mod)
		return NULL;
	for (int i = 0; i < t->ntypes; i++)
		if (t->types[i].mod == mod)
			return t->types[i].dt;
	dw = dwfl_module_getdwarf(mod, &bias);
	dt = dw ? dwarf_types_new(dw) : NULL;
	if (t->ntypes < (int)LT_ARRAY_SIZE(t->types)) {
		t->types[t->ntypes].mod = mod;
		t->types[t->ntypes].dt = dt;
		t->ntypes++;
	}
	return dt;
}

struct module_find {
	const char *prefix;
	Dwfl_Module *mod;
};

static int module_find_cb(Dwfl_Module *mod, void **userdata, const char *mname,
			  Dwarf_Addr start, void *arg)
{
	struct module_find *f = arg;
	const char *base = strrchr(mname, '/');
	size_t n = strlen(f->prefix);

	base = base ? base + 1 : mname;
	if (strncmp(base, f->prefix, n) == 0 && base[n] == '.') {
		f->mod = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

int target_has_function(struct target *t, const char *name)
{
	uint64_t addr;

	if (!t->dwfl) {
		const struct target_sym *r = recorded(t, "function:", name);

		return r && r->addr;
	}
	return t->pymod && module_defines(t->pymod, name, &addr, 1);
}

int target_has_module(struct target *t, const char *name)
{
	struct module_find f = { .prefix = name };
	char init[96];
	uint64_t addr;

	if (!t->dwfl) {
		const struct target_sym *r = recorded(t, "module:", name);

		return r && r->addr;
	}
	dwfl_getmodules(t->dwfl, module_find_cb, &f, 0);
	if (f.mod)
		return 1;
	snprintf(init, sizeof(init), "PyInit_%s", name);
	if (t->pymod && module_defines(t->pymod, init, &addr, 1))
		return 1;
	if (t->core)
		return 0;  /* a core's modules are all there are */
	/* Loaded since the modules were last read? */
	dwfl_report_begin_add(t->dwfl);
	report_modules(t);
	dwfl_report_end(t->dwfl, NULL, NULL);
	dwfl_getmodules(t->dwfl, module_find_cb, &f, 0);
	return f.mod != NULL;
}

struct dwarf_types *target_module_types(struct target *t, const char *name)
{
	struct module_find f = { .prefix = name };

	if (!t->dwfl)
		return NULL;  /* offline: reading its modules would read /proc/0 */
	dwfl_getmodules(t->dwfl, module_find_cb, &f, 0);
	if (!f.mod && !t->core) {
		/* Imported since we looked?  Read the maps again, once. */
		dwfl_report_begin_add(t->dwfl);
		report_modules(t);
		dwfl_report_end(t->dwfl, NULL, NULL);
		dwfl_getmodules(t->dwfl, module_find_cb, &f, 0);
	}
	return target_types(t, f.mod ? f.mod : t->pymod);
}

/* The symbols the walkers ask for (arena.c, owners.c, snapshot.c) and the
 * layout's validation (layout.c). */
static const char *const RECORDED[] = {
	"arenas", "maxarenas", "_PySet_Dummy", "function:_Py_NegativeRefcount",
	"PyType_Type", "PyLong_Type", "PyUnicode_Type", "PyDict_Type", "PyList_Type",
	"module:_socket", "module:select", "module:mmap",
};

size_t target_record_symbols(struct target *t, struct target_sym **out)
{
	size_t n = LT_ARRAY_SIZE(RECORDED);

	*out = xcalloc(n, sizeof(**out));
	for (size_t i = 0; i < n; i++) {
		const char *name = RECORDED[i], *colon = strchr(name, ':');
		struct target_sym *r = &(*out)[i];

		snprintf(r->name, sizeof(r->name), "%s", name);
		if (!colon)
			target_symbol(t, name, &r->addr);
		else if (strncmp(name, "function:", 9) == 0)
			r->addr = (uint64_t)target_has_function(t, colon + 1);
		else
			r->addr = (uint64_t)target_has_module(t, colon + 1);
	}
	return n;
}

void target_close(struct target *t)
{
	free(t->syms);
	t->syms = NULL;
	t->nsyms = 0;
	for (int i = 0; i < t->ntypes; i++)
		dwarf_types_free(t->types[i].dt);
	t->ntypes = 0;
	if (t->dwfl)
		dwfl_end(t->dwfl);
	t->dwfl = NULL;
	if (t->dwfl_owner_free)
		t->dwfl_owner_free(t->dwfl_owner);
	t->dwfl_owner = NULL;
	t->dwfl_owner_free = NULL;
	t->pymod = NULL;
	remote_close(t->mem);
	t->mem = NULL;
	free(t->debuginfo_path);
	t->debuginfo_path = NULL;
}
