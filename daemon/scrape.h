/* scrape: the metrics endpoint, a tiny read-only HTTP/1.x server for `GET /metrics` inside the
 * daemon's epoll loop. Bounded whatever a client does: SCRAPE_MAX_CONN connections at once (one
 * more is closed at once), SCRAPE_REQUEST_MAX bytes of request, SCRAPE_REQUEST_NS to send it and
 * SCRAPE_RESPONSE_NS to read the answer, non-blocking sockets only. scrape_new allocates every
 * buffer once; nothing is allocated per request; scrape_free closes and frees it all. The
 * document comes from the caller's render callback (daemon/metrics.c through daemon/loop.c).
 * scrape_request is the pure request parser (unit-tested). */
#ifndef MPT_DAEMON_SCRAPE_H
#define MPT_DAEMON_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/metrics.h"

#define SCRAPE_MAX_CONN 8
#define SCRAPE_REQUEST_MAX 2048
#define SCRAPE_REQUEST_NS (2ull * 1000000000)
#define SCRAPE_RESPONSE_NS (5ull * 1000000000)
/* room for the document and its HTTP header, per connection: 256 paths fit */
#define SCRAPE_RESPONSE_MAX (1024 * 1024)
#define SCRAPE_ACCEPTS_PER_EVENT 16
/* each connection's kernel send buffer (the kernel doubles it): a reader that does not read
 * holds this much kernel memory, not megabytes */
#define SCRAPE_SNDBUF (64 * 1024)

/* Writes the document into buf (size len): its length, or -ENOSPC. */
typedef int (*scrape_render_fn)(void *ctx, char *buf, size_t len);

struct scrape;

/* Listens on addr (TCP, SO_REUSEADDR, non-blocking) and registers the listening socket with
 * epfd under tag (below 2^32), its connections under tag + 1 + slot (a generation count in
 * the upper 32 bits). NULL with one line in err. */
struct scrape *scrape_new(const struct sockaddr_storage *addr, int epfd, uint64_t tag,
			  scrape_render_fn render, void *ctx, char *err, size_t errlen);
void scrape_free(struct scrape *s);
/* One of the tags scrape_new registered: tag for the listener, tag + 1 ... for connections. */
bool scrape_owns(const struct scrape *s, uint64_t tag);
/* An epoll event for one of its tags. now: monotonic ns. */
void scrape_event(struct scrape *s, uint64_t tag, uint32_t events, uint64_t now);
/* The earliest connection deadline, UINT64_MAX with none open. */
uint64_t scrape_deadline(const struct scrape *s);
/* Close the connections whose deadline is past. */
void scrape_expire(struct scrape *s, uint64_t now);
/* Its counters, for the document itself. */
const struct metrics_http *scrape_stats(const struct scrape *s);
/* The connections open now (tests). */
unsigned scrape_open(const struct scrape *s);

/* What the first len bytes of a request ask: 0 while the header is not whole yet (no empty
 * line), else the status to answer: 200 (GET or HEAD /metrics, *head set for HEAD), 404
 * (another path), 405 (another method on /metrics), 400 (malformed: a bad request line, a
 * header line without a name and a colon, a control byte, another protocol than HTTP/1.x),
 * 431 (no whole header within SCRAPE_REQUEST_MAX bytes). A bad request line is answered as
 * soon as it ends, before the header does. Lines end with CRLF or LF. Pure. */
int scrape_request(const char *buf, size_t len, bool *head);

#endif
