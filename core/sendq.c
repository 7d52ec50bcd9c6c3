/* sendq: the tunnel's own queue, for schedulers that bind late (ops->paced, core/sched.h). A tun
 * packet is classified by its inner 5-tuple (core/flow.c) into the fair queue (core/fq.c), and
 * leaves when the path the scheduler chooses for it can send by its pacer (core/pacer.c, at the
 * rate core/capacity.c estimates). So what must wait waits here, where sparse flows skip it and
 * CoDel keeps each bulk flow's share short, and the uplinks' own buffers stay nearly empty.
 * The queue is allocated with the engine (engine_new) and freed with it; nothing here allocates
 * per packet. */
#include "core/engine_internal.h"

#include <errno.h>

#include "core/fq.h"

int sendq_new(struct mpt_engine *e)
{
	e->fq = fq_new(SENDQ_BUCKETS, SENDQ_PACKETS, e->cfg.mtu, SENDQ_TARGET_NS, SENDQ_INTERVAL_NS);
	if (!e->fq)
		return -ENOMEM;
	e->sendq_target_ns = SENDQ_TARGET_NS;
	return 0;
}

void sendq_free(struct mpt_engine *e)
{
	fq_free(e->fq);
	e->fq = NULL;
}

int sendq_push(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint64_t now)
{
	int rc = fq_enqueue(e->fq, engine_flow_hash(e, pkt, len), pkt, len, now);

	if (rc < 0)
		return rc;
	sendq_pump(e, now);
	return 0;
}

/* Every path that could send now and got nothing: its delivery samples from here on say what
 * it was given, not what it can carry. */
static void mark_idle(struct mpt_engine *e, int except, size_t len, uint64_t now)
{
	for (unsigned j = 0; j < e->nremote; j++) {
		for (unsigned i = 0; i < e->cfg.nlocal; i++) {
			unsigned pidx = path_index(i, j);
			struct mpt_path *p = &e->paths[pidx];

			if ((int)pidx != except && p->up && pacer_can_send(&p->pacer, len, now))
				path_mark_idle(p);
		}
	}
}

void sendq_pump(struct mpt_engine *e, uint64_t now)
{
	size_t len;

	if (!e->fq || !e->cur.live)
		return;
	/* no socket can take a datagram: the queue waits (engine_set_writable wakes it) */
	while (e->writable_mask && (len = fq_peek_len(e->fq, now)) != 0) {
		struct sched_view v = engine_view(e, now, len);
		const uint8_t *pkt;
		uint32_t hash;
		uint16_t pick;
		uint64_t at;

		v.backlog_bytes = fq_peek_flow_bytes(e->fq);
		v.flow_rate_bps = fq_peek_flow_rate(e->fq, now);
		if (!e->nremote || e->cfg.sched->pick(e->sched_state, &v, &pick, 1) < 1) {
			(void)fq_dequeue(e->fq, now, &len, NULL);
			e->stats.drop_no_path++;
			continue;
		}
		at = pacer_next_ns(&e->paths[pick].pacer, len + WIRE_OVERHEAD);
		if (at > now) {
			/* it waits for its path: the others could send, but the head is not theirs */
			mark_idle(e, pick, len + WIRE_OVERHEAD, now);
			engine_lower_deadline(e, at);
			return;
		}
		pkt = fq_dequeue(e->fq, now, &len, &hash);
		if (!pkt)
			continue;
		engine_send_data(e, &pick, 1, pkt, len, hash, now);
	}
	if (!fq_backlog_packets(e->fq))
		mark_idle(e, -1, e->cfg.mtu + WIRE_OVERHEAD, now);
}

/* CoDel's target: a few ms, plus the spread of the one-way delays (half their smoothed RTTs,
 * as sched/ecf.c sees them) of the live paths that carried data in the last SENDQ_SPREAD_NS,
 * since the queue that keeps a far path busy is what ECF uses it for; a path the scheduler
 * leaves idle (too slow and far to help) must not lengthen every bulk flow's queue. And at
 * least the round trip of the farthest of them (twice its one-way delay): a Reno flow halves
 * its window at a drop, and with less than about an RTT queued behind it (the buffer that
 * keeps a bottleneck busy through the halving) its paths go idle until it grows back, the far
 * ones first. In the simulator, 4 x 20 Mbit/s at 40 ms: 10 ms gave 63.6 Mbit/s, 20 ms 67.7;
 * on the testbed, one Reno upload over 50/30/10/10 Mbit/s: 81 Mbit/s with one one-way delay
 * (40 ms), 84 with the round trip (60, the cap). Capped (SCHED_QUEUE_MAX_NS), so that a very
 * far path cannot make every bulk flow's queue long. Only the bulk flow's own packets wait
 * that long: a sparse flow is served first. */
void sendq_update_target(struct mpt_engine *e, uint64_t now)
{
	uint64_t lo = UINT64_MAX, hi = 0, t;

	if (!e->fq)
		return;
	for (unsigned j = 0; j < e->nremote; j++) {
		for (unsigned i = 0; i < e->cfg.nlocal; i++) {
			const struct mpt_path *p = &e->paths[path_index(i, j)];
			uint64_t owd = p->srtt_ns / 2;

			if (!p->up || !owd || !p->tx_data || now - p->last_tx_data_ns > SENDQ_SPREAD_NS)
				continue;
			lo = owd < lo ? owd : lo;
			hi = owd > hi ? owd : hi;
		}
	}
	t = SENDQ_TARGET_NS + (hi > lo ? hi - lo : 0);
	if (hi != 0 && t < 2 * hi)
		t = 2 * hi;
	if (t > SENDQ_TARGET_MAX_NS)
		t = SENDQ_TARGET_MAX_NS;
	if (t != e->sendq_target_ns && fq_set_target(e->fq, t, t > SENDQ_INTERVAL_NS ? t : SENDQ_INTERVAL_NS) == 0)
		e->sendq_target_ns = t;
}
