/* ecf: earliest completion first, bound late, every path paced (issue 11). The engine holds tun
 * packets in its fair queue (core/sendq.c) and asks for the head packet's path; each path is
 * paced at its estimated capacity (core/capacity.h), so a path's own buffer stays nearly
 * empty and the queue that must exist is the tunnel's, where sparse flows skip it.
 *
 * For the head packet of len bytes, path i would deliver it at
 *
 *   A_i = wait_i + owd_i + len / rate_i
 *
 * wait_i: until its pacer lets it send; owd_i: half its RTT (the minimum plus what queue it
 * shows now); rate_i: the rate it is paced at (core/capacity.h: the estimate times the gain
 * of the moment, at least CAP_INIT_BPS), discounted for random loss as lossaware does
 * (rate / (1 + (loss / ECF_LOSS_KNEE)^2), loss counted only while the path does not queue,
 * since drops at a full queue are congestion), since an inner TCP pays for a lost packet far
 * beyond its share. The path with the earliest A_i takes the packet, when its pacer allows.
 *
 * That alone would never use a slow or far path while a fast one is paced: the fast path is
 * always about to be free. What the head's choice does not see is the queue behind it. So a
 * path r that can send now but is not the earliest takes the head anyway when its copy would
 * arrive before the paths that beat it could deliver the whole backlog B:
 *
 *   owd_r + len / rate_r  <=  A_best + B / R_better      (R_better: the sum of their rates)
 *
 * (ECF, Lim et al. 2017, with the tunnel's queue as the send buffer), B being what the head's
 * own flow has queued: a ping is never sent the slow way because a bulk flow queues behind it.
 * And never a path later than A_best by more than SCHED_QUEUE_MAX_NS: the engine's queue keeps
 * no flow's backlog that long, so only a transient (a start-up burst) could send a packet
 * there, and its flow would wait for it at the receiver. The packet then arrives
 * about when the packets queued before it on the fast paths do: the slow path adds bandwidth
 * without adding reordering, and adds none at all while the fast paths keep up. Small packets
 * of sparse flows (a ping, DNS) come first out of the fair queue and take the earliest path.
 * Down, stalled or unwritable paths are skipped; stalled data is reinjected as lossaware does. */
#include <errno.h>
#include <string.h>

#include "core/wire.h"
#include "sched/lossaware.h"
#include "sched/registry.h"

#define ECF_LOSS_KNEE 0.005
/* A flow arriving faster than 1/ECF_BULK_SHARE of the earliest path's rate is bulk. */
#define ECF_BULK_SHARE 8
/* ... and spreads onto a path only while its random loss stays below this: a TCP flow pays for
 * 0.5 % loss on a tenth of its packets far beyond that tenth's bandwidth (Mathis). */
#define ECF_BULK_LOSS 0.001

/* Loss counts only over feedback intervals where the path was not queueing (as lossaware):
 * drops at a full queue are congestion, which the capacity estimate answers. */
#define ECF_QDELAY_NS (10ull * 1000000)

struct ecf_state {
	unsigned fallback_next;
	double loss[MPT_MAX_PATHS];
	uint64_t lost0[MPT_MAX_PATHS], covered0[MPT_MAX_PATHS];
};

static int ecf_init(void *state, const char *args)
{
	if (args && *args)
		return -EINVAL;
	memset(state, 0, sizeof(struct ecf_state));
	return 0;
}

static void ecf_on_feedback(void *state, const struct sched_view *v, unsigned pidx)
{
	struct ecf_state *s = state;
	const struct mpt_path *p = &v->paths[pidx];
	uint64_t qdelay = p->latest_rtt_ns > p->min_rtt_ns ? p->latest_rtt_ns - p->min_rtt_ns : 0;
	uint64_t qlimit = p->min_rtt_ns / 2 > ECF_QDELAY_NS ? p->min_rtt_ns / 2 : ECF_QDELAY_NS;

	lossaware_loss_update(&s->loss[pidx], &s->lost0[pidx], &s->covered0[pidx], p,
			      qdelay <= qlimit);
}

/* A path back up, or a new peer address: its history says nothing about it now. */
static void ecf_forget(struct ecf_state *s, const struct mpt_path *p, unsigned pidx)
{
	s->loss[pidx] = 0;
	s->covered0[pidx] = p->covered_packets;
	s->lost0[pidx] = p->lost_packets;
}

static void ecf_on_path_state(void *state, const struct sched_view *v, unsigned pidx, bool up)
{
	if (up)
		ecf_forget(state, &v->paths[pidx], pidx);
}

static void ecf_on_remote_new(void *state, const struct sched_view *v, unsigned remote)
{
	for (unsigned i = 0; i < v->nlocal; i++)
		ecf_forget(state, &v->paths[path_index(i, remote)], path_index(i, remote));
}

/* What the path carries, bit/s, loss discounted. */
static double ecf_rate(const struct ecf_state *s, const struct mpt_path *p, unsigned pidx)
{
	/* the rate it is paced at: above the estimate in start-up and while probing, so that a
	 * path whose estimate is low (new, back from an outage, seen only idle) is given enough to
	 * find out what it carries */
	double rate = (double)capacity_pacing_bps(&p->cap), x = s->loss[pidx] / ECF_LOSS_KNEE;

	return rate / (1.0 + x * x);
}

static double ecf_owd(const struct mpt_path *p)
{
	uint64_t base = p->min_rtt_ns ? p->min_rtt_ns : p->srtt_ns;
	uint64_t q = p->srtt_ns > base ? p->srtt_ns - base : 0;

	return (double)(base + q) / 2;
}

static bool usable(const struct sched_view *v, const struct mpt_path *p)
{
	return p->up && sched_writable(v, p->local) && !path_stalled(p, v->now_ns);
}

static int ecf_pick(void *state, const struct sched_view *v, uint16_t *out, int max)
{
	struct ecf_state *s = state;
	double a[MPT_MAX_PATHS], best_a = 0, ready_a = 0, len_bits = (double)(v->len + WIRE_OVERHEAD) * 8e9;
	uint16_t idx[MPT_MAX_PATHS];
	int best = -1, ready = -1;
	unsigned n = 0;

	if (max < 1)
		return 0;
	for (unsigned i = 0; i < v->nlocal; i++) {
		for (unsigned j = 0; j < v->nremote; j++) {
			unsigned pidx = path_index(i, j);
			const struct mpt_path *p = &v->paths[pidx];
			uint64_t next;
			double rate, t;

			if (!usable(v, p))
				continue;
			rate = ecf_rate(s, p, pidx);
			next = pacer_next_ns(&p->pacer, v->len + WIRE_OVERHEAD);
			t = (next > v->now_ns ? (double)(next - v->now_ns) : 0) + ecf_owd(p) + len_bits / rate;
			a[n] = t;
			idx[n++] = (uint16_t)pidx;
			if (best < 0 || t < best_a) {
				best = (int)pidx;
				best_a = t;
			}
			if (next <= v->now_ns && (ready < 0 || t < ready_a)) {
				ready = (int)pidx;
				ready_a = t;
			}
		}
	}
	if (best < 0) {
		int pidx = roundrobin_next(v, &s->fallback_next);

		if (pidx < 0)
			return 0;
		out[0] = (uint16_t)pidx;
		return 1;
	}
	if (ready >= 0 && ready != best) {
		/* the earliest path is busy; may the earliest free one take the head? */
		double r_better = 0;

		for (unsigned k = 0; k < n; k++)
			if (a[k] < ready_a)
				r_better += ecf_rate(s, &v->paths[idx[k]], idx[k]);
		double allow = r_better > 0 ? (double)v->backlog_bytes * 8e9 / r_better : 0;

		/* a bulk flow (more than a share of the earliest path's rate) may go up to the
		 * queue's longest target later: the receiver orders its packets, and every path
		 * that can send adds its capacity */
		if ((double)v->flow_rate_bps * ECF_BULK_SHARE > ecf_rate(s, &v->paths[best], (unsigned)best) &&
		    s->loss[ready] <= ECF_BULK_LOSS)
			allow = (double)SCHED_QUEUE_MAX_NS;
		if (r_better <= 0 || (ready_a <= best_a + allow &&
				      ready_a <= best_a + (double)SCHED_QUEUE_MAX_NS))
			best = ready;
	}
	out[0] = (uint16_t)best;
	return 1;
}

static double ecf_weight(const void *state, const struct sched_view *v, unsigned path)
{
	const struct mpt_path *p = &v->paths[path];

	return usable(v, p) ? ecf_rate(state, p, path) : 0.0;
}

const struct mpt_sched_ops sched_ecf = {
	.name = "ecf",
	.summary = "paced paths, late binding: earliest completion, slow paths only for the backlog",
	.state_size = sizeof(struct ecf_state),
	.init = ecf_init,
	.pick = ecf_pick,
	.on_feedback = ecf_on_feedback,
	.on_path_state = ecf_on_path_state,
	.on_remote_new = ecf_on_remote_new,
	.weight = ecf_weight,
	.paced = true,
	.reinject = true,
};
