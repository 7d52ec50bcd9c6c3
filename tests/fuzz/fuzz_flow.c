/* libFuzzer harness: flow_classify on arbitrary bytes. It may reject anything, but must never
 * read outside its input (ASan watches), must give the same key and hash twice, and what it
 * returns must keep the documented promises (family 0 means an all-zero key, an error means
 * ports 0, IPv4 addresses fill 4 bytes only). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct flow_key zero;
	struct flow_key a, b;
	uint8_t *copy;
	int ra, rb;

	/* a copy of exactly len bytes on the heap, so that ASan sees a read one past its end */
	copy = malloc(len ? len : 1);
	assert(copy);
	memcpy(copy, data, len);
	memset(&a, 0xee, sizeof(a));
	memset(&b, 0x11, sizeof(b));
	ra = flow_classify(&a, copy, len);
	rb = flow_classify(&b, copy, len);
	free(copy);

	assert(ra == 0 || ra == -EBADMSG);
	assert(ra == rb);
	assert(flow_key_equal(&a, &b));
	assert(flow_hash(&a, 0x5eed) == flow_hash(&b, 0x5eed));
	assert(a.family == 0 || a.family == 4 || a.family == 6);
	if (a.family == 0) {
		assert(ra == -EBADMSG);
		assert(!memcmp(&a, &zero, sizeof(a)));
	}
	if (ra < 0)
		assert(a.sport == 0 && a.dport == 0);
	if (a.family == 4)
		for (int i = 4; i < 16; i++)
			assert(a.src[i] == 0 && a.dst[i] == 0);
	return 0;
}
