/* Bit c % 64 of ring word (c / 64) % REPLAY_WORDS records counter c. A word is cleared when top
 * first enters it, so a reused word never carries marks from the counters it held before. */
#include "core/replay.h"

#include <errno.h>
#include <string.h>

static unsigned word_of(uint64_t counter)
{
	return (unsigned)((counter / 64) % REPLAY_WORDS);
}

static uint64_t bit_of(uint64_t counter)
{
	return 1ull << (counter % 64);
}

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
	r->empty = 1;
}

int replay_check(const struct replay *r, uint64_t counter)
{
	if (r->empty || counter > r->top)
		return 0;
	if (r->top - counter >= REPLAY_WINDOW)
		return -ESTALE;
	return r->bits[word_of(counter)] & bit_of(counter) ? -EALREADY : 0;
}

/* Moves top forward to counter, clearing every word that top enters. */
static void advance(struct replay *r, uint64_t counter)
{
	uint64_t from = r->top / 64, to = counter / 64;

	if (to - from >= REPLAY_WORDS) {
		memset(r->bits, 0, sizeof(r->bits));
	} else {
		for (uint64_t w = from + 1; w <= to; w++)
			r->bits[w % REPLAY_WORDS] = 0;
	}
	r->top = counter;
}

void replay_update(struct replay *r, uint64_t counter)
{
	if (r->empty) {
		memset(r->bits, 0, sizeof(r->bits));
		r->top = counter;
		r->empty = 0;
	} else if (counter > r->top) {
		advance(r, counter);
	} else if (r->top - counter >= REPLAY_WINDOW) {
		return;
	}
	r->bits[word_of(counter)] |= bit_of(counter);
}
