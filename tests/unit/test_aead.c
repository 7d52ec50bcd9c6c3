/* Tests of core/aead.c: sealing and opening real datagrams (header as associated data), every
 * single-bit forgery, that a failed open touches nothing but its output, the none mode, and the
 * key stretching and key schedule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/aead.h"
#include "core/wire.h"

#define PAYLOAD_LEN 100
#define DGRAM_LEN (WIRE_OVERHEAD + PAYLOAD_LEN)

static void fill_key(uint8_t key[AEAD_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < AEAD_KEY_LEN; i++)
		key[i] = (uint8_t)(seed + 7 * i);
}

/* A datagram as the engine builds it: header, then frame + payload sealed in place. */
static size_t build_dgram(const struct aead *a, uint64_t counter, uint8_t *dg)
{
	struct wire_hdr h = { .type = WIRE_TYPE_DATA, .key_phase = 3, .counter = counter };
	struct wire_frame f = { .kind = WIRE_KIND_DATA, .path_id = 0x10, .path_seq = 5,
				.tx_us = 1000, .data_seq = 9 };
	size_t flen = WIRE_FRAME_LEN + PAYLOAD_LEN;

	assert_int_equal(wire_hdr_encode(&h, dg, WIRE_HDR_LEN), WIRE_HDR_LEN);
	assert_int_equal(wire_frame_encode(&f, dg + WIRE_HDR_LEN, WIRE_FRAME_LEN), WIRE_FRAME_LEN);
	for (int i = 0; i < PAYLOAD_LEN; i++)
		dg[WIRE_HDR_LEN + WIRE_FRAME_LEN + i] = (uint8_t)i;
	assert_int_equal(aead_seal(a, counter, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN, flen,
				   dg + WIRE_HDR_LEN), 0);
	return WIRE_HDR_LEN + flen + WIRE_TAG_LEN;
}

static int open_dgram(const struct aead *a, const uint8_t *dg, size_t len, uint8_t *out)
{
	struct wire_hdr h;

	if (wire_hdr_decode(&h, dg, len) < 0)
		return -EBADMSG;
	return aead_open(a, h.counter, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN, len - WIRE_HDR_LEN,
			 out);
}

static int setup(void **unused)
{
	(void)unused;
	return aead_global_init();
}

static void test_round_trip(void **unused)
{
	uint8_t key[AEAD_KEY_LEN], plain[300], sealed[300 + AEAD_TAG_LEN], opened[300];
	const uint8_t ad[5] = { 1, 2, 3, 4, 5 };
	struct aead a;

	(void)unused;
	fill_key(key, 1);
	aead_init(&a, key, 0);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 13);
	for (size_t len = 0; len <= sizeof(plain); len += 50) {
		assert_int_equal(aead_seal(&a, 77, ad, sizeof(ad), plain, len, sealed), 0);
		if (len)
			assert_memory_not_equal(sealed, plain, len);
		assert_int_equal(aead_open(&a, 77, ad, sizeof(ad), sealed, len + AEAD_TAG_LEN,
					   opened), 0);
		if (len)
			assert_memory_equal(opened, plain, len);
	}
	assert_int_equal(aead_open(&a, 77, ad, sizeof(ad), sealed, AEAD_TAG_LEN - 1, opened),
			 -EBADMSG);
	aead_wipe(&a);
}

/* The nonce is 4 zero bytes then the counter big-endian: pinned against libsodium called by
 * hand, since the peer (and any other implementation) must build the same one. */
static void test_nonce_layout(void **unused)
{
	const uint8_t nonce[12] = { 0, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	const uint8_t ad[3] = { 9, 8, 7 }, plain[40] = { 1, 2, 3 };
	uint8_t key[AEAD_KEY_LEN], ours[40 + AEAD_TAG_LEN], ref[40 + AEAD_TAG_LEN];
	struct aead a;

	(void)unused;
	fill_key(key, 11);
	aead_init(&a, key, 0);
	assert_int_equal(aead_seal(&a, 0x0102030405060708ull, ad, sizeof(ad), plain,
				   sizeof(plain), ours), 0);
	crypto_aead_chacha20poly1305_ietf_encrypt(ref, NULL, plain, sizeof(plain), ad, sizeof(ad),
						  NULL, nonce, key);
	assert_memory_equal(ours, ref, sizeof(ref));
}

static void test_in_place(void **unused)
{
	uint8_t key[AEAD_KEY_LEN], dg[DGRAM_LEN], out[DGRAM_LEN];
	struct aead a;
	size_t len;

	(void)unused;
	fill_key(key, 2);
	aead_init(&a, key, 0);
	len = build_dgram(&a, 1, dg);
	assert_int_equal(len, DGRAM_LEN);
	assert_int_equal(open_dgram(&a, dg, len, out), 0);
	/* Open in place gives the same plaintext as open into a separate buffer. */
	assert_int_equal(aead_open(&a, 1, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN, len - WIRE_HDR_LEN,
				   dg + WIRE_HDR_LEN), 0);
	assert_memory_equal(dg + WIRE_HDR_LEN, out, len - WIRE_OVERHEAD + WIRE_FRAME_LEN);
}

static void test_wrong_key_counter_ad(void **unused)
{
	uint8_t key[AEAD_KEY_LEN], other[AEAD_KEY_LEN], dg[DGRAM_LEN], out[DGRAM_LEN];
	struct aead a, b;
	size_t len;

	(void)unused;
	fill_key(key, 3);
	fill_key(other, 4);
	aead_init(&a, key, 0);
	aead_init(&b, other, 0);
	len = build_dgram(&a, 1000, dg);
	assert_int_equal(open_dgram(&a, dg, len, out), 0);
	assert_int_equal(open_dgram(&b, dg, len, out), -EBADMSG);
	assert_int_equal(aead_open(&a, 1001, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN,
				   len - WIRE_HDR_LEN, out), -EBADMSG);
	assert_int_equal(aead_open(&a, 1000 | 1ull << 32, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN,
				   len - WIRE_HDR_LEN, out), -EBADMSG);
	/* AD shortened, or not given at all. */
	assert_int_equal(aead_open(&a, 1000, dg, WIRE_HDR_LEN - 1, dg + WIRE_HDR_LEN,
				   len - WIRE_HDR_LEN, out), -EBADMSG);
	assert_int_equal(aead_open(&a, 1000, NULL, 0, dg + WIRE_HDR_LEN, len - WIRE_HDR_LEN, out),
			 -EBADMSG);
	/* Ciphertext truncated by one byte. */
	assert_int_equal(aead_open(&a, 1000, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN,
				   len - WIRE_HDR_LEN - 1, out), -EBADMSG);
}

/* Every single-bit change of (header || ciphertext || tag) is rejected, and a rejected open
 * changes neither the aead state, nor the datagram, nor any byte past its output. */
static void test_every_bit_flip(void **unused)
{
	uint8_t key[AEAD_KEY_LEN], dg[DGRAM_LEN], orig[DGRAM_LEN];
	uint8_t out[DGRAM_LEN + 32];
	const size_t out_len = DGRAM_LEN - WIRE_OVERHEAD + WIRE_FRAME_LEN;
	const uint64_t counter = 0x0102030405060708ull;
	struct aead a, a_copy;
	size_t len;

	(void)unused;
	fill_key(key, 5);
	aead_init(&a, key, 0);
	len = build_dgram(&a, counter, dg);
	memcpy(orig, dg, len);
	memcpy(&a_copy, &a, sizeof(a));

	for (size_t bit = 0; bit < len * 8; bit++) {
		dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(out, 0xee, sizeof(out));
		/* With the sender's counter, so a header bit changes only the AD... */
		assert_int_equal(aead_open(&a, counter, dg, WIRE_HDR_LEN, dg + WIRE_HDR_LEN,
					   len - WIRE_HDR_LEN, out), -EBADMSG);
		for (size_t i = out_len; i < sizeof(out); i++)
			assert_int_equal(out[i], 0xee);
		/* ...and as a receiver would, with the counter read from the header. */
		assert_int_equal(open_dgram(&a, dg, len, out), -EBADMSG);
		dg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_memory_equal(dg, orig, len);
		assert_memory_equal(&a, &a_copy, sizeof(a));
	}
	assert_int_equal(open_dgram(&a, dg, len, out), 0);
}

static void test_none_mode(void **unused)
{
	uint8_t key[AEAD_KEY_LEN], plain[64], sealed[64 + AEAD_TAG_LEN], opened[64];
	const uint8_t zero_tag[AEAD_TAG_LEN] = { 0 };
	const uint8_t ad[WIRE_HDR_LEN] = { 1 };
	struct aead a;

	(void)unused;
	fill_key(key, 6);
	aead_init(&a, key, 1);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i + 1);
	memset(sealed, 0xcc, sizeof(sealed));
	assert_int_equal(aead_seal(&a, 5, ad, sizeof(ad), plain, sizeof(plain), sealed), 0);
	assert_memory_equal(sealed, plain, sizeof(plain));
	assert_memory_equal(sealed + sizeof(plain), zero_tag, AEAD_TAG_LEN);
	assert_int_equal(aead_open(&a, 5, ad, sizeof(ad), sealed, sizeof(sealed), opened), 0);
	assert_memory_equal(opened, plain, sizeof(plain));
	assert_int_equal(aead_open(&a, 5, ad, sizeof(ad), sealed, AEAD_TAG_LEN - 1, opened),
			 -EBADMSG);

	/* In place, with the same sizes as a real datagram. */
	{
		uint8_t dg[DGRAM_LEN], out[DGRAM_LEN];

		assert_int_equal(build_dgram(&a, 9, dg), DGRAM_LEN);
		assert_int_equal(open_dgram(&a, dg, DGRAM_LEN, out), 0);
		assert_int_equal(out[0], WIRE_KIND_DATA);
	}
}

static void test_key_from_secret(void **unused)
{
	uint8_t k1[AEAD_KEY_LEN], k2[AEAD_KEY_LEN], k3[AEAD_KEY_LEN], zero[AEAD_KEY_LEN] = { 0 };
	uint8_t salt[AEAD_SALT_LEN];

	(void)unused;
	aead_secret_salt((const uint8_t *)"test", 4, salt);
	assert_int_equal(aead_key_from_secret("correct horse", 13, salt, k1), 0);
	assert_int_equal(aead_key_from_secret("correct horse", 13, salt, k2), 0);
	assert_memory_equal(k1, k2, AEAD_KEY_LEN);
	assert_memory_not_equal(k1, zero, AEAD_KEY_LEN);
	assert_int_equal(aead_key_from_secret("correct horsf", 13, salt, k3), 0);
	assert_memory_not_equal(k1, k3, AEAD_KEY_LEN);
	/* Only len bytes count. */
	assert_int_equal(aead_key_from_secret("correct horse battery", 13, salt, k3), 0);
	assert_memory_equal(k1, k3, AEAD_KEY_LEN);
	assert_int_equal(aead_key_from_secret("", 0, salt, k3), -EINVAL);
	assert_int_equal(aead_key_from_secret("x", 0, salt, k3), -EINVAL);
	assert_int_equal(aead_key_from_secret(NULL, 4, salt, k3), -EINVAL);
	assert_int_equal(aead_key_from_secret("x", 1, NULL, k3), -EINVAL);
}

/* Issue 10, finding 5: one salt for every deployment let one dictionary fit every tunnel, and
 * 3 passes over 16 MiB made a guess cheap. The salt now follows the context, and the key is
 * exactly Argon2id at no less than 4 passes over 128 MiB (about 14 times the old cost). */
static void test_secret_salt_and_cost(void **unused)
{
	uint8_t s1[AEAD_SALT_LEN], s2[AEAD_SALT_LEN], s3[AEAD_SALT_LEN];
	uint8_t k1[AEAD_KEY_LEN], k2[AEAD_KEY_LEN], ref[AEAD_KEY_LEN];

	(void)unused;
	aead_secret_salt((const uint8_t *)"deployment A", 12, s1);
	aead_secret_salt((const uint8_t *)"deployment A", 12, s2);
	assert_memory_equal(s1, s2, AEAD_SALT_LEN);
	aead_secret_salt((const uint8_t *)"deployment B", 12, s3);
	assert_memory_not_equal(s1, s3, AEAD_SALT_LEN);
	aead_secret_salt(NULL, 0, s2);
	assert_memory_not_equal(s1, s2, AEAD_SALT_LEN);

	assert_int_equal(aead_key_from_secret("correct horse", 13, s1, k1), 0);
	assert_int_equal(aead_key_from_secret("correct horse", 13, s3, k2), 0);
	assert_memory_not_equal(k1, k2, AEAD_KEY_LEN);
	/* the key is Argon2id at the declared cost, and that cost is at least the minimum */
	assert_int_equal(crypto_pwhash(ref, sizeof(ref), "correct horse", 13, s1,
				       AEAD_PWHASH_OPSLIMIT, AEAD_PWHASH_MEMLIMIT,
				       crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_memory_equal(k1, ref, AEAD_KEY_LEN);
	assert_true(AEAD_PWHASH_OPSLIMIT >= 4);
	assert_true(AEAD_PWHASH_MEMLIMIT >= 128u * 1024 * 1024);
	assert_true(AEAD_PWHASH_OPSLIMIT * (unsigned long long)AEAD_PWHASH_MEMLIMIT >=
		    10ull * 3 * 16 * 1024 * 1024);
}

static void test_derive(void **unused)
{
	uint8_t master[AEAD_KEY_LEN], other[AEAD_KEY_LEN];
	uint8_t k[4][AEAD_KEY_LEN], again[AEAD_KEY_LEN];

	(void)unused;
	fill_key(master, 8);
	fill_key(other, 9);
	aead_derive(master, AEAD_SUBKEY_C2S, AEAD_CTX_DIR, k[0]);
	aead_derive(master, AEAD_SUBKEY_S2C, AEAD_CTX_DIR, k[1]);
	aead_derive(master, 3, AEAD_CTX_DIR, k[2]);
	aead_derive(other, AEAD_SUBKEY_C2S, AEAD_CTX_DIR, k[3]);
	for (int i = 0; i < 4; i++) {
		assert_memory_not_equal(k[i], master, AEAD_KEY_LEN);
		for (int j = i + 1; j < 4; j++)
			assert_memory_not_equal(k[i], k[j], AEAD_KEY_LEN);
	}
	aead_derive(master, AEAD_SUBKEY_C2S, "mptunkey", again);
	assert_memory_equal(again, k[0], AEAD_KEY_LEN);
	aead_derive(master, AEAD_SUBKEY_C2S, "mptunkeX", again);
	assert_memory_not_equal(again, k[0], AEAD_KEY_LEN);
}

static void test_wipe(void **unused)
{
	uint8_t key[AEAD_KEY_LEN];
	struct aead a, zero;

	(void)unused;
	fill_key(key, 10);
	aead_init(&a, key, 1);
	memset(&zero, 0, sizeof(zero));
	aead_wipe(&a);
	assert_memory_equal(&a, &zero, sizeof(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_nonce_layout),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_wrong_key_counter_ad),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_none_mode),
		cmocka_unit_test(test_key_from_secret),
		cmocka_unit_test(test_secret_salt_and_cost),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
