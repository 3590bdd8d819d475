/*
 * tcp-delay: a TCP proxy on 127.0.0.1 that holds every byte for a fixed
 * time in each direction, so a local server behaves like one across a
 * network (bench/sync puts PostgreSQL "on another host" with it). Bytes keep
 * their order; each direction is delayed on its own, so a round trip costs
 * twice the one-way delay.
 *
 *   tcp-delay LISTEN_PORT TARGET_PORT ONE_WAY_MICROSECONDS
 *
 * One thread per connection; it stops when both sides have closed.
 */
#define _GNU_SOURCE /* ppoll */
#include "common/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK_MAX 65536

struct chunk {
	struct chunk *next;
	int64_t due_us;
	size_t len, off;
	char data[];
};

struct dir {
	int from, to;
	struct chunk *head, *tail;
	bool eof;  /* from has closed */
	bool shut; /* ... and everything has been passed on */
};

struct conn {
	int a, b;
};

static int target_port;
static int64_t delay_us;

static void nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Pass on what is due; false on a write error. */
static bool flush_due(struct dir *d, int64_t now)
{
	while (d->head && d->head->due_us <= now) {
		struct chunk *c = d->head;
		ssize_t n = send(d->to, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		c->off += (size_t)n;
		if (c->off < c->len)
			return true;
		d->head = c->next;
		if (!d->head)
			d->tail = NULL;
		free(c);
	}
	if (d->eof && !d->head && !d->shut) {
		(void)shutdown(d->to, SHUT_WR);
		d->shut = true;
	}
	return true;
}

/* Read what has arrived; false on a read error. */
static bool take_in(struct dir *d, int64_t now)
{
	struct chunk *c = xmalloc(sizeof *c + CHUNK_MAX);
	ssize_t n = recv(d->from, c->data, CHUNK_MAX, 0);
	if (n <= 0) {
		free(c);
		if (n == 0) {
			d->eof = true;
			return true;
		}
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	}
	c->next = NULL;
	c->due_us = now + delay_us;
	c->len = (size_t)n;
	c->off = 0;
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
	return true;
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	struct dir d[2] = {{.from = cn->a, .to = cn->b}, {.from = cn->b, .to = cn->a}};
	bool ok = true;
	while (ok && !(d[0].shut && d[1].shut)) {
		int64_t now = mono_us();
		for (int i = 0; i < 2; i++)
			ok = ok && flush_due(&d[i], now);
		if (!ok || (d[0].shut && d[1].shut))
			break;
		struct pollfd p[2] = {{.fd = cn->a}, {.fd = cn->b}};
		int64_t wait = -1;
		for (int i = 0; i < 2; i++) {
			if (!d[i].eof)
				p[i].events |= POLLIN;
			if (d[i].head) {
				int64_t left = d[i].head->due_us - now;
				if (left <= 0) /* due but the socket was full */
					p[1 - i].events |= POLLOUT;
				else if (wait < 0 || left < wait)
					wait = left;
			}
		}
		struct timespec ts = {.tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000};
		if (ppoll(p, 2, wait < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR)
			break;
		now = mono_us();
		for (int i = 0; i < 2; i++)
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
				ok = ok && take_in(&d[i], now);
	}
	for (int i = 0; i < 2; i++)
		while (d[i].head) {
			struct chunk *c = d[i].head;
			d[i].head = c->next;
			free(c);
		}
	close(cn->a);
	close(cn->b);
	free(cn);
	return NULL;
}

static int parse_port(const char *s)
{
	int64_t v;
	return parse_i64(s, &v) == 0 && v > 0 && v < 65536 ? (int)v : -1;
}

int main(int argc, char **argv)
{
	int listen_port = argc == 4 ? parse_port(argv[1]) : -1;
	target_port = argc == 4 ? parse_port(argv[2]) : -1;
	if (listen_port < 0 || target_port < 0 || parse_i64(argv[3], &delay_us) < 0 ||
	    delay_us < 0) {
		fprintf(stderr, "usage: tcp-delay LISTEN_PORT TARGET_PORT ONE_WAY_MICROSECONDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	(void)setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 64) < 0) {
		fprintf(stderr, "tcp-delay: cannot listen on port %d: %s\n", listen_port,
			strerror(errno));
		return 1;
	}
	for (;;) {
		int a = accept(ls, NULL, NULL);
		if (a < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tcp-delay: accept: %s\n", strerror(errno));
			return 1;
		}
		int b = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in ta = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)target_port)};
		ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (b < 0 || connect(b, (struct sockaddr *)&ta, sizeof ta) < 0) {
			fprintf(stderr, "tcp-delay: cannot reach port %d: %s\n", target_port,
				strerror(errno));
			close(a);
			if (b >= 0)
				close(b);
			continue;
		}
		nodelay(a);
		nodelay(b);
		struct conn *cn = xmalloc(sizeof *cn);
		cn->a = a;
		cn->b = b;
		pthread_t t;
		if (pthread_create(&t, NULL, conn_main, cn) != 0) {
			close(a);
			close(b);
			free(cn);
			continue;
		}
		pthread_detach(t);
	}
}
