/* hub: the server end of many peers (sites), each with its own engine. It finds the peer of
 * each datagram without any clear identifier on the wire:
 * - a DATA datagram by its index (wire.h's), a fresh value per session that the hub hands out
 *   through the engine's new_index callback, so that the index of one session says nothing
 *   about another;
 * - an INIT by the identity sealed in it to the hub's static key (core/session.h), after its
 *   mac1 (one hash: junk from anyone without the hub's public key stops there) and within a
 *   hub-wide ration of X25519 work; INITs just opened (the copies of one INIT on every path,
 *   replays) are found again by their mac1 in a small cache, at no X25519 cost.
 * The hub then hands the datagram to that peer's engine, which checks its own MAC and counters:
 * the hub only routes, a peer's key alone authenticates it.
 *
 * Ownership: hub_new allocates everything once (about 200 KiB: the index table and the peer
 * table) and hub_free wipes the static key and frees it. The engines are the caller's: it
 * creates, feeds and frees them; the hub keeps a pointer per slot (hub_add_peer) until
 * hub_remove_peer. No clock, no socket, no global randomness: now and a seed are passed in.
 * hub_route runs per datagram. */
#ifndef MPT_HUB_H
#define MPT_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/engine.h"

#define HUB_MAX_PEERS 1024
/* INITs recently opened, found again by their mac1 (a client sends one INIT on every path). */
#define HUB_ID_CACHE 64
/* The ration of X25519 work on INITs, all peers together: a burst of HUB_DH_BURST, then one
 * per HUB_DH_REFILL_NS (200 a second: 1024 peers renewing every 2 minutes need about 9). */
#define HUB_DH_BURST 64
#define HUB_DH_REFILL_NS (5ull * 1000000)

struct hub_stats {
	uint64_t drop_malformed;	/* no valid header, or a type a server never receives */
	uint64_t drop_mac1;		/* INITs with a wrong mac1: junk, or another hub's client */
	uint64_t drop_rate_limited;	/* INITs beyond the X25519 ration */
	uint64_t drop_bad_id;		/* INITs whose sealed identity does not open */
	uint64_t drop_unknown_peer;	/* identities of no configured peer (one removed) */
	uint64_t drop_unknown_index;	/* DATA with an index no session holds */
	uint64_t id_opened;		/* X25519 spent opening identities */
	uint64_t id_cached;		/* INITs routed from the cache */
};

struct mpt_hub;

/* sk: the hub's static X25519 secret (a key file's, or session_hub_from_master for one
 * peer); the hub copies it. NULL with *err = -EINVAL (a degenerate key) or -ENOMEM. */
struct mpt_hub *hub_new(const uint8_t sk[32], uint64_t seed, int *err);
void hub_free(struct mpt_hub *h);
/* The static public key, which clients seal their INITs to (engine_config.hub_pub). */
const uint8_t *hub_public(const struct mpt_hub *h);

/* A peer by its master key and its engine (the caller's, alive until the slot is removed).
 * Returns its slot, or -ENOSPC (HUB_MAX_PEERS) or -EEXIST (a peer with the same key). */
int hub_add_peer(struct mpt_hub *h, const uint8_t master[AEAD_KEY_LEN], struct mpt_engine *e);
/* The slot routes nothing from now on (its indexes and cached INITs are forgotten). */
void hub_remove_peer(struct mpt_hub *h, unsigned slot);
struct mpt_engine *hub_engine(const struct mpt_hub *h, unsigned slot);

/* The slot whose engine a datagram is for, or the -errno of the drop (counted):
 * -EBADMSG (malformed, bad mac1 or identity), -EBUSY (rationed), -ENOENT (no such peer or
 * index). The caller then gives the datagram to that engine (engine_recv). */
int hub_route(struct mpt_hub *h, const uint8_t *dgram, size_t len, uint64_t now);
/* A fresh index for a new session of slot's peer: nonzero, held by no live session of any
 * peer. For the engine's new_index callback. */
uint16_t hub_new_index(struct mpt_hub *h, unsigned slot);
const struct hub_stats *hub_stats(const struct mpt_hub *h);

#endif
