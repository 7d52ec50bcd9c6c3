/* reinject: copies of recently sent tun packets, for the schedulers that ask for reinjection
 * (ops->reinject). A ring of SENT_SLOTS records indexed by data_seq; reinject_record runs per
 * packet sent, reinject_stalled when a path stalls or is backlogged (engine_tick). Works on the
 * engine's state (core/engine_internal.h); reinject_init allocates the ring, reinject_free
 * frees it. */
#include "core/engine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SENT_SLOTS 1024

struct sent_copy {
	bool valid, reinjected;
	uint16_t len, pidx, flow_gap;
	uint32_t data_seq, path_seq;
};

int reinject_init(struct mpt_engine *e)
{
	e->sent = calloc(SENT_SLOTS, sizeof(*e->sent));
	e->sent_bytes = malloc((size_t)SENT_SLOTS * e->cfg.mtu);
	return e->sent && e->sent_bytes ? 0 : -ENOMEM;
}

void reinject_free(struct mpt_engine *e)
{
	free(e->sent);
	free(e->sent_bytes);
	e->sent = NULL;
	e->sent_bytes = NULL;
}

void reinject_record(struct mpt_engine *e, uint32_t data_seq, uint16_t flow_gap, unsigned pidx,
		     uint32_t path_seq, const uint8_t *pkt, size_t len)
{
	struct sent_copy *c;

	if (!e->sent)
		return;
	c = &e->sent[data_seq % SENT_SLOTS];
	*c = (struct sent_copy){ .valid = true, .len = (uint16_t)len, .pidx = (uint16_t)pidx,
				 .flow_gap = flow_gap, .data_seq = data_seq, .path_seq = path_seq };
	memcpy(e->sent_bytes + (size_t)(data_seq % SENT_SLOTS) * e->cfg.mtu, pkt, len);
}

void reinject_stalled(struct mpt_engine *e, unsigned stalled_pidx, unsigned max, uint64_t now)
{
	struct mpt_path *p = &e->paths[stalled_pidx];
	uint32_t first = e->next_data_seq - SENT_SLOTS;
	unsigned sent = 0;

	p->reinjected = true;
	for (uint32_t k = 0; k < SENT_SLOTS && sent < max; k++) {
		uint32_t seq = first + k;
		struct sent_copy *c = &e->sent[seq % SENT_SLOTS];
		const uint8_t *pkt = e->sent_bytes + (size_t)(seq % SENT_SLOTS) * e->cfg.mtu;
		struct sched_view v;
		uint16_t pick[SCHED_MAX_PICK];

		if (!c->valid || c->data_seq != seq || c->pidx != stalled_pidx || c->reinjected ||
		    !seq_lt(p->fb_high_seq, c->path_seq))
			continue;
		v = engine_view(e, now, c->len);
		if (e->cfg.sched->pick(e->sched_state, &v, pick, 1) < 1 || pick[0] == stalled_pidx)
			continue;
		c->reinjected = true;
		sent++;
		e->stats.reinjected++;
		engine_emit(e, pick[0], WIRE_KIND_DATA, seq, c->flow_gap, pkt, c->len, now);
		e->paths[pick[0]].tx_data++;
	}
}
