/* engine_internal: the engine's state, shared by core/engine.c (paths, data, feedback, timers),
 * core/handshake.c (sessions and their key sets), core/reorder_policy.c (when a gap is given up,
 * over the buffer of core/reorder.c) and core/reinject.c (copies of sent packets for a stalled
 * path). No other file includes it; the engine allocates and frees it all (engine_new,
 * engine_free). */
#ifndef MPT_ENGINE_INTERNAL_H
#define MPT_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/bucket.h"
#include "core/engine.h"
#include "core/fq.h"
#include "core/replay.h"
#include "core/rng.h"
#include "core/session.h"
#include "core/wire.h"

/* Flows (by hash) whose last data packet the sender remembers, for flow_gap. */
#define ENGINE_FLOW_LINKS 1024

/* Handshake work a responder does: a bucket of HS_BURST key agreements, one more every
 * HS_REFILL_NS; STALE answers have a bucket of the same size of their own, so that replayed
 * old INITs (which earn one) cannot starve real handshakes. */
#define HS_BURST 10
#define HS_REFILL_NS (100ull * 1000000)
/* Copies of one INIT (it goes out on every path) answered with the same RESP, within a retry
 * interval of the first: each on the path it came by, so that one path losing its answer
 * does not keep the session from coming up. */
#define HS_COPIES_MAX 32
/* A server probes a learnt client address only while it hears from it: an address that a
 * replay (or a peer that moved on) put there is not probed for ever. */
#define REMOTE_QUIET_NS (3000ull * 1000000)

/* One session's keys, counters and replay window. */
struct keyset {
	bool live;
	uint8_t phase;
	uint16_t index;			/* the server's index of the session (wire.h) */
	struct aead tx, rx;
	struct replay replay;
	uint64_t tx_counter;
	uint64_t born_ns;		/* when it became current (next: when it was answered) */
};

struct remote {
	struct mpt_addr addr;
	uint64_t rx_packets;
	uint64_t last_rx_ns;		/* its last authenticated datagram */
};

struct mpt_engine {
	struct engine_config cfg;
	struct engine_io io;
	struct engine_stats stats;
	struct mpt_rng rng;
	uint8_t master[AEAD_KEY_LEN];
	uint8_t hub_pub[32];		/* client: what its INITs are sealed to */
	/* Sessions. cur sends and receives; prev is received during its grace after cur took
	 * over; next (responder only) is a session answered but not yet used by the peer: it
	 * becomes cur at its first authenticated datagram, so that a session that works is never
	 * dropped for one whose answer may have been lost. */
	struct keyset cur, prev, next;
	bool resync;			/* first data of a new session re-anchors the reorder buffer */
	struct session_hs hs;		/* client: the INIT in flight */
	bool hs_pending;
	uint64_t hs_sent_ns;
	uint64_t hs_counter;		/* client: the last INIT counter sent */
	uint64_t hs_floor;		/* client: the server refuses counters up to this */
	/* server: the last INIT accepted and its answer, sent again for its other copies */
	uint64_t last_init_counter;
	uint8_t last_init[SESSION_INIT_LEN], last_resp[SESSION_RESP_LEN];
	uint64_t last_init_ns;
	unsigned resp_copies;
	struct bucket hs_bucket, stale_bucket;
	unsigned nremote;
	uint32_t writable_mask;
	struct remote remotes[MPT_MAX_REMOTE];
	struct mpt_path paths[MPT_MAX_PATHS];
	struct path_rx rx_paths[256];
	uint8_t active_rx[256];		/* peer path ids with a record, in arrival order */
	unsigned nactive_rx;
	uint32_t next_data_seq;
	struct reorder *reorder;
	uint64_t reorder_timeout_ns;
	uint64_t deadline;
	void *sched_state;
	struct sent_copy *sent;		/* core/reinject.c: its records and their bytes, or NULL */
	uint8_t *sent_bytes;
	struct fq *fq;			/* core/sendq.c: paced schedulers' queue, or NULL */
	bool active;			/* the buffers above allocated (engine_activate) */
	uint64_t flow_seed;		/* the flow hash's key */
	/* each flow hash's last data_seq sent, for the next one's flow_gap */
	uint32_t flow_last[ENGINE_FLOW_LINKS];
	uint32_t flow_tag[ENGINE_FLOW_LINKS];	/* whose hash each slot's last packet had */
	uint64_t flow_known[ENGINE_FLOW_LINKS / 64];
	uint64_t sendq_target_ns;
	uint8_t txbuf[WIRE_MAX_DGRAM];
	uint8_t rxbuf[WIRE_MAX_DGRAM];
};

/* core/engine.c */
/* The big buffers (the reorder buffer, the ring of sent copies, the tunnel's queue): a
 * client's in engine_new, a server's at its first session, so that a hub's configured but
 * idle peers cost little memory (DESIGN's Peers). 0, or -ENOMEM with none of them. */
int engine_activate(struct mpt_engine *e);
void engine_lower_deadline(struct mpt_engine *e, uint64_t t);
struct sched_view engine_view(struct mpt_engine *e, uint64_t now, size_t len);
/* Frame, seal and send one datagram on path pidx; its path sequence number. */
uint32_t engine_emit(struct mpt_engine *e, unsigned pidx, uint8_t kind, uint32_t data_seq,
		     uint16_t flow_gap, const uint8_t *payload, size_t plen, uint64_t now);
/* A tun packet of the flow with that hash leaves now on the paths picked (more than one:
 * copies), linked to its flow's previous packet (wire.h's flow_gap). */
void engine_send_data(struct mpt_engine *e, const uint16_t *picks, int n, const uint8_t *pkt,
		      size_t len, uint32_t flow_hash, uint64_t now);
uint32_t engine_flow_hash(const struct mpt_engine *e, const uint8_t *pkt, size_t len);
/* The remote index for an authenticated sender (a server learns it when may_learn), or
 * -ENOENT. */
int engine_remote_for(struct mpt_engine *e, const struct mpt_addr *from, bool may_learn,
		      uint64_t now);
unsigned engine_paths_up(const struct mpt_engine *e, bool validating, uint64_t now);

/* core/handshake.c */
int hs_on_init(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
	       const uint8_t *dgram, size_t len, uint64_t now);
int hs_on_resp(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now);
int hs_on_stale(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now);
/* Authenticate a data datagram; the key set that opened it, or NULL with *rc and the drop
 * counted. Reads no state it would change unless the tag verifies. */
struct keyset *hs_open(struct mpt_engine *e, const struct wire_hdr *h, const uint8_t *dgram,
		       size_t len, uint64_t now, int *rc);
/* ks (a new session) becomes the current one, the current one the previous. */
void hs_promote(struct mpt_engine *e, struct keyset *ks, uint64_t now);
/* Client: open, renew or reopen a session when due; and when that is next. */
void hs_tick(struct mpt_engine *e, uint64_t now);
uint64_t hs_deadline(const struct mpt_engine *e);

/* core/reorder_policy.c */
/* The reorder buffer (none when cfg.reorder_ns is 0) and its first timeout; 0 or -ENOMEM. */
int rp_init(struct mpt_engine *e);
void rp_free(struct mpt_engine *e);
/* A data packet: to the tun side, or held in the buffer (the deadline lowered to its timeout). */
void rp_on_data(struct mpt_engine *e, const struct path_rx *rx, const uint8_t *pkt, size_t len,
		uint32_t data_seq, uint16_t flow_gap, uint64_t now);
/* Release what the floor or the timeout no longer holds; called while a gap is open. */
void rp_release(struct mpt_engine *e, uint64_t now);
/* The peer's data sequence may have restarted with a new session: re-anchor the buffer. */
void rp_resync(struct mpt_engine *e);

/* core/reinject.c (only when cfg.sched->reinject) */
int reinject_init(struct mpt_engine *e);		/* 0 or -ENOMEM */
void reinject_free(struct mpt_engine *e);
/* Keep a copy of a packet sent first on path pidx; nothing without a ring. */
void reinject_record(struct mpt_engine *e, uint32_t data_seq, uint16_t flow_gap, unsigned pidx,
		     uint32_t path_seq, const uint8_t *pkt, size_t len);
/* Send once more, on other paths, the oldest copies (at most max) that path pidx holds
 * unacknowledged: they are the ones every other path's packets wait behind at the receiver.
 * A stalled path (silent) gives REINJECT_STALL_MAX: one that is merely slow holds a whole queue,
 * and re-sending all of it at once would flood the paths that are fine. A backlogged one
 * (path_backlogged: it delivers, but what it holds would take it seconds) gives up to
 * REINJECT_BACKLOG_MAX: its fall is measured, and everything it holds is late. Each copy is
 * re-sent once at most; the path is not asked again before its next feedback. */
#define REINJECT_STALL_MAX 8
#define REINJECT_BACKLOG_MAX 64
void reinject_stalled(struct mpt_engine *e, unsigned pidx, unsigned max, uint64_t now);

/* core/sendq.c (only when cfg.sched->paced): the tunnel's fair queue, paced late binding */
#define SENDQ_BUCKETS 1024
#define SENDQ_PACKETS 10240
#define SENDQ_TARGET_NS (10ull * 1000000)
#define SENDQ_TARGET_MAX_NS SCHED_QUEUE_MAX_NS
#define SENDQ_INTERVAL_NS (100ull * 1000000)
/* A path counts in the target's spread while it carried data this recently. */
#define SENDQ_SPREAD_NS (1000ull * 1000000)
int sendq_new(struct mpt_engine *e);			/* 0 or -ENOMEM */
void sendq_free(struct mpt_engine *e);
/* Queue a tun packet and send what the paths' pacers allow; 0 or fq_enqueue's -errno. */
int sendq_push(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint64_t now);
/* Send what may leave now; the deadline lowered to the next departure. */
void sendq_pump(struct mpt_engine *e, uint64_t now);
void sendq_update_target(struct mpt_engine *e, uint64_t now);

#endif
