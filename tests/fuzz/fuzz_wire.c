/* libFuzzer harness: every wire decoder on arbitrary bytes. A decoder may reject anything, but
 * must never read outside its input (ASan watches) and what it accepts must re-encode to the
 * same bytes. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct wire_hdr h;
	struct wire_frame f;
	struct wire_fb_block blocks[WIRE_FB_MAX_BLOCKS];
	const uint8_t *payload;
	size_t plen;
	unsigned n;
	uint8_t out[WIRE_MAX_DGRAM];

	if (wire_hdr_decode(&h, data, len) == 0) {
		assert(wire_hdr_encode(&h, out, sizeof(out)) == WIRE_HDR_LEN);
		assert(!memcmp(out, data, WIRE_HDR_LEN));
	}
	if (wire_frame_decode(&f, data, len, &payload, &plen) == 0) {
		assert(wire_frame_encode(&f, out, sizeof(out)) == WIRE_FRAME_LEN);
		assert(!memcmp(out, data, WIRE_FRAME_LEN));
		assert(payload >= data && payload + plen <= data + len);
	}
	if (wire_fb_decode(data, len, blocks, WIRE_FB_MAX_BLOCKS, &n) == 0) {
		int w = wire_fb_encode(blocks, n, out, sizeof(out));

		assert(w == (int)len && !memcmp(out, data, len));
	}
	return 0;
}
