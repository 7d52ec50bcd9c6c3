/* Tests of core/session.c: both sides derive the same keys; no wrong key, flipped bit, replay,
 * stray answer or degenerate public key gets through; spent secrets are wiped. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/session.h"

static uint8_t master[AEAD_KEY_LEN], other[AEAD_KEY_LEN];
static uint8_t hub_sk[32], hub_pk[SESSION_PUB_LEN];
static uint8_t seed_i[SESSION_SEED_LEN], seed_r[SESSION_SEED_LEN];

static int setup(void **state)
{
	(void)state;
	memset(master, 0x11, sizeof(master));
	memset(other, 0x12, sizeof(other));
	memset(seed_i, 0xa1, sizeof(seed_i));
	memset(seed_r, 0xb2, sizeof(seed_r));
	if (aead_global_init() < 0)
		return -1;
	session_hub_from_master(master, hub_sk, hub_pk);
	return 0;
}

/* A full handshake; returns both sides' keys. */
static void handshake(struct session_keys *ki, struct session_keys *kr, uint64_t counter)
{
	struct session_hs hi, hr;
	uint8_t init[SESSION_INIT_LEN], resp[SESSION_RESP_LEN];

	assert_int_equal(session_init_create(master, hub_pk, seed_i, 5, counter, &hi, init), 0);
	assert_int_equal(session_init_check(master, init, sizeof(init), counter - 1, &hr), 0);
	assert_int_equal(hr.key_phase, 5);
	assert_int_equal(hr.counter, counter);
	assert_int_equal(session_resp_create(master, seed_r, &hr, resp, kr), 0);
	assert_int_equal(session_resp_check(master, &hi, resp, sizeof(resp), ki), 0);
}

static void test_agreement(void **unused)
{
	struct session_keys ki, kr, k2;
	uint8_t zero[32] = { 0 };

	(void)unused;
	handshake(&ki, &kr, 100);
	assert_memory_equal(&ki, &kr, sizeof(ki));
	assert_memory_not_equal(ki.initiator_tx, ki.responder_tx, AEAD_KEY_LEN);
	assert_memory_not_equal(ki.initiator_tx, zero, 32);
	/* a new ephemeral key gives new session keys */
	seed_i[0] ^= 1;
	handshake(&k2, &kr, 101);
	assert_memory_not_equal(&k2, &ki, sizeof(ki));
	/* the keys work with the AEAD, one direction each */
	{
		struct aead a, b;
		uint8_t msg[40] = "hello", sealed[40 + 16], opened[40];

		aead_init(&a, k2.initiator_tx, 0);
		aead_init(&b, kr.initiator_tx, 0);
		aead_seal(&a, 1, NULL, 0, msg, sizeof(msg), sealed);
		assert_int_equal(aead_open(&b, 1, NULL, 0, sealed, sizeof(sealed), opened), 0);
		assert_memory_equal(opened, msg, sizeof(msg));
		aead_init(&b, kr.responder_tx, 0);
		assert_int_equal(aead_open(&b, 1, NULL, 0, sealed, sizeof(sealed), opened), -EBADMSG);
	}
}

static void test_wrong_master(void **unused)
{
	struct session_hs hi, hr;
	struct session_keys k;
	uint8_t init[SESSION_INIT_LEN], resp[SESSION_RESP_LEN];

	(void)unused;
	session_init_create(master, hub_pk, seed_i, 0, 7, &hi, init);
	assert_int_equal(session_init_check(other, init, sizeof(init), 0, &hr), -EBADMSG);
	assert_int_equal(session_init_check(master, init, sizeof(init), 0, &hr), 0);
	session_resp_create(other, seed_r, &hr, resp, &k);	/* a responder with the wrong key */
	assert_int_equal(session_resp_check(master, &hi, resp, sizeof(resp), &k), -EBADMSG);
}

static void test_flipped_bits(void **unused)
{
	struct session_hs hi, hr, copy;
	struct session_keys k;
	uint8_t init[SESSION_INIT_LEN], resp[SESSION_RESP_LEN], k1[32];

	(void)unused;
	session_init_create(master, hub_pk, seed_i, 0, 9, &hi, init);
	session_mac1_key(hub_pk, k1);
	assert_true(session_init_mac1_ok(k1, init, sizeof(init)));
	/* the peer's MAC covers all but mac1, which covers everything before it: a hub drops
	 * any flipped bit at mac1, the engine any but mac1's own */
	for (size_t bit = 0; bit < sizeof(init) * 8; bit++) {
		init[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(session_init_mac1_ok(k1, init, sizeof(init)));
		if (bit / 8 < SESSION_INIT_MAC1_OFF)
			assert_true(session_init_check(master, init, sizeof(init), 0, &hr) < 0);
		init[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(session_init_check(master, init, sizeof(init), 0, &hr), 0);
	session_resp_create(master, seed_r, &hr, resp, &k);
	for (size_t bit = 0; bit < sizeof(resp) * 8; bit++) {
		copy = hi;
		resp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(session_resp_check(master, &copy, resp, sizeof(resp), &k) < 0);
		resp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(session_resp_check(master, &hi, resp, sizeof(resp), &k), 0);
	assert_true(session_init_check(master, init, sizeof(init) - 1, 0, &hr) < 0);
	assert_true(session_resp_check(master, &hi, resp, sizeof(resp) + 1, &k) < 0);
}

static void test_replayed_init(void **unused)
{
	struct session_hs hi, hr;
	uint8_t init[SESSION_INIT_LEN];

	(void)unused;
	session_init_create(master, hub_pk, seed_i, 0, 50, &hi, init);
	assert_int_equal(session_init_check(master, init, sizeof(init), 49, &hr), 0);
	/* once the responder has accepted counter 50, the same INIT again is a replay */
	assert_int_equal(session_init_check(master, init, sizeof(init), 50, &hr), -EALREADY);
	assert_int_equal(session_init_check(master, init, sizeof(init), 1000, &hr), -EALREADY);
}

/* An answer to another INIT (another ephemeral key, same counter) is refused. */
static void test_resp_bound_to_init(void **unused)
{
	struct session_hs a, b, hr;
	struct session_keys k;
	uint8_t init_a[SESSION_INIT_LEN], init_b[SESSION_INIT_LEN], resp[SESSION_RESP_LEN];
	uint8_t seed_b[SESSION_SEED_LEN];

	(void)unused;
	memset(seed_b, 0xc3, sizeof(seed_b));
	session_init_create(master, hub_pk, seed_i, 0, 3, &a, init_a);
	session_init_create(master, hub_pk, seed_b, 0, 3, &b, init_b);
	session_init_check(master, init_b, sizeof(init_b), 0, &hr);
	session_resp_create(master, seed_r, &hr, resp, &k);
	assert_int_equal(session_resp_check(master, &a, resp, sizeof(resp), &k), -EBADMSG);
	assert_int_equal(session_resp_check(master, &b, resp, sizeof(resp), &k), 0);
}

/* A public key of small order (here all zeros) would make the shared secret known: a
 * responder handed one, even inside an authentic INIT, refuses to derive keys from it. */
static void test_low_order_key(void **unused)
{
	struct session_hs hr;
	struct session_keys k;
	uint8_t resp[SESSION_RESP_LEN];

	(void)unused;
	memset(&hr, 0, sizeof(hr));
	assert_int_equal(session_resp_create(master, seed_r, &hr, resp, &k), -EINVAL);
}

static void test_secrets_wiped(void **unused)
{
	struct session_hs hi, hr;
	struct session_keys k;
	uint8_t init[SESSION_INIT_LEN], resp[SESSION_RESP_LEN], zero[32] = { 0 };

	(void)unused;
	session_init_create(master, hub_pk, seed_i, 0, 8, &hi, init);
	session_init_check(master, init, sizeof(init), 0, &hr);
	session_resp_create(master, seed_r, &hr, resp, &k);
	assert_memory_equal(hr.sk, zero, 32);
	session_resp_check(master, &hi, resp, sizeof(resp), &k);
	assert_memory_equal(hi.sk, zero, 32);
	session_wipe(&k, sizeof(k));
	assert_memory_equal(k.initiator_tx, zero, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_wrong_master),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_replayed_init),
		cmocka_unit_test(test_resp_bound_to_init),
		cmocka_unit_test(test_low_order_key),
		cmocka_unit_test(test_secrets_wiped),
	};

	return cmocka_run_group_tests_name("session", tests, setup, NULL);
}
