/* lossaware: weights that follow each path's measured delivery and loss.
 *
 *   weight_i = rate_i / (1 + (loss_i / LOSSAWARE_KNEE)^2)          (0 when path i is down)
 *
 * loss_i is the loss a path shows while it is not queueing: an EWMA weighted per packet
 * (1/PATH_LOSS_PKTS, as core/path.h) over the feedback intervals whose queueing delay is below
 * the limit defined next. Losses at a full queue are congestion, which rate_i answers; counting
 * them here too would swing every weight at once whenever the offered load exceeds the total
 * capacity, and pile the traffic onto whichever path dropped least a moment ago. rate_i estimates what path i can carry and is
 * updated on each of the peer's feedbacks, comparing the rate we send into the path (sent_i,
 * smoothed over >= 80 ms) with the rate the peer reports it delivered (delivery_rate_i):
 *   - a bottleneck (queueing delay srtt - min_rtt above max(LOSSAWARE_QDELAY, min_rtt / 2), and
 *       sent_i above delivery_rate_i by LOSSAWARE_EXCESS): rate_i = delivery_rate_i, what it
 *       carries when pushed;
 *   - queueing but not pushed harder than it delivers (its queue is draining): rate_i holds;
 *   - no queueing: it may have room, so rate_i grows by 1/LOSSAWARE_GROWTH per feedback, up
 *       to twice what it delivers (it never shrinks on this branch).
 * Cutting only where the path is truly the bottleneck avoids a spiral: a path whose share was
 * just reduced still shows old queueing while its delivery falls, and must not be cut again.
 * rate_i never goes below LOSSAWARE_RATE_MIN, so a path is always worth a probe's traffic.
 * The knee is low because TCP pays for random loss far beyond its share of the packets: a
 * path at 0.5 % loss carrying a quarter of a flow caps Reno near 6 Mbit/s at 60 ms.
 * A stalled path (core/path.h: data outstanding, peer silent past srtt + 4 rttvar + 20 ms)
 * gets no new data until its feedback resumes, long before liveness would call it down, and
 * lossaware asks the engine to send its unacknowledged packets again on the other paths
 * (reinjection), so that one cellular gap does not hold every other path's packets back.
 * At 0.5 % loss a path keeps half its weight, at 1 % a fifth, at 10 % a 401st: a lossy path
 * gets little traffic and a dead one none, and the engine's probes keep measuring both, so
 * either comes back when it heals. Packets are placed by smooth weighted round robin (each
 * path's credit grows by its weight, the richest is picked and pays the total), which follows
 * the weights with far less variance than a random draw. State in the engine's block. */
#ifndef MPT_LOSSAWARE_H
#define MPT_LOSSAWARE_H

#include "core/sched.h"

#define LOSSAWARE_KNEE 0.005
#define LOSSAWARE_QDELAY_NS (10ull * 1000000)
#define LOSSAWARE_RATE_MIN 100000.0	/* bit/s */
#define LOSSAWARE_RATE_INIT 1000000.0	/* bit/s: equal shares until feedback says more */
#define LOSSAWARE_GROWTH 16
#define LOSSAWARE_EXCESS 1.05
#define LOSSAWARE_SENT_NS (80ull * 1000000)	/* sent-rate sampling interval */

struct lossaware_state {
	double rate_bps[MPT_MAX_PATHS];
	double credit[MPT_MAX_PATHS];
	double sent_bps[MPT_MAX_PATHS];
	double loss[MPT_MAX_PATHS];
	uint64_t lost0[MPT_MAX_PATHS], covered0[MPT_MAX_PATHS];
	uint64_t sent_bytes0[MPT_MAX_PATHS], sent_t0[MPT_MAX_PATHS];
	unsigned fallback_next;
};

double lossaware_weight(const struct lossaware_state *s, const struct mpt_path *p, unsigned pidx,
			uint64_t now);
/* Fold the packets the latest feedback on p accounted for into *loss (the per-packet EWMA of
 * PATH_LOSS_PKTS), unless count is false (the path was queueing: its drops are congestion);
 * *lost0 and *covered0 keep p's counts as of the last call. ecf keeps its loss the same way. */
void lossaware_loss_update(double *loss, uint64_t *lost0, uint64_t *covered0,
			   const struct mpt_path *p, bool count);

/* lossaware's hooks (core/sched.h) on a struct lossaware_state, for schedulers that embed one
 * first in their state and keep its rates (arrival) */
void lossaware_on_feedback(void *state, const struct sched_view *v, unsigned path);
void lossaware_on_path_state(void *state, const struct sched_view *v, unsigned path, bool up);
void lossaware_on_remote_new(void *state, const struct sched_view *v, unsigned remote);
double lossaware_weight_op(const void *state, const struct sched_view *v, unsigned path);

#endif
