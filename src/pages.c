/* pages.c - a target's pages as it has them, read without touching it. */
#include "config.h"
#include "pages.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096u
#define PM_CACHE 512u                 /* pagemap entries read at a time (2 MiB of pages) */
#define PM_WINDOWS 128u               /* such windows kept (256 MiB of pages, 512 KiB) */
#define MAPS_STALE_US 100000u         /* maps older than this are read again on a miss */
#define FILE_BLOCK (64u << 10)        /* bytes of a mapped file read at a time */
#define FILES 8                       /* mapped files kept open, each with a block */

struct file_slot {
	uint64_t start;        /* its mapping's (0: empty) */
	int fd;
	unsigned char *block;
	uint64_t block_at;
	ssize_t block_len;     /* -1: none read */
};

struct pm_window {
	uint64_t base;         /* first page + 1 (0: empty) */
	uint64_t ent[PM_CACHE];
};

struct pages {
	pid_t pid;
	int pagemap;
	struct proc_maps maps;
	uint64_t maps_at;      /* when they were read (lt_now_us) */
	struct pm_window *pm;  /* PM_WINDOWS, direct-mapped by window */
	struct file_slot files[FILES];
	unsigned next_slot;
};

struct pages *pages_open(pid_t pid)
{
	char path[64];
	struct pages *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->pid = pid;
	p->pagemap = fd;
	p->pm = xcalloc(PM_WINDOWS, sizeof(*p->pm));
	for (int i = 0; i < FILES; i++)
		p->files[i].fd = -1;
	pages_refresh(p);
	return p;
}

static void drop_files(struct pages *p)
{
	for (int i = 0; i < FILES; i++) {
		if (p->files[i].fd >= 0)
			close(p->files[i].fd);
		free(p->files[i].block);
		memset(&p->files[i], 0, sizeof(p->files[i]));
		p->files[i].fd = -1;
	}
}

void pages_close(struct pages *p)
{
	if (!p)
		return;
	close(p->pagemap);
	drop_files(p);
	proc_maps_free(&p->maps);
	free(p->pm);
	free(p);
}

void pages_refresh(struct pages *p)
{
	proc_maps_free(&p->maps);
	if (proc_maps_read(p->pid, &p->maps) < 0)
		memset(&p->maps, 0, sizeof(p->maps));
	p->maps_at = lt_now_us();
	for (size_t i = 0; i < PM_WINDOWS; i++)
		p->pm[i].base = 0;
	drop_files(p);   /* a mapping's start may now be another file's */
}

int pages_entry(struct pages *p, uint64_t addr, uint64_t *ent)
{
	uint64_t pg = addr / PAGE, base = pg & ~(uint64_t)(PM_CACHE - 1);
	struct pm_window *w = &p->pm[(base / PM_CACHE) % PM_WINDOWS];

	/* The windows are as old as the last refresh at most: what they say
	 * decides only how a page is read, and either way it reads what the
	 * page holds. */
	if (w->base != base + 1) {
		ssize_t n = pread(p->pagemap, w->ent, sizeof(w->ent), (off_t)(base * 8));

		if (n <= 0)
			return -1;
		if ((size_t)n < sizeof(w->ent))
			memset((char *)w->ent + n, 0, sizeof(w->ent) - (size_t)n);
		w->base = base + 1;
	}
	*ent = w->ent[pg - base];
	return 0;
}

static struct file_slot *file_of(struct pages *p, const struct proc_map *m)
{
	struct file_slot *f;
	char path[96];

	for (int i = 0; i < FILES; i++)
		if (p->files[i].start == m->start)
			return &p->files[i];
	f = &p->files[p->next_slot++ % FILES];
	if (f->fd >= 0)
		close(f->fd);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)p->pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	f->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	f->start = f->fd >= 0 ? m->start : 0;
	f->block_len = -1;
	return f->fd >= 0 ? f : NULL;
}

int pages_file_bytes(struct pages *p, const struct proc_map *m, uint64_t addr, void *buf,
		     size_t len)
{
	uint64_t at = m->offset + (addr - m->start), block = at & ~(uint64_t)(FILE_BLOCK - 1);
	struct file_slot *f = file_of(p, m);
	size_t from, have, n;

	if (!f)
		return -1;
	if (f->block_len < 0 || f->block_at != block) {
		ssize_t got;

		if (!f->block)
			f->block = xmalloc(FILE_BLOCK);
		do
			got = pread(f->fd, f->block, FILE_BLOCK, (off_t)block);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return -1;
		f->block_at = block;
		f->block_len = got;
	}
	from = (size_t)(at - block);
	have = (size_t)f->block_len;
	n = from < have ? (have - from < len ? have - from : len) : 0;
	memcpy(buf, f->block + from, n);
	memset((unsigned char *)buf + n, 0, len - n);
	return 0;
}

const unsigned char *pages_own_vdso(uint64_t *len)
{
	static uint64_t start, end;
	static int looked;

	if (!looked) {
		struct proc_maps self;

		looked = 1;
		if (proc_maps_read(getpid(), &self) == 0) {
			for (size_t i = 0; i < self.n; i++)
				if (strcmp(self.v[i].path, "[vdso]") == 0) {
					start = self.v[i].start;
					end = self.v[i].end;
				}
			proc_maps_free(&self);
		}
	}
	*len = end - start;
	return start ? (const unsigned char *)(uintptr_t)start : NULL;
}

int pages_untouched(struct pages *p, const struct proc_map *m, uint64_t addr, void *buf,
		    size_t len)
{
	/* The anonymous, [heap], [stack] and named anonymous memory: zeros; a
	 * file (even one deleted, or shared memory): its bytes; the vDSO: ours;
	 * the kernel's other special mappings: not known here. */
	if (!m->path[0] || strcmp(m->path, "[heap]") == 0 || strncmp(m->path, "[stack", 6) == 0 ||
	    strncmp(m->path, "[anon:", 6) == 0) {
		memset(buf, 0, len);
		return 0;
	}
	if (strcmp(m->path, "[vdso]") == 0) {
		uint64_t n;
		const unsigned char *v = pages_own_vdso(&n);

		if (!v || n != m->end - m->start)
			return -1;
		memcpy(buf, v + (addr - m->start), len);
		return 0;
	}
	if (m->path[0] != '/')
		return -1;
	return pages_file_bytes(p, m, addr, buf, len);
}

int pages_read(struct pages *p, uint64_t addr, void *buf, size_t len)
{
	const struct proc_map *m = proc_maps_find(&p->maps, addr);
	uint64_t ent;

	/* In no mapping: unmapped, unless mapped since the maps were read. */
	if (!m && lt_now_us() - p->maps_at > MAPS_STALE_US) {
		pages_refresh(p);
		m = proc_maps_find(&p->maps, addr);
	}
	if (!m)
		return -1;
	if (len > m->end - addr || m->perms[0] != 'r' || pages_entry(p, addr, &ent) < 0 ||
	    (ent >> 62 & 3))
		return 1;
	return pages_untouched(p, m, addr, buf, len) == 0 ? 0 : 1;
}
