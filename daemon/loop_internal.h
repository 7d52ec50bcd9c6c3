/* loop_internal: the event loop's state, shared by daemon/loop.c (tun, sockets, timers, status,
 * metrics) and daemon/peers.c (the peers' engines, the hub, routing between them). No other
 * file includes it; loop_new allocates it all and loop_free wipes and frees it. */
#ifndef MPT_DAEMON_LOOP_INTERNAL_H
#define MPT_DAEMON_LOOP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/hub.h"
#include "core/prefix.h"
#include "daemon/config.h"
#include "daemon/conffile.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "daemon/udp.h"

#define LOG_EVERY_NS (60ull * 1000000000)
#define AUTH_PEERS 16

struct auth_log {
	struct mpt_addr peer;
	uint64_t last_ns, count;
};

/* One peer: a client's server, or one site of a hub. A hub's slot is free while engine is
 * NULL (a peer removed by a reload). */
struct peer {
	struct loop *l;
	unsigned index;			/* in l->peers, also its hub slot and prefix value */
	const char *name;		/* for logs, status and metrics: name_buf, or a config's */
	char name_buf[CONFFILE_NAME_MAX + 1];
	uint8_t id[32];			/* a hub's peer: its key's identity (a reload compares) */
	struct conffile_prefix *allowed;	/* a hub's peer: its AllowedIPs (its own copy) */
	unsigned nallowed;
	struct mpt_engine *engine;
	void *secrets;			/* its engine's keys, locked in memory; NULL if not */
	size_t secrets_len;
	uint64_t drop_source;		/* from it, with a source outside its AllowedIPs */
	/* what was last logged, to log changes only */
	bool path_up[CONFIG_MAX_ADDR][MPT_MAX_REMOTE];
	uint64_t sessions_logged, no_answer_logged_ns, handshakes_logged, rate_limited_logged;
	uint64_t stale_logged;
};

struct loop {
	struct config cfg;
	bool server;
	bool hub_mode;			/* a hub's file: the peers are cfg.peers */
	int tun_fd, epfd, status_fd;
	unsigned nsock;
	struct udp_sock *sock;
	struct sockaddr_storage local[CONFIG_MAX_ADDR];
	struct peer *peers;		/* a hub: HUB_MAX_PEERS slots; otherwise one */
	unsigned npeers;		/* slots up to the last one in use */
	/* server: finds the peer of each datagram (core/hub.h) */
	struct mpt_hub *hub;
	uint64_t started_ns, now;
	/* CLOCK_REALTIME minus CLOCK_MONOTONIC at the last socket read: the receive stamps'
	 * offset, and a change in it is a step of the wall clock */
	int64_t real_offset_ns;
	uint64_t epoch_ns;		/* the wall clock at monotonic 0: handshake counters */
	uint64_t log_next_ns;		/* peers_log_changes looks again then */
	uint64_t tun_write_drops;
	bool tun_written;		/* a packet went to the tun device since the loop last read it */
	/* AllowedIPs (config file), each prefix naming its peer's index: packets from a peer must
	 * come from its own, packets from tun go to the peer of their destination; NULL: no check
	 * (the command line) */
	struct prefix_table *allowed;
	uint64_t drop_no_route;
	bool no_pwait2;			/* the kernel lacks epoll_pwait2 (before 5.11): ms waits */
	struct auth_log auth[AUTH_PEERS];
	unsigned auth_next;
	uint64_t auth_minute_ns;	/* when the current minute of auth lines began */
	unsigned auth_lines;		/* said in it */
	uint64_t auth_unsaid;		/* failed datagrams in it not said once the lines ran out */
	struct log log;
	struct udp_pkt rx[UDP_BATCH];
	uint8_t tunbuf[WIRE_MAX_DGRAM];
	char *status_doc;
	size_t status_doc_len;
	struct status_conn sconn[STATUS_MAX_CONN];	/* readers still being sent theirs */
	struct scrape *scrape;		/* --metrics; NULL without */
};

/* daemon/peers.c */
/* The peers' engines, the hub of a server, the AllowedIPs table and the hub's routes. key: the
 * one peer's master key, or a hub's static key. 0, or -1 with one line in err. */
int peers_open(struct loop *l, const uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen);
void peers_close(struct loop *l);
/* The peer a packet read from tun goes to (by its destination), or NULL (counted). */
struct peer *peers_route(struct loop *l, const uint8_t *pkt, size_t len);
/* The peer of a datagram received, or NULL: dropped (a wrong mac1 is said, once a minute). */
struct peer *peers_for_datagram(struct loop *l, const struct mpt_addr *from, const uint8_t *dgram,
				size_t len);
/* The earliest deadline of any peer's engine; peers_tick runs those due. */
uint64_t peers_deadline(const struct loop *l);
void peers_tick(struct loop *l);
/* A socket's buffer filled or drained: every peer's scheduler hears of it. */
void peers_set_writable(struct loop *l, unsigned local, bool writable);
/* One line per change since the last call (sessions, paths, handshakes). */
void peers_log_changes(struct loop *l);
/* A hub's SIGHUP: the file read again; peers added, removed (their engines freed, so their
 * traffic stops at once) or changed (key, AllowedIPs: removed and added), the others
 * untouched. All or nothing: 0, or -1 with one line in err and nothing changed. */
int peers_reload(struct loop *l, char *err, size_t errlen);

/* daemon/loop.c */
/* A datagram failed authentication: said once per sender a minute, a few lines a minute. */
void loop_note_bad_auth(struct loop *l, const struct mpt_addr *from);

#endif
