/* aead: key stretching, the key schedule and ChaCha20-Poly1305 (IETF) sealing of one datagram.
 * The caller owns struct aead (embedded, no allocation) and must aead_wipe it before freeing.
 * aead_seal and aead_open are callable per packet; aead_key_from_secret is for start-up only.
 *
 * aead_global_init() must be called once before anything else here (it runs sodium_init(),
 * which libsodium makes idempotent and thread-safe: that state is libsodium's, not ours). */
#ifndef MPT_AEAD_H
#define MPT_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN	32
#define AEAD_TAG_LEN	16

/* The key schedule's context and subkey ids for the two direction keys. */
#define AEAD_CTX_DIR	"mptunkey"
#define AEAD_SUBKEY_C2S	1
#define AEAD_SUBKEY_S2C	2

struct aead {
	uint8_t key[AEAD_KEY_LEN];
	/* Non-zero: the simulator's --cipher none. Same sizes; the tag is 16 zero bytes, the
	 * payload travels in clear and open checks only the length. The daemon never sets it. */
	int none;
};

/* 0, or -EIO if libsodium cannot initialise. */
int aead_global_init(void);

/* Argon2id cost of aead_key_from_secret: 4 passes over 128 MiB, about 255 ms per guess on one
 * core of the project's test machine against 18 ms for mptun 0.1's 3 passes over 16 MiB
 * (issue 10, finding 5). Every offline guess at a -k secret against a captured handshake
 * pays it; the daemon pays it once at start-up. */
#define AEAD_PWHASH_OPSLIMIT	4
#define AEAD_PWHASH_MEMLIMIT	(128u * 1024 * 1024)
#define AEAD_SALT_LEN		16

/* Stretches a pre-shared secret into a master key with Argon2id under salt (see
 * aead_secret_salt). 0, -EINVAL for an empty or over-long secret, -ENOMEM if the hash cannot
 * run (it needs AEAD_PWHASH_MEMLIMIT bytes). */
int aead_key_from_secret(const char *secret, size_t len, const uint8_t salt[AEAD_SALT_LEN],
			 uint8_t key[AEAD_KEY_LEN]);

/* The salt of aead_key_from_secret: BLAKE2b of a fixed protocol label and context, bytes that
 * both ends know without an exchange and that differ between deployments (the daemon uses its
 * port and inner addresses, or --salt), so that one precomputed dictionary does not fit every
 * mptun tunnel. */
void aead_secret_salt(const uint8_t *context, size_t len, uint8_t salt[AEAD_SALT_LEN]);

/* The key schedule hook: subkey subkey_id of master under an 8-byte context (BLAKE2b, libsodium
 * crypto_kdf). Today: AEAD_SUBKEY_C2S / AEAD_SUBKEY_S2C under AEAD_CTX_DIR; later the session
 * keys from the handshake. ctx need not be NUL-terminated; its first 8 bytes are used. */
void aead_derive(const uint8_t master[AEAD_KEY_LEN], uint64_t subkey_id, const char ctx[8],
		 uint8_t out[AEAD_KEY_LEN]);

void aead_init(struct aead *a, const uint8_t key[AEAD_KEY_LEN], int none);
void aead_wipe(struct aead *a);

/* Seals len bytes of plain into out (len + AEAD_TAG_LEN bytes), authenticating ad as well.
 * The nonce is 4 zero bytes then counter, big-endian: the caller must never repeat a counter
 * under one key. out may equal plain (in place); no other overlap. 0 or -EINVAL. */
int aead_seal(const struct aead *a, uint64_t counter, const uint8_t *ad, size_t adlen,
	      const uint8_t *plain, size_t len, uint8_t *out);

/* Opens len bytes (ciphertext and tag) into out (len - AEAD_TAG_LEN bytes). 0, or -EBADMSG if
 * len is short or authentication fails; then out holds garbage (libsodium zeroes it) and
 * nothing else has changed. out may equal cipher (in place). -EINVAL for NULL pointers. */
int aead_open(const struct aead *a, uint64_t counter, const uint8_t *ad, size_t adlen,
	      const uint8_t *cipher, size_t len, uint8_t *out);

#endif
