/* native.c - native stacks: libunwind in the stop, libdw after. */
#include "config.h"
#include "native.h"
#include "remote.h"
#include "target.h"
#include "util.h"

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not in libunwind's public headers, but exported and stable: the lookup
 * in a binary search table of FDEs (.eh_frame_hdr), as perf uses it. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* .eh_frame_hdr encodings the table lookup understands. */
#define EH_PE_UDATA4 0x03
#define EH_PE_SDATA4 0x0b
#define EH_PE_DATAREL 0x30

/* A module's code and its FDE table, at their addresses in the target. */
struct unwind_module {
	uint64_t start, end;
	uint64_t hdr;            /* .eh_frame_hdr */
	uint64_t table;          /* its sorted (initial location, FDE) pairs */
	uint64_t count;
};

struct native_unwinder {
	struct unwind_module *mods;
	size_t n, cap;
	pid_t pid;
	struct remote *mem;
	unw_addr_space_t as;
};

/* Per unwind: the thread's registers (libunwind-ptrace) and our tables. */
struct unwind_arg {
	struct native_unwinder *u;
	void *upt;
};

static int add_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		      void *arg)
{
	struct native_unwinder *u = arg;
	Dwarf_Addr bias, low, high;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t nph;

	(void)userdata;
	(void)name;
	(void)start;
	if (!elf || elf_getphdrnum(elf, &nph) < 0)
		return DWARF_CB_OK;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;
		const unsigned char *h;
		uint32_t count;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, 12, ELF_T_BYTE);
		if (!d || !d->d_buf)
			break;
		h = d->d_buf;
		/* version 1; a 4-byte pointer to .eh_frame; a 4-byte count;
		 * the table as 4-byte offsets from the header. */
		if (h[0] != 1 || (h[1] & 0x0f) != EH_PE_SDATA4 || h[2] != EH_PE_UDATA4 ||
		    h[3] != (EH_PE_DATAREL | EH_PE_SDATA4))
			break;
		memcpy(&count, h + 8, 4);
		if (u->n == u->cap) {
			u->cap = u->cap ? u->cap * 2 : 64;
			u->mods = xreallocarray(u->mods, u->cap, sizeof(*u->mods));
		}
		u->mods[u->n++] = (struct unwind_module){ .start = low, .end = high,
							  .hdr = bias + ph.p_vaddr,
							  .table = bias + ph.p_vaddr + 12,
							  .count = count };
		break;
	}
	return DWARF_CB_OK;
}

static const struct unwind_module *module_of(const struct native_unwinder *u, uint64_t ip)
{
	for (size_t i = 0; i < u->n; i++)
		if (ip >= u->mods[i].start && ip < u->mods[i].end)
			return &u->mods[i];
	return NULL;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
			  void *arg)
{
	struct unwind_arg *a = arg;
	const struct unwind_module *m = module_of(a->u, ip);
	unw_dyn_info_t di;

	if (!m)
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = m->hdr;
	di.u.rti.table_data = m->table;
	/* in words: each entry is two 4-byte offsets */
	di.u.rti.table_len = m->count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, ((struct unwind_arg *)arg)->upt);
}

static int no_dyn_info(unw_addr_space_t as, unw_word_t *list, void *arg)
{
	(void)as;
	(void)list;
	(void)arg;
	return -UNW_ENOINFO;
}

/* Memory through the remote layer's block cache: an unwind reads words
 * here and there in the stacks and many in the same unwind tables (a
 * PTRACE_PEEKDATA per word cost 2.5 ms a thread).  Never written. */
static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct unwind_arg *a = arg;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	return remote_read_cached(a->u->mem, addr, val, sizeof(*val)) < 0 ? -UNW_EINVAL : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UPT_access_reg(as, reg, val, 0, ((struct unwind_arg *)arg)->upt);
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	if (write)
		return -UNW_EINVAL;
	return _UPT_access_fpreg(as, reg, val, 0, ((struct unwind_arg *)arg)->upt);
}

static int no_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = no_dyn_info,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = no_resume,
	.get_proc_name = NULL,
};

struct native_unwinder *native_unwinder_new(struct target *t)
{
	struct native_unwinder *u = xcalloc(1, sizeof(*u));

	u->pid = t->pid;
	u->mem = t->mem;
	if (t->dwfl)
		dwfl_getmodules(t->dwfl, add_module, u, 0);
	u->as = unw_create_addr_space(&accessors, 0);
	if (u->as)
		unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	return u;
}

void native_unwinder_free(struct native_unwinder *u)
{
	if (!u)
		return;
	if (u->as)
		unw_destroy_addr_space(u->as);
	free(u->mods);
	free(u);
}

int native_unwind(struct native_unwinder *u, pid_t tid, struct native_stack *st)
{
	struct unwind_arg a = { u, NULL };
	unw_cursor_t cursor;
	int rc;

	memset(st, 0, sizeof(*st));
	st->tid = tid;
	if (!u->as || !(a.upt = _UPT_create(tid))) {
		snprintf(st->error, sizeof(st->error), "libunwind could not be set up");
		return -1;
	}
	st->ip = xcalloc(NATIVE_MAX_FRAMES, sizeof(*st->ip));
	st->sp = xcalloc(NATIVE_MAX_FRAMES, sizeof(*st->sp));
	rc = unw_init_remote(&cursor, u->as, &a);
	if (rc < 0)
		snprintf(st->error, sizeof(st->error), "cannot read its registers (%s)",
			 unw_strerror(rc));
	while (rc >= 0 && st->n < NATIVE_MAX_FRAMES) {
		unw_word_t ip = 0;

		unw_word_t sp = 0;

		if ((rc = unw_get_reg(&cursor, UNW_REG_IP, &ip)) < 0 || !ip)
			break;
		unw_get_reg(&cursor, UNW_REG_SP, &sp);
		st->ip[st->n] = ip;
		st->sp[st->n++] = sp;
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
	_UPT_destroy(a.upt);
	return st->n > 0 ? 0 : -1;
}

void native_stack_free(struct native_stack *st)
{
	free(st->ip);
	free(st->sp);
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
	if (!name) {
		Dwarf_Addr low = 0;

		dwfl_module_info(m, NULL, &low, NULL, NULL, NULL, NULL, NULL);
		out->offset = st->ip[i] - low;  /* for addr2line on the module */
	} else {
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
