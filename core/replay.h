/* replay: the sliding anti-replay window over the 64-bit datagram counters (a bitmap ring as in
 * RFC 6479 and WireGuard). The caller owns struct replay (embedded, no allocation, nothing to
 * free). Both calls are O(1) except a forward jump, which clears at most the whole ring once;
 * callable per packet.
 *
 * Window: with top the highest counter marked so far, a counter c is
 *   - acceptable when nothing was marked yet, or c > top (any distance ahead),
 *     or top - REPLAY_WINDOW < c <= top and c was not marked;
 *   - -EALREADY when top - REPLAY_WINDOW < c <= top and c was marked;
 *   - -ESTALE when c + REPLAY_WINDOW <= top (exactly REPLAY_WINDOW counters, top included,
 *     are remembered).
 * Use: replay_check before authentication (read-only, so a forgery cannot move the window),
 * replay_update only after authentication succeeded. */
#ifndef MPT_REPLAY_H
#define MPT_REPLAY_H

#include <stdint.h>

#define REPLAY_WINDOW	8192
/* One word more than the window: the ring is cleared a word at a time as top advances, so
 * without the spare word the oldest counters of the window would lose their bits early. */
#define REPLAY_WORDS	(REPLAY_WINDOW / 64 + 1)

_Static_assert(REPLAY_WINDOW % 64 == 0, "the window is a whole number of 64-bit words");

struct replay {
	uint64_t top;		/* highest counter marked; meaningless while empty */
	int empty;
	uint64_t bits[REPLAY_WORDS];
};

void replay_init(struct replay *r);
/* 0 if counter is acceptable, -EALREADY if seen, -ESTALE if older than the window. */
int replay_check(const struct replay *r, uint64_t counter);
/* Marks counter as seen (a stale counter is ignored). A jump of the window clears the words it
 * moves past, all of them when it jumps beyond the whole window. */
void replay_update(struct replay *r, uint64_t counter);

#endif
