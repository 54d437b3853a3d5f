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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client gets this long, from its connection, to send its request and
 * take the answer; at most SERVE_MAX_CLIENTS are served at once (a new one
 * past that closes the one whose time ends first). */
#define CLIENT_TIMEOUT_MS 2000
#define SERVE_MAX_CLIENTS 64
#define REQUEST_MAX 8192
#define POLL_MS 100

struct served {
	pid_t pid;
	struct session se;
	struct snapshot snap;
	int have;                /* snap holds its last snapshot */
	int gone;                /* it exited: no more snapshots */
};

/* What the snapshot thread hands the network loop. */
struct board {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *text;              /* the last completed metrics (NULL before the first) */
	size_t len;
	int rounds;              /* renders completed */
	int over;                /* the snapshot thread ended */
	int rc;                  /* its end: 0, or -1 with err */
	char err[512];
};

struct snapper {
	struct served *v;
	size_t n;
	double interval_s;
	struct board *b;
};

struct client {
	int fd;
	uint64_t deadline;
	char req[REQUEST_MAX + 1];
	size_t got;
	char *out;               /* the answer, once the request is read */
	size_t outlen, sent;
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

/* The signals that end serve in order. */
static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP };

/* Blocks (SIG_BLOCK) or takes (SIG_UNBLOCK) them in the calling thread. */
static void stop_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < LT_ARRAY_SIZE(stop_sigs); i++)
		sigaddset(&set, stop_sigs[i]);
	pthread_sigmask(how, &set, NULL);
}

/* The snapshot thread: every interval, the metrics of every process, put
 * on the board when complete.  It alone traces the targets (ptrace is per
 * thread), and it alone takes the stop signals, whose handler lets a held
 * target go at once. */
static void *snapshots(void *arg)
{
	struct snapper *sn = arg;
	struct board *b = sn->b;

	stop_signals(SIG_UNBLOCK);
	while (!lt_stop_requested) {
		uint64_t next = lt_now_us() + (uint64_t)(sn->interval_s * 1e6);
		size_t len = 0, alive = 0;
		char *text = render(sn->v, sn->n, &len), *old;

		for (size_t i = 0; i < sn->n; i++)
			alive += !sn->v[i].gone;
		pthread_mutex_lock(&b->lock);
		if (text && !lt_stop_requested) {
			old = b->text;
			b->text = text;
			b->len = len;
			text = old;
			b->rounds++;
		}
		if (!alive) {
			b->rc = -1;
			snprintf(b->err, sizeof(b->err), "every process served has exited");
		}
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
		free(text);
		if (!alive)
			break;
		for (uint64_t now = lt_now_us(); !lt_stop_requested && now < next; now = lt_now_us())
			poll(NULL, 0, (int)((next - now) / 1000 < POLL_MS ? (next - now) / 1000 + 1 : POLL_MS));
	}
	pthread_mutex_lock(&b->lock);
	b->over = 1;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* The answer to a request read whole, or to one that cannot be (status
 * given): GET /metrics (or HEAD) the last metrics; 400 for a malformed
 * request, 404 elsewhere, 405 for other methods. */
static void respond(struct client *cl, struct board *b, const char *status)
{
	static const char not_found[] = "leaktop serves /metrics\n";
	static const char bad[] = "bad request\n";
	const char *body = NULL, *path = NULL, *type = "text/plain; charset=utf-8";
	size_t len = 0;
	int head = 0;
	FILE *f;

	if (!status) {
		head = strncmp(cl->req, "HEAD ", 5) == 0;
		path = strncmp(cl->req, "GET ", 4) == 0 ? cl->req + 4 : head ? cl->req + 5 : NULL;
		if (!path)
			status = "405 Method Not Allowed";
		else if (strncmp(path, "/metrics", 8) != 0 || (path[8] != ' ' && path[8] != '?'))
			status = "404 Not Found";
		else
			status = "200 OK";
	}
	f = open_memstream(&cl->out, &cl->outlen);
	if (!f) {
		cl->out = NULL;
		return;
	}
	if (strcmp(status, "200 OK") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		pthread_mutex_lock(&b->lock);
		len = b->len;
		fprintf(f, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n", status, type, len);
		if (!head && b->text)
			fwrite(b->text, 1, len, f);
		pthread_mutex_unlock(&b->lock);
	} else {
		body = status[0] == '4' && status[2] == '0' ? bad : not_found;
		len = strlen(body);
		fprintf(f, "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n%s", status, type, len, head ? "" : body);
	}
	fclose(f);
}

/* What the request read so far says: 1 complete, 0 more to read, -1
 * malformed (a NUL, a request line that is not METHOD PATH HTTP/x.y, a
 * header line without a colon, or longer than REQUEST_MAX). */
static int request_state(const struct client *cl)
{
	const char *p = cl->req, *end = cl->req + cl->got, *nl;
	int line = 0;

	if (memchr(cl->req, '\0', cl->got))
		return -1;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		size_t n = (size_t)(nl - p) - (nl > p && nl[-1] == '\r');

		if (n == 0)
			return line ? 1 : -1;  /* the blank line ends the headers */
		if (line == 0) {
			const char *sp1 = memchr(p, ' ', n), *sp2;

			sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p)) : NULL;
			if (!sp1 || sp1 == p || !sp2 || sp2 == sp1 + 1 ||
			    n - (size_t)(sp2 + 1 - p) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
				return -1;
			for (const char *m = p; m < sp1; m++)
				if (*m < 'A' || *m > 'Z')
					return -1;
		} else if (!memchr(p, ':', n)) {
			return -1;
		}
		line++;
		p = nl + 1;
	}
	return cl->got >= REQUEST_MAX ? -1 : 0;
}

static void drop(struct client *cl, size_t *n, size_t i)
{
	close(cl[i].fd);
	free(cl[i].out);
	cl[i] = cl[--*n];
}

/* One turn of the network loop: accept, read, answer, close; no client
 * waits on another, nor on a snapshot under way. */
static void serve_clients(int lfd, struct client *cl, size_t *n, struct board *b)
{
	struct pollfd p[SERVE_MAX_CLIENTS + 1];
	uint64_t now;

	p[0] = (struct pollfd){ lfd, POLLIN, 0 };
	for (size_t i = 0; i < *n; i++)
		p[i + 1] = (struct pollfd){ cl[i].fd, cl[i].out ? POLLOUT : POLLIN, 0 };
	if (poll(p, *n + 1, POLL_MS) < 0)
		return;
	now = lt_now_us();
	/* from the last: drop() moves the last client into the gap */
	for (size_t i = *n; i-- > 0;) {
		struct client *c = &cl[i];
		ssize_t got;
		int st;

		if (now > c->deadline || (p[i + 1].revents & (POLLERR | POLLNVAL))) {
			drop(cl, n, i);
			continue;
		}
		if (!p[i + 1].revents)
			continue;
		if (c->out) {
			got = send(c->fd, c->out + c->sent, c->outlen - c->sent,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
			if (got > 0)
				c->sent += (size_t)got;
			if (got <= 0 && errno != EAGAIN && errno != EINTR)
				drop(cl, n, i);
			else if (c->sent == c->outlen)
				drop(cl, n, i);
			continue;
		}
		got = recv(c->fd, c->req + c->got, REQUEST_MAX - c->got, MSG_DONTWAIT);
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(cl, n, i);
			continue;
		}
		if (got > 0) {
			c->got += (size_t)got;
			c->req[c->got] = '\0';
		}
		if ((st = request_state(c)) != 0)
			respond(c, b, st < 0 ? "400 Bad Request" : NULL);
		if (st != 0 && !c->out)
			drop(cl, n, i);
	}
	if (p[0].revents & POLLIN) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (*n == SERVE_MAX_CLIENTS) {
			size_t oldest = 0;

			for (size_t i = 1; i < *n; i++)
				if (cl[i].deadline < cl[oldest].deadline)
					oldest = i;
			drop(cl, n, oldest);
		}
		memset(&cl[*n], 0, sizeof(cl[*n]));
		cl[*n].fd = fd;
		cl[*n].deadline = now + (uint64_t)CLIENT_TIMEOUT_MS * 1000;
		(*n)++;
	}
}

int serve_run(const char *listen_spec, const pid_t *pids, size_t n, const struct snapshot_opts *o,
	      double interval_s)
{
	struct served *v = xcalloc(n ? n : 1, sizeof(*v));
	struct snapshot_opts so = *o;
	struct board b = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	struct snapper sn = { v, n, interval_s, &b };
	struct client *cl = xcalloc(SERVE_MAX_CLIENTS, sizeof(*cl));
	struct sigaction sa;
	pthread_t th;
	char url[128];
	size_t open_n = 0, ncl = 0;
	int lfd, rc;

	so.retainers = so.gc_only ? 0 : RETAIN_MAX;
	for (size_t i = 0; i < n; i++) {
		v[i].pid = pids[i];
		if (session_open(&v[i].se, pids[i], &so) < 0) {
			char err[512];

			snprintf(err, sizeof(err), "%s", lt_last_error());
			while (open_n--)
				session_close(&v[open_n].se);
			free(v);
			free(cl);
			lt_error(LT_ERR_OTHER, "%s", err);
			return -1;
		}
		open_n++;
	}
	if ((lfd = listen_on(listen_spec, url, sizeof(url))) < 0) {
		for (size_t i = 0; i < n; i++)
			session_close(&v[i].se);
		free(v);
		free(cl);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = attach_stop_signal_handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < LT_ARRAY_SIZE(stop_sigs); i++)
		sigaction(stop_sigs[i], &sa, NULL);
	/* The stop signals go to the snapshot thread, the tracer. */
	stop_signals(SIG_BLOCK);
	if ((rc = pthread_create(&th, NULL, snapshots, &sn)) != 0) {
		lt_error(LT_ERR_OTHER, "cannot start the snapshot thread: %s", strerror(rc));
		rc = -1;
		goto out;
	}
	/* The readiness signal, after the first snapshots: from here a
	 * request has an answer. */
	pthread_mutex_lock(&b.lock);
	while (!b.rounds && !b.over)
		pthread_cond_wait(&b.cond, &b.lock);
	if (b.rounds)
		printf("leaktop: serving %s for %zu process%s\n", url, n, n == 1 ? "" : "es");
	pthread_mutex_unlock(&b.lock);
	fflush(stdout);
	for (;;) {
		int over;

		pthread_mutex_lock(&b.lock);
		over = b.over;
		pthread_mutex_unlock(&b.lock);
		if (over || lt_stop_requested)
			break;
		serve_clients(lfd, cl, &ncl, &b);
	}
	pthread_join(th, NULL);
	rc = b.rc;
	if (rc < 0)
		lt_error(LT_ERR_GONE, "%s", b.err);
out:
	while (ncl)
		drop(cl, &ncl, ncl - 1);
	free(cl);
	free(b.text);
	close(lfd);
	for (size_t i = 0; i < n; i++) {
		if (v[i].have)
			snapshot_free(&v[i].snap);
		session_close(&v[i].se);
	}
	free(v);
	return rc;
}
