/* session: the ephemeral key exchange that turns the pre-shared master key into per-session,
 * per-direction keys with forward secrecy. It builds and checks the two handshake datagrams
 * and derives the keys; the engine owns the state machine around it (who initiates, when to
 * rekey, which key phase is live). Pure: the caller passes the randomness for the ephemeral
 * keys and the counters; structs are the caller's (stack or embedded), and session_wipe
 * zeroes one. Callable per handshake, never per data packet.
 *
 * INIT (initiator -> responder), SESSION_INIT_LEN bytes:
 *   hdr: type 2, key_phase P, index 0, counter (u64 BE, strictly increasing per initiator)
 *   e_i: initiator's ephemeral X25519 public key (32)
 *   id:  the initiator's identity (session_peer_id, 32), sealed (ChaCha20-Poly1305, +16) under
 *        BLAKE2b-256 keyed with X25519(e_i, H) over "mptun id" || e_i || H, where H is the
 *        responder's static public key (the hub's, core/hub.h); associated data hdr || e_i.
 *        Only the hub opens it; an observer sees fresh bytes in every INIT, so two sessions
 *        of one site cannot be linked by anything in them
 *   mac: BLAKE2b-256 keyed with the handshake key, over everything before it (32)
 *   mac1: BLAKE2b-128 keyed with BLAKE2b-256("mptun mac1" || H), over everything before it
 *        (16): a hub drops junk at the cost of one hash, before any X25519 or key lookup
 * RESP (responder -> initiator), SESSION_RESP_LEN bytes:
 *   hdr: type 3, key_phase P, index I, counter (the INIT's, echoed); I is the responder's
 *        index for the session, which the initiator then puts in every DATA header
 *   e_r: responder's ephemeral public key (32)
 *   mac: BLAKE2b-256 keyed with the handshake key, over hdr || e_r || e_i (32), binding the
 *        answer (and I) to the INIT it answers
 * STALE (responder -> initiator), WIRE_HS_STALE_LEN bytes: the answer to an authentic INIT whose
 * counter is not above the last one accepted (an initiator whose clock went back, or a replay):
 *   hdr: type 4, key_phase P, 0, 0, counter (the INIT's, echoed)
 *   floor: u64 BE, the highest counter accepted so far: the initiator must go above it
 *   mac: BLAKE2b-256 keyed with the handshake key, over hdr || floor || e_i (32), so that it
 *        answers only the INIT that carried e_i, and nobody without the master key forges it
 * Every header is core/wire.c's. Keys: BLAKE2b-512 keyed with the master key over X25519(e, E) || e_i || e_r: the first 32
 * bytes carry initiator -> responder traffic, the last 32 the other way. Without the master
 * key nobody can produce a valid INIT or RESP; without an ephemeral secret key (gone after the
 * handshake) a recording cannot be decrypted even by someone who later steals the master. */
#ifndef MPT_SESSION_H
#define MPT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/wire.h"

#define SESSION_PUB_LEN 32
#define SESSION_MAC_LEN 32
#define SESSION_INIT_LEN WIRE_HS_INIT_LEN
#define SESSION_RESP_LEN WIRE_HS_RESP_LEN
#define SESSION_STALE_LEN WIRE_HS_STALE_LEN
#define SESSION_SEED_LEN 32
#define SESSION_ID_LEN 32
#define SESSION_MAC1_LEN 16
/* Where an INIT's parts lie. */
#define SESSION_INIT_ID_OFF (WIRE_HDR_LEN + SESSION_PUB_LEN)
#define SESSION_INIT_MAC_OFF (SESSION_INIT_ID_OFF + SESSION_ID_LEN + 16)
#define SESSION_INIT_MAC1_OFF (SESSION_INIT_MAC_OFF + SESSION_MAC_LEN)

/* One side's ephemeral key pair and the handshake it belongs to. */
struct session_hs {
	uint8_t sk[32], pk[SESSION_PUB_LEN];
	uint8_t peer_pk[SESSION_PUB_LEN];
	uint8_t key_phase;
	uint16_t index;		/* the responder's index of the session (RESP's header) */
	uint64_t counter;
};

struct session_keys {
	uint8_t initiator_tx[AEAD_KEY_LEN];	/* initiator -> responder */
	uint8_t responder_tx[AEAD_KEY_LEN];	/* responder -> initiator */
};

/* The hub's static key pair of a responder with one peer (the 2015 command line), derived from
 * that peer's master key, so that both ends know it without a second key to configure. */
void session_hub_from_master(const uint8_t master[AEAD_KEY_LEN], uint8_t sk[32],
			     uint8_t pk[SESSION_PUB_LEN]);
/* A static public key from its secret: 0, or -EINVAL for a degenerate one. */
int session_hub_public(const uint8_t sk[32], uint8_t pk[SESSION_PUB_LEN]);
/* A peer's identity as its hub knows it, derived from its master key; only ever sent sealed. */
void session_peer_id(const uint8_t master[AEAD_KEY_LEN], uint8_t id[SESSION_ID_LEN]);
/* The key of an INIT's mac1, from the hub's public key. */
void session_mac1_key(const uint8_t hub_pk[SESSION_PUB_LEN], uint8_t key[32]);
/* Hub: an INIT's length and mac1 are right (one BLAKE2b, constant-time compare). */
bool session_init_mac1_ok(const uint8_t mac1_key[32], const uint8_t *msg, size_t len);
/* Hub: the identity sealed in an INIT (one X25519): 0, or -EBADMSG. */
int session_init_open_id(const uint8_t hub_sk[32], const uint8_t hub_pk[SESSION_PUB_LEN],
			 const uint8_t *msg, size_t len, uint8_t id[SESSION_ID_LEN]);

/* Initiator: a fresh ephemeral pair from seed, and the INIT datagram for the hub whose public
 * key is hub_pk. 0 or -EINVAL. */
int session_init_create(const uint8_t master[AEAD_KEY_LEN],
			const uint8_t hub_pk[SESSION_PUB_LEN], const uint8_t seed[SESSION_SEED_LEN],
			uint8_t key_phase, uint64_t counter, struct session_hs *hs,
			uint8_t out[SESSION_INIT_LEN]);
/* Responder: check an INIT's mac (not mac1, the hub's); rejects a bad MAC (-EBADMSG) and a
 * counter not above min_counter (-EALREADY, a replay). On success fills peer_pk, key_phase and
 * counter in hs. */
int session_init_check(const uint8_t master[AEAD_KEY_LEN], const uint8_t *msg, size_t len,
		       uint64_t min_counter, struct session_hs *hs);
/* Responder: its ephemeral pair from seed, the RESP for the INIT checked into hs (naming
 * hs->index), and the session keys. 0, or -EINVAL for a degenerate peer key. */
int session_resp_create(const uint8_t master[AEAD_KEY_LEN], const uint8_t seed[SESSION_SEED_LEN],
			struct session_hs *hs, uint8_t out[SESSION_RESP_LEN],
			struct session_keys *keys);
/* Initiator: check the RESP against its own INIT (hs), derive the same keys and set hs->index.
 * 0, -EALREADY (another INIT's answer), -EBADMSG (bad MAC, malformed) or -EINVAL. */
int session_resp_check(const uint8_t master[AEAD_KEY_LEN], struct session_hs *hs,
		       const uint8_t *msg, size_t len, struct session_keys *keys);
/* Responder: the STALE answer to the INIT checked into hs (peer_pk, key_phase), naming floor,
 * the lowest counter it will refuse. */
void session_stale_create(const uint8_t master[AEAD_KEY_LEN], const struct session_hs *hs,
			  uint64_t floor, uint8_t out[SESSION_STALE_LEN]);
/* Initiator: check a STALE against its own pending INIT (hs); 0 with *floor, -EALREADY for
 * the answer to another (earlier) INIT, -EBADMSG for a forgery or malformed input. */
int session_stale_check(const uint8_t master[AEAD_KEY_LEN], const struct session_hs *hs,
			const uint8_t *msg, size_t len, uint64_t *floor);
void session_wipe(void *p, size_t len);

#endif
