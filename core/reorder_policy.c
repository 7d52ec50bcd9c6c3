/* reorder_policy: when the engine gives up waiting for a gap (rp_*). core/reorder.c is the
 * buffer; this file decides the floor (which sequence numbers no peer path can still bring),
 * each packet's hold (from the one-way delays the peer's paths show) and delivers to the tun
 * side. It
 * works on the engine's state (core/engine_internal.h); rp_init allocates the buffer, rp_free
 * frees it; rp_on_data runs per data packet, the rest per tick. */
#include "core/engine_internal.h"

#include <errno.h>

#include "core/reorder.h"

/* How long a peer path may be silent and still hold back the reorder floor. */
#define FLOOR_STALE_NS (2 * PATH_PROBE_NS)
/* The longest hold, and what a gap waits beyond its packets' holds (rp_hold). */
#define REORDER_MAX_NS (300ull * 1000000)
#define REORDER_MARGIN_NS (5ull * 1000000)

int rp_init(struct mpt_engine *e)
{
	e->reorder_timeout_ns = e->cfg.reorder_ns > 0 ? (uint64_t)e->cfg.reorder_ns :
				REORDER_MARGIN_NS;
	if (e->cfg.reorder_ns == 0)
		return 0;
	e->reorder = reorder_new(ENGINE_REORDER_SLOTS, e->cfg.mtu);
	return e->reorder ? 0 : -ENOMEM;
}

void rp_free(struct mpt_engine *e)
{
	reorder_free(e->reorder);
	e->reorder = NULL;
}

static void deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct mpt_engine *e = ctx;

	e->stats.tun_out++;
	e->stats.tun_out_bytes += len;
	e->io.deliver(e->io.ctx, pkt, len);
}

/* The lowest data_seq that may still be in flight on some peer path. It proves a gap lost
 * only when every path is accounted for: as many recently heard peer paths as we have live
 * paths of our own (the same links, the other way). A path not heard from yet may still carry
 * any sequence number. Returns false when the floor proves nothing. */
static bool rp_floor(const struct mpt_engine *e, uint64_t now, uint32_t *floor)
{
	unsigned heard = 0;

	for (unsigned k = 0; k < e->nactive_rx; k++) {
		const struct path_rx *rx = &e->rx_paths[e->active_rx[k]];

		if (now - rx->last_rx_ns > FLOOR_STALE_NS)
			continue;
		if (!heard || seq_lt(rx->data_floor, *floor))
			*floor = rx->data_floor;
		heard++;
	}
	return heard > 0 && heard >= engine_paths_up(e, true, now);
}

void rp_release(struct mpt_engine *e, uint64_t now)
{
	uint32_t floor = reorder_next(e->reorder);

	if (!rp_floor(e, now, &floor))
		floor = reorder_next(e->reorder);
	reorder_release(e->reorder, floor, now, e->reorder_timeout_ns, deliver, e);
}

/* How much later than this packet (which came by rx) a packet sent before it may still
 * arrive: the slowest peer path that carried data lately (a path with only probes on it
 * cannot be holding a data packet) by its delay plus four deviations, less this packet's own
 * delay. One-way delays compare exactly across paths (core/path.h), so the hold
 * follows what each path shows now: a path holding a queue holds gaps longer, equal paths
 * hardly at all. */
static uint64_t rp_hold(const struct mpt_engine *e, const struct path_rx *rx, uint64_t now)
{
	int64_t worst = 0;
	bool any = false;

	for (unsigned k = 0; k < e->nactive_rx; k++) {
		const struct path_rx *p = &e->rx_paths[e->active_rx[k]];
		int64_t late;

		if (!p->owd_valid || (p != rx && now - p->last_data_ns > FLOOR_STALE_NS))
			continue;
		late = (int64_t)(int32_t)(p->owd_us - rx->owd_last_us) + 4 * (int64_t)p->owd_var_us;
		if (!any || late > worst)
			worst = late;
		any = true;
	}
	if (worst <= 0)
		return 0;
	return (uint64_t)worst * 1000 > REORDER_MAX_NS ? REORDER_MAX_NS : (uint64_t)worst * 1000;
}

void rp_on_data(struct mpt_engine *e, const struct path_rx *rx, const uint8_t *pkt, size_t len,
		uint32_t data_seq, uint16_t flow_gap, uint64_t now)
{
	uint64_t hold;

	if (!e->reorder) {
		deliver(e, pkt, len);
		return;
	}
	hold = e->cfg.reorder_ns == ENGINE_REORDER_AUTO ? rp_hold(e, rx, now) : 0;
	reorder_insert(e->reorder, data_seq, flow_gap, pkt, len, now, hold, deliver, e);
	if (reorder_waiting(e->reorder)) {
		rp_release(e, now);
		engine_lower_deadline(e, reorder_deadline(e->reorder, e->reorder_timeout_ns));
	}
}

void rp_resync(struct mpt_engine *e)
{
	if (e->reorder)
		reorder_resync(e->reorder, deliver, e);
}

/* Hold gaps for about the spread of the paths' delays, plus a margin. */
