/* fuzz_open.c - libFuzzer harness: opening damaged snapshot files and cores.
 *
 * fuzz_walk damages the memory a file holds; this one damages what says
 * where that memory is and what it means: a snapshot file's sections
 * (process facts, layout, symbols, threads, descriptors, the memory's
 * range table, the section headers themselves) or a core's ELF header,
 * program headers and notes (threads, auxv, the mapped files).  Each input
 * is a few byte patches to the seed named by LEAKTOP_FUZZ_SEED (a snapshot
 * file, `leaktop dump --save`, or a core, gcore's); the damaged copy is
 * opened as `leaktop dump FILE` or `leaktop dump --core CORE` would, walked
 * with stacks and retainers, reported to /dev/null, and closed.  A snapshot
 * file's CRC-32s are made right after the damage (section by section, as
 * their lengths now say): else every input would stop at the first check.
 *
 * The seed is written once to a memfd, opened by its /proc/self/fd path;
 * each input's bytes are written over it and the old ones back after (the
 * memory of a core is not copied per input: it is most of the file).
 *
 * An input is up to MAX_PATCHES patches of 8 bytes:
 *   patch[0]    bits 0-3 what value (enum value_kind), bits 4-5 width
 *               (1, 2, 4 or 8 bytes, little-endian)
 *   patch[1..4] which structure byte (modulo their number)
 *   patch[5..7] the value's parameter (24 bits)
 * Any byte string is a valid input; an empty one opens the seed as it is. */
#define _GNU_SOURCE
#include "config.h"
#include "core.h"
#include "report.h"
#include "snapfile.h"
#include "snapshot.h"
#include "util.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATCH 8
#define MAX_PATCHES 32
#define MAX_UNDO (MAX_PATCHES + 4096)

static int is_core;
static int fd = -1;
static char path[64];
static unsigned char *seed;       /* the seed's bytes (a snapshot file: all of them) */
static size_t seed_len;
static uint64_t *where;           /* the structure bytes' offsets in the file */
static size_t nwhere;
static FILE *devnull;

struct undo {
	uint64_t off;
	unsigned char old[8];
	int n;
};

static struct undo undo[MAX_UNDO];
static size_t nundo;

static void add_range(uint64_t off, uint64_t len, size_t *cap)
{
	for (uint64_t i = 0; i < len && off + i < seed_len; i++) {
		if (nwhere == *cap) {
			*cap = *cap ? *cap * 2 : 4096;
			where = realloc(where, *cap * sizeof(*where));
			if (!where)
				exit(1);
		}
		where[nwhere++] = off + i;
	}
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A snapshot file: every section's header and payload but the MEM
 * section's bytes (its count and range table are kept). */
static void survey_snapfile(void)
{
	size_t cap = 0, at = 16;

	add_range(8, 8, &cap);   /* the format */
	while (at + 16 <= seed_len) {
		uint64_t n = le(seed + at + 8, 8);

		add_range(at, 4, &cap);          /* the tag */
		add_range(at + 8, 8, &cap);      /* the length (the CRC is made right) */
		if (memcmp(seed + at, "MEM ", 4) == 0 && n >= 8 && at + 24 <= seed_len)
			add_range(at + 16, 8 + 16 * le(seed + at + 16, 8), &cap);
		else
			add_range(at + 16, n, &cap);
		if (memcmp(seed + at, "END ", 4) == 0 || n > seed_len - at - 16)
			break;
		at += 16 + n;
	}
}

/* A core: its ELF header, program headers and notes. */
static void survey_core(void)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)seed;
	size_t cap = 0;

	add_range(0, sizeof(*eh), &cap);
	add_range(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &cap);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(seed + eh->e_phoff) + i;

		if ((const unsigned char *)(ph + 1) <= seed + seed_len && ph->p_type == PT_NOTE)
			add_range(ph->p_offset, ph->p_filesz, &cap);
	}
}

static void put(uint64_t off, const void *p, int n)
{
	if (nundo < MAX_UNDO) {
		undo[nundo].off = off;
		undo[nundo].n = n;
		if (pread(fd, undo[nundo].old, (size_t)n, (off_t)off) != n)
			exit(1);
		nundo++;
	}
	if (pwrite(fd, p, (size_t)n, (off_t)off) != n)
		exit(1);
}

/* The CRC-32 of every section, as the (damaged) lengths now place them. */
static void resum(void)
{
	static unsigned char *buf;
	static size_t cap;
	uint64_t at = 16;

	for (int k = 0; k < 4096 && at + 16 <= seed_len; k++) {
		unsigned char head[16], crc[4];
		uint64_t n;
		uint32_t c;

		if (pread(fd, head, 16, (off_t)at) != 16)
			return;
		n = le(head + 8, 8);
		if (n > seed_len - at - 16)
			return;
		if (n > cap) {
			cap = n;
			buf = realloc(buf, cap);
			if (!buf)
				exit(1);
		}
		if (pread(fd, buf, n, (off_t)(at + 16)) != (ssize_t)n)
			return;
		c = lt_crc32(0, buf, n);
		for (int i = 0; i < 4; i++)
			crc[i] = (unsigned char)(c >> (8 * i));
		if (memcmp(crc, head + 4, 4) != 0)
			put(at + 4, crc, 4);
		if (memcmp(head, "END ", 4) == 0)
			return;
		at += 16 + n;
	}
}

static const uint64_t specials[] = {
	0, 1, 2, 7, 8, 15, 16, 63, 64, 255, 4095, 4096, 65535, 1u << 20, 0x7fffffff,
	0x80000000, 0xffffffff, 1ull << 32, 1ull << 48, 1ull << 62, INT64_MAX,
	(uint64_t)INT64_MIN, UINT64_MAX, (uint64_t)-8, (uint64_t)-4096,
};

enum value_kind {
	V_SPECIAL,   /* a count or bound that breaks arithmetic */
	V_LITERAL,   /* the parameter */
	V_DELTA,     /* the old value plus or minus a little */
	V_FLIP,      /* one bit flipped */
	V_COPY,      /* the bytes of another structure offset */
	V_CHAR,      /* a character text sections care about: = \n \\ 0-9 - x NUL */
	NKINDS
};

static void apply(const uint8_t *p)
{
	static const int widths[4] = { 1, 2, 4, 8 };
	static const char chars[] = "=\n\\09-x\0 /.";
	int w = widths[(p[0] >> 4) & 3];
	uint64_t at = where[le(p + 1, 4) % nwhere], param = le(p + 5, 3), old, v;
	unsigned char b[8];

	if (at + (uint64_t)w > seed_len)
		w = 1;
	if (pread(fd, b, (size_t)w, (off_t)at) != w)
		exit(1);
	old = le(b, w);
	switch ((p[0] & 15) % NKINDS) {
	case V_SPECIAL:
		v = specials[param % LT_ARRAY_SIZE(specials)];
		break;
	case V_LITERAL:
		v = param;
		break;
	case V_DELTA:
		v = old + (uint64_t)(int64_t)(int8_t)(param & 0xff);
		break;
	case V_FLIP:
		v = old ^ (1ull << (param % (8 * (unsigned)w)));
		break;
	case V_COPY: {
		uint64_t from = where[param % nwhere];

		v = from + (uint64_t)w <= seed_len && pread(fd, b, (size_t)w, (off_t)from) == w ?
		    le(b, w) : old;
		break;
	}
	default:
		v = (unsigned char)chars[param % (sizeof(chars) - 1)];
		w = 1;
		break;
	}
	for (int i = 0; i < w; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(at, b, w);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *name = getenv("LEAKTOP_FUZZ_SEED");
	struct stat st;
	int in;

	if (!name || !*name || (in = open(name, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) < 0 ||
	    st.st_size < 64) {
		fprintf(stderr, "fuzz_open: set LEAKTOP_FUZZ_SEED to a snapshot file or a core "
			"(fuzz/README.md)\n");
		exit(1);
	}
	seed_len = (size_t)st.st_size;
	seed = mmap(NULL, seed_len, PROT_READ, MAP_PRIVATE, in, 0);
	fd = memfd_create("fuzz-open", MFD_CLOEXEC);
	if (seed == MAP_FAILED || fd < 0 || write(fd, seed, seed_len) != (ssize_t)seed_len) {
		fprintf(stderr, "fuzz_open: cannot copy %s\n", name);
		exit(1);
	}
	close(in);
	is_core = memcmp(seed, ELFMAG, SELFMAG) == 0;
	if (!is_core && memcmp(seed, "LTSNAP\r\n", 8) != 0) {
		fprintf(stderr, "fuzz_open: %s is neither a snapshot file nor a core\n", name);
		exit(1);
	}
	if (is_core)
		survey_core();
	else
		survey_snapfile();
	if (!nwhere)
		exit(1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		exit(1);
	fprintf(stderr, "fuzz_open: seed: %s %s, %zu KiB, %zu structure bytes\n",
		is_core ? "core" : "snapshot file", name, seed_len >> 10, nwhere);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot_opts so = { .stacks = 1, .retainers = 10 };
	struct session s;
	struct snapshot snap;
	size_t n = size / PATCH;

	if (n > MAX_PATCHES)
		n = MAX_PATCHES;
	nundo = 0;
	for (size_t i = 0; i < n; i++)
		apply(data + i * PATCH);
	if (!is_core)
		resum();
	if ((is_core ? core_session_open(&s, path, NULL, &so) :
	     snapfile_session_open(&s, path, &so)) == 0) {
		if (session_snapshot(&s, &snap) == 0) {
			report_text(devnull, &snap, 0);
			report_json(devnull, &snap);
			snapshot_free(&snap);
		}
		session_close(&s);
	}
	/* Backwards: bytes written twice get their first old value back. */
	while (nundo-- > 0)
		if (pwrite(fd, undo[nundo].old, (size_t)undo[nundo].n, (off_t)undo[nundo].off) !=
		    undo[nundo].n)
			exit(1);
	nundo = 0;
	lt_error_clear();
	return 0;
}
