/* serve.h - leaktop serve: the metrics of several processes over HTTP.
 *
 * One thread: every interval it takes a snapshot of each process (stopping
 * each only to copy, as watch does) and renders their metrics (metrics.h);
 * between snapshots it answers GET /metrics from that text.  SIGINT and
 * SIGTERM end it in order. */
#ifndef LEAKTOP_SERVE_H
#define LEAKTOP_SERVE_H

#include <stddef.h>
#include <sys/types.h>

struct snapshot_opts;

/* Processes served at most. */
#define SERVE_MAX_PIDS 64

/* Serve on listen ("127.0.0.1:9123", "localhost:0": any free port; the URL
 * is printed on stdout) until a stop signal or until every process has
 * exited.  Returns 0 on a stop signal, -1 with lt_error otherwise. */
int serve_run(const char *listen, const pid_t *pids, size_t n, const struct snapshot_opts *o,
	      double interval_s);

#endif
