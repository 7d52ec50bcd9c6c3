/* The capacity estimator (see capacity.h). The windowed maximum keeps three samples, the best
 * of the window and the best of its later quarter and half, so that when the best ages out the
 * next best is at hand without storing every sample (Kathleen Nichols' algorithm, as Linux's
 * lib/minmax.c uses for BBR's bandwidth filter). */
#include "core/capacity.h"

#include <string.h>

static void win_reset(struct capacity *c, uint64_t now, uint64_t bps)
{
	for (int k = 0; k < 3; k++) {
		c->win_bps[k] = bps;
		c->win_ns[k] = now;
	}
}

static void win_set(struct capacity *c, int k, uint64_t now, uint64_t bps)
{
	c->win_bps[k] = bps;
	c->win_ns[k] = now;
}

static void win_update(struct capacity *c, uint64_t now, uint64_t bps)
{
	uint64_t dt;

	if (bps >= c->win_bps[0] || now - c->win_ns[2] > CAP_WINDOW_NS) {
		win_reset(c, now, bps);
		return;
	}
	if (bps >= c->win_bps[1]) {
		win_set(c, 1, now, bps);
		win_set(c, 2, now, bps);
	} else if (bps >= c->win_bps[2]) {
		win_set(c, 2, now, bps);
	}
	dt = now - c->win_ns[0];
	if (dt > CAP_WINDOW_NS) {
		/* the best aged out: the second takes over, and maybe the third */
		c->win_bps[0] = c->win_bps[1];
		c->win_ns[0] = c->win_ns[1];
		c->win_bps[1] = c->win_bps[2];
		c->win_ns[1] = c->win_ns[2];
		win_set(c, 2, now, bps);
		if (now - c->win_ns[0] > CAP_WINDOW_NS) {
			c->win_bps[0] = c->win_bps[1];
			c->win_ns[0] = c->win_ns[1];
			c->win_bps[1] = c->win_bps[2];
			c->win_ns[1] = c->win_ns[2];
		}
	} else if (c->win_ns[1] == c->win_ns[0] && dt > CAP_WINDOW_NS / 4) {
		/* a quarter of the window without a second best: this sample is it */
		win_set(c, 1, now, bps);
		win_set(c, 2, now, bps);
	} else if (c->win_ns[2] == c->win_ns[1] && dt > CAP_WINDOW_NS / 2) {
		win_set(c, 2, now, bps);
	}
}

void capacity_init(struct capacity *c, uint64_t now, unsigned desync)
{
	memset(c, 0, sizeof(*c));
	c->desync = (uint8_t)(desync % (CAP_PHASES - 2));
	c->mode = CAP_STARTUP;
	c->round_start_ns = now;
	c->round_min_qdelay_ns = UINT64_MAX;
	c->last_bps = UINT64_MAX;
}

/* The rate above or below the estimate that moves q_ns of queue over a round, at most a quarter
 * of the estimate (BBR's 5/4 and 3/4). */
static uint64_t queue_step(const struct capacity *c, uint64_t q_ns)
{
	uint64_t quarter = c->est_bps / 4;
	double step = c->round_ns ? (double)c->est_bps * (double)q_ns / (double)c->round_ns :
				    (double)quarter;

	return step < (double)quarter ? (uint64_t)step : quarter;
}

/* How far above the estimate a probe paces: the periodic one CAP_PROBE_QUEUE_NS of queue over
 * the round, a re-probe an eighth or CAP_REPROBE_QUEUE_NS of queue, the less. */
static uint64_t probe_excess(const struct capacity *c)
{
	uint64_t step;

	if (!c->reprobe)
		return queue_step(c, CAP_PROBE_QUEUE_NS);
	step = queue_step(c, CAP_REPROBE_QUEUE_NS);
	return step < c->est_bps / 8 ? step : c->est_bps / 8;
}

/* A probe begins (c->reprobe says which kind): the estimate that says it found capacity is the
 * present one grown by half what the probe sends above it, and by more than the window's
 * maximum of noisy samples moves by itself (1/CAP_GROWTH_MIN). */
static void probe_begin(struct capacity *c)
{
	uint64_t half = probe_excess(c) / 2;
	uint64_t least = c->est_bps / CAP_GROWTH_MIN;

	c->probe_goal_bps = c->est_bps + (half > least ? half : least);
}

static void end_round(struct capacity *c, uint64_t now)
{
	if (c->mode == CAP_STARTUP && c->round_busy) {
		if (c->est_bps >= c->full_bps + c->full_bps / 4) {
			c->full_bps = c->est_bps;
			c->full_rounds = 0;
		} else if (++c->full_rounds >= 3) {
			c->mode = CAP_PROBE;
			c->startup_end = CAP_END_FLAT;
			c->startup_end_bps = c->est_bps;
			c->forced_drain = true;
			c->phase = 1;		/* drain what start-up queued */
			c->drain = true;
		}
	} else if (c->mode == CAP_PROBE && c->phase == 1 && c->probe_goal_bps &&
		   c->est_bps >= c->probe_goal_bps) {
		/* the probe before this round found capacity (its sends were acknowledged in this
		 * one): the estimate is behind the path (it carried little until a download began,
		 * or the link came back), so probe again at once, rather than a step per eight
		 * rounds. A queue-free round says nothing of that: at the estimate, a path that
		 * carries exactly that shows none either */
		c->phase = 0;
		c->reprobe = true;
		c->forced_drain = false;
		probe_begin(c);
	} else if (c->mode == CAP_PROBE) {
		/* after a forced drain, the path's own place in the cycle: not every path's */
		if (c->forced_drain && c->phase == 1) {
			c->phase = (uint8_t)(2 + c->desync);
			c->forced_drain = false;
		} else {
			c->phase = (uint8_t)((c->phase + 1) % CAP_PHASES);
		}
		c->reprobe = false;
		/* phase 1 is judged against the probe before it (phase 0 always precedes it here;
		 * a forced drain, which comes from anywhere, has no goal) */
		if (c->phase == 0)
			probe_begin(c);
		/* drain only the queue that shows: with none, draining would idle the path */
		if (c->phase == 1) {
			c->drain = c->last_qdelay_ns > CAP_DRAIN_QDELAY_NS;
			c->drain_ns = c->last_qdelay_ns;
		}
	}
	c->round_busy = false;
	c->round_start_ns = now;
	if (c->round_min_qdelay_ns != UINT64_MAX)
		c->settle_qdelay_ns = c->round_min_qdelay_ns;
	c->round_min_qdelay_ns = UINT64_MAX;
}

void capacity_on_sample(struct capacity *c, uint64_t now, uint64_t bps, bool app_limited,
			bool pushed, uint64_t min_rtt_ns, uint64_t qdelay_ns)
{
	uint64_t round = min_rtt_ns > CAP_ROUND_MIN_NS ? min_rtt_ns : CAP_ROUND_MIN_NS;
	bool queued_through = c->last_qdelay_ns > CAP_QDELAY_NS;

	c->samples++;
	/* what it delivered while we sent it more: a rate it carries, app-limited or not */
	c->last_bps = pushed ? bps : UINT64_MAX;
	c->round_ns = round;
	c->last_qdelay_ns = qdelay_ns;
	if (qdelay_ns < c->round_min_qdelay_ns)
		c->round_min_qdelay_ns = qdelay_ns;
	if (bps < CAP_MIN_BPS)
		bps = CAP_MIN_BPS;
	if (qdelay_ns > CAP_QDELAY_NS &&
	    ((c->mode == CAP_STARTUP && (pushed || !app_limited)) || (pushed && bps < c->est_bps))) {
		/* The path holds a queue. In start-up, while we fill it, that is the end of it
		 * (paced at twice the estimate, a queue means the pipe is full); not while it
		 * carries only what the tunnel gave it (probes before any data, or packets the
		 * scheduler sent elsewhere) and took it all: that queue is someone else's, or
		 * jitter, and ending start-up on it left the path at the probes' rate, to climb
		 * a step per probe cycle (on the testbed, a fibre path whose idle probes met a
		 * 10 ms delay spike as the tunnel came up took 10 s to reach 50 Mbit/s, and the
		 * download through it ran at 62 instead of 85). Taking less than we sent, it says the
		 * capacity shrank: the estimate goes down a step per sample (the queue may have
		 * formed late in the sample's span) towards it, or to it when the queue showed
		 * at the sample before as well (queued_through: full over the whole span).
		 * Either way the next phase drains.
		 * A queue without that (a cellular link's jitter, someone else's traffic) says
		 * nothing about what we may send. */
		if (pushed && bps < c->est_bps) {
			uint64_t step = c->est_bps - c->est_bps / CAP_DROP_STEP;

			c->drops++;
			c->est_bps = bps > step || queued_through ? bps : step;
			win_reset(c, now, c->est_bps);
		} else if (bps > c->est_bps) {
			/* it queued, but delivered more than the estimate: it carries that much
			 * (start-up's last round, which filled the pipe) */
			win_update(c, now, bps);
			c->est_bps = c->win_bps[0];
		}
		if (c->mode == CAP_STARTUP) {
			c->startup_end = CAP_END_QUEUE;
			c->startup_end_bps = c->est_bps;
		}
		c->mode = CAP_PROBE;
		c->phase = 1;
		c->drain = true;
		c->forced_drain = true;
		c->reprobe = false;
		c->probe_goal_bps = 0;
		c->round_busy = false;
		c->round_start_ns = now;
		return;
	}
	if (!app_limited || bps > c->est_bps) {
		win_update(c, now, bps);
		c->est_bps = c->win_bps[0];
	}
	/* busy: kept busy by its pacer, or (app-limited in between) delivering about all the
	 * pacer allowed: either way, what the pacer allows is what limits it */
	if (!app_limited || bps * 5 >= capacity_pacing_bps(c) * 4)
		c->round_busy = true;
	if (now - c->round_start_ns >= round)
		end_round(c, now);
}

uint64_t capacity_pacing_bps(const struct capacity *c)
{
	uint64_t rate;

	if (c->mode == CAP_STARTUP)
		rate = c->est_bps / 8 * 16;
	else if (c->phase == 0)
		rate = c->est_bps + probe_excess(c);
	else if (c->phase == 1 && c->drain)
		rate = c->forced_drain ? c->est_bps / 8 * 6 :
		       c->est_bps - queue_step(c, c->drain_ns > CAP_PROBE_QUEUE_NS ? c->drain_ns :
							       CAP_PROBE_QUEUE_NS);
	else if (c->settle_qdelay_ns > CAP_DRAIN_QDELAY_NS) {
		/* between the probes, a queue that stood through the last round (the estimate a
		 * little above the path: the window keeps the best of noisy samples) drains half
		 * its excess a round, at most 1/CAP_SETTLE_MAX of the rate: a delay that is no
		 * queue (a route that got longer, until the least delay is renewed) costs no more
		 * than that */
		uint64_t step = queue_step(c, (c->settle_qdelay_ns - CAP_DRAIN_QDELAY_NS) / 2);
		uint64_t most = c->est_bps / CAP_SETTLE_MAX;

		rate = c->est_bps - (step < most ? step : most);
	} else
		rate = c->est_bps;

	/* a path seen only idle (probes) is not paced below the starting rate: the first data
	 * must be able to find out what it carries */
	if (rate < CAP_INIT_BPS)
		rate = CAP_INIT_BPS;
	return rate;
}

uint64_t capacity_estimate_bps(const struct capacity *c)
{
	return c->est_bps;
}
