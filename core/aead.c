/* ChaCha20-Poly1305 IETF from libsodium. A 96-bit nonce built from a 64-bit counter is enough:
 * a key never sees 2^64 datagrams, and the counter doubles as the replay window's input, so
 * no random nonces (and no XChaCha's 24-byte nonce on the wire) are needed. */
#include "core/aead.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

/* The salt's label: it separates mptun's hashes from any other use of the same secret. */
static const char pwhash_salt_label[] = "mptun-v2 secret salt";

_Static_assert(AEAD_KEY_LEN == crypto_aead_chacha20poly1305_IETF_KEYBYTES, "key size");
_Static_assert(AEAD_KEY_LEN == crypto_kdf_KEYBYTES, "kdf master key size");
_Static_assert(AEAD_TAG_LEN == crypto_aead_chacha20poly1305_IETF_ABYTES, "tag size");
_Static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == 12, "nonce is 4 + 8 bytes");
_Static_assert(crypto_kdf_CONTEXTBYTES == 8, "kdf context is 8 bytes");
_Static_assert(sizeof(AEAD_CTX_DIR) - 1 == crypto_kdf_CONTEXTBYTES, "context string length");
_Static_assert(AEAD_SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt size");
_Static_assert(AEAD_SALT_LEN >= crypto_generichash_BYTES_MIN, "BLAKE2b output size");

int aead_global_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int aead_key_from_secret(const char *secret, size_t len, const uint8_t salt[AEAD_SALT_LEN],
			 uint8_t key[AEAD_KEY_LEN])
{
	if (!secret || !salt || !key || len == 0 || len > crypto_pwhash_PASSWD_MAX)
		return -EINVAL;
	if (crypto_pwhash(key, AEAD_KEY_LEN, secret, len, salt, AEAD_PWHASH_OPSLIMIT,
			  AEAD_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	return 0;
}

void aead_secret_salt(const uint8_t *context, size_t len, uint8_t salt[AEAD_SALT_LEN])
{
	crypto_generichash_state st;

	/* the label's NUL ends it, so that no context can be read as a longer label */
	crypto_generichash_init(&st, NULL, 0, AEAD_SALT_LEN);
	crypto_generichash_update(&st, (const uint8_t *)pwhash_salt_label,
				  sizeof(pwhash_salt_label));
	if (len)
		crypto_generichash_update(&st, context, len);
	crypto_generichash_final(&st, salt, AEAD_SALT_LEN);
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
