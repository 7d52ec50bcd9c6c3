/* metrics: the daemon's numbers in the Prometheus text exposition format (version 0.0.4), the
 * same numbers status.c shows as JSON. metrics_render is pure: it writes into the caller's
 * buffer and keeps no state; the HTTP side that serves it is daemon/scrape.c. Called once per
 * scrape, never per packet. */
#ifndef MPT_DAEMON_METRICS_H
#define MPT_DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/engine.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One peer: its engine and the label it is shown under. An array of them, so that the hub of
 * issue 12 shows each peer's series beside the others' in one family. */
struct metrics_peer {
	const char *name;		/* peer="..." */
	const char *sched;		/* its scheduler's name */
	const struct mpt_engine *engine;
};

/* One local UDP socket: the address its paths are labelled with, and its send failures. */
struct metrics_local {
	struct sockaddr_storage addr;
	uint64_t send_errors, send_full;
};

/* The metrics listener's own counters (daemon/scrape.c), shown so that a flood is seen. */
struct metrics_http {
	uint64_t responses[6];		/* by code: 200, 400, 404, 405, 431, 500 */
	uint64_t dropped_busy;		/* connections closed at once: every slot taken */
	uint64_t dropped_timeout;	/* connections closed at their deadline */
};

/* The codes metrics_http.responses counts, in its order. */
extern const int metrics_http_codes[6];

struct metrics_info {
	const char *version, *role, *tun;
	uint64_t now_ns, started_ns;	/* monotonic */
	uint64_t realtime_ns;		/* the wall clock at now_ns: for unix times */
	unsigned nlocal;
	const struct metrics_local *local;
	unsigned npeer;
	const struct metrics_peer *peer;
	const struct metrics_http *http;	/* NULL: not shown */
};

/* Writes the whole exposition (every family's # HELP and # TYPE lines, then its samples);
 * returns its length, or -ENOSPC when len is too small (never a cut document). */
int metrics_render(const struct metrics_info *m, char *buf, size_t len);

/* A label value as the format quotes it: \ " and newline escaped. Returns the length it
 * needs (without the NUL), writes at most len bytes with a NUL (as snprintf). */
size_t metrics_escape(const char *value, char *buf, size_t len);

#endif
