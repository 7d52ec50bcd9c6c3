/* The metrics listener (daemon/scrape.c) on a loopback socket, driven by hand: an epoll set of
 * its own, events handed to scrape_event, time given to scrape_expire. Answers and their
 * headers, a request split across sends, the ninth connection closed at once, the request
 * deadline, a reader that never reads dropped at the answer's deadline, a failed render. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/addr.h"
#include "daemon/scrape.h"

#define T0 1000000000ull	/* the tests' clock: scrape only compares it with deadlines */
#define TAG 500

static int render_small(void *ctx, char *buf, size_t len)
{
	(void)ctx;
	return snprintf(buf, len, "a_total 1\n");
}

/* Every byte the listener offers: far more than loopback socket buffers take at once. */
static int render_big(void *ctx, char *buf, size_t len)
{
	(void)ctx;
	memset(buf, 'x', len);
	buf[len - 1] = '\n';
	return (int)len;
}

static int render_fail(void *ctx, char *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return -ENOSPC;
}

struct rig {
	int epfd;
	struct scrape *s;
	struct sockaddr_storage addr;
};

static void rig_new(struct rig *r, scrape_render_fn render)
{
	char err[256];

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(r->epfd >= 0);
	/* a free port: a few tries in the dynamic range */
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int k = 0; k < 50; k++) {
		char a[32];

		snprintf(a, sizeof(a), "127.0.0.1:%d", 20000 + rand() % 30000);
		assert_int_equal(addr_parse_port(a, &r->addr), 0);
		r->s = scrape_new(&r->addr, r->epfd, TAG, render, NULL, err, sizeof(err));
		if (r->s)
			return;
		assert_non_null(strstr(err, "in use"));
	}
	fail_msg("no free port");
}

static void rig_free(struct rig *r)
{
	scrape_free(r->s);
	close(r->epfd);
}

/* Hand every event ready within ms to the listener, a few rounds. */
static void pump(struct rig *r, int ms)
{
	struct epoll_event evs[16];

	for (int round = 0; round < 8; round++) {
		int n = epoll_wait(r->epfd, evs, 16, round ? 0 : ms);

		if (n <= 0)
			return;
		for (int k = 0; k < n; k++) {
			assert_true(scrape_owns(r->s, evs[k].data.u64));
			scrape_event(r->s, evs[k].data.u64, evs[k].events, T0);
		}
	}
}

static int client(struct rig *r)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&r->addr, addr_len(&r->addr)), 0);
	return fd;
}

static void say(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Everything up to the listener's close, pumping meanwhile. */
static size_t answer(struct rig *r, int fd, char *buf, size_t len)
{
	size_t off = 0;

	for (;;) {
		ssize_t n;

		pump(r, 20);
		n = recv(fd, buf + off, len - 1 - off, MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
	}
	buf[off] = '\0';
	close(fd);
	return off;
}

/* 0: the listener closed the connection (EOF or reset) */
static int peer_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : -1;
}

static void test_answers(void **unused)
{
	struct rig r;
	char buf[4096];
	int fd;

	(void)unused;
	rig_new(&r, render_small);
	fd = client(&r);
	say(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\n"
			    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			    "Content-Length: 10\r\nConnection: close\r\n\r\na_total 1\n");
	/* a request in pieces, answered once it is whole */
	fd = client(&r);
	say(fd, "GET /metr");
	pump(&r, 20);
	assert_int_equal(scrape_open(r.s), 1);
	say(fd, "ics HTTP/1.0\r\n");
	pump(&r, 20);
	assert_int_equal(scrape_open(r.s), 1);
	say(fd, "\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\r\n\r\na_total 1\n"));
	/* HEAD: the header alone */
	fd = client(&r);
	say(fd, "HEAD /metrics HTTP/1.1\r\n\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Content-Length: 10\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n"));
	assert_string_equal(strstr(buf, "\r\n\r\n"), "\r\n\r\n");
	/* the errors, each with its status line and a short text body */
	fd = client(&r);
	say(fd, "POST /metrics HTTP/1.1\r\n\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	assert_non_null(strstr(buf, "\r\n\r\n405 Method Not Allowed\n"));
	fd = client(&r);
	say(fd, "GET /x HTTP/1.1\r\n\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24));
	fd = client(&r);
	say(fd, "junk\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26));
	fd = client(&r);
	memset(buf, 'a', SCRAPE_REQUEST_MAX + 100);
	buf[SCRAPE_REQUEST_MAX + 100] = '\0';
	say(fd, buf);
	answer(&r, fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 431 ", 13));
	assert_int_equal(scrape_stats(r.s)->responses[0], 3);
	assert_int_equal(scrape_stats(r.s)->responses[1], 1);
	assert_int_equal(scrape_stats(r.s)->responses[2], 1);
	assert_int_equal(scrape_stats(r.s)->responses[3], 1);
	assert_int_equal(scrape_stats(r.s)->responses[4], 1);
	assert_int_equal(scrape_open(r.s), 0);
	assert_int_equal(scrape_deadline(r.s), UINT64_MAX);
	rig_free(&r);
}

/* SCRAPE_MAX_CONN at once; one more is closed at once, and each idle one at its deadline. */
static void test_slots_and_deadline(void **unused)
{
	int fd[SCRAPE_MAX_CONN + 1];
	struct rig r;

	(void)unused;
	rig_new(&r, render_small);
	for (int k = 0; k <= SCRAPE_MAX_CONN; k++) {
		fd[k] = client(&r);
		pump(&r, 20);
	}
	assert_int_equal(scrape_open(r.s), SCRAPE_MAX_CONN);
	assert_int_equal(scrape_stats(r.s)->dropped_busy, 1);
	assert_int_equal(peer_closed(fd[SCRAPE_MAX_CONN]), 0);
	assert_int_equal(peer_closed(fd[0]), -1);
	assert_int_equal(scrape_deadline(r.s), T0 + SCRAPE_REQUEST_NS);
	scrape_expire(r.s, T0 + SCRAPE_REQUEST_NS - 1);
	assert_int_equal(scrape_open(r.s), SCRAPE_MAX_CONN);
	scrape_expire(r.s, T0 + SCRAPE_REQUEST_NS);
	assert_int_equal(scrape_open(r.s), 0);
	assert_int_equal(scrape_stats(r.s)->dropped_timeout, SCRAPE_MAX_CONN);
	for (int k = 0; k <= SCRAPE_MAX_CONN; k++) {
		assert_int_equal(peer_closed(fd[k]), 0);
		close(fd[k]);
	}
	/* the slots are free again */
	fd[0] = client(&r);
	pump(&r, 20);
	assert_int_equal(scrape_open(r.s), 1);
	assert_false(scrape_owns(r.s, TAG | 1ull << 32));
	assert_false(scrape_owns(r.s, TAG + SCRAPE_MAX_CONN + 1));
	assert_true(scrape_owns(r.s, (TAG + SCRAPE_MAX_CONN) | 7ull << 32));
	close(fd[0]);
	pump(&r, 20);
	assert_int_equal(scrape_open(r.s), 0);	/* gone before its request: closed */
	rig_free(&r);
}

/* A reader that does not read: the answer goes out as far as the socket takes it, the
 * listener never waits for it, and the connection is dropped at the answer's deadline. */
static void test_reader_that_does_not_read(void **unused)
{
	int small = 4096, fd;
	struct rig r;
	char buf[256];

	(void)unused;
	rig_new(&r, render_big);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(fd, (struct sockaddr *)&r.addr, addr_len(&r.addr)), 0);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	pump(&r, 50);
	pump(&r, 50);
	assert_int_equal(scrape_open(r.s), 1);
	assert_int_equal(scrape_stats(r.s)->responses[0], 1);
	assert_int_equal(scrape_deadline(r.s), T0 + SCRAPE_RESPONSE_NS);
	/* an event for an earlier connection of the same slot (its generation 0) is not this
	 * one's: it stays */
	scrape_event(r.s, TAG + 1, EPOLLHUP | EPOLLERR, T0);
	assert_int_equal(scrape_open(r.s), 1);
	scrape_expire(r.s, T0 + SCRAPE_RESPONSE_NS);
	assert_int_equal(scrape_open(r.s), 0);
	assert_int_equal(scrape_stats(r.s)->dropped_timeout, 1);
	close(fd);
	/* a reader that reads gets all of it, in as many writes as its socket needs */
	char *big = malloc(2 * SCRAPE_RESPONSE_MAX);
	size_t n;

	assert_non_null(big);
	fd = client(&r);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	n = answer(&r, fd, big, 2 * SCRAPE_RESPONSE_MAX);
	assert_non_null(strstr(big, "\r\n\r\n"));
	snprintf(buf, sizeof(buf), "Content-Length: %zu\r\n",
		 n - (size_t)(strstr(big, "\r\n\r\n") + 4 - big));
	assert_non_null(strstr(big, buf));
	assert_true(n > SCRAPE_RESPONSE_MAX - 256);
	assert_int_equal(big[n - 1], '\n');
	free(big);
	/* a render that fails is a 500, not a cut document */
	rig_free(&r);
	rig_new(&r, render_fail);
	fd = client(&r);
	say(fd, "GET /metrics HTTP/1.1\r\n\r\n");
	answer(&r, fd, buf, sizeof(buf));
	assert_true(!strncmp(buf, "HTTP/1.1 500 Internal Server Error\r\n", 36));
	assert_int_equal(scrape_stats(r.s)->responses[5], 1);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_slots_and_deadline),
		cmocka_unit_test(test_reader_that_does_not_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
