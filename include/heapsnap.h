/* heapsnap.h - the heap as a Chrome DevTools heap snapshot (.heapsnapshot).
 *
 * The format DevTools' Memory tab and memlab read: one JSON object with a
 * "snapshot" meta block (field names and types), flat "nodes" and "edges"
 * arrays, and "strings".  A node is an object of the reference graph named
 * by its type as leaktop prints it (__main__.Leaky) with its size; an edge
 * is a reference labelled as why labels it (.attr, [3], ['key']); the
 * roots (modules, threads, objects held from C) hang off a synthetic root. */
#ifndef LEAKTOP_HEAPSNAP_H
#define LEAKTOP_HEAPSNAP_H

#include <stdio.h>

struct session;
struct snapshot;
struct graph;

/* Write g, the full reference graph of snap (as an analyze hook receives
 * it, reads going to the snapshot's memory), to out.  Returns 0, or -1
 * when out could not be written (errno). */
int heapsnap_write(FILE *out, struct session *s, struct snapshot *snap, struct graph *g);

#endif
