#include "sched/lossaware.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "sched/registry.h"

static int lossaware_init(void *state, const char *args)
{
	struct lossaware_state *s = state;

	if (args && *args)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < MPT_MAX_PATHS; i++)
		s->rate_bps[i] = LOSSAWARE_RATE_INIT;
	return 0;
}

double lossaware_weight(const struct lossaware_state *s, const struct mpt_path *p, unsigned pidx,
			uint64_t now)
{
	double x = s->loss[pidx] / LOSSAWARE_KNEE;

	if (!p->up || path_stalled(p, now))
		return 0.0;
	return s->rate_bps[pidx] / (1.0 + x * x);
}

static void update_sent(struct lossaware_state *s, const struct mpt_path *p, unsigned pidx,
			uint64_t now)
{
	uint64_t dt = now - s->sent_t0[pidx];
	double sample;

	if (s->sent_t0[pidx] == 0) {
		s->sent_t0[pidx] = now;
		s->sent_bytes0[pidx] = p->tx_bytes;
		return;
	}
	if (dt < LOSSAWARE_SENT_NS)
		return;
	sample = (double)(p->tx_bytes - s->sent_bytes0[pidx]) * 8e9 / (double)dt;
	s->sent_bps[pidx] = s->sent_bps[pidx] > 0 ? (3 * s->sent_bps[pidx] + sample) / 4 : sample;
	s->sent_t0[pidx] = now;
	s->sent_bytes0[pidx] = p->tx_bytes;
}

void lossaware_loss_update(double *loss, uint64_t *lost0, uint64_t *covered0,
			   const struct mpt_path *p, bool count)
{
	uint64_t dsent = p->covered_packets - *covered0;
	uint64_t dlost = p->lost_packets - *lost0;

	*covered0 = p->covered_packets;
	*lost0 = p->lost_packets;
	if (!count || dsent == 0)
		return;
	*loss += (double)dsent / (dsent + PATH_LOSS_PKTS) * ((double)dlost / dsent - *loss);
}

static void update_loss(struct lossaware_state *s, const struct mpt_path *p, unsigned pidx,
			bool count)
{
	lossaware_loss_update(&s->loss[pidx], &s->lost0[pidx], &s->covered0[pidx], p, count);
}

void lossaware_on_feedback(void *state, const struct sched_view *v, unsigned pidx)
{
	struct lossaware_state *s = state;
	const struct mpt_path *p = &v->paths[pidx];
	double delivered = (double)p->delivery_rate_bps;
	uint64_t qdelay = p->srtt_ns > p->min_rtt_ns ? p->srtt_ns - p->min_rtt_ns : 0;
	uint64_t qlimit = p->min_rtt_ns / 2 > LOSSAWARE_QDELAY_NS ?
			  p->min_rtt_ns / 2 : LOSSAWARE_QDELAY_NS;
	double *rate = &s->rate_bps[pidx];

	update_sent(s, p, pidx, v->now_ns);
	update_loss(s, p, pidx, qdelay <= qlimit);
	if (p->delivery_rate_bps == 0)
		return;		/* too early to know anything */
	if (qdelay > qlimit) {
		if (s->sent_bps[pidx] > delivered * LOSSAWARE_EXCESS)
			*rate = delivered;
	} else {
		/* Room to grow: to twice what it delivers, or to the mean of the live paths. The
		 * second bound matters when nothing is a bottleneck: then any split is a fixed
		 * point of "twice what it delivers", and a path that fell behind (a stall, a late
		 * start) would stay behind for good; this one lets equal paths even out, and a
		 * path that cannot carry its share shows queueing and is cut above. */
		double cap = 2 * delivered, sum = 0;
		unsigned n = 0;

		for (unsigned i = 0; i < v->nlocal; i++)
			for (unsigned j = 0; j < v->nremote; j++)
				if (v->paths[path_index(i, j)].up) {
					sum += s->rate_bps[path_index(i, j)];
					n++;
				}
		if (n && sum / n > cap)
			cap = sum / n;
		if (*rate < cap) {
			*rate += *rate / LOSSAWARE_GROWTH;
			if (*rate > cap)
				*rate = cap;
		}
	}
	if (*rate < LOSSAWARE_RATE_MIN)
		*rate = LOSSAWARE_RATE_MIN;
}

void lossaware_on_remote_new(void *state, const struct sched_view *v, unsigned remote)
{
	struct lossaware_state *s = state;

	for (unsigned i = 0; i < v->nlocal; i++) {
		unsigned pidx = path_index(i, remote);

		s->rate_bps[pidx] = LOSSAWARE_RATE_INIT;
		s->credit[pidx] = 0;
		s->sent_bps[pidx] = 0;
		s->sent_t0[pidx] = 0;
		s->loss[pidx] = 0;
		s->lost0[pidx] = s->covered0[pidx] = 0;
	}
}

static int lossaware_pick(void *state, const struct sched_view *v, uint16_t *out, int max)
{
	struct lossaware_state *s = state;
	double total = 0, best_credit = 0;
	int best = -1;

	if (max < 1)
		return 0;
	for (unsigned i = 0; i < v->nlocal; i++) {
		if (!sched_writable(v, i))
			continue;
		for (unsigned j = 0; j < v->nremote; j++) {
			unsigned pidx = path_index(i, j);
			double w = lossaware_weight(s, &v->paths[pidx], pidx, v->now_ns);

			if (w <= 0)
				continue;
			s->credit[pidx] += w;
			total += w;
			if (best < 0 || s->credit[pidx] > best_credit) {
				best = (int)pidx;
				best_credit = s->credit[pidx];
			}
		}
	}
	if (best < 0) {
		/* no path has weight (at start, every path stalled, a total outage) */
		int pidx = roundrobin_next(v, &s->fallback_next);

		if (pidx < 0)
			return 0;
		out[0] = (uint16_t)pidx;
		return 1;
	}
	s->credit[best] -= total;
	out[0] = (uint16_t)best;
	return 1;
}

void lossaware_on_path_state(void *state, const struct sched_view *v, unsigned pidx, bool up)
{
	struct lossaware_state *s = state;

	(void)v;
	/* A path that comes back starts from a clean slate: no debt, no stale credit. */
	s->credit[pidx] = 0;
	if (up && s->rate_bps[pidx] < LOSSAWARE_RATE_MIN)
		s->rate_bps[pidx] = LOSSAWARE_RATE_MIN;
}

double lossaware_weight_op(const void *state, const struct sched_view *v, unsigned path)
{
	return lossaware_weight(state, &v->paths[path], path, v->now_ns);
}

const struct mpt_sched_ops sched_lossaware = {
	.name = "lossaware",
	.summary = "weights from each path's delivery rate and loss; lossy paths get little, dead none",
	.state_size = sizeof(struct lossaware_state),
	.init = lossaware_init,
	.pick = lossaware_pick,
	.weight = lossaware_weight_op,
	.on_feedback = lossaware_on_feedback,
	.on_path_state = lossaware_on_path_state,
	.on_remote_new = lossaware_on_remote_new,
	.reinject = true,
};
