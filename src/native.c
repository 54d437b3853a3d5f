/* native.c - native stacks: libunwind-ptrace in the stop, libdw after. */
#include "config.h"
#include "native.h"
#include "target.h"
#include "util.h"

#include <elfutils/libdwfl.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One address space for all threads and targets: libunwind caches the
 * unwind tables it finds there (its own lookups go through
 * /proc/TID/maps, and the files through /proc/TID/root). */
static unw_addr_space_t address_space(void)
{
	static unw_addr_space_t as;

	if (!as) {
		as = unw_create_addr_space(&_UPT_accessors, 0);
		if (as)
			unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	}
	return as;
}

int native_unwind(pid_t tid, struct native_stack *st)
{
	unw_addr_space_t as = address_space();
	unw_cursor_t cursor;
	void *upt;
	int rc;

	memset(st, 0, sizeof(*st));
	st->tid = tid;
	if (!as || !(upt = _UPT_create(tid))) {
		snprintf(st->error, sizeof(st->error), "libunwind could not be set up");
		return -1;
	}
	st->ip = xcalloc(NATIVE_MAX_FRAMES, sizeof(*st->ip));
	rc = unw_init_remote(&cursor, as, upt);
	if (rc < 0)
		snprintf(st->error, sizeof(st->error), "cannot read its registers (%s)",
			 unw_strerror(rc));
	while (rc >= 0 && st->n < NATIVE_MAX_FRAMES) {
		unw_word_t ip = 0;

		if ((rc = unw_get_reg(&cursor, UNW_REG_IP, &ip)) < 0 || !ip)
			break;
		/* A frame that returns to itself: the unwind would not move. */
		if (st->n > 0 && st->ip[st->n - 1] == ip && st->n >= 2 && st->ip[st->n - 2] == ip)
			break;
		st->ip[st->n++] = ip;
		rc = unw_step(&cursor);
		if (rc < 0)
			snprintf(st->error, sizeof(st->error), "the unwind stopped after %d frames (%s)",
				 st->n, unw_strerror(rc));
		if (rc <= 0)
			break;
	}
	if (rc > 0 && st->n >= NATIVE_MAX_FRAMES)
		snprintf(st->error, sizeof(st->error), "more than %d frames: the rest were not unwound",
			 NATIVE_MAX_FRAMES);
	_UPT_destroy(upt);
	return st->n > 0 ? 0 : -1;
}

void native_stack_free(struct native_stack *st)
{
	free(st->ip);
	memset(st, 0, sizeof(*st));
}

void native_name(struct target *t, const struct native_stack *st, int i, struct native_name *out)
{
	/* A return address is past its call: name the call instruction. */
	Dwarf_Addr pc = st->ip[i] - (i > 0 ? 1 : 0), bias;
	Dwfl_Module *m;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name, *path;
	Dwfl_Line *line;

	memset(out, 0, sizeof(*out));
	out->line = -1;
	if (!t->dwfl || !(m = dwfl_addrmodule(t->dwfl, pc)))
		return;
	path = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (path) {
		const char *base = strrchr(path, '/');

		snprintf(out->module, sizeof(out->module), "%s", base ? base + 1 : path);
	}
	name = dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL, NULL);
	if (name) {
		/* "clock_nanosleep@GLIBC_2.2.5": the version is not the name. */
		snprintf(out->function, sizeof(out->function), "%.*s", (int)strcspn(name, "@"), name);
		out->offset = off + (pc != st->ip[i]);
	}
	/* Source lines only where the module has DWARF of its own (or a
	 * separate debug file): never a network lookup per frame. */
	if (dwfl_module_getdwarf(m, &bias) && (line = dwfl_module_getsrc(m, pc))) {
		int lineno = -1;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (file) {
			snprintf(out->file, sizeof(out->file), "%s", file);
			out->line = lineno;
		}
	}
}
