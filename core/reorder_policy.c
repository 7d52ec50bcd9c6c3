/* reorder_policy: when the engine gives up waiting for a gap (rp_*). core/reorder.c is the
 * buffer; this file decides the floor (which sequence numbers no peer path can still bring),
 * the hold timeout (about the spread of the paths' delays) and delivers to the tun side. It
 * works on the engine's state (core/engine_internal.h); rp_init allocates the buffer, rp_free
 * frees it; rp_on_data runs per data packet, the rest per tick. */
#include "core/engine_internal.h"

#include <errno.h>

#include "core/reorder.h"

/* How long a peer path may be silent and still hold back the reorder floor. */
#define FLOOR_STALE_NS (2 * PATH_PROBE_NS)
#define REORDER_MIN_NS (10ull * 1000000)
#define REORDER_MAX_NS (300ull * 1000000)
#define REORDER_MARGIN_NS (10ull * 1000000)

int rp_init(struct mpt_engine *e)
{
	e->reorder_timeout_ns = e->cfg.reorder_ns > 0 ? (uint64_t)e->cfg.reorder_ns : REORDER_MIN_NS;
	if (e->cfg.reorder_ns == 0)
		return 0;
	e->reorder = reorder_new(ENGINE_REORDER_SLOTS, e->cfg.mtu);
	return e->reorder ? 0 : -ENOMEM;
}

void rp_free(struct mpt_engine *e)
{
	reorder_free(e->reorder);
}

static void deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct mpt_engine *e = ctx;

	e->stats.tun_out++;
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

void rp_on_data(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint32_t data_seq,
		uint16_t flow_gap, uint64_t now)
{
	if (!e->reorder) {
		deliver(e, pkt, len);
		return;
	}
	reorder_insert(e->reorder, data_seq, flow_gap, pkt, len, now, deliver, e);
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
void rp_update_timeout(struct mpt_engine *e)
{
	uint64_t lo = UINT64_MAX, hi = 0, t;

	if (e->cfg.reorder_ns != ENGINE_REORDER_AUTO)
		return;
	for (unsigned i = 0; i < e->cfg.nlocal; i++) {
		for (unsigned j = 0; j < e->nremote; j++) {
			const struct mpt_path *p = &e->paths[path_index(i, j)];

			if (!p->up || !p->srtt_ns)
				continue;
			if (p->srtt_ns < lo)
				lo = p->srtt_ns;
			if (p->srtt_ns > hi)
				hi = p->srtt_ns;
		}
	}
	t = hi >= lo ? hi - lo + REORDER_MARGIN_NS : REORDER_MIN_NS;
	e->reorder_timeout_ns = t < REORDER_MIN_NS ? REORDER_MIN_NS :
				t > REORDER_MAX_NS ? REORDER_MAX_NS : t;
}
