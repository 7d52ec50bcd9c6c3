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

/* The largest status document, and table, `mptun status` reads and prints. */
#define STATUS_QUERY_MAX (256 * 1024)

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
/* Accept one pending connection and write doc to it, without blocking the caller for long. */
void status_serve(int lfd, const char *doc, size_t len);
/* Connect to path and print the document on stdout: as it is (json), or as a table
 * (daemon/statustable.h). 0, or -1 with err. */
int status_query(const char *path, bool json, char *err, size_t errlen);

#endif
