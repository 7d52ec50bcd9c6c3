/* session: the ephemeral key exchange that turns the pre-shared master key into per-session,
 * per-direction keys with forward secrecy. It builds and checks the two handshake datagrams
 * and derives the keys; the engine owns the state machine around it (who initiates, when to
 * rekey, which key phase is live). Pure: the caller passes the randomness for the ephemeral
 * keys and the counters; structs are the caller's (stack or embedded), and session_wipe
 * zeroes one. Callable per handshake, never per data packet.
 *
 * INIT (initiator -> responder), SESSION_INIT_LEN bytes:
 *   hdr: type 2, key_phase P, 0, 0, counter (u64 BE, strictly increasing per initiator)
 *   e_i: initiator's ephemeral X25519 public key (32)
 *   mac: BLAKE2b-256 keyed with the handshake key, over hdr || e_i (32)
 * RESP (responder -> initiator), SESSION_RESP_LEN bytes:
 *   hdr: type 3, key_phase P, 0, 0, counter (the INIT's, echoed)
 *   e_r: responder's ephemeral public key (32)
 *   mac: BLAKE2b-256 keyed with the handshake key, over hdr || e_r || e_i (32), binding the
 *        answer to the INIT it answers
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

/* One side's ephemeral key pair and the handshake it belongs to. */
struct session_hs {
	uint8_t sk[32], pk[SESSION_PUB_LEN];
	uint8_t peer_pk[SESSION_PUB_LEN];
	uint8_t key_phase;
	uint64_t counter;
};

struct session_keys {
	uint8_t initiator_tx[AEAD_KEY_LEN];	/* initiator -> responder */
	uint8_t responder_tx[AEAD_KEY_LEN];	/* responder -> initiator */
};

/* Initiator: a fresh ephemeral pair from seed, and the INIT datagram. 0 or -EINVAL. */
int session_init_create(const uint8_t master[AEAD_KEY_LEN], const uint8_t seed[SESSION_SEED_LEN],
			uint8_t key_phase, uint64_t counter, struct session_hs *hs,
			uint8_t out[SESSION_INIT_LEN]);
/* Responder: check an INIT; rejects a bad MAC (-EBADMSG) and a counter not above
 * min_counter (-EALREADY, a replay). On success fills peer_pk, key_phase and counter in hs. */
int session_init_check(const uint8_t master[AEAD_KEY_LEN], const uint8_t *msg, size_t len,
		       uint64_t min_counter, struct session_hs *hs);
/* Responder: its ephemeral pair from seed, the RESP for the INIT checked into hs, and the
 * session keys. 0, or -EINVAL for a degenerate peer key. */
int session_resp_create(const uint8_t master[AEAD_KEY_LEN], const uint8_t seed[SESSION_SEED_LEN],
			struct session_hs *hs, uint8_t out[SESSION_RESP_LEN],
			struct session_keys *keys);
/* Initiator: check the RESP against its own INIT (hs) and derive the same keys.
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
