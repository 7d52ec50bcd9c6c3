/* lossaware: weights that follow each path's measured delivery and loss.
 *
 *   weight_i = rate_i / (1 + (loss_i / LOSSAWARE_KNEE)^2)          (0 when path i is down)
 *
 * loss_i is the path's loss EWMA (core/path.h). rate_i estimates what path i can carry and is
 * updated on each of the peer's feedbacks:
 *   - saturated (queueing delay srtt - min_rtt above max(LOSSAWARE_QDELAY, min_rtt / 2)):
 *       rate_i = max(delivery_rate_i, LOSSAWARE_RATE_MIN): it carries what it delivers;
 *   - otherwise it may have room: rate_i grows by 1/LOSSAWARE_GROWTH per feedback, but never
 *       above max(2 * delivery_rate_i, LOSSAWARE_RATE_MIN), so a path is probed upward at most
 *       twice as fast as it proves it delivers.
 * At 1 % loss a path keeps half its weight, at 3 % a tenth, at 10 % a hundredth: a lossy path
 * gets little traffic and a dead one none, and the engine's probes keep measuring both, so
 * either comes back when it heals. Packets are placed by smooth weighted round robin (each
 * path's credit grows by its weight, the richest is picked and pays the total), which follows
 * the weights with far less variance than a random draw. State in the engine's block. */
#ifndef MPT_LOSSAWARE_H
#define MPT_LOSSAWARE_H

#include "core/path.h"

#define LOSSAWARE_KNEE 0.01
#define LOSSAWARE_QDELAY_NS (10ull * 1000000)
#define LOSSAWARE_RATE_MIN 100000.0	/* bit/s */
#define LOSSAWARE_RATE_INIT 1000000.0	/* bit/s: equal shares until feedback says more */
#define LOSSAWARE_GROWTH 16

struct lossaware_state {
	double rate_bps[MPT_MAX_PATHS];
	double credit[MPT_MAX_PATHS];
	unsigned fallback_next;
};

double lossaware_weight(const struct lossaware_state *s, const struct mpt_path *p, unsigned pidx);

#endif
