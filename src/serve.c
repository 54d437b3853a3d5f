/* serve.c - the metrics of several processes over HTTP. */
#include "config.h"
#include "serve.h"
#include "attach.h"
#include "metrics.h"
#include "proc.h"
#include "retain.h"
#include "snapshot.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client gets this long to send its request and take the answer. */
#define CLIENT_TIMEOUT_MS 2000
#define REQUEST_MAX 8192

struct served {
	pid_t pid;
	struct session se;
	struct snapshot snap;
	int have;                /* snap holds its last snapshot */
	int gone;                /* it exited: no more snapshots */
};

/* "host:port" -> a listening socket; *url says where. */
static int listen_on(const char *spec, char *url, size_t max)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";
	int fd = -1, one = 1, rc;

	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host) || !colon[1]) {
		lt_error(LT_ERR_OTHER, "--listen wants HOST:PORT (127.0.0.1:9123), not '%s'", spec);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		lt_error(LT_ERR_OTHER, "cannot listen on %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		lt_error(LT_ERR_OTHER, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof(addr));
		snprintf(url, max, "http://[%s]:%d/metrics", addr, ntohs(a6->sin6_port));
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof(addr));
		snprintf(url, max, "http://%s:%d/metrics", addr, ntohs(a4->sin_port));
	}
	return fd;
}

/* Write all of buf, giving up after the client's time. */
static void send_all(int fd, const char *buf, size_t len)
{
	uint64_t deadline = lt_now_us() + (uint64_t)CLIENT_TIMEOUT_MS * 1000;

	while (len > 0 && !lt_stop_requested) {
		struct pollfd p = { fd, POLLOUT, 0 };
		ssize_t n;

		if (lt_now_us() > deadline || poll(&p, 1, CLIENT_TIMEOUT_MS) <= 0)
			return;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* One request: GET /metrics answers the text; anything else 404 or 405. */
static void answer(int fd, const char *body, size_t len)
{
	char req[REQUEST_MAX + 1], head[256], *path;
	size_t got = 0;
	uint64_t deadline = lt_now_us() + (uint64_t)CLIENT_TIMEOUT_MS * 1000;
	const char *status = "200 OK", *type = "text/plain; version=0.0.4; charset=utf-8";
	static const char not_found[] = "leaktop serves /metrics\n";

	req[0] = '\0';
	while (got < REQUEST_MAX && !strstr(req, "\r\n\r\n") && !lt_stop_requested) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (lt_now_us() > deadline || poll(&p, 1, CLIENT_TIMEOUT_MS) <= 0)
			break;
		n = recv(fd, req + got, REQUEST_MAX - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
	}
	path = strncmp(req, "GET ", 4) == 0 ? req + 4 : strncmp(req, "HEAD ", 5) == 0 ? req + 5 : NULL;
	if (!path || strncmp(path, "/metrics", 8) != 0 || (path[8] != ' ' && path[8] != '?')) {
		status = path ? "404 Not Found" : "405 Method Not Allowed";
		body = not_found;
		len = sizeof(not_found) - 1;
	}
	snprintf(head, sizeof(head), "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", status, type, len);
	send_all(fd, head, strlen(head));
	if (req[0] == 'G')
		send_all(fd, body, len);
}

/* A snapshot of each process still there, and their metrics as text. */
static char *render(struct served *v, size_t n, size_t *len)
{
	const struct snapshot *snaps[SERVE_MAX_PIDS];
	size_t k = 0;
	char *text = NULL;
	FILE *f;

	for (size_t i = 0; i < n && !lt_stop_requested; i++) {
		if (v[i].gone)
			continue;
		if (v[i].have)
			snapshot_free(&v[i].snap);
		v[i].have = session_snapshot(&v[i].se, &v[i].snap) == 0;
		if (!v[i].have && proc_exited(v[i].pid)) {
			v[i].gone = 1;
			fprintf(stderr, "leaktop: pid %d exited; serving the others\n", (int)v[i].pid);
		} else if (!v[i].have) {
			fprintf(stderr, "leaktop: pid %d: %s\n", (int)v[i].pid, lt_last_error());
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].have)
			snaps[k++] = &v[i].snap;
	f = open_memstream(&text, len);
	if (!f)
		return NULL;
	metrics_write(f, snaps, k, METRICS_TOP_TYPES);
	fclose(f);
	return text;
}

int serve_run(const char *listen_spec, const pid_t *pids, size_t n, const struct snapshot_opts *o,
	      double interval_s)
{
	struct served *v = xcalloc(n ? n : 1, sizeof(*v));
	struct snapshot_opts so = *o;
	struct sigaction sa;
	char url[128];
	char *text = NULL;
	size_t len = 0, open_n = 0;
	int lfd, rc = 0, ready = 0;

	so.retainers = so.gc_only ? 0 : RETAIN_MAX;
	for (size_t i = 0; i < n; i++) {
		v[i].pid = pids[i];
		if (session_open(&v[i].se, pids[i], &so) < 0) {
			char err[512];

			snprintf(err, sizeof(err), "%s", lt_last_error());
			while (open_n--)
				session_close(&v[open_n].se);
			free(v);
			lt_error(LT_ERR_OTHER, "%s", err);
			return -1;
		}
		open_n++;
	}
	if ((lfd = listen_on(listen_spec, url, sizeof(url))) < 0) {
		for (size_t i = 0; i < n; i++)
			session_close(&v[i].se);
		free(v);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = attach_stop_signal_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!lt_stop_requested) {
		uint64_t next = lt_now_us() + (uint64_t)(interval_s * 1e6);
		size_t alive = 0;

		free(text);
		text = render(v, n, &len);
		for (size_t i = 0; i < n; i++)
			alive += !v[i].gone;
		if (!alive) {
			lt_error(LT_ERR_GONE, "every process served has exited");
			rc = -1;
			break;
		}
		if (!ready) {
			/* The readiness signal: from here a request has an answer. */
			printf("leaktop: serving %s for %zu process%s\n", url, n, n == 1 ? "" : "es");
			fflush(stdout);
			ready = 1;
		}
		while (!lt_stop_requested && lt_now_us() < next) {
			struct pollfd p = { lfd, POLLIN, 0 };
			int wait_ms = (int)((next - lt_now_us()) / 1000) + 1;

			if (poll(&p, 1, wait_ms) > 0) {
				int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (c >= 0) {
					answer(c, text ? text : "", text ? len : 0);
					close(c);
				}
			}
		}
	}
	free(text);
	close(lfd);
	for (size_t i = 0; i < n; i++) {
		if (v[i].have)
			snapshot_free(&v[i].snap);
		session_close(&v[i].se);
	}
	free(v);
	return rc;
}
