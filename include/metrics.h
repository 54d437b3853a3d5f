/* metrics.h - a snapshot as Prometheus / OpenMetrics text, for monitoring.
 *
 * The text exposition format node_exporter's textfile collector and a
 * Prometheus scrape read: objects and bytes per type (the top N by bytes,
 * the rest as type="other"), descriptors by kind, cyclic garbage, the pause
 * and the snapshot's time, each labelled with the process (pid, command,
 * python version). */
#ifndef LEAKTOP_METRICS_H
#define LEAKTOP_METRICS_H

#include <stddef.h>
#include <stdio.h>

struct snapshot;

/* Types given a series of their own per metric; the rest sum to "other". */
#define METRICS_TOP_TYPES 30

/* The metrics of snapshots, in order (several processes for `serve`): each
 * metric's HELP and TYPE once, then its samples for every snapshot. */
void metrics_write(FILE *out, const struct snapshot *const *snaps, size_t n, size_t top);

/* metrics_write of one snapshot into path, atomically (written beside it,
 * then renamed over it, as the textfile collector wants).  0, or -1 with
 * lt_error. */
int metrics_write_file(const char *path, const struct snapshot *s, size_t top);

#endif
