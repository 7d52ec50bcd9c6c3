/* scrape: GET /metrics over HTTP/1.x, one answer per connection (Connection: close). Every
 * socket is non-blocking and every connection has a deadline, so that no client, however slow
 * or hostile, holds the packet loop or more than its fixed slot of memory. */
#include "daemon/scrape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/addr.h"

/* the HTTP header goes in front of the document, which is rendered after this many bytes */
#define HEADER_ROOM 256

struct conn {
	int fd;				/* -1: a free slot */
	uint32_t gen;			/* connections the slot has held: in its epoll tag */
	bool writing;			/* the answer is going out */
	uint64_t deadline_ns;
	size_t req_len;
	const char *resp;		/* into the slot's buffer */
	size_t resp_len, resp_off;
	char req[SCRAPE_REQUEST_MAX];
};

struct scrape {
	int lfd, epfd;
	uint64_t tag;
	scrape_render_fn render;
	void *ctx;
	struct metrics_http stats;
	char *bufs;			/* SCRAPE_MAX_CONN answers of SCRAPE_RESPONSE_MAX bytes */
	struct conn conn[SCRAPE_MAX_CONN];
};

/* ---- the request */

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* One line's end (without CR), or NULL while it has not ended. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	if (!nl)
		return NULL;
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static int request_line(const char *p, const char *end, bool *head)
{
	const char *method = p, *target, *version;
	size_t mlen, tlen;
	bool metrics;

	while (p < end && tchar(*p))
		p++;
	mlen = (size_t)(p - method);
	if (!mlen || p == end || *p != ' ')
		return 400;
	target = ++p;
	while (p < end && *p != ' ')
		p++;
	tlen = (size_t)(p - target);
	if (!tlen || p == end)
		return 400;
	version = ++p;
	if (end - version != 8 || memcmp(version, "HTTP/1.", 7) || version[7] < '0' ||
	    version[7] > '9')
		return 400;
	metrics = tlen >= 8 && !memcmp(target, "/metrics", 8) && (tlen == 8 || target[8] == '?');
	if (!metrics)
		return 404;
	*head = mlen == 4 && !memcmp(method, "HEAD", 4);
	if (*head || (mlen == 3 && !memcmp(method, "GET", 3)))
		return 200;
	return 405;
}

static int request(const char *buf, size_t len, bool *head)
{
	const char *end = buf + len, *p = buf, *next, *eol;
	int code;

	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)buf[k];

		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			return 400;
	}
	eol = line_end(p, end, &next);
	if (!eol)
		return len >= SCRAPE_REQUEST_MAX ? 431 : 0;
	code = request_line(p, eol, head);
	if (code == 400)
		return 400;
	/* header lines "Name: value" up to the empty line */
	for (p = next; (eol = line_end(p, end, &next)); p = next) {
		const char *q = p;

		if (eol == p)
			return code;
		while (q < eol && tchar(*q))
			q++;
		if (q == p || q == eol || *q != ':')
			return 400;
	}
	return len >= SCRAPE_REQUEST_MAX ? 431 : 0;
}

int scrape_request(const char *buf, size_t len, bool *head)
{
	int code;

	*head = false;
	code = request(buf, len, head);
	/* the request line said HEAD, but the request is not whole, or not good */
	if (code != 200)
		*head = false;
	return code;
}

/* ---- connections */

/* A connection's epoll tag: its slot after the listener's, and in the high half the slot's
 * generation, so that an event still queued for a connection closed earlier in the same
 * epoll batch is not taken for the next one in its slot. */
static uint64_t conn_tag(const struct scrape *s, const struct conn *c)
{
	return (s->tag + 1 + (uint64_t)(c - s->conn)) | (uint64_t)c->gen << 32;
}

static int code_index(int code)
{
	for (int k = 0; k < 6; k++)
		if (metrics_http_codes[k] == code)
			return k;
	return 5;
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Internal Server Error";
	}
}

static void conn_close(struct scrape *s, struct conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->writing = false;
	c->req_len = 0;
	c->resp = NULL;
	c->resp_len = c->resp_off = 0;
}

/* As much of the answer as the socket takes now; closed once it is all out. */
static void conn_write(struct scrape *s, struct conn *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->resp_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;		/* EPOLLOUT says when it drains */
		break;
	}
	conn_close(s, c);
}

/* The answer to code, built in the slot's buffer: the document after HEADER_ROOM bytes, the
 * header right in front of it. */
static void conn_answer(struct scrape *s, struct conn *c, int code, bool head, uint64_t now)
{
	char *buf = s->bufs + (size_t)(c - s->conn) * SCRAPE_RESPONSE_MAX;
	char *body = buf + HEADER_ROOM, hdr[HEADER_ROOM];
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = conn_tag(s, c) };
	int n = 0, h;

	if (code == 200) {
		n = s->render(s->ctx, body, SCRAPE_RESPONSE_MAX - HEADER_ROOM);
		if (n < 0)
			code = 500;
	}
	if (code != 200)
		n = snprintf(body, SCRAPE_RESPONSE_MAX - HEADER_ROOM, "%d %s\n", code, reason(code));
	h = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		     "Content-Length: %d\r\n%sConnection: close\r\n\r\n", code, reason(code),
		     code == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8", n,
		     code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (h < 0 || (size_t)h >= sizeof(hdr)) {	/* cannot be: the longest is 170 bytes */
		conn_close(s, c);
		return;
	}
	memcpy(body - h, hdr, (size_t)h);
	c->resp = body - h;
	c->resp_len = (size_t)h + (head && code == 200 ? 0 : (size_t)n);
	c->resp_off = 0;
	c->writing = true;
	c->deadline_ns = now + SCRAPE_RESPONSE_NS;
	s->stats.responses[code_index(code)]++;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	conn_write(s, c);
}

static void conn_read(struct scrape *s, struct conn *c, uint64_t now)
{
	ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, MSG_DONTWAIT);
	bool head;
	int code;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {		/* gone before its request was whole */
		conn_close(s, c);
		return;
	}
	c->req_len += (size_t)n;
	code = scrape_request(c->req, c->req_len, &head);
	if (code)
		conn_answer(s, c, code, head, now);
}

static void accept_some(struct scrape *s, uint64_t now)
{
	/* a bounded number per event: a connect flood must not hold the packet loop */
	for (int k = 0; k < SCRAPE_ACCEPTS_PER_EVENT; k++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int sndbuf = SCRAPE_SNDBUF;
		struct conn *c = NULL;

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		for (unsigned i = 0; i < SCRAPE_MAX_CONN && !c; i++)
			if (s->conn[i].fd < 0)
				c = &s->conn[i];
		if (!c) {
			s->stats.dropped_busy++;
			close(fd);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };

		c->gen++;
		ev.data.u64 = conn_tag(s, c);
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline_ns = now + SCRAPE_REQUEST_NS;
	}
}

void scrape_event(struct scrape *s, uint64_t tag, uint32_t events, uint64_t now)
{
	struct conn *c;

	if (tag == s->tag) {
		accept_some(s, now);
		return;
	}
	c = &s->conn[(uint32_t)tag - s->tag - 1];
	if (c->fd < 0 || c->gen != (uint32_t)(tag >> 32))
		return;
	if (c->writing) {
		if (events & (EPOLLERR | EPOLLHUP))
			conn_close(s, c);
		else if (events & EPOLLOUT)
			conn_write(s, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
		conn_read(s, c, now);
}

bool scrape_owns(const struct scrape *s, uint64_t tag)
{
	uint64_t slot_tag = tag & 0xffffffffu;

	return slot_tag >= s->tag && slot_tag <= s->tag + SCRAPE_MAX_CONN &&
	       (slot_tag != s->tag || tag == s->tag);
}

uint64_t scrape_deadline(const struct scrape *s)
{
	uint64_t d = UINT64_MAX;

	for (unsigned i = 0; i < SCRAPE_MAX_CONN; i++)
		if (s->conn[i].fd >= 0 && s->conn[i].deadline_ns < d)
			d = s->conn[i].deadline_ns;
	return d;
}

void scrape_expire(struct scrape *s, uint64_t now)
{
	for (unsigned i = 0; i < SCRAPE_MAX_CONN; i++)
		if (s->conn[i].fd >= 0 && s->conn[i].deadline_ns <= now) {
			s->stats.dropped_timeout++;
			conn_close(s, &s->conn[i]);
		}
}

const struct metrics_http *scrape_stats(const struct scrape *s)
{
	return &s->stats;
}

unsigned scrape_open(const struct scrape *s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SCRAPE_MAX_CONN; i++)
		n += s->conn[i].fd >= 0;
	return n;
}

struct scrape *scrape_new(const struct sockaddr_storage *addr, int epfd, uint64_t tag,
			  scrape_render_fn render, void *ctx, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	struct scrape *s = calloc(1, sizeof(*s));
	char a[64];
	int one = 1;

	if (!s) {
		snprintf(err, errlen, "--metrics: out of memory");
		return NULL;
	}
	s->lfd = -1;
	s->epfd = epfd;
	s->tag = tag;
	s->render = render;
	s->ctx = ctx;
	for (unsigned i = 0; i < SCRAPE_MAX_CONN; i++)
		s->conn[i].fd = -1;
	/* untouched pages cost nothing: memory grows to the largest document once, no more */
	s->bufs = malloc((size_t)SCRAPE_MAX_CONN * SCRAPE_RESPONSE_MAX);
	if (!s->bufs) {
		snprintf(err, errlen, "--metrics: out of memory");
		goto fail;
	}
	s->lfd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->lfd, (const struct sockaddr *)addr, addr_len(addr)) < 0 ||
	    listen(s->lfd, 16) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		snprintf(err, errlen, "--metrics %s: %s", addr_str(addr, a, sizeof(a)),
			 errno == EADDRINUSE ? "the port is in use" : strerror(errno));
		goto fail;
	}
	return s;
fail:
	scrape_free(s);
	return NULL;
}

void scrape_free(struct scrape *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < SCRAPE_MAX_CONN; i++)
		if (s->conn[i].fd >= 0)
			conn_close(s, &s->conn[i]);
	if (s->lfd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
		close(s->lfd);
	}
	free(s->bufs);
	free(s);
}
