/* capacity: one path's estimated capacity, from which its pacer takes its rate (issue 11). A plain
 * struct embedded in struct mpt_path; no allocation, no clock (every call takes `now`). Runs per
 * feedback.
 *
 * The model is BBR's, reduced to what a tunnel sees: the peer reports bytes received per path,
 * and each feedback gives a delivery-rate sample (core/path.c: bytes the peer received between
 * two feedbacks over the longer of their send span and their arrival span, so that a sender
 * that sent slower than the path is not taken for the path's rate, nor a burst that arrived
 * compressed for more).
 *   - The estimate is the largest sample of the last CAP_WINDOW_NS. A sample taken while the
 *     path was not kept busy (app-limited: the tunnel had nothing for it, or sent it elsewhere)
 *     only raises the estimate: it says the path carries at least that much, not at most.
 *   - The pacing rate is the estimate times a gain. Start-up doubles it each round (gain 2)
 *     until three busy rounds in a row fail to raise the estimate by a quarter; then the gain
 *     cycles up, down, 1, 1, 1, 1, 1, 1, one phase a round: the up phase finds capacity that
 *     grew, the down phase drains the queue that shows as it begins (and is 1 when there is
 *     none: a tunnel has no other flow's queue to keep its uplink busy meanwhile). BBR's up is
 *     5/4; here it moves only CAP_PROBE_QUEUE_NS of queue over the round, since 5/4 over a far
 *     path's 80 ms round queues 20 ms there, and every packet of a flow spread over that path
 *     waits for it at the receiver (per-flow order): the far path's probe lengthens the whole
 *     flow's RTT, and an inner BBR, capped at twice its BDP, loses throughput (one upload on
 *     the testbed's 50/30/10/10 mix: 83 Mbit/s with 5/4, 87 with this). The down phase drains
 *     the queue it sees (at least the probe's, at most a quarter of the round: BBR's 3/4), so
 *     a queue left from start-up or a re-probe does not stand for good behind a gentle probe.
 *     The drain that ends start-up, or follows a queue, stays 3/4. In the phases between, a
 *     queue that stood through the last round (its samples' least queueing delay: a jitter
 *     spike is no queue) of more than CAP_DRAIN_QDELAY_NS drains half its excess a round, at
 *     most 1/CAP_SETTLE_MAX of the rate, since a route that got longer reads as a queue until
 *     the peer renews its least one-way delay (every 10 s). The window's maximum of noisy
 *     samples runs a little above the path (1-3 % on the testbed), too little for a sample to
 *     count as pushed and lower it, so without this a queue builds between the probes (to
 *     10-12 ms on the testbed's fibre path, where every ping on it waits); with it, the queue
 *     settles near 2 ms plus twice the excess over a round (about 4.5 ms on a 40 ms round, 11
 *     on a 150 ms one, at 3 %). When a probe found capacity (by the end of the round after
 *     it, which saw its sends acknowledged, the estimate grew by half the probe's excess and
 *     by 1/CAP_GROWTH_MIN), another follows at once, at 9/8 or what moves
 *     CAP_REPROBE_QUEUE_NS of queue over the round if less: a path that carried little until
 *     a download began, or whose link came back, catches up in a few cycles' time, not a
 *     step per eight rounds. Not on a busy round without a queue: a path that carries
 *     exactly its estimate shows none either, and probing it every other round kept far
 *     paths swinging between 9/8 and a forced 3/4. A round is busy when a sample in it was
 *     not app-limited or delivered four fifths of the pacing rate or more (start-up counts
 *     only those).
 *   - Capacity that shrank (a cellular path, every second) shows as delay: when the path's
 *     queueing delay (its latest forward one-way delay above the least, as the peer reports
 *     it) passes CAP_QDELAY_NS while it delivers
 *     less than we send into it, the path is saturated, so a sample below the estimate,
 *     app-limited or not, says it carries less now:
 *     the estimate steps down towards it (at most 1/CAP_DROP_STEP per sample, since the queue
 *     may have formed late in the sample's span; but to the sample itself when the queue
 *     showed at the sample before too: it stood through the span, so the path was full all
 *     along and delivered what it carries), start-up ends if it was on, and the next phase is
 *     the draining one. A queued sample above the estimate raises it all the same: the round
 *     that ends start-up with a queue is the one that filled the pipe (on the testbed's fibre
 *     path it delivered 48.5 Mbit/s, and the estimate stayed at 41.5 for 400 ms). In
 *     start-up, a queue ends it when we kept the path busy or sent it more than it
 *     delivered; a queue on a path that took all the tunnel gave it (probes alone, before
 *     any data) is jitter or someone else's, and says nothing of what it carries.
 *     Known gap (README, "What the simulator shows today"): "pushed" compares a sample's
 *     arrival span with its send span (the same packets), so a link whose own delay jitters
 *     by a few ms fakes it, and with a one-way delay over CAP_QDELAY_NS above the least
 *     (jitter of 6 ms or more) ends start-up and steps the estimate down on no queue.
 * A round is the path's minimum RTT, at least CAP_ROUND_MIN_NS (feedback comes every 20 ms).
 * Before its first sample a path is paced at CAP_INIT_BPS. */
#ifndef MPT_CAPACITY_H
#define MPT_CAPACITY_H

#include <stdbool.h>
#include <stdint.h>

#define CAP_INIT_BPS 2000000ull
#define CAP_MIN_BPS 64000ull
#define CAP_WINDOW_NS (1000ull * 1000000)
#define CAP_ROUND_MIN_NS (40ull * 1000000)
#define CAP_QDELAY_NS (10ull * 1000000)
#define CAP_PHASES 8
/* The drain phase runs only when the path showed more queueing than this as the probe ended. */
#define CAP_DRAIN_QDELAY_NS (2ull * 1000000)
#define CAP_DROP_STEP 8		/* a queueing sample lowers the estimate by at most 1/8 */
/* Between the probes, a standing queue is drained at most 1/CAP_SETTLE_MAX below the estimate.
 * An estimate further above the path than that shows as pushed (an eighth) in the probe's
 * round, where a queue over CAP_QDELAY_NS then lowers it. */
#define CAP_SETTLE_MAX 8
/* The periodic probe adds this much queue over a round (its drain takes off at least as much). */
#define CAP_PROBE_QUEUE_NS (3ull * 1000000)
/* A re-probe (the probe before found capacity) paces 9/8 of the estimate, or less: what moves
 * this much queue over the round, should the capacity end there. */
#define CAP_REPROBE_QUEUE_NS (5ull * 1000000)
/* A probe found capacity when the estimate grew by half its excess, and by 1/CAP_GROWTH_MIN. */
#define CAP_GROWTH_MIN 64

enum cap_mode { CAP_STARTUP, CAP_PROBE };
/* Why start-up ended: not yet, three busy rounds without growth, or a queue. */
enum cap_startup_end { CAP_END_NONE, CAP_END_FLAT, CAP_END_QUEUE };

struct capacity {
	uint8_t mode;
	uint8_t phase;			/* CAP_PROBE: index into the gain cycle */
	uint8_t full_rounds;		/* start-up: busy rounds without growth */
	uint64_t est_bps;		/* the windowed maximum */
	uint64_t win_bps[3];		/* the window's best, second and third best, by age */
	uint64_t win_ns[3];
	uint64_t round_start_ns;
	uint64_t round_ns;		/* the last sample's round (min RTT, >= CAP_ROUND_MIN_NS) */
	uint64_t full_bps;		/* start-up: the estimate growth is measured from */
	bool round_busy;		/* a busy sample arrived in this round */
	bool drain;			/* this cycle's drain phase runs (the probe queued) */
	uint64_t drain_ns;		/* ... and drains this much queue (what showed as it began) */
	bool reprobe;			/* this up round is a re-probe, at 9/8 at most */
	uint64_t probe_goal_bps;	/* the last probe found capacity if the estimate reaches
					 * this by the round after it (0: none to judge) */
	uint64_t last_bps;		/* the last sample if pushed (UINT64_MAX if not) */
	uint64_t last_qdelay_ns;
	uint64_t round_min_qdelay_ns;	/* the least queueing delay of this round's samples */
	uint64_t settle_qdelay_ns;	/* ... of the last round: the queue that stood through it */
	uint64_t samples, drops;	/* for status and tests */
	uint8_t startup_end;		/* enum cap_startup_end, for status */
	uint8_t desync;			/* 0..CAP_PHASES-3: rounds skipped after a forced drain */
	bool forced_drain;		/* this drain round was forced (start-up's end, a queue) */
	uint64_t startup_end_bps;	/* the estimate when start-up ended */
};

/* desync: the path's own offset into the gain cycle (any number; taken modulo CAP_PHASES - 2),
 * so that paths that leave start-up together, or queue together, do not then probe and drain
 * in step: four equal paths draining at once take a quarter off the tunnel's rate. */
void capacity_init(struct capacity *c, uint64_t now, unsigned desync);
/* One delivery-rate sample. min_rtt_ns and qdelay_ns are the path's as of this feedback. */
/* pushed: over the sample's span we sent into the path faster than it delivered. */
void capacity_on_sample(struct capacity *c, uint64_t now, uint64_t bps, bool app_limited,
			bool pushed, uint64_t min_rtt_ns, uint64_t qdelay_ns);
/* The rate to pace the path at now. */
uint64_t capacity_pacing_bps(const struct capacity *c);
/* The estimate (0 before any sample). */
uint64_t capacity_estimate_bps(const struct capacity *c);

#endif
