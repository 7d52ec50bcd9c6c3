/* handshake: the engine's sessions. The client opens one with an INIT on every path and renews
 * it; the server answers each copy of an INIT on the path it came by, keeps a new session apart
 * (next) until the client uses it, and answers an old counter with its floor (STALE); key sets
 * by phase for receiving. Works on the engine's own state (core/engine_internal.h): no
 * allocation, nothing to free; hs_open runs per datagram, the rest per handshake or tick. */
#include "core/engine.h"
#include "core/engine_internal.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/replay.h"
#include "core/session.h"
#include "core/wire.h"

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
		       uint8_t phase, uint16_t index, uint64_t now)
{
	bool initiator = e->cfg.role == ENGINE_CLIENT;

	sodium_memzero(ks, sizeof(*ks));
	aead_init(&ks->tx, initiator ? keys->initiator_tx : keys->responder_tx, e->cfg.cipher_none);
	aead_init(&ks->rx, initiator ? keys->responder_tx : keys->initiator_tx, e->cfg.cipher_none);
	replay_init(&ks->replay);
	ks->phase = phase;
	ks->index = index;
	ks->born_ns = now;
	ks->live = true;
}

/* ks (a new session) becomes the current one; the current one becomes the previous. */
void hs_promote(struct mpt_engine *e, struct keyset *ks, uint64_t now)
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
	engine_lower_deadline(e, now);
}

/* Server: the index of a new session: the hub's, or else a nonzero draw from the entropy
 * source (not the scheduler's rng, whose draws stay as they were). */
static uint16_t new_index(struct mpt_engine *e)
{
	uint8_t b[2] = { 0, 0 };

	if (e->io.new_index)
		return e->io.new_index(e->io.ctx);
	e->io.entropy(e->io.ctx, b, sizeof(b));
	return (uint16_t)(b[0] << 8 | b[1]) | 1;
}

bool engine_has_index(const struct mpt_engine *e, uint16_t index)
{
	return (e->cur.live && e->cur.index == index) || (e->next.live && e->next.index == index) ||
	       (e->prev.live && e->prev.index == index);
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
	if (!bucket_take(&e->hs_bucket, now, HS_REFILL_NS, HS_BURST)) {
		e->stats.drop_rate_limited++;
		return -EBUSY;
	}
	/* a hub's peer gets its buffers when it first connects, not when it is configured */
	if (engine_activate(e) < 0) {
		e->stats.drop_no_memory++;
		return -ENOMEM;
	}
	e->io.entropy(e->io.ctx, seed, sizeof(seed));
	hs->index = new_index(e);
	rc = session_resp_create(e->master, seed, hs, resp, &keys);
	sodium_memzero(seed, sizeof(seed));
	if (rc < 0) {
		e->stats.drop_bad_auth++;
		return rc;
	}
	keyset_set(e, &e->next, &keys, hs->key_phase, hs->index, now);
	sodium_memzero(&keys, sizeof(keys));
	/* a new counter is fresh: its address may be learnt (not its copies', which a replay
	 * could bring from anywhere); like any learnt one it carries data once it answered */
	engine_remote_for(e, from, true, now);
	e->last_init_counter = hs->counter;
	memcpy(e->last_init, dgram, SESSION_INIT_LEN);
	memcpy(e->last_resp, resp, SESSION_RESP_LEN);
	e->last_init_ns = now;
	e->resp_copies = 0;
	/* nothing to protect yet: the first session is current at once */
	if (!e->cur.live)
		hs_promote(e, &e->next, now);
	e->stats.handshakes_sent++;
	e->io.send(e->io.ctx, local, from, e->last_resp, SESSION_RESP_LEN);
	return 0;
}

int hs_on_init(struct mpt_engine *e, unsigned local, const struct mpt_addr *from,
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
	if (bucket_take(&e->stale_bucket, now, HS_REFILL_NS, HS_BURST)) {
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

int hs_on_resp(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now)
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
	if (rc < 0) {
		sodium_memzero(&hs, sizeof(hs));
		return hs_answer_drop(e, rc);
	}
	e->hs_pending = false;
	keyset_set(e, &ks, &keys, hs.key_phase, hs.index, now);
	sodium_memzero(&hs, sizeof(hs));
	hs_promote(e, &ks, now);
	sodium_memzero(&keys, sizeof(keys));
	sodium_memzero(&e->hs, sizeof(e->hs));
	return 0;
}

/* Client: the server refuses our INIT's counter (our clock went back since it last accepted
 * one): go above its floor at once. */
int hs_on_stale(struct mpt_engine *e, const uint8_t *dgram, size_t len, uint64_t now)
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
	engine_lower_deadline(e, now);
	return 0;
}

/* Client: open a session, renew it, or reopen it when the server went silent everywhere. */
void hs_tick(struct mpt_engine *e, uint64_t now)
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
	       (!engine_paths_up(e, false, now) && now - cur->born_ns >= ENGINE_HS_RETRY_NS);
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
	if (session_init_create(e->master, e->hub_pub, seed, (uint8_t)(cur->phase + 1), counter,
				&e->hs, init) < 0) {
		/* a degenerate hub key: nothing to send, and said by the drop count */
		sodium_memzero(seed, sizeof(seed));
		e->stats.drop_bad_auth++;
		return;
	}
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

uint64_t hs_deadline(const struct mpt_engine *e)
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
struct keyset *hs_open(struct mpt_engine *e, const struct wire_hdr *h,
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
