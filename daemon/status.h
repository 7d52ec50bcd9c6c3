/* status: the daemon's state as JSON. status_json writes into the caller's buffer; the unix
 * socket side (status_listen, status_serve) answers each connection with one document and
 * closes it; status_query is `mptun status PATH`. Nothing here keeps state of its own. */
#ifndef MPT_DAEMON_STATUS_H
#define MPT_DAEMON_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/engine.h"
#include "core/hub.h"

/* The largest status document `mptun status` reads (a 1024-peer hub's is about 2.5 MB). */
#define STATUS_QUERY_MAX (64 * 1024 * 1024)
/* A document the reader's socket did not take at once is sent as it drains, to at most
 * STATUS_MAX_CONN readers at a time, each for at most STATUS_CONN_NS. */
#define STATUS_MAX_CONN 4
#define STATUS_CONN_NS (2ull * 1000000000)

/* A reader being sent its document: fd -1 when free; buf (the rest of the document) is its
 * own copy, freed when done. */
struct status_conn {
	int fd;
	char *buf;
	size_t len, off;
	uint64_t deadline_ns;
};

/* One peer: its engine, its name (A-Z a-z 0-9 . _ -) and what the daemon dropped of it. */
struct status_peer {
	const struct mpt_engine *engine;
	const char *name;
	uint64_t drop_source;		/* from it, with a source outside its AllowedIPs */
};

struct status_info {
	const char *role, *tun, *sched;
	uint64_t now_ns, started_ns;
	unsigned nlocal;
	const struct sockaddr_storage *local;		/* nlocal bound addresses */
	uint64_t udp_send_errors, udp_send_dropped;
	uint64_t drop_no_route;		/* from tun, to no peer's AllowedIPs */
	const struct hub_stats *hub;	/* a server's, NULL for a client */
	/* a hub: the peers as a list ("peers": [{"name": ..., its members}]); otherwise the one
	 * peer's members at the top, as mptun 0.1 showed them */
	bool hub_mode;
	unsigned npeers;
	const struct status_peer *peers;
};

/* Writes one JSON object and a newline; returns its length, or -ENOSPC. */
int status_json(const struct status_info *s, char *buf, size_t len);
/* A listening unix socket at path (a stale socket file is replaced), created mode 0660 in group
 * (a name or a number; NULL: gid 0, or the daemon's own group when it does not run as root),
 * never more open than that. fd or -1 with err. */
int status_listen(const char *path, const char *group, char *err, size_t errlen);
/* Accept one pending connection and send doc, without blocking: what its socket takes now;
 * the rest later from a copy in c (free: c->fd < 0; NULL: none to spare, the reader gets
 * what fitted). 1 when c now holds the connection (the caller watches c->fd for EPOLLOUT and
 * calls status_conn_write), 0 when it is done with. */
int status_serve(int lfd, const char *doc, size_t len, struct status_conn *c, uint64_t now);
/* More of a pending document: 1 while some is left, 0 once all went or the reader failed
 * (then c is closed and free). */
int status_conn_write(struct status_conn *c);
void status_conn_close(struct status_conn *c);
/* Connect to path and print the document on stdout: as it is (json), or as a table
 * (daemon/statustable.h). 0, or -1 with err. */
int status_query(const char *path, bool json, char *err, size_t errlen);

#endif
