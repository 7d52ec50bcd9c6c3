/* rng: a small seeded pseudo-random generator (xoshiro256**).
 * The caller owns the struct (stack or embedded); no allocation, no global state.
 * Cheap enough to call per packet. Same seed, same sequence, on every platform. */
#ifndef MPT_RNG_H
#define MPT_RNG_H

#include <stdint.h>

struct mpt_rng {
	uint64_t s[4];
};

void rng_seed(struct mpt_rng *rng, uint64_t seed);
uint64_t rng_next(struct mpt_rng *rng);
/* Uniform in [0, 1). */
double rng_double(struct mpt_rng *rng);
/* Uniform in [0, n); n == 0 returns 0. */
uint64_t rng_below(struct mpt_rng *rng, uint64_t n);

#endif
