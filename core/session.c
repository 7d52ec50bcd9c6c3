/* The handshake's MAC key is derived from the master key (subkey 3), so that the same master
 * never keys two different functions. Comparisons of MACs run in constant time. */
#include "core/session.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/wire.h"

#define SUBKEY_HANDSHAKE 3
#define SUBKEY_HUB 4
#define SUBKEY_ID 5

static void put_hdr(uint8_t *out, uint8_t type, uint8_t key_phase, uint16_t index,
		    uint64_t counter)
{
	const struct wire_hdr h = { .type = type, .key_phase = key_phase, .index = index,
				    .counter = counter };

	wire_hdr_encode(&h, out, WIRE_HDR_LEN);
}

/* The header of a handshake datagram of the given type and length, or -EBADMSG. */
static int get_hdr(const uint8_t *msg, size_t len, uint8_t type, struct wire_hdr *h)
{
	if (wire_hdr_decode(h, msg, len) < 0 || h->type != type)
		return -EBADMSG;
	return 0;
}

/* BLAKE2b-256 keyed with the handshake key over a || b (b may be empty). */
static void mac(const uint8_t master[AEAD_KEY_LEN], const uint8_t *a, size_t alen,
		const uint8_t *b, size_t blen, uint8_t out[SESSION_MAC_LEN])
{
	uint8_t key[AEAD_KEY_LEN];
	crypto_generichash_state st;

	aead_derive(master, SUBKEY_HANDSHAKE, AEAD_CTX_DIR, key);
	crypto_generichash_init(&st, key, sizeof(key), SESSION_MAC_LEN);
	crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	crypto_generichash_final(&st, out, SESSION_MAC_LEN);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&st, sizeof(st));
}

static int keypair(const uint8_t seed[SESSION_SEED_LEN], struct session_hs *hs)
{
	/* the seed is hashed so that a weak caller's bytes still make a uniform scalar */
	crypto_generichash(hs->sk, sizeof(hs->sk), seed, SESSION_SEED_LEN, NULL, 0);
	return crypto_scalarmult_base(hs->pk, hs->sk) == 0 ? 0 : -EINVAL;
}

static int derive(const uint8_t master[AEAD_KEY_LEN], const struct session_hs *hs,
		  const uint8_t *e_i, const uint8_t *e_r, struct session_keys *keys)
{
	uint8_t shared[crypto_scalarmult_BYTES], out[2 * AEAD_KEY_LEN];
	crypto_generichash_state st;
	int rc = -EINVAL;

	/* fails on a low-order peer key, whose shared secret would be all zeros */
	if (crypto_scalarmult(shared, hs->sk, hs->peer_pk) != 0)
		goto out;
	crypto_generichash_init(&st, master, AEAD_KEY_LEN, sizeof(out));
	crypto_generichash_update(&st, shared, sizeof(shared));
	crypto_generichash_update(&st, e_i, SESSION_PUB_LEN);
	crypto_generichash_update(&st, e_r, SESSION_PUB_LEN);
	crypto_generichash_final(&st, out, sizeof(out));
	memcpy(keys->initiator_tx, out, AEAD_KEY_LEN);
	memcpy(keys->responder_tx, out + AEAD_KEY_LEN, AEAD_KEY_LEN);
	rc = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(out, sizeof(out));
	sodium_memzero(&st, sizeof(st));
	return rc;
}

void session_hub_from_master(const uint8_t master[AEAD_KEY_LEN], uint8_t sk[32],
			     uint8_t pk[SESSION_PUB_LEN])
{
	aead_derive(master, SUBKEY_HUB, AEAD_CTX_DIR, sk);
	crypto_scalarmult_base(pk, sk);
}

int session_hub_public(const uint8_t sk[32], uint8_t pk[SESSION_PUB_LEN])
{
	return crypto_scalarmult_base(pk, sk) == 0 ? 0 : -EINVAL;
}

void session_peer_id(const uint8_t master[AEAD_KEY_LEN], uint8_t id[SESSION_ID_LEN])
{
	aead_derive(master, SUBKEY_ID, AEAD_CTX_DIR, id);
}

void session_mac1_key(const uint8_t hub_pk[SESSION_PUB_LEN], uint8_t key[32])
{
	static const char label[] = "mptun mac1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&st, hub_pk, SESSION_PUB_LEN);
	crypto_generichash_final(&st, key, 32);
}

static void mac1(const uint8_t key[32], const uint8_t *msg, uint8_t out[SESSION_MAC1_LEN])
{
	crypto_generichash(out, SESSION_MAC1_LEN, msg, SESSION_INIT_MAC1_OFF, key, 32);
}

bool session_init_mac1_ok(const uint8_t mac1_key[32], const uint8_t *msg, size_t len)
{
	uint8_t want[SESSION_MAC1_LEN];

	if (len != SESSION_INIT_LEN || msg[0] != WIRE_TYPE_HS_INIT)
		return false;
	mac1(mac1_key, msg, want);
	return sodium_memcmp(want, msg + SESSION_INIT_MAC1_OFF, SESSION_MAC1_LEN) == 0;
}

/* The key that seals an INIT's identity: from X25519(sk, pk) (the initiator's ephemeral secret
 * and the hub's public key, or the hub's secret and the ephemeral public key), e_i and H. */
static int id_key(const uint8_t sk[32], const uint8_t pk[SESSION_PUB_LEN],
		  const uint8_t e_i[SESSION_PUB_LEN], const uint8_t hub_pk[SESSION_PUB_LEN],
		  uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES])
{
	static const char label[] = "mptun id";
	uint8_t shared[crypto_scalarmult_BYTES];
	crypto_generichash_state st;
	int rc = -EBADMSG;

	if (crypto_scalarmult(shared, sk, pk) != 0)
		goto out;
	crypto_generichash_init(&st, shared, sizeof(shared), crypto_aead_chacha20poly1305_ietf_KEYBYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&st, e_i, SESSION_PUB_LEN);
	crypto_generichash_update(&st, hub_pk, SESSION_PUB_LEN);
	crypto_generichash_final(&st, key, crypto_aead_chacha20poly1305_ietf_KEYBYTES);
	sodium_memzero(&st, sizeof(st));
	rc = 0;
out:
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

int session_init_open_id(const uint8_t hub_sk[32], const uint8_t hub_pk[SESSION_PUB_LEN],
			 const uint8_t *msg, size_t len, uint8_t id[SESSION_ID_LEN])
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	unsigned long long idlen;
	int rc;

	if (len != SESSION_INIT_LEN || msg[0] != WIRE_TYPE_HS_INIT)
		return -EBADMSG;
	rc = id_key(hub_sk, msg + WIRE_HDR_LEN, msg + WIRE_HDR_LEN, hub_pk, key);
	if (rc == 0 && crypto_aead_chacha20poly1305_ietf_decrypt(
			       id, &idlen, NULL, msg + SESSION_INIT_ID_OFF, SESSION_ID_LEN + 16,
			       msg, SESSION_INIT_ID_OFF, nonce, key) != 0)
		rc = -EBADMSG;
	sodium_memzero(key, sizeof(key));
	return rc;
}

int session_init_create(const uint8_t master[AEAD_KEY_LEN],
			const uint8_t hub_pk[SESSION_PUB_LEN], const uint8_t seed[SESSION_SEED_LEN],
			uint8_t key_phase, uint64_t counter, struct session_hs *hs,
			uint8_t out[SESSION_INIT_LEN])
{
	/* the key is used once (a fresh e_i per INIT), so a zero nonce is safe */
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t key[crypto_aead_chacha20poly1305_ietf_KEYBYTES], id[SESSION_ID_LEN], k1[32];
	int rc;

	memset(hs, 0, sizeof(*hs));
	if (keypair(seed, hs) < 0)
		return -EINVAL;
	hs->key_phase = key_phase;
	hs->counter = counter;
	put_hdr(out, WIRE_TYPE_HS_INIT, key_phase, 0, counter);
	memcpy(out + WIRE_HDR_LEN, hs->pk, SESSION_PUB_LEN);
	rc = id_key(hs->sk, hub_pk, hs->pk, hub_pk, key) < 0 ? -EINVAL : 0;
	if (rc == 0) {
		session_peer_id(master, id);
		crypto_aead_chacha20poly1305_ietf_encrypt(out + SESSION_INIT_ID_OFF, NULL, id,
							  sizeof(id), out, SESSION_INIT_ID_OFF,
							  NULL, nonce, key);
		mac(master, out, SESSION_INIT_MAC_OFF, NULL, 0, out + SESSION_INIT_MAC_OFF);
		session_mac1_key(hub_pk, k1);
		mac1(k1, out, out + SESSION_INIT_MAC1_OFF);
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(id, sizeof(id));
	return rc;
}

int session_init_check(const uint8_t master[AEAD_KEY_LEN], const uint8_t *msg, size_t len,
		       uint64_t min_counter, struct session_hs *hs)
{
	uint8_t want[SESSION_MAC_LEN];
	struct wire_hdr h;

	if (get_hdr(msg, len, WIRE_TYPE_HS_INIT, &h) < 0)
		return -EBADMSG;
	mac(master, msg, SESSION_INIT_MAC_OFF, NULL, 0, want);
	if (sodium_memcmp(want, msg + SESSION_INIT_MAC_OFF, SESSION_MAC_LEN) != 0)
		return -EBADMSG;
	if (h.counter <= min_counter)
		return -EALREADY;
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->peer_pk, msg + 12, SESSION_PUB_LEN);
	hs->key_phase = h.key_phase;
	hs->counter = h.counter;
	return 0;
}

int session_resp_create(const uint8_t master[AEAD_KEY_LEN], const uint8_t seed[SESSION_SEED_LEN],
			struct session_hs *hs, uint8_t out[SESSION_RESP_LEN],
			struct session_keys *keys)
{
	if (keypair(seed, hs) < 0 || derive(master, hs, hs->peer_pk, hs->pk, keys) < 0)
		return -EINVAL;
	put_hdr(out, WIRE_TYPE_HS_RESP, hs->key_phase, hs->index, hs->counter);
	memcpy(out + 12, hs->pk, SESSION_PUB_LEN);
	mac(master, out, 12 + SESSION_PUB_LEN, hs->peer_pk, SESSION_PUB_LEN,
	    out + 12 + SESSION_PUB_LEN);
	sodium_memzero(hs->sk, sizeof(hs->sk));	/* forward secrecy: the secret is spent */
	return 0;
}

int session_resp_check(const uint8_t master[AEAD_KEY_LEN], struct session_hs *hs,
		       const uint8_t *msg, size_t len, struct session_keys *keys)
{
	uint8_t want[SESSION_MAC_LEN];
	struct wire_hdr h;
	int rc;

	if (get_hdr(msg, len, WIRE_TYPE_HS_RESP, &h) < 0)
		return -EBADMSG;
	if (h.key_phase != hs->key_phase || h.counter != hs->counter)
		return -EALREADY;	/* the answer to another INIT */
	mac(master, msg, 12 + SESSION_PUB_LEN, hs->pk, SESSION_PUB_LEN, want);
	if (sodium_memcmp(want, msg + 12 + SESSION_PUB_LEN, SESSION_MAC_LEN) != 0)
		return -EBADMSG;
	memcpy(hs->peer_pk, msg + 12, SESSION_PUB_LEN);
	hs->index = h.index;
	rc = derive(master, hs, hs->pk, hs->peer_pk, keys);
	if (rc == 0)
		sodium_memzero(hs->sk, sizeof(hs->sk));
	return rc;
}

void session_stale_create(const uint8_t master[AEAD_KEY_LEN], const struct session_hs *hs,
			  uint64_t floor, uint8_t out[SESSION_STALE_LEN])
{
	put_hdr(out, WIRE_TYPE_HS_STALE, hs->key_phase, 0, hs->counter);
	wire_put_be64(out + WIRE_HDR_LEN, floor);
	mac(master, out, WIRE_HDR_LEN + 8, hs->peer_pk, SESSION_PUB_LEN, out + WIRE_HDR_LEN + 8);
}

int session_stale_check(const uint8_t master[AEAD_KEY_LEN], const struct session_hs *hs,
			const uint8_t *msg, size_t len, uint64_t *floor)
{
	uint8_t want[SESSION_MAC_LEN];
	struct wire_hdr h;

	if (get_hdr(msg, len, WIRE_TYPE_HS_STALE, &h) < 0)
		return -EBADMSG;
	if (h.counter != hs->counter || h.key_phase != hs->key_phase)
		return -EALREADY;
	mac(master, msg, WIRE_HDR_LEN + 8, hs->pk, SESSION_PUB_LEN, want);
	if (sodium_memcmp(want, msg + WIRE_HDR_LEN + 8, SESSION_MAC_LEN) != 0)
		return -EBADMSG;
	*floor = wire_get_be64(msg + WIRE_HDR_LEN);
	return 0;
}

void session_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}
