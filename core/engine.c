/* The engine. Receive order matters for DESIGN's property 2: decode the clear header, check
 * the replay window read-only, authenticate, and only then touch any state. */
#include "core/engine.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/replay.h"
#include "core/rng.h"
#include "core/session.h"
#include "core/wire.h"

/* How long a peer path may be silent and still hold back the reorder floor. */
#define FLOOR_STALE_NS (2 * PATH_PROBE_NS)
#define REORDER_MIN_NS (10ull * 1000000)
#define REORDER_MAX_NS (300ull * 1000000)
#define REORDER_MARGIN_NS (10ull * 1000000)

/* Copies of recently sent tun packets, for reinjection (schedulers that ask for it). */
#define SENT_SLOTS 1024
#define REINJECT_MAX 8

struct sent_copy {
	bool valid, reinjected;
	uint16_t len, pidx;
	uint32_t data_seq, path_seq;
};

/* Handshake work a responder does: a bucket of HS_BURST key agreements, one more every
 * HS_REFILL_NS; STALE answers have a bucket of the same size of their own, so that replayed
 * old INITs (which earn one) cannot starve real handshakes. */
#define HS_BURST 10
#define HS_REFILL_NS (100ull * 1000000)
/* Copies of one INIT (it goes out on every path) answered with the same RESP, within a retry
 * interval of the first: each on the path it came by, so that one path losing its answer
 * does not keep the session from coming up. */
#define HS_COPIES_MAX 32
/* A server probes a learnt client address only while it hears from it: an address that a
 * replay (or a peer that moved on) put there is not probed for ever. */
#define REMOTE_QUIET_NS (3000ull * 1000000)

struct bucket {
	unsigned tokens;
	uint64_t refill_ns;
};

/* One session's keys, counters and replay window. */
struct keyset {
	bool live;
	uint8_t phase;
	struct aead tx, rx;
	struct replay replay;
	uint64_t tx_counter;
	uint64_t born_ns;		/* when it became current (next: when it was answered) */
};

struct remote {
	struct mpt_addr addr;
	uint64_t rx_packets;
	uint64_t last_rx_ns;		/* its last authenticated datagram */
};

struct mpt_engine {
	struct engine_config cfg;
	struct engine_io io;
	struct engine_stats stats;
	struct mpt_rng rng;
	uint8_t master[AEAD_KEY_LEN];
	/* Sessions. cur sends and receives; prev is received during its grace after cur took
	 * over; next (responder only) is a session answered but not yet used by the peer: it
	 * becomes cur at its first authenticated datagram, so that a session that works is never
	 * dropped for one whose answer may have been lost. */
	struct keyset cur, prev, next;
	bool resync;			/* first data of a new session re-anchors the reorder buffer */
	struct session_hs hs;		/* client: the INIT in flight */
	bool hs_pending;
	uint64_t hs_sent_ns;
	uint64_t hs_counter;		/* client: the last INIT counter sent */
	uint64_t hs_floor;		/* client: the server refuses counters up to this */
	/* server: the last INIT accepted and its answer, sent again for its other copies */
	uint64_t last_init_counter;
	uint8_t last_init[SESSION_INIT_LEN], last_resp[SESSION_RESP_LEN];
	uint64_t last_init_ns;
	unsigned resp_copies;
	struct bucket hs_bucket, stale_bucket;
	unsigned nremote;
	uint32_t writable_mask;
	struct remote remotes[MPT_MAX_REMOTE];
	struct mpt_path paths[MPT_MAX_PATHS];
	struct path_rx rx_paths[256];
	uint8_t active_rx[256];		/* peer path ids with a record, in arrival order */
	unsigned nactive_rx;
	uint32_t next_data_seq;
	struct reorder *reorder;
	uint64_t reorder_timeout_ns;
	uint64_t deadline;
	void *sched_state;
	struct sent_copy *sent;		/* SENT_SLOTS records and their bytes, or NULL */
	uint8_t *sent_bytes;
	uint8_t txbuf[WIRE_MAX_DGRAM];
	uint8_t rxbuf[WIRE_MAX_DGRAM];
};

static struct sched_view view_of(struct mpt_engine *e, uint64_t now, size_t len)
{
	return (struct sched_view){
		.now_ns = now, .rng = &e->rng, .paths = e->paths,
		.nlocal = e->cfg.nlocal, .nremote = e->nremote,
		.writable_mask = e->writable_mask, .len = len,
	};
}

static void lower_deadline(struct mpt_engine *e, uint64_t t)
{
	if (t < e->deadline)
		e->deadline = t;
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
	e->hs_bucket.tokens = e->stale_bucket.tokens = HS_BURST;
	e->writable_mask = (1u << cfg->nlocal) - 1;
	e->deadline = UINT64_MAX;
	e->reorder_timeout_ns = cfg->reorder_ns > 0 ? (uint64_t)cfg->reorder_ns : REORDER_MIN_NS;
	if (cfg->reorder_ns != 0) {
		e->reorder = reorder_new(ENGINE_REORDER_SLOTS, cfg->mtu);
		if (!e->reorder)
			goto fail_free;
	}
	if (ops->reinject) {
		e->sent = calloc(SENT_SLOTS, sizeof(*e->sent));
		e->sent_bytes = malloc((size_t)SENT_SLOTS * cfg->mtu);
		if (!e->sent || !e->sent_bytes)
			goto fail_free;
	}
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
	reorder_free(e->reorder);
	free(e->sent);
	free(e->sent_bytes);
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
	for (unsigned i = 0; i < e->cfg.nlocal; i++)
		path_init(&e->paths[path_index(i, j)], i, j, up, now);
	lower_deadline(e, now);
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
	if (writable)
		e->writable_mask |= 1u << local;
	else
		e->writable_mask &= ~(1u << local);
}

/* Frame, seal and send one datagram on path pidx. */
static uint32_t emit(struct mpt_engine *e, unsigned pidx, uint8_t kind, uint32_t data_seq,
		     const uint8_t *payload, size_t plen, uint64_t now)
{
	struct mpt_path *p = &e->paths[pidx];
	uint8_t *buf = e->txbuf;
	size_t flen = WIRE_FRAME_LEN + plen;
	size_t dlen = WIRE_HDR_LEN + flen + WIRE_TAG_LEN;
	struct keyset *ks = &e->cur;
	struct wire_hdr h = { .type = WIRE_TYPE_DATA, .key_phase = ks->phase,
			      .counter = ks->tx_counter++ };
	struct wire_frame f = {
		.kind = kind, .path_id = path_id(p->local, p->remote),
		.tx_us = (uint32_t)(now / 1000), .data_seq = data_seq,
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
	lower_deadline(e, now + PATH_PROBE_NS);
	return f.path_seq;
}

int engine_send(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct sched_view v = view_of(e, now, len);
	uint16_t picks[SCHED_MAX_PICK];
	uint32_t data_seq;
	int n;

	e->stats.tun_in++;
	if (len == 0 || len > e->cfg.mtu) {
		e->stats.drop_oversize++;
		return -EMSGSIZE;
	}
	if (!e->cur.live) {
		e->stats.drop_no_session++;
		return -ENOTCONN;
	}
	n = e->nremote ? e->cfg.sched->pick(e->sched_state, &v, picks, SCHED_MAX_PICK) : 0;
	if (n <= 0) {
		e->stats.drop_no_path++;
		return -ENETUNREACH;
	}
	data_seq = e->next_data_seq++;
	for (int k = 0; k < n; k++) {
		uint32_t path_seq = emit(e, picks[k], WIRE_KIND_DATA, data_seq, pkt, len, now);

		if (k == 0 && e->sent) {
			struct sent_copy *c = &e->sent[data_seq % SENT_SLOTS];

			*c = (struct sent_copy){ .valid = true, .len = (uint16_t)len,
						 .pidx = picks[k], .data_seq = data_seq,
						 .path_seq = path_seq };
			memcpy(e->sent_bytes + (size_t)(data_seq % SENT_SLOTS) * e->cfg.mtu, pkt, len);
		}
		e->paths[picks[k]].tx_data++;
		if (e->cfg.sched->on_sent)
			e->cfg.sched->on_sent(e->sched_state, &v, picks[k], len);
	}
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
	emit(e, path_index(rx->local, rx->remote), WIRE_KIND_FEEDBACK, e->next_data_seq,
	     payload, (size_t)n, now);
}

/* How many of our paths are up; with validating, also those that have not answered yet but
 * may (a learnt address heard from lately): they carry the peer's packets all the same. */
static unsigned paths_up(const struct mpt_engine *e, bool validating, uint64_t now)
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
static int remote_for(struct mpt_engine *e, const struct mpt_addr *from, bool may_learn,
		      uint64_t now)
{
	const struct sched_view v = view_of(e, now, 0);
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
static bool reorder_floor(const struct mpt_engine *e, uint64_t now, uint32_t *floor)
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
	return heard > 0 && heard >= paths_up(e, true, now);
}

static void release_held(struct mpt_engine *e, uint64_t now)
{
	uint32_t floor = reorder_next(e->reorder);

	if (!reorder_floor(e, now, &floor))
		floor = reorder_next(e->reorder);
	reorder_release(e->reorder, floor, now, e->reorder_timeout_ns, deliver, e);
}

static void on_data(struct mpt_engine *e, const uint8_t *pkt, size_t len, uint32_t data_seq,
		    uint64_t now)
{
	if (!e->reorder) {
		deliver(e, pkt, len);
		return;
	}
	reorder_insert(e->reorder, data_seq, pkt, len, now, deliver, e);
	if (reorder_held(e->reorder)) {
		release_held(e, now);
		lower_deadline(e, reorder_deadline(e->reorder, e->reorder_timeout_ns));
	}
}

static void set_path_state(struct mpt_engine *e, unsigned pidx, bool up, uint64_t now)
{
	struct sched_view v = view_of(e, now, 0);

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
	struct sched_view v = view_of(e, now, 0);
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

/* ---- sessions ---- */

/* Take one token, refilled at one per HS_REFILL_NS up to HS_BURST. */
static bool bucket_take(struct bucket *b, uint64_t now)
{
	if (now - b->refill_ns >= HS_REFILL_NS) {
		uint64_t add = (now - b->refill_ns) / HS_REFILL_NS;

		b->tokens = b->tokens + add >= HS_BURST ? HS_BURST : b->tokens + (unsigned)add;
		b->refill_ns += add * HS_REFILL_NS;
	}
	if (b->tokens == 0)
		return false;
	b->tokens--;
	return true;
}

/* The key sets a datagram's key phase may name, the likeliest first: the current one, the
 * answered one waiting for its first datagram, the previous one during its grace. Two may
 * share a phase (a restarted client counts its phases from 1 again): the tag tells. */
static unsigned keysets_for(struct mpt_engine *e, uint8_t phase, uint64_t now,
			    struct keyset *out[3])
{
	unsigned n = 0;

	if (e->cur.live && e->cur.phase == phase)
		out[n++] = &e->cur;
	if (e->next.live && e->next.phase == phase)
		out[n++] = &e->next;
	if (e->prev.live && e->prev.phase == phase && now - e->cur.born_ns < ENGINE_GRACE_NS)
		out[n++] = &e->prev;
	return n;
}

static void keyset_set(struct mpt_engine *e, struct keyset *ks, const struct session_keys *keys,
		       uint8_t phase, uint64_t now)
{
	bool initiator = e->cfg.role == ENGINE_CLIENT;

	sodium_memzero(ks, sizeof(*ks));
	aead_init(&ks->tx, initiator ? keys->initiator_tx : keys->responder_tx, e->cfg.cipher_none);
	aead_init(&ks->rx, initiator ? keys->responder_tx : keys->initiator_tx, e->cfg.cipher_none);
	replay_init(&ks->replay);
	ks->phase = phase;
	ks->born_ns = now;
	ks->live = true;
}

/* ks (a new session) becomes the current one; the current one becomes the previous. */
static void promote(struct mpt_engine *e, struct keyset *ks, uint64_t now)
{
	if (e->cur.live)
		e->prev = e->cur;
	e->cur = *ks;
	e->cur.born_ns = now;
	sodium_memzero(ks, sizeof(*ks));
	/* every path's newest datagram is the new session's to set */
	for (unsigned k = 0; k < e->nactive_rx; k++)
		e->rx_paths[e->active_rx[k]].counter_seen = false;
	e->resync = true;
	e->stats.sessions++;
	lower_deadline(e, now);
}

/* Server: a new INIT (its counter above the last) gets a key agreement, rationed, and a session
 * that waits in next for the client's first datagram under it. */
static int answer_new_init(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
			   const uint8_t *dgram, struct session_hs *hs, uint64_t now)
{
	uint8_t seed[SESSION_SEED_LEN], resp[SESSION_RESP_LEN];
	struct session_keys keys;
	int rc;

	/* the X25519 work is rationed, so that nothing (a peer that loops, a replay after a
	 * restart) can make us spend it without bound */
	if (!bucket_take(&e->hs_bucket, now)) {
		e->stats.drop_rate_limited++;
		return -EBUSY;
	}
	e->io.entropy(e->io.ctx, seed, sizeof(seed));
	rc = session_resp_create(e->master, seed, hs, resp, &keys);
	sodium_memzero(seed, sizeof(seed));
	if (rc < 0) {
		e->stats.drop_bad_auth++;
		return rc;
	}
	keyset_set(e, &e->next, &keys, hs->key_phase, now);
	sodium_memzero(&keys, sizeof(keys));
	/* a new counter is fresh: its address may be learnt (not its copies', which a replay
	 * could bring from anywhere); like any learnt one it carries data once it answered */
	remote_for(e, from, true, now);
	e->last_init_counter = hs->counter;
	memcpy(e->last_init, dgram, SESSION_INIT_LEN);
	memcpy(e->last_resp, resp, SESSION_RESP_LEN);
	e->last_init_ns = now;
	e->resp_copies = 0;
	/* nothing to protect yet: the first session is current at once */
	if (!e->cur.live)
		promote(e, &e->next, now);
	e->stats.handshakes_sent++;
	e->io.send(e->io.ctx, local, from, e->last_resp, SESSION_RESP_LEN);
	return 0;
}

static int on_init(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		   const uint8_t *dgram, size_t len, uint64_t now)
{
	uint8_t stale[SESSION_STALE_LEN];
	struct session_hs hs;
	int rc;

	if (e->cfg.role != ENGINE_SERVER) {
		e->stats.drop_malformed++;
		return -EBADMSG;
	}
	/* a MAC check is as cheap as opening a data packet: junk costs no more than that */
	rc = session_init_check(e->master, dgram, len, 0, &hs);
	if (rc < 0) {
		e->stats.drop_bad_auth++;
		return rc;
	}
	if (hs.counter > e->last_init_counter) {
		rc = answer_new_init(e, local, from, dgram, &hs, now);
		sodium_memzero(&hs, sizeof(hs));
		return rc;
	}
	/* another copy of the INIT just answered: the same answer, on the path it came by */
	if (hs.counter == e->last_init_counter && !memcmp(dgram, e->last_init, len) &&
	    now - e->last_init_ns < ENGINE_HS_RETRY_NS && e->resp_copies < HS_COPIES_MAX) {
		e->resp_copies++;
		e->stats.handshakes_resent++;
		e->io.send(e->io.ctx, local, from, e->last_resp, SESSION_RESP_LEN);
		return -EALREADY;
	}
	/* an old counter: a replay, or a client whose clock went back. Tell it the floor; only
	 * the holder of the INIT's ephemeral key can use the answer, and only to go higher */
	e->stats.drop_replay++;
	if (bucket_take(&e->stale_bucket, now)) {
		session_stale_create(e->master, &hs, e->last_init_counter, stale);
		e->stats.stale_sent++;
		e->io.send(e->io.ctx, local, from, stale, sizeof(stale));
	}
	sodium_memzero(&hs, sizeof(hs));
	return -EALREADY;
}

/* Client: a handshake answer that is not for the INIT in flight (another path's copy of an
 * answer already taken, or the answer to an INIT given up) is late, not forged. */
static int hs_answer_drop(struct mpt_engine *e, int rc)
{
	if (rc == -EALREADY)
		e->stats.drop_hs_late++;
	else
		e->stats.drop_bad_auth++;
	return rc;
}

/* A handshake answer (RESP, STALE) is for a client with an INIT in flight; 0, or the drop. */
static int hs_answer_expected(struct mpt_engine *e)
{
	if (e->cfg.role != ENGINE_CLIENT) {
		e->stats.drop_malformed++;
		return -EBADMSG;
	}
	return e->hs_pending ? 0 : hs_answer_drop(e, -EALREADY);
}

static int on_resp(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now)
{
	struct session_keys keys;
	struct session_hs hs;
	struct keyset ks;
	int rc;

	rc = hs_answer_expected(e);
	if (rc < 0)
		return rc;
	hs = e->hs;	/* a failed check must not spend the pending handshake */
	rc = session_resp_check(e->master, &hs, dgram, len, &keys);
	sodium_memzero(&hs, sizeof(hs));
	if (rc < 0)
		return hs_answer_drop(e, rc);
	e->hs_pending = false;
	keyset_set(e, &ks, &keys, e->hs.key_phase, now);
	promote(e, &ks, now);
	sodium_memzero(&keys, sizeof(keys));
	sodium_memzero(&e->hs, sizeof(e->hs));
	return 0;
}

/* Client: the server refuses our INIT's counter (our clock went back since it last accepted
 * one): go above its floor at once. */
static int on_stale(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now)
{
	uint64_t floor;
	int rc;

	rc = hs_answer_expected(e);
	if (rc < 0)
		return rc;
	rc = session_stale_check(e->master, &e->hs, dgram, len, &floor);
	if (rc < 0)
		return hs_answer_drop(e, rc);
	if (floor > e->hs_floor)
		e->hs_floor = floor;
	e->stats.stale_received++;
	e->hs_pending = false;
	sodium_memzero(&e->hs, sizeof(e->hs));
	lower_deadline(e, now);
	return 0;
}

/* Client: open a session, renew it, or reopen it when the server went silent everywhere. */
static void maybe_handshake(struct mpt_engine *e, uint64_t now)
{
	struct keyset *cur = &e->cur;
	uint8_t seed[SESSION_SEED_LEN], init[SESSION_INIT_LEN];
	uint64_t counter;
	bool need;

	if (e->cfg.role != ENGINE_CLIENT || e->nremote == 0)
		return;
	/* silence on every path means the server lost our session (it restarted), unless the
	 * session is younger than a retry: its paths may not have answered yet */
	need = !cur->live || now - cur->born_ns >= e->cfg.rekey_ns ||
	       cur->tx_counter >= ENGINE_COUNTER_LIMIT ||
	       (!paths_up(e, false, now) && now - cur->born_ns >= ENGINE_HS_RETRY_NS);
	if (!need || (e->hs_pending && now - e->hs_sent_ns < ENGINE_HS_RETRY_NS))
		return;
	/* counters grow across restarts with the wall clock (+ 1: the responder accepts only
	 * counters above the last one, which starts at 0), and above any floor it told us */
	counter = e->cfg.epoch_ns + now + 1;
	if (counter <= e->hs_counter)
		counter = e->hs_counter + 1;
	if (counter <= e->hs_floor)
		counter = e->hs_floor + 1;
	e->hs_counter = counter;
	e->io.entropy(e->io.ctx, seed, sizeof(seed));
	session_init_create(e->master, seed, (uint8_t)(cur->phase + 1), counter, &e->hs, init);
	sodium_memzero(seed, sizeof(seed));
	e->hs_pending = true;
	e->hs_sent_ns = now;
	/* on every path: the server answers each copy on its own path, and one gets through */
	for (unsigned i = 0; i < e->cfg.nlocal; i++) {
		for (unsigned j = 0; j < e->nremote; j++) {
			e->stats.handshakes_sent++;
			e->io.send(e->io.ctx, i, &e->remotes[j].addr, init, sizeof(init));
		}
	}
}

static uint64_t handshake_deadline(const struct mpt_engine *e)
{
	const struct keyset *cur = &e->cur;

	if (e->cfg.role != ENGINE_CLIENT || e->nremote == 0)
		return UINT64_MAX;
	if (e->hs_pending)
		return e->hs_sent_ns + ENGINE_HS_RETRY_NS;
	return cur->live ? cur->born_ns + e->cfg.rekey_ns : 0;
}

/* Authenticate a data datagram under the key sets its phase names; the one that opened it, or
 * NULL with the drop counted. Read-only until a tag verifies (DESIGN's property 2). */
static struct keyset *open_dgram(struct mpt_engine *e, const struct wire_hdr *h,
				 const uint8_t *dgram, size_t len, uint64_t now, int *rc)
{
	struct keyset *cand[3];
	unsigned n = keysets_for(e, h->key_phase, now, cand);

	if (n == 0) {
		e->stats.drop_old_session++;
		*rc = -EBADMSG;
		return NULL;
	}
	*rc = -EALREADY;
	for (unsigned k = 0; k < n; k++) {
		if (replay_check(&cand[k]->replay, h->counter) < 0)
			continue;
		if (aead_open(&cand[k]->rx, h->counter, dgram, WIRE_HDR_LEN, dgram + WIRE_HDR_LEN,
			      len - WIRE_HDR_LEN, e->rxbuf) == 0)
			return cand[k];
		*rc = -EBADMSG;
	}
	if (*rc == -EALREADY)
		e->stats.drop_replay++;
	else
		e->stats.drop_bad_auth++;
	return NULL;
}

int engine_recv(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
		const uint8_t *dgram, size_t len, uint64_t now)
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
		return on_init(e, local, from, dgram, len, now);
	case WIRE_TYPE_HS_RESP:
		return on_resp(e, dgram, len, now);
	case WIRE_TYPE_HS_STALE:
		return on_stale(e, dgram, len, now);
	}
	ks = open_dgram(e, &h, dgram, len, now, &rc);
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
		promote(e, &e->next, now);
		ks = &e->cur;
	}
	rx = &e->rx_paths[f.path_id];
	newest = ks == &e->cur && (!rx->counter_seen || h.counter > rx->counter_top);
	j = remote_for(e, from, newest, now);
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
		lower_deadline(e, now);		/* probe it again: it is back */
	e->remotes[j].last_rx_ns = now;
	e->remotes[j].rx_packets++;
	e->paths[path_index(local, (unsigned)j)].rx_packets++;
	e->paths[path_index(local, (unsigned)j)].rx_bytes += len;
	if (e->cfg.sched->on_recv) {
		struct sched_view v = view_of(e, now, 0);

		e->cfg.sched->on_recv(e->sched_state, &v, local, (unsigned)j);
	}

	rx = &e->rx_paths[f.path_id];
	if (!rx->active)
		e->active_rx[e->nactive_rx++] = f.path_id;
	path_rx_on_packet(rx, now, local, (unsigned)j, f.path_seq, f.tx_us, len);
	if (f.kind == WIRE_KIND_DATA) {
		if (seq_lt(rx->data_floor, f.data_seq + 1))
			rx->data_floor = f.data_seq + 1;
	} else if (seq_lt(rx->data_floor, f.data_seq)) {
		rx->data_floor = f.data_seq;
	}

	switch (f.kind) {
	case WIRE_KIND_DATA:
		if (e->resync && ks == &e->cur) {
			/* the peer may have restarted its data sequence with the session */
			e->resync = false;
			if (e->reorder)
				reorder_resync(e->reorder, deliver, e);
		}
		if (!rx->dirty) {
			rx->dirty = true;
			lower_deadline(e, rx->last_fb_ns + PATH_FEEDBACK_NS);
		}
		on_data(e, payload, plen, f.data_seq, now);
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

/* Hold gaps for about the spread of the paths' delays, plus a margin. */
static void update_reorder_timeout(struct mpt_engine *e)
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

/* Send once more, on other paths, the oldest packets a stalled path holds unacknowledged:
 * they are the ones every other path's packets wait behind at the receiver. Only the oldest
 * REINJECT_MAX: a path that is merely slow holds a whole queue, and re-sending all of it at
 * once would flood the paths that are fine. */
static void reinject(struct mpt_engine *e, unsigned stalled_pidx, uint64_t now)
{
	struct mpt_path *p = &e->paths[stalled_pidx];
	uint32_t first = e->next_data_seq - SENT_SLOTS;
	unsigned sent = 0;

	p->reinjected = true;
	for (uint32_t k = 0; k < SENT_SLOTS && sent < REINJECT_MAX; k++) {
		uint32_t seq = first + k;
		struct sent_copy *c = &e->sent[seq % SENT_SLOTS];
		const uint8_t *pkt = e->sent_bytes + (size_t)(seq % SENT_SLOTS) * e->cfg.mtu;
		struct sched_view v;
		uint16_t pick[SCHED_MAX_PICK];

		if (!c->valid || c->data_seq != seq || c->pidx != stalled_pidx || c->reinjected ||
		    !seq_lt(p->fb_high_seq, c->path_seq))
			continue;
		v = view_of(e, now, c->len);
		if (e->cfg.sched->pick(e->sched_state, &v, pick, 1) < 1 || pick[0] == stalled_pidx)
			continue;
		c->reinjected = true;
		sent++;
		e->stats.reinjected++;
		emit(e, pick[0], WIRE_KIND_DATA, seq, pkt, c->len, now);
		e->paths[pick[0]].tx_data++;
	}
}

void engine_tick(struct mpt_engine *e, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	maybe_handshake(e, now);
	next = handshake_deadline(e);
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
			 * before it carries data */
			if (now - p->last_elicit_ns >= PATH_PROBE_NS || (!p->elicit_pending && !p->fb_count)) {
				e->stats.probes_sent++;
				emit(e, pidx, WIRE_KIND_PROBE, e->next_data_seq, NULL, 0, now);
			}
			if (p->last_elicit_ns + PATH_PROBE_NS < next)
				next = p->last_elicit_ns + PATH_PROBE_NS;
			if (p->up && p->last_fb_ns + PATH_DEAD_NS < next)
				next = p->last_fb_ns + PATH_DEAD_NS;
			if (e->sent && p->up && !p->reinjected) {
				uint64_t stall = path_stall_deadline(p);

				if (stall < now)
					reinject(e, pidx, now);
				else if (stall < next)
					next = stall + 1;
			}
		}
	}
	update_reorder_timeout(e);
	if (e->reorder && reorder_held(e->reorder)) {
		release_held(e, now);
		uint64_t t = reorder_deadline(e->reorder, e->reorder_timeout_ns);

		if (t < next)
			next = t;
	}
	e->deadline = next;
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

double engine_sched_weight(const struct mpt_engine *e, unsigned local, unsigned remote,
			   uint64_t now)
{
	struct sched_view v = {
		.now_ns = now, .paths = e->paths, .nlocal = e->cfg.nlocal, .nremote = e->nremote,
		.writable_mask = e->writable_mask,
	};

	if (!e->cfg.sched->weight || local >= e->cfg.nlocal || remote >= e->nremote)
		return -1.0;
	return e->cfg.sched->weight(e->sched_state, &v, path_index(local, remote));
}

const struct engine_stats *engine_stats(const struct mpt_engine *e)
{
	return &e->stats;
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
