/* The engine. Receive order matters for DESIGN's property 2: decode the clear header, check
 * the replay window read-only, authenticate, and only then touch any state. */
#include "core/engine.h"
#include "core/engine_internal.h"
#include "core/flow.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/replay.h"
#include "core/rng.h"
#include "core/session.h"
#include "core/wire.h"

struct sched_view engine_view(struct mpt_engine *e, uint64_t now, size_t len)
{
	return (struct sched_view){
		.now_ns = now, .rng = &e->rng, .paths = e->paths,
		.nlocal = e->cfg.nlocal, .nremote = e->nremote,
		.writable_mask = e->writable_mask, .len = len,
	};
}

void engine_lower_deadline(struct mpt_engine *e, uint64_t t)
{
	if (t < e->deadline)
		e->deadline = t;
}

int engine_activate(struct mpt_engine *e)
{
	const struct mpt_sched_ops *ops = e->cfg.sched;

	if (e->active)
		return 0;
	if (rp_init(e) < 0 || (ops->reinject && reinject_init(e) < 0) ||
	    (ops->paced && sendq_new(e) < 0)) {
		rp_free(e);
		reinject_free(e);
		sendq_free(e);
		return -ENOMEM;
	}
	e->active = true;
	return 0;
}

struct mpt_engine *engine_new(const struct engine_config *cfg, const struct engine_io *io,
			      uint64_t now, int *err)
{
	const struct mpt_sched_ops *ops = cfg->sched;
	struct mpt_engine *e;
	int rc = -EINVAL;

	if (!ops || !ops->init || !ops->pick || !io->send || !io->deliver || !io->entropy ||
	    cfg->nlocal == 0 || cfg->nlocal > MPT_MAX_LOCAL ||
	    cfg->mtu == 0 || cfg->mtu > WIRE_MAX_DGRAM - WIRE_OVERHEAD)
		goto fail;
	rc = -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto fail;
	e->cfg = *cfg;
	if (!e->cfg.rekey_ns)
		e->cfg.rekey_ns = ENGINE_REKEY_NS;
	e->io = *io;
	rng_seed(&e->rng, cfg->seed);
	memcpy(e->master, cfg->key, sizeof(e->master));
	sodium_memzero(e->cfg.key, sizeof(e->cfg.key));
	if (cfg->have_hub_pub) {
		memcpy(e->hub_pub, cfg->hub_pub, sizeof(e->hub_pub));
	} else {
		uint8_t sk[32];

		session_hub_from_master(e->master, sk, e->hub_pub);
		sodium_memzero(sk, sizeof(sk));
	}
	e->hs_bucket.tokens = e->stale_bucket.tokens = HS_BURST;
	e->writable_mask = (1u << cfg->nlocal) - 1;
	/* the flow hash's key: not the scheduler's rng, whose draws stay as they were */
	e->flow_seed = cfg->seed ^ 0x6d7074756e666c6full;
	e->deadline = UINT64_MAX;
	if (cfg->role == ENGINE_CLIENT && engine_activate(e) < 0)
		goto fail_free;
	if (ops->state_size) {
		e->sched_state = calloc(1, ops->state_size);
		if (!e->sched_state)
			goto fail_free;
	}
	rc = ops->init(e->sched_state, cfg->sched_args);
	if (rc < 0) {
		free(e->sched_state);
		e->sched_state = NULL;
		goto fail_free;
	}
	(void)now;
	return e;
fail_free:
	engine_free(e);
fail:
	if (err)
		*err = rc;
	return NULL;
}

void engine_free(struct mpt_engine *e)
{
	if (!e)
		return;
	if (e->sched_state && e->cfg.sched->release)
		e->cfg.sched->release(e->sched_state);
	free(e->sched_state);
	rp_free(e);
	reinject_free(e);
	sendq_free(e);
	sodium_memzero(e, sizeof(*e));	/* master, session keys, handshake secrets */
	free(e);
}

/* A configured address (the client's) starts up; a learnt one (the server's) only once it
 * has answered our probes, so that it carries no data before it proved reachable. */
static void init_remote(struct mpt_engine *e, unsigned j, const struct mpt_addr *addr, bool up,
			uint64_t now)
{
	e->remotes[j].addr = *addr;
	e->remotes[j].rx_packets = 0;
	e->remotes[j].last_rx_ns = now;
	for (unsigned i = 0; i < e->cfg.nlocal; i++) {
		path_init(&e->paths[path_index(i, j)], i, j, up, now);
		if (e->cfg.sched->paced)
			path_pace_init(&e->paths[path_index(i, j)], now);
	}
	engine_lower_deadline(e, now);
}

int engine_add_remote(struct mpt_engine *e, const struct mpt_addr *addr, uint64_t now)
{
	for (unsigned j = 0; j < e->nremote; j++)
		if (!memcmp(&e->remotes[j].addr, addr, sizeof(*addr)))
			return -EEXIST;
	if (e->nremote == MPT_MAX_REMOTE)
		return -ENOSPC;
	init_remote(e, e->nremote, addr, true, now);
	return (int)e->nremote++;
}

void engine_set_writable(struct mpt_engine *e, unsigned local, bool writable)
{
	if (local >= e->cfg.nlocal)
		return;
	if (writable) {
		e->writable_mask |= 1u << local;
		if (e->fq && fq_backlog_packets(e->fq))
			engine_lower_deadline(e, 0);	/* the queue may move again: tick now */
	} else
		e->writable_mask &= ~(1u << local);
}

/* Frame, seal and send one datagram on path pidx. */
uint32_t engine_emit(struct mpt_engine *e, unsigned pidx, uint8_t kind, uint32_t data_seq,
		     uint16_t flow_gap, const uint8_t *payload, size_t plen, uint64_t now)
{
	struct mpt_path *p = &e->paths[pidx];
	uint8_t *buf = e->txbuf;
	size_t flen = WIRE_FRAME_LEN + plen;
	size_t dlen = WIRE_HDR_LEN + flen + WIRE_TAG_LEN;
	struct keyset *ks = &e->cur;
	struct wire_hdr h = { .type = WIRE_TYPE_DATA, .key_phase = ks->phase,
			      .index = e->cfg.role == ENGINE_CLIENT ? ks->index : 0,
			      .counter = ks->tx_counter++ };
	struct wire_frame f = {
		.kind = kind, .path_id = path_id(p->local, p->remote),
		.tx_us = (uint32_t)(now / 1000), .data_seq = data_seq, .flow_gap = flow_gap,
	};

	f.path_seq = path_on_send(p, now, dlen, kind != WIRE_KIND_FEEDBACK);
	wire_hdr_encode(&h, buf, WIRE_HDR_LEN);
	wire_frame_encode(&f, buf + WIRE_HDR_LEN, WIRE_FRAME_LEN);
	if (plen)
		memcpy(buf + WIRE_HDR_LEN + WIRE_FRAME_LEN, payload, plen);
	aead_seal(&ks->tx, h.counter, buf, WIRE_HDR_LEN, buf + WIRE_HDR_LEN, flen,
		  buf + WIRE_HDR_LEN);
	e->stats.tx_dgrams++;
	e->stats.tx_bytes += dlen;
	e->io.send(e->io.ctx, p->local, &e->remotes[p->remote].addr, buf, dlen);
	engine_lower_deadline(e, now + path_probe_interval(p));
	return f.path_seq;
}

/* The hash of pkt's inner flow (core/flow.c), under this engine's seed. */
uint32_t engine_flow_hash(const struct mpt_engine *e, const uint8_t *pkt, size_t len)
{
	struct flow_key key;

	/* a packet that does not parse still has a key (flow.h): junk is one flow */
	(void)flow_classify(&key, pkt, len);
	return flow_hash(&key, e->flow_seed);
}

/* The gap to the previous data packet of the same flow (its hash's link), 0 when none. A slot
 * remembers whose it is: another flow whose hash meets it there starts afresh instead of being
 * held at the receiver behind a packet that is not its own (a ping behind a bulk flow's). */
static uint16_t flow_link(struct mpt_engine *e, uint32_t flow_hash, uint32_t data_seq)
{
	unsigned b = flow_hash % ENGINE_FLOW_LINKS;
	uint32_t gap = data_seq - e->flow_last[b];
	bool known = (e->flow_known[b / 64] >> (b % 64) & 1) && e->flow_tag[b] == flow_hash;

	e->flow_tag[b] = flow_hash;
	e->flow_last[b] = data_seq;
	e->flow_known[b / 64] |= 1ull << (b % 64);
	return known && gap <= UINT16_MAX ? (uint16_t)gap : 0;
}

/* One tun packet on the paths picked for it (more than one: copies), now. */
void engine_send_data(struct mpt_engine *e, const uint16_t *picks, int n, const uint8_t *pkt,
		      size_t len, uint32_t flow_hash, uint64_t now)
{
	struct sched_view v = engine_view(e, now, len);
	uint32_t data_seq = e->next_data_seq++;
	uint16_t gap = flow_link(e, flow_hash, data_seq);

	for (int k = 0; k < n; k++) {
		uint32_t path_seq = engine_emit(e, picks[k], WIRE_KIND_DATA, data_seq, gap, pkt,
						len, now);

		if (k == 0)
			reinject_record(e, data_seq, gap, picks[k], path_seq, pkt, len);
		e->paths[picks[k]].tx_data++;
		e->paths[picks[k]].last_tx_data_ns = now;
		if (e->cfg.sched->on_sent)
			e->cfg.sched->on_sent(e->sched_state, &v, picks[k], len);
	}
}

int engine_send(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct sched_view v = engine_view(e, now, len);
	uint16_t picks[SCHED_MAX_PICK];
	int n;

	e->stats.tun_in++;
	e->stats.tun_in_bytes += len;
	if (len == 0 || len > e->cfg.mtu) {
		e->stats.drop_oversize++;
		return -EMSGSIZE;
	}
	if (!e->cur.live) {
		e->stats.drop_no_session++;
		return -ENOTCONN;
	}
	if (e->fq)
		return sendq_push(e, pkt, len, now);
	n = e->nremote ? e->cfg.sched->pick(e->sched_state, &v, picks, SCHED_MAX_PICK) : 0;
	if (n <= 0) {
		e->stats.drop_no_path++;
		return -ENETUNREACH;
	}
	engine_send_data(e, picks, n, pkt, len, engine_flow_hash(e, pkt, len), now);
	return 0;
}

static void send_feedback(struct mpt_engine *e, uint8_t peer_id, uint64_t now)
{
	struct path_rx *rx = &e->rx_paths[peer_id];
	struct wire_fb_block b;
	uint8_t payload[4 + WIRE_FB_BLOCK_LEN];
	int n;

	path_rx_fill_block(rx, peer_id, now, &b);
	n = wire_fb_encode(&b, 1, payload, sizeof(payload));
	if (n < 0)
		return;
	rx->dirty = false;
	rx->last_fb_ns = now;
	e->stats.feedback_sent++;
	engine_emit(e, path_index(rx->local, rx->remote), WIRE_KIND_FEEDBACK, e->next_data_seq, 0,
		    payload, (size_t)n, now);
}

/* How many of our paths are up; with validating, also those that have not answered yet but
 * may (a learnt address heard from lately): they carry the peer's packets all the same. */
unsigned engine_paths_up(const struct mpt_engine *e, bool validating, uint64_t now)
{
	unsigned up = 0;

	for (unsigned j = 0; j < e->nremote; j++) {
		bool heard = now - e->remotes[j].last_rx_ns < REMOTE_QUIET_NS;

		for (unsigned i = 0; i < e->cfg.nlocal; i++) {
			const struct mpt_path *p = &e->paths[path_index(i, j)];

			up += p->up || (validating && heard && p->fb_count == 0);
		}
	}
	return up;
}

/* The remote index for an authenticated sender; a server learns new peers here, but only from
 * a datagram that may_learn says is the newest of its path: a captured datagram that never
 * arrived, replayed from elsewhere, is older than what its path delivered since. */
int engine_remote_for(struct mpt_engine *e, const struct mpt_addr *from, bool may_learn,
		      uint64_t now)
{
	const struct sched_view v = engine_view(e, now, 0);
	unsigned j, least = 0;

	for (j = 0; j < e->nremote; j++)
		if (!memcmp(&e->remotes[j].addr, from, sizeof(*from)))
			return (int)j;
	if (e->cfg.role == ENGINE_CLIENT || !may_learn)
		return -ENOENT;
	if (e->nremote < MPT_MAX_REMOTE) {
		j = e->nremote++;
	} else {
		for (j = 1; j < e->nremote; j++)
			if (e->remotes[j].rx_packets < e->remotes[least].rx_packets)
				least = j;
		j = least;
	}
	/* it carries data only once it answered our probes (path validation, as QUIC does) */
	init_remote(e, j, from, false, now);
	if (e->cfg.sched->on_remote_new) {
		struct sched_view v2 = v;

		v2.nremote = e->nremote;
		e->cfg.sched->on_remote_new(e->sched_state, &v2, j);
	}
	return (int)j;
}

static void set_path_state(struct mpt_engine *e, unsigned pidx, bool up, uint64_t now)
{
	struct sched_view v = engine_view(e, now, 0);

	if (up)
		e->stats.path_ups++;
	else
		e->stats.path_downs++;
	if (e->cfg.sched->on_path_state)
		e->cfg.sched->on_path_state(e->sched_state, &v, pidx, up);
}

static void on_feedback(struct mpt_engine *e, const uint8_t *payload, size_t plen, uint64_t now)
{
	struct wire_fb_block blocks[WIRE_FB_MAX_BLOCKS];
	struct sched_view v = engine_view(e, now, 0);
	unsigned n;

	if (wire_fb_decode(payload, plen, blocks, WIRE_FB_MAX_BLOCKS, &n) < 0)
		return;
	for (unsigned k = 0; k < n; k++) {
		unsigned local = blocks[k].path_id >> 4, remote = blocks[k].path_id & 15;
		unsigned pidx = path_index(local, remote);

		if (local >= e->cfg.nlocal || remote >= e->nremote)
			continue;
		path_on_feedback(&e->paths[pidx], now, &blocks[k]);
		if (path_mark_up(&e->paths[pidx]))
			set_path_state(e, pidx, true, now);
		if (e->cfg.sched->on_feedback)
			e->cfg.sched->on_feedback(e->sched_state, &v, pidx);
	}
}

int engine_recv(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		const uint8_t *dgram, size_t len, uint64_t now)
{
	return engine_recv_at(e, local, from, dgram, len, now, now);
}

int engine_recv_at(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		   const uint8_t *dgram, size_t len, uint64_t now, uint64_t arrived_ns)
{
	struct wire_hdr h;
	struct wire_frame f;
	const uint8_t *payload;
	size_t plen, flen;
	struct path_rx *rx;
	struct keyset *ks;
	bool newest;
	int j, rc;

	e->stats.rx_dgrams++;
	e->stats.rx_bytes += len;
	if (local >= e->cfg.nlocal || wire_hdr_decode(&h, dgram, len) < 0) {
		e->stats.drop_malformed++;
		return -EBADMSG;
	}
	switch (h.type) {
	case WIRE_TYPE_HS_INIT:
		return hs_on_init(e, local, from, dgram, len, now);
	case WIRE_TYPE_HS_RESP:
		return hs_on_resp(e, dgram, len, now);
	case WIRE_TYPE_HS_STALE:
		return hs_on_stale(e, dgram, len, now);
	}
	ks = hs_open(e, &h, dgram, len, now, &rc);
	if (!ks)
		return rc;
	flen = len - WIRE_HDR_LEN - WIRE_TAG_LEN;
	rc = wire_frame_decode(&f, e->rxbuf, flen, &payload, &plen);
	if (rc < 0) {
		e->stats.drop_malformed++;
		return rc;
	}
	/* the peer holds the answered session: it takes over */
	if (ks == &e->next) {
		hs_promote(e, &e->next, now);
		ks = &e->cur;
	}
	rx = &e->rx_paths[f.path_id];
	newest = ks == &e->cur && (!rx->counter_seen || h.counter > rx->counter_top);
	j = engine_remote_for(e, from, newest, now);
	if (j < 0) {
		e->stats.drop_unknown_peer++;
		return j;
	}
	replay_update(&ks->replay, h.counter);
	if (newest) {
		rx->counter_seen = true;
		rx->counter_top = h.counter;
	}
	if (now - e->remotes[j].last_rx_ns >= REMOTE_QUIET_NS)
		engine_lower_deadline(e, now);		/* probe it again: it is back */
	e->remotes[j].last_rx_ns = now;
	e->remotes[j].rx_packets++;
	e->paths[path_index(local, (unsigned)j)].rx_packets++;
	e->paths[path_index(local, (unsigned)j)].rx_bytes += len;
	if (e->cfg.sched->on_recv) {
		struct sched_view v = engine_view(e, now, 0);

		e->cfg.sched->on_recv(e->sched_state, &v, local, (unsigned)j);
	}

	rx = &e->rx_paths[f.path_id];
	if (!rx->active)
		e->active_rx[e->nactive_rx++] = f.path_id;
	path_rx_on_packet(rx, arrived_ns < now ? arrived_ns : now, local, (unsigned)j, f.path_seq,
			  f.tx_us, len);
	if (f.kind == WIRE_KIND_DATA) {
		if (seq_lt(rx->data_floor, f.data_seq + 1))
			rx->data_floor = f.data_seq + 1;
	} else if (seq_lt(rx->data_floor, f.data_seq)) {
		rx->data_floor = f.data_seq;
	}

	switch (f.kind) {
	case WIRE_KIND_DATA:
		rx->last_data_ns = now;
		if (e->resync && ks == &e->cur) {
			/* the peer may have restarted its data sequence with the session */
			e->resync = false;
			rp_resync(e);
		}
		if (!rx->dirty) {
			rx->dirty = true;
			engine_lower_deadline(e, rx->last_fb_ns + PATH_FEEDBACK_NS);
		}
		rp_on_data(e, rx, payload, plen, f.data_seq, f.flow_gap, now);
		break;
	case WIRE_KIND_PROBE:
		send_feedback(e, f.path_id, now);
		break;
	case WIRE_KIND_FEEDBACK:
		on_feedback(e, payload, plen, now);
		break;
	}
	return 0;
}

/* Another path that is up and shows no queue: copies of a backlogged path's packets help only
 * there. Where every path queues (one bottleneck behind them all: a hub's uplink shared by its
 * sites), copies would only add to it. */
static bool clear_path_besides(const struct mpt_engine *e, unsigned pidx)
{
	for (unsigned j = 0; j < e->nremote; j++) {
		for (unsigned i = 0; i < e->cfg.nlocal; i++) {
			unsigned k = path_index(i, j);
			const struct mpt_path *p = &e->paths[k];

			if (k != pidx && p->up && p->fwd_qdelay_ns <= CAP_QDELAY_NS &&
			    (e->writable_mask >> i & 1))
				return true;
		}
	}
	return false;
}

void engine_tick(struct mpt_engine *e, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	hs_tick(e, now);
	next = hs_deadline(e);
	if (!e->cur.live) {
		e->deadline = next;
		return;
	}

	for (unsigned k = 0; k < e->nactive_rx; k++) {
		uint8_t id = e->active_rx[k];
		struct path_rx *rx = &e->rx_paths[id];

		if (!rx->dirty)
			continue;
		if (now - rx->last_fb_ns >= PATH_FEEDBACK_NS)
			send_feedback(e, id, now);
		else if (rx->last_fb_ns + PATH_FEEDBACK_NS < next)
			next = rx->last_fb_ns + PATH_FEEDBACK_NS;
	}
	for (unsigned j = 0; j < e->nremote; j++) {
		bool quiet = e->cfg.role == ENGINE_SERVER &&
			     now - e->remotes[j].last_rx_ns >= REMOTE_QUIET_NS;

		for (unsigned i = 0; i < e->cfg.nlocal; i++) {
			unsigned pidx = path_index(i, j);
			struct mpt_path *p = &e->paths[pidx];

			if (path_check_down(p, now))
				set_path_state(e, pidx, false, now);
			if (quiet)
				continue;
			/* a path never heard from is probed at once: a learnt one must answer
			 * before it carries data; a young one often (PATH_YOUNG_PKTS) */
			uint64_t every = path_probe_interval(p);

			if (now - p->last_elicit_ns >= every || (!p->elicit_pending && !p->fb_count)) {
				e->stats.probes_sent++;
				engine_emit(e, pidx, WIRE_KIND_PROBE, e->next_data_seq, 0, NULL, 0, now);
			}
			if (p->last_elicit_ns + every < next)
				next = p->last_elicit_ns + every;
			if (p->up && p->last_fb_ns + PATH_DEAD_NS < next)
				next = p->last_fb_ns + PATH_DEAD_NS;
			if (e->sent && p->up && !p->reinjected) {
				uint64_t stall = path_stall_deadline(p);

				if (stall < now)
					reinject_stalled(e, pidx, REINJECT_STALL_MAX, now);
				else if (path_backlogged(p) && clear_path_besides(e, pidx))
					reinject_stalled(e, pidx, REINJECT_BACKLOG_MAX, now);
				else if (stall < next)
					next = stall + 1;
			}
		}
	}
	sendq_update_target(e, now);
	if (e->reorder && reorder_waiting(e->reorder)) {
		rp_release(e, now);
		uint64_t t = reorder_deadline(e->reorder, e->reorder_timeout_ns);

		if (t < next)
			next = t;
	}
	e->deadline = next;
	sendq_pump(e, now);
}

uint64_t engine_deadline(const struct mpt_engine *e)
{
	return e->deadline;
}

bool engine_has_session(const struct mpt_engine *e)
{
	return e->cur.live;
}

uint64_t engine_session_born(const struct mpt_engine *e)
{
	return e->cur.live ? e->cur.born_ns : 0;
}

void engine_sched_shares(const struct mpt_engine *e, uint64_t now, double share[MPT_MAX_PATHS])
{
	struct sched_view v = {
		.now_ns = now, .paths = e->paths, .nlocal = e->cfg.nlocal, .nremote = e->nremote,
		.writable_mask = e->writable_mask,
	};
	double sum = 0;

	/* each weight asked once, then shown as a share of their sum */
	for (unsigned i = 0; i < e->cfg.nlocal; i++)
		for (unsigned j = 0; j < e->nremote; j++) {
			unsigned k = path_index(i, j);

			share[k] = e->cfg.sched->weight ?
				   e->cfg.sched->weight(e->sched_state, &v, k) : -1.0;
			sum += share[k] > 0 ? share[k] : 0;
		}
	for (unsigned i = 0; i < e->cfg.nlocal; i++)
		for (unsigned j = 0; j < e->nremote; j++) {
			double *w = &share[path_index(i, j)];

			*w = *w < 0 ? -1.0 : sum > 0 ? *w / sum : 0.0;
		}
}

const struct engine_stats *engine_stats(const struct mpt_engine *e)
{
	return &e->stats;
}

const struct fq_stats *engine_queue_stats(const struct mpt_engine *e)
{
	return e->fq ? fq_stats(e->fq) : NULL;
}

uint64_t engine_queue_target_ns(const struct mpt_engine *e)
{
	return e->fq ? e->sendq_target_ns : 0;
}

const struct reorder_stats *engine_reorder_stats(const struct mpt_engine *e)
{
	return e->reorder ? reorder_stats(e->reorder) : NULL;
}

unsigned engine_nremote(const struct mpt_engine *e)
{
	return e->nremote;
}

const struct mpt_addr *engine_remote_addr(const struct mpt_engine *e, unsigned remote)
{
	return remote < e->nremote ? &e->remotes[remote].addr : NULL;
}

const struct mpt_path *engine_path(const struct mpt_engine *e, unsigned local, unsigned remote)
{
	if (local >= e->cfg.nlocal || remote >= e->nremote)
		return NULL;
	return &e->paths[path_index(local, remote)];
}

const void *engine_sched_state(const struct mpt_engine *e)
{
	return e->sched_state;
}

void *engine_secrets(struct mpt_engine *e, size_t *len)
{
	_Static_assert(offsetof(struct mpt_engine, master) < offsetof(struct mpt_engine, cur) &&
		       offsetof(struct mpt_engine, cur) < offsetof(struct mpt_engine, prev) &&
		       offsetof(struct mpt_engine, prev) < offsetof(struct mpt_engine, next) &&
		       offsetof(struct mpt_engine, next) < offsetof(struct mpt_engine, hs),
		       "the secrets lie between master and hs");
	*len = offsetof(struct mpt_engine, hs) + sizeof(e->hs) - offsetof(struct mpt_engine, master);
	return e->master;
}
