/* weighted: the 2015 tool's scheduler, faithfully. Each local and each remote address has a
 * count; its weight is WEIGHTED_BASE + count. A local's count grows by one for each
 * authenticated datagram that arrives on it, a remote's for each authenticated datagram from it;
 * when one count passes WEIGHTED_MAX, every count on that side is halved. For each packet a
 * local (among the writable ones) and a remote are drawn independently, each with probability
 * proportional to its weight. It looks at neither liveness nor loss: each end simply follows
 * what its peer's choices deliver. State lives in the engine-allocated block; no allocation. */
#ifndef MPT_WEIGHTED_H
#define MPT_WEIGHTED_H

#include <stdint.h>

#include "core/path.h"

#define WEIGHTED_BASE 64
#define WEIGHTED_MAX 16384

struct weighted_state {
	uint32_t local_count[MPT_MAX_LOCAL];
	uint32_t remote_count[MPT_MAX_REMOTE];
};

#endif
