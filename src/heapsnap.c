/* heapsnap.c - the reference graph in DevTools' heap snapshot format. */
#include "config.h"
#include "heapsnap.h"

#include <errno.h>

int heapsnap_write(FILE *out, struct session *s, struct snapshot *snap, struct graph *g)
{
	(void)out, (void)s, (void)snap, (void)g;
	errno = ENOSYS;
	return -1;
}
