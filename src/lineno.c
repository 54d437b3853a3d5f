/* lineno.c - line numbers from the code objects' line tables. */
#include "config.h"
#include "lineno.h"
#include "pyobj.h"
#include "remote.h"

#include <stdlib.h>

/* Line tables longer than this are not read (a hostile or corrupt code). */
#define MAX_TABLE (1 << 20)

/* The bytes of a bytes object, malloc'd; NULL if unreadable. */
static uint8_t *read_bytes(struct pyctx *c, uint64_t obj, int64_t *len)
{
	uint8_t *buf;

	if (!obj || remote_read(c->mem, obj + (uint64_t)c->lay->ob_size, len, 8) < 0 ||
	    *len < 0 || *len > MAX_TABLE)
		return NULL;
	buf = malloc((size_t)*len + 1);
	if (buf && remote_read(c->mem, obj + (uint64_t)c->lay->bytes_sval, buf, (size_t)*len) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* 3.8, 3.9: (address increment, signed line increment) pairs. */
static int lnotab(const uint8_t *p, int64_t len, int line, int64_t addr)
{
	int64_t at = 0;

	for (int64_t i = 0; i + 1 < len; i += 2) {
		at += p[i];
		if (at > addr)
			break;
		line += (int8_t)p[i + 1];
	}
	return line;
}

/* 3.10: (byte length, signed line delta or -128 for none) pairs. */
static int linetable310(const uint8_t *p, int64_t len, int line, int64_t addr)
{
	int64_t end = 0;

	for (int64_t i = 0; i + 1 < len; i += 2) {
		int delta = (int8_t)p[i + 1];

		end += p[i];
		if (delta != -128)
			line += delta;
		if (end > addr)
			return delta == -128 ? -1 : line;
	}
	return -1;
}

static uint64_t varint(const uint8_t *p, int64_t len, int64_t *i)
{
	uint64_t v = 0;
	int shift = 0;

	while (*i < len && shift < 64) {
		uint8_t b = p[(*i)++];

		v |= (uint64_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return v;
}

static int64_t svarint(const uint8_t *p, int64_t len, int64_t *i)
{
	uint64_t v = varint(p, len, i);

	return v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
}

/* 3.11+: entries of 1-8 code units whose first byte has bit 7 set and
 * says how the line moves (15 no line, 14 and 13 a signed varint, 10-12 by
 * 0-2, else the same line); the bytes after it are columns. */
static int locations(const uint8_t *p, int64_t len, int line, int64_t addr)
{
	int64_t end = 0, i = 0;

	while (i < len) {
		int code = (p[i] >> 3) & 15;
		int64_t next = i + 1;

		if (!(p[i] & 128))
			return -1;  /* not at an entry: the table is not what we think */
		end += ((p[i] & 7) + 1) * 2;
		if (code == 13 || code == 14)
			line += (int)svarint(p, len, &next);
		else if (code >= 10 && code <= 12)
			line += code - 10;
		if (end > addr)
			return code == 15 ? -1 : line;
		for (i++; i < len && !(p[i] & 128); i++)
			;
	}
	return -1;
}

int lineno_addr2line(struct pyctx *c, uint64_t code, int64_t addr)
{
	const struct py_layout *l = c->lay;
	int32_t first;
	uint64_t table;
	int64_t len;
	uint8_t *p;
	int line;

	if (!code || addr < 0 ||
	    remote_read(c->mem, code + (uint64_t)l->code_firstlineno, &first, 4) < 0 ||
	    remote_read_u64(c->mem, code + (uint64_t)(c->minor <= 9 ? l->code_lnotab : l->code_linetable),
			    &table) < 0 ||
	    !(p = read_bytes(c, table, &len)))
		return -1;
	line = c->minor <= 9 ? lnotab(p, len, first, addr) :
	       c->minor == 10 ? linetable310(p, len, first, addr) : locations(p, len, first, addr);
	free(p);
	return line;
}

int64_t lineno_iframe_offset(struct pyctx *c, uint64_t iframe, uint64_t code)
{
	const struct py_layout *l = c->lay;
	int32_t at = c->minor <= 12 ? l->iframe_prev_instr : l->iframe_instr_ptr;
	uint64_t instr;

	if (at < 0 || l->code_code_adaptive < 0 ||
	    remote_read_u64(c->mem, iframe + (uint64_t)at, &instr) < 0)
		return -2;
	if (instr < code + (uint64_t)l->code_code_adaptive)
		return -1;  /* before the first instruction (3.11, 3.12) */
	return (int64_t)(instr - code - (uint64_t)l->code_code_adaptive);
}

int64_t lineno_oldframe_offset(struct pyctx *c, uint64_t frame)
{
	int32_t lasti;

	if (c->lay->frame_lasti < 0 ||
	    remote_read(c->mem, frame + (uint64_t)c->lay->frame_lasti, &lasti, 4) < 0)
		return -2;
	if (lasti < 0)
		return -1;
	/* 3.10 counts instructions, 3.8 and 3.9 bytes */
	return c->minor == 10 ? (int64_t)lasti * 2 : lasti;
}

int64_t lineno_gen_offset(struct pyctx *c, uint64_t gen, uint64_t code)
{
	const struct py_layout *l = c->lay;
	uint64_t frame;

	if (c->minor >= 11)
		return lineno_iframe_offset(c, gen + (uint64_t)l->gen_iframe, code);
	if (remote_read_u64(c->mem, gen + (uint64_t)l->gen_frame_old, &frame) < 0 || !frame)
		return -2;  /* finished: no frame */
	return lineno_oldframe_offset(c, frame);
}
