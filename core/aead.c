/* ChaCha20-Poly1305 IETF from libsodium. A 96-bit nonce built from a 64-bit counter is enough:
 * a key never sees 2^64 datagrams, and the counter doubles as the replay window's input, so
 * no random nonces (and no XChaCha's 24-byte nonce on the wire) are needed. */
#include "core/aead.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

/* Argon2id cost. It runs once at start-up, so the cost only delays start-up; 16 MiB keeps the
 * simulator's peak RSS low (it derives a key per run). A weak secret stays weak whatever the
 * cost: a key file of 32 random bytes (mptun genkey) is the recommended form. */
#define PWHASH_OPSLIMIT	3
#define PWHASH_MEMLIMIT	(16u * 1024 * 1024)

/* Fixed, public protocol salt: both ends must derive the same key from the same secret with no
 * exchange; it only separates mptun's hashes from other uses of the same secret. */
static const uint8_t pwhash_salt[crypto_pwhash_SALTBYTES] = "mptun-v1-salt";

_Static_assert(AEAD_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key size");
_Static_assert(AEAD_KEY_LEN == crypto_kdf_KEYBYTES, "kdf master key size");
_Static_assert(AEAD_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag size");
_Static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == 12, "nonce is 4 + 8 bytes");
_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "kdf context is 8 bytes");
_Static_assert(sizeof(AEAD_CTX_DIR) - 1 == crypto_kdf_CONTEXTBYTES, "context string length");

int aead_global_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int aead_key_from_secret(const char *secret, size_t len, uint8_t key[AEAD_KEY_LEN])
{
	if (!secret || !key || len == 0 || len > crypto_pwhash_PASSWD_MAX)
		return -EINVAL;
	if (crypto_pwhash(key, AEAD_KEY_LEN, secret, len, pwhash_salt, PWHASH_OPSLIMIT,
			  PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

void aead_derive(const uint8_t master[AEAD_KEY_LEN], uint64_t subkey_id, const char ctx[8],
		 uint8_t out[AEAD_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, AEAD_KEY_LEN, subkey_id, ctx, master);
}

void aead_init(struct aead *a, const uint8_t key[AEAD_KEY_LEN], int none)
{
	memcpy(a->key, key, AEAD_KEY_LEN);
	a->none = none != 0;
}

void aead_wipe(struct aead *a)
{
	sodium_memzero(a, sizeof(*a));
}

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

int aead_seal(const struct aead *a, uint64_t counter, const uint8_t *ad, size_t adlen,
	      const uint8_t *plain, size_t len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (!a || !out || (len && !plain) || (adlen && !ad))
		return -EINVAL;
	if (a->none) {
		if (len)
			memmove(out, plain, len);
		memset(out + len, 0, AEAD_TAG_LEN);
		return 0;
	}
	make_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, plain, len, ad, adlen, NULL, nonce,
						  a->key);
	return 0;
}

int aead_open(const struct aead *a, uint64_t counter, const uint8_t *ad, size_t adlen,
	      const uint8_t *cipher, size_t len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (!a || !cipher || !out || (adlen && !ad))
		return -EINVAL;
	if (len < AEAD_TAG_LEN)
		return -EBADMSG;
	if (a->none) {
		if (len > AEAD_TAG_LEN)
			memmove(out, cipher, len - AEAD_TAG_LEN);
		return 0;
	}
	make_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, cipher, len, ad, adlen,
						      nonce, a->key) != 0)
		return -EBADMSG;
	return 0;
}
