/* libFuzzer harness: the handshake decoders (core/session.c). Arbitrary bytes as an INIT at a
 * responder and as a RESP or STALE at an initiator with a handshake pending: nothing crashes, and
 * nothing without the master key is accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t master[AEAD_KEY_LEN], init[SESSION_INIT_LEN];
	static struct session_hs pending;
	static int ready;
	struct session_hs hs;
	struct session_keys keys;
	uint8_t seed[SESSION_SEED_LEN];

	if (!ready) {
		aead_global_init();
		memset(master, 0x11, sizeof(master));
		memset(seed, 0x22, sizeof(seed));
		if (session_init_create(master, seed, 1, 1000, &pending, init) < 0)
			abort();
		ready = 1;
	}
	/* the fuzzer cannot forge a MAC: an accepted INIT or RESP means a broken check */
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
