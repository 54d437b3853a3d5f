/* seed.h - a walkable memory image saved from a real target (fuzz/README.md).
 *
 * The seed file is written by `leaktop dump` with LEAKTOP_SAVE_IMAGE=FILE
 * (image_save_seed); its format is described in seed.c.  Loaded, it is an
 * image (image.h) whose segments are ascending, disjoint and laid out in
 * one buffer in address order, plus what a walk needs from the session. */
#ifndef LEAKTOP_FUZZ_SEED_H
#define LEAKTOP_FUZZ_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "layout.h"

#define SEED_MAX_SYMS 8

struct seed {
	struct image im;          /* seg, nseg and buf only */
	size_t size;              /* bytes in im.buf */
	size_t live_bytes;        /* of them, pages the walk had read live */
	struct py_layout lay;
	int major, minor, micro;
	uint64_t runtime, set_dummy;
	char version[32], table_version[32];
	struct {
		char name[32];
		uint64_t addr;
	} syms[SEED_MAX_SYMS];
	int nsyms;
};

/* Load path into sd.  Returns 0, or -1 with a reason in err. */
int seed_load(struct seed *sd, const char *path, char *err, size_t errlen);

/* The target address of byte off of the buffer (off < sd->size). */
uint64_t seed_addr(const struct seed *sd, size_t off);

#endif
