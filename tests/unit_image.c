/* unit_image.c - plan and copy a child's memory; large payloads left out. */
#include "config.h"
#include "image.h"
#include "tap.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAYLOAD (8u << 20)     /* numbers: only the first page is copied */
#define POINTERS (4u << 20)    /* object pointers: copied whole */

struct where {
	uintptr_t payload, ptrs, small, text;
};

static void child(int fd)
{
	double *payload = malloc(PAYLOAD);
	void **ptrs = malloc(POINTERS);
	char *small = malloc(64);
	struct where w = { (uintptr_t)payload, (uintptr_t)ptrs, (uintptr_t)small,
			   (uintptr_t)(void *)child };

	strcpy(small, "leaktop-image-test");
	for (size_t i = 0; i < PAYLOAD / sizeof(*payload); i++)
		payload[i] = 1.5 + (double)i;
	for (size_t i = 0; i < POINTERS / sizeof(*ptrs); i++)
		ptrs[i] = small;
	if (write(fd, &w, sizeof(w)) != (ssize_t)sizeof(w))
		_exit(1);
	for (;;)
		pause();
}

int main(void)
{
	struct image im;
	struct where w;
	int fds[2];
	pid_t pid;
	const unsigned char *p;

	if (pipe(fds) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		child(fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], &w, sizeof(w)) != (ssize_t)sizeof(w)) {
		kill(pid, SIGKILL);
		return 1;
	}
	image_init(&im);
	TAP_OK(image_plan(&im, pid) == 0, "plan the copy of a child");
	TAP_OK(image_copy(&im, pid, 0) == 0, "copy it");
	TAP_OK(im.st.copied_bytes > 0 && im.st.copied_bytes == im.st.planned_bytes && !im.st.cut,
	       "everything planned was copied");
	p = image_find(&im, w.small, 19);
	TAP_OK(p && memcmp(p, "leaktop-image-test", 19) == 0, "a small allocation reads back");
	p = image_find(&im, w.ptrs, POINTERS);
	TAP_OK(p && memcmp(p + POINTERS - 8, &w.small, 8) == 0,
	       "a 4 MiB array of pointers is copied whole");
	p = image_find(&im, w.payload, 16);
	TAP_OK(p && *(const double *)p == 1.5, "a large payload's first page is copied");
#ifdef __SANITIZE_ADDRESS__
	/* The payload comes from ASan's allocator, not a glibc mmap'd chunk. */
	TAP_SKIP("ASan's malloc makes no glibc chunks", "the rest of an 8 MiB payload of numbers is not");
	TAP_SKIP("ASan's malloc makes no glibc chunks", "its bytes are counted as left out");
#else
	TAP_OK(image_find(&im, w.payload + (1u << 20), 8) == NULL,
	       "the rest of an 8 MiB payload of numbers is not");
	TAP_OK(im.st.payload_bytes >= PAYLOAD - 8192, "its bytes are counted as left out (%llu)",
	       (unsigned long long)im.st.payload_bytes);
#endif
	TAP_OK(image_is_constant(&im, w.text) == 1, "code is constant: readable later");
	TAP_OK(image_is_constant(&im, w.small) == 0, "the heap is not");
	image_free(&im);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	image_init(&im);
	TAP_OK(image_plan(&im, pid) < 0, "a reaped child cannot be planned");
	image_free(&im);
	return tap_done();
}
