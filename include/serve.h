/* serve.h - leaktop serve: the metrics of several processes over HTTP.
 *
 * Two threads.  The snapshot thread, the only tracer, every interval takes a
 * snapshot of each process (stopping each only to copy, as watch does),
 * renders their metrics (metrics.h) and puts the text on a board when
 * complete; it takes SIGINT, SIGTERM and SIGHUP, which end both in order.
 * The network loop answers every request at once from the board: each
 * client is a non-blocking socket with its own deadline, at most
 * SERVE_MAX_CLIENTS at once, and a malformed request is answered 400 as
 * soon as it is seen; no client waits on another nor on a snapshot. */
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
