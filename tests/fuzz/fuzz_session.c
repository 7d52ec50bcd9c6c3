/* libFuzzer harness: the handshake decoders (core/session.c). Arbitrary bytes as an INIT at a
 * responder and as a RESP or STALE at an initiator with a handshake pending: nothing crashes, and
 * nothing without the master key is accepted. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t master[AEAD_KEY_LEN], init[SESSION_INIT_LEN];
	static uint8_t hub_sk[32], hub_pk[SESSION_PUB_LEN], mac1_key[32];
	static struct session_hs pending;
	static int ready;
	struct session_hs hs;
	struct session_keys keys;
	uint8_t seed[SESSION_SEED_LEN];

	if (!ready) {
		aead_global_init();
		memset(master, 0x11, sizeof(master));
		memset(seed, 0x22, sizeof(seed));
		session_hub_from_master(master, hub_sk, hub_pk);
		session_mac1_key(hub_pk, mac1_key);
		if (session_init_create(master, hub_pk, seed, 1, 1000, &pending, init) < 0)
			abort();
		ready = 1;
	}
	/* the fuzzer cannot forge a MAC: an accepted INIT or RESP means a broken check */
	{
		uint8_t id[SESSION_ID_LEN];
		bool same = len == SESSION_INIT_LEN && !memcmp(data, init, len);

		if (session_init_mac1_ok(mac1_key, data, len) && !same)
			abort();
		if (session_init_open_id(hub_sk, hub_pk, data, len, id) == 0 && !same &&
		    (len != SESSION_INIT_LEN || memcmp(data + WIRE_HDR_LEN, init + WIRE_HDR_LEN,
						       SESSION_INIT_MAC_OFF - WIRE_HDR_LEN)))
			abort();
	}
	if (session_init_check(master, data, len, 0, &hs) == 0 &&
	    (len != SESSION_INIT_LEN || memcmp(data, init, len)))
		abort();
	hs = pending;
	if (session_resp_check(master, &hs, data, len, &keys) == 0)
		abort();
	{
		uint64_t floor;

		if (session_stale_check(master, &pending, data, len, &floor) == 0)
			abort();
	}
	return 0;
}
