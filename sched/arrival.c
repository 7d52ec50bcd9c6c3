/* arrival: each packet goes to the path where it would arrive first. A path's expected
 * arrival is half its base RTT plus the time to drain what it already holds beyond its
 * bandwidth-delay product, at the rate lossaware estimates for it (loss included, so a lossy
 * path counts as a slow one):
 *
 *   arrival_i = min_rtt_i / 2 + max(0, inflight_i - rate_i * min_rtt_i) / rate_i
 *
 * So the fastest, nearest path fills first and a slower or farther one takes traffic only
 * once the better paths hold a queue that would make a packet later than going the slow way:
 * what MPTCP's "earliest completion first" schedulers do, and what a single TCP flow over
 * paths of different delays needs to see few reordered packets. The rate estimates, stall
 * handling and reinjection are lossaware's own (its state is embedded). */
#include <errno.h>
#include <string.h>

#include "sched/lossaware.h"
#include "sched/registry.h"

struct arrival_state {
	struct lossaware_state la;	/* first: lossaware's hooks take the same pointer */
	unsigned fallback_next;
};

static int arrival_init(void *state, const char *args)
{
	struct arrival_state *s = state;

	if (args && *args)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	return sched_lossaware.init(&s->la, NULL);
}

static int arrival_pick(void *state, const struct sched_view *v, uint16_t *out, int max)
{
	struct arrival_state *s = state;
	double best_t = 0;
	int best = -1;

	if (max < 1)
		return 0;
	for (unsigned i = 0; i < v->nlocal; i++) {
		if (!sched_writable(v, i))
			continue;
		for (unsigned j = 0; j < v->nremote; j++) {
			unsigned pidx = path_index(i, j);
			const struct mpt_path *p = &v->paths[pidx];
			double rate = lossaware_weight(&s->la, p, pidx, v->now_ns) / 8e9;	/* B/ns */
			double base, excess, t;

			if (rate <= 0)
				continue;
			base = (double)(p->min_rtt_ns ? p->min_rtt_ns : p->srtt_ns);
			excess = (double)p->inflight_bytes + (double)v->len - rate * base;
			t = base / 2 + (excess > 0 ? excess / rate : 0);
			if (best < 0 || t < best_t) {
				best = (int)pidx;
				best_t = t;
			}
		}
	}
	if (best < 0) {
		int pidx = roundrobin_next(v, &s->fallback_next);

		if (pidx < 0)
			return 0;
		best = pidx;
	}
	out[0] = (uint16_t)best;
	return 1;
}

const struct mpt_sched_ops sched_arrival = {
	.name = "arrival",
	.summary = "earliest expected arrival: the nearest fast path first, others as it queues",
	.state_size = sizeof(struct arrival_state),
	.init = arrival_init,
	.pick = arrival_pick,
	/* lossaware keeps the rates: its hooks, on the embedded state */
	.on_feedback = lossaware_on_feedback,
	.on_path_state = lossaware_on_path_state,
	.on_remote_new = lossaware_on_remote_new,
	.weight = lossaware_weight_op,
	.reinject = true,
};
