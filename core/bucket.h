/* bucket: a token bucket for rationing work (key agreements, answers): `burst` tokens, one
 * more every refill_ns. Plain state in the caller's struct; no clock (now is passed). */
#ifndef MPT_BUCKET_H
#define MPT_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
	unsigned tokens;
	uint64_t refill_ns;	/* when the last token was added */
};

/* Take one token if there is one, after adding those earned since the last refill. */
static inline bool bucket_take(struct bucket *b, uint64_t now, uint64_t refill_ns,
			       unsigned burst)
{
	if (now - b->refill_ns >= refill_ns) {
		uint64_t add = (now - b->refill_ns) / refill_ns;

		b->tokens = b->tokens + add >= burst ? burst : b->tokens + (unsigned)add;
		b->refill_ns += add * refill_ns;
	}
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

#endif
