/* engine: one tunnel end, sans I/O. It owns the keys, the replay window, the path table and its
 * estimators, the receive-side reorder buffer and the scheduler's state; engine_new allocates
 * it (a server's big buffers, reorder and queue, once its first session is answered, so that
 * a hub's idle peers cost little) and engine_free wipes the keys and frees it all. The caller
 * feeds it tun packets, datagrams and ticks, each with `now`; it answers through the io
 * callbacks, which must not call back into the same engine. engine_send, engine_recv and
 * engine_tick run per packet. */
#ifndef MPT_ENGINE_H
#define MPT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/fq.h"
#include "core/path.h"
#include "core/reorder.h"
#include "core/sched.h"

/* An outer address, opaque to the engine: compared byte for byte (a sockaddr for the daemon). */
struct mpt_addr {
	uint8_t len;
	uint8_t bytes[28];
};

enum engine_role { ENGINE_CLIENT, ENGINE_SERVER };

#define ENGINE_REORDER_AUTO (-1)
#define ENGINE_REORDER_SLOTS 1024

/* Sessions: the client opens one with an X25519 exchange (core/session.c) and renews it every
 * ENGINE_REKEY_NS; the previous session's packets are accepted for ENGINE_GRACE_NS after a new
 * one starts, then refused. */
#define ENGINE_REKEY_NS (120ull * 1000000000)
#define ENGINE_GRACE_NS (10ull * 1000000000)
#define ENGINE_HS_RETRY_NS (1000ull * 1000000)
#define ENGINE_COUNTER_LIMIT (1ull << 60)

struct engine_config {
	enum engine_role role;
	uint8_t key[AEAD_KEY_LEN];	/* master key: from aead_key_from_secret or a key file */
	/* Added to now for the client's handshake counters, which must grow across restarts:
	 * the daemon passes the wall clock at start-up (ns), the simulator any constant. */
	uint64_t epoch_ns;
	bool cipher_none;		/* simulator only: same framing, no encryption */
	unsigned nlocal;		/* local addresses (uplinks), 1..MPT_MAX_LOCAL */
	const struct mpt_sched_ops *sched;
	const char *sched_args;		/* may be NULL */
	size_t mtu;			/* largest tun packet accepted */
	int64_t reorder_ns;		/* ENGINE_REORDER_AUTO, 0 = off, or a fixed hold time */
	uint64_t seed;			/* the engine's own rng, used by the scheduler */
	uint64_t rekey_ns;		/* a new session this often; 0: ENGINE_REKEY_NS */
	/* Client: the hub's static public key (core/hub.h), which its INITs are sealed to;
	 * without one, the key a one-peer server derives from the master (the command line). */
	bool have_hub_pub;
	uint8_t hub_pub[32];
};

struct engine_io {
	void *ctx;
	void (*send)(void *ctx, unsigned local, const struct mpt_addr *to,
		     const uint8_t *dgram, size_t len);
	void (*deliver)(void *ctx, const uint8_t *pkt, size_t len);
	/* len bytes of randomness for ephemeral keys: a CSPRNG in the daemon. */
	void (*entropy)(void *ctx, uint8_t *buf, size_t len);
	/* Server, optional: the index for a new session, unique among the sessions of a hub's
	 * peers (hub_new_index); NULL: a nonzero one from the engine's own rng. */
	uint16_t (*new_index)(void *ctx);
};

struct engine_stats {
	uint64_t tun_in, tun_out;		/* packets from / to the tun side */
	uint64_t tun_in_bytes, tun_out_bytes;	/* their bytes */
	uint64_t tx_dgrams, tx_bytes, rx_dgrams, rx_bytes;
	uint64_t drop_malformed, drop_bad_auth, drop_replay, drop_unknown_peer;
	uint64_t drop_no_path, drop_oversize;
	uint64_t probes_sent, feedback_sent, path_ups, path_downs, reinjected;
	uint64_t drop_no_session, drop_old_session, drop_rate_limited, handshakes_sent, sessions;
	uint64_t handshakes_resent;		/* server: an INIT's other copies answered */
	uint64_t stale_sent, stale_received;	/* INITs refused for an old counter, and told so */
	uint64_t drop_hs_late;			/* client: answers to an INIT no longer in flight */
	uint64_t drop_no_memory;		/* server: INITs refused, no memory for the session's buffers */
};

struct mpt_engine;

/* Returns NULL with *err = -EINVAL (bad config) or -ENOMEM. */
struct mpt_engine *engine_new(const struct engine_config *cfg, const struct engine_io *io,
			      uint64_t now, int *err);
void engine_free(struct mpt_engine *e);

/* A client's remote address (the server's). Returns its index or -ENOSPC / -EEXIST. */
int engine_add_remote(struct mpt_engine *e, const struct mpt_addr *addr, uint64_t now);
void engine_set_writable(struct mpt_engine *e, unsigned local, bool writable);

/* A plaintext packet from the tun side. 0, -EMSGSIZE (over the MTU), -ENOTCONN (no session
 * yet) or -ENETUNREACH. */
int engine_send(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint64_t now);
/* A datagram that arrived on local from `from`. 0 or the -errno of the drop (counted). */
int engine_recv(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		const uint8_t *dgram, size_t len, uint64_t now);
/* The same, for a datagram that arrived at arrived_ns (<= now; its socket's receive stamp),
 * read later: its path's receive times (one-way delay, the arrival its feedback reports) are
 * taken from that, the rest from now. engine_recv is this with arrived_ns = now. */
int engine_recv_at(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		   const uint8_t *dgram, size_t len, uint64_t now, uint64_t arrived_ns);
/* Run the timers due at now (feedback, probes, liveness, reorder timeouts). */
void engine_tick(struct mpt_engine *e, uint64_t now);
/* When the engine next wants engine_tick; never earlier than needed, maybe a little early. */
uint64_t engine_deadline(const struct mpt_engine *e);

const struct engine_stats *engine_stats(const struct mpt_engine *e);
/* A session is established (keys agreed). */
bool engine_has_session(const struct mpt_engine *e);
/* Server: one of its live sessions (current, previous in its grace, or answered) carries
 * this index (wire.h's). */
bool engine_has_index(const struct mpt_engine *e, uint16_t index);
/* When the current session started (its keys were installed), 0 without one. */
uint64_t engine_session_born(const struct mpt_engine *e);
/* The scheduler's weights of the paths now, for status and metrics, as shares of their sum
 * (0..1), in share[path_index(local, remote)]; -1 where the scheduler does not say. */
void engine_sched_shares(const struct mpt_engine *e, uint64_t now, double share[MPT_MAX_PATHS]);
/* The tunnel's own queue (paced schedulers, core/sendq.c), NULL without one. */
const struct fq_stats *engine_queue_stats(const struct mpt_engine *e);
/* Its CoDel target now (core/sendq.c), 0 without one. */
uint64_t engine_queue_target_ns(const struct mpt_engine *e);
const struct reorder_stats *engine_reorder_stats(const struct mpt_engine *e);
unsigned engine_nremote(const struct mpt_engine *e);
const struct mpt_addr *engine_remote_addr(const struct mpt_engine *e, unsigned remote);
const struct mpt_path *engine_path(const struct mpt_engine *e, unsigned local, unsigned remote);
/* The engine's view for the scheduler's state inspection (tests, status). */
const void *engine_sched_state(const struct mpt_engine *e);
/* Where the engine keeps its secrets (master key, session keys, handshake secrets): one span
 * of *len bytes, for a caller that locks it in memory. */
void *engine_secrets(struct mpt_engine *e, size_t *len);

#endif
