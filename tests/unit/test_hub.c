/* Tests of core/hub.c: three sites, each a client engine with two uplinks, to one hub holding
 * a server engine per site, in memory. The hub finds each site's INIT and DATA, junk costs it
 * no X25519, one site's key cannot pose as another's, a replayed INIT starts nothing, two
 * sessions of a site share no bytes an observer could link, and a removed site routes nothing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/hub.h"
#include "core/session.h"
#include "core/wire.h"
#include "sched/registry.h"

#define MS 1000000ull
#define SITES 3
#define MAXQ 512

struct dg {
	unsigned site, local;		/* the client end: its site and uplink */
	bool to_hub;
	size_t len;
	uint8_t buf[WIRE_MAX_DGRAM];
};

struct site {
	struct mpt_engine *client, *server;
	int slot;
	uint8_t master[AEAD_KEY_LEN];
	unsigned delivered;		/* data packets the hub's engine delivered for it */
	unsigned ctx;			/* its index, the engines' io ctx */
};

static struct {
	struct mpt_hub *hub;
	struct site site[SITES];
	struct dg q[MAXQ];
	unsigned nq;
	uint8_t rnd;
	unsigned to_evil;
	uint8_t last_init[SITES][SESSION_INIT_LEN];
} t;

static struct mpt_addr caddr(unsigned site, unsigned local)
{
	struct mpt_addr a = { .len = 3, .bytes = { 'c', (uint8_t)site, (uint8_t)local } };

	return a;
}

static void cli_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *b,
		     size_t len)
{
	unsigned site = *(unsigned *)ctx;
	struct dg *d = &t.q[t.nq++];

	(void)to;
	assert_true(t.nq < MAXQ);
	*d = (struct dg){ .site = site, .local = local, .to_hub = true, .len = len };
	memcpy(d->buf, b, len);
	if (b[0] == WIRE_TYPE_HS_INIT)
		memcpy(t.last_init[site], b, SESSION_INIT_LEN);
}

static void srv_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *b,
		     size_t len)
{
	struct dg *d = &t.q[t.nq++];

	(void)ctx;
	(void)local;
	if (to->bytes[0] != 'c') {
		t.to_evil++;	/* a STALE answering a replay: it is bound to the INIT's key */
		assert_int_equal(b[0], WIRE_TYPE_HS_STALE);
		return;
	}
	assert_true(t.nq < MAXQ);
	assert_true(to->bytes[1] < SITES);
	*d = (struct dg){ .site = to->bytes[1], .local = to->bytes[2], .to_hub = false, .len = len };
	memcpy(d->buf, b, len);
}

static void cli_deliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
}

static void srv_deliver(void *ctx, const uint8_t *p, size_t len)
{
	unsigned site = *(unsigned *)ctx;

	(void)len;
	assert_int_equal(p[0], 0x40 + site);	/* the site's own packet, at its own engine */
	t.site[site].delivered++;
}

static void entropy(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(t.rnd++ * 73 + 5);
}

static uint16_t new_index(void *ctx)
{
	return hub_new_index(t.hub, (unsigned)t.site[*(unsigned *)ctx].slot);
}

static struct mpt_engine *make(unsigned site, bool server)
{
	struct engine_config cfg = {
		.role = server ? ENGINE_SERVER : ENGINE_CLIENT, .nlocal = server ? 1 : 2,
		.sched = sched_lookup("roundrobin", NULL), .mtu = 1400,
		.reorder_ns = ENGINE_REORDER_AUTO, .seed = 3 + site, .have_hub_pub = !server,
	};
	struct engine_io io = {
		.ctx = &t.site[site].ctx, .send = server ? srv_send : cli_send,
		.deliver = server ? srv_deliver : cli_deliver, .entropy = entropy,
		.new_index = server ? new_index : NULL,
	};
	struct mpt_engine *e;
	int err = 0;

	memcpy(cfg.key, t.site[site].master, sizeof(cfg.key));
	memcpy(cfg.hub_pub, hub_public(t.hub), sizeof(cfg.hub_pub));
	e = engine_new(&cfg, &io, 0, &err);
	assert_non_null(e);
	return e;
}

/* Deliver everything queued (and what it causes) at now. */
static void run(uint64_t now)
{
	for (unsigned k = 0; k < t.nq; k++) {
		struct dg *d = &t.q[k];
		struct mpt_addr a = caddr(d->site, d->local);

		if (d->to_hub) {
			int slot = hub_route(t.hub, d->buf, d->len, now);

			if (slot >= 0)
				engine_recv(hub_engine(t.hub, (unsigned)slot), 0, &a, d->buf, d->len,
					    now);
		} else {
			engine_recv(t.site[d->site].client, d->local, &a, d->buf, d->len, now);
		}
	}
	t.nq = 0;
}

static void tick_all(uint64_t now)
{
	for (unsigned s = 0; s < SITES; s++) {
		if (t.site[s].client)
			engine_tick(t.site[s].client, now);
		if (t.site[s].server)
			engine_tick(t.site[s].server, now);
	}
	run(now);
}

static int setup(void **state)
{
	uint8_t sk[32];
	int err = 0;

	(void)state;
	memset(&t, 0, sizeof(t));
	if (aead_global_init() < 0)
		return -1;
	memset(sk, 0x77, sizeof(sk));
	t.hub = hub_new(sk, 1, &err);
	assert_non_null(t.hub);
	for (unsigned s = 0; s < SITES; s++) {
		struct site *st = &t.site[s];
		struct mpt_addr r = { .len = 1, .bytes = { 'h' } };

		st->ctx = s;
		memset(st->master, 0x30 + (int)s, sizeof(st->master));
		st->server = make(s, true);
		st->slot = hub_add_peer(t.hub, st->master, st->server);
		assert_int_equal(st->slot, (int)s);
		st->client = make(s, false);
		assert_int_equal(engine_add_remote(st->client, &r, 0), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned s = 0; s < SITES; s++) {
		engine_free(t.site[s].client);
		engine_free(t.site[s].server);
	}
	hub_free(t.hub);
	return 0;
}

/* Every site up, through one hub: one X25519 per site for its identity (the INIT's copy on
 * its other uplink comes from the cache), and its data at its own engine only; its server
 * engine's buffers allocated at its first session, not before. */
static void test_sites_come_up(void **unused)
{
	uint8_t pkt[100];

	(void)unused;
	/* a configured peer's buffers wait for its first session (DESIGN: Peers) */
	for (unsigned s = 0; s < SITES; s++)
		assert_null(engine_reorder_stats(t.site[s].server));
	tick_all(1 * MS);
	tick_all(2 * MS);
	for (unsigned s = 0; s < SITES; s++) {
		assert_true(engine_has_session(t.site[s].client));
		assert_true(engine_has_session(t.site[s].server));
		assert_non_null(engine_reorder_stats(t.site[s].server));
	}
	assert_int_equal(hub_stats(t.hub)->id_opened, SITES);
	assert_int_equal(hub_stats(t.hub)->id_cached, SITES);	/* 2 uplinks: one copy each */
	assert_int_equal(hub_stats(t.hub)->drop_mac1, 0);
	for (uint64_t k = 0; k < 50; k++) {
		for (unsigned s = 0; s < SITES; s++) {
			memset(pkt, 0, sizeof(pkt));
			pkt[0] = (uint8_t)(0x40 + s);
			assert_int_equal(engine_send(t.site[s].client, pkt, sizeof(pkt), (10 + k) * MS), 0);
		}
		tick_all((10 + k) * MS);
	}
	for (unsigned s = 0; s < SITES; s++)
		assert_int_equal(t.site[s].delivered, 50);
	assert_int_equal(hub_stats(t.hub)->drop_unknown_index, 0);
}

/* Junk shaped like an INIT costs one hash: no X25519, no key of any peer tried. */
static void test_junk_costs_no_dh(void **unused)
{
	uint8_t junk[SESSION_INIT_LEN];

	(void)unused;
	for (unsigned k = 0; k < 1000; k++) {
		randombytes_buf(junk, sizeof(junk));
		junk[0] = WIRE_TYPE_HS_INIT;
		junk[2] = junk[3] = 0;
		assert_int_equal(hub_route(t.hub, junk, sizeof(junk), MS), -EBADMSG);
	}
	assert_int_equal(hub_stats(t.hub)->drop_mac1, 1000);
	assert_int_equal(hub_stats(t.hub)->id_opened, 0);
	assert_int_equal(hub_stats(t.hub)->drop_rate_limited, 0);
}

/* An INIT as the protocol builds it (core/session.h), with any identity: what the holder of
 * one site's key (master) and the hub's public key can make, written here from the header's
 * description. */
static void forge_init(const uint8_t master[AEAD_KEY_LEN], const uint8_t id[SESSION_ID_LEN],
		       uint64_t counter, uint8_t out[SESSION_INIT_LEN])
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	const struct wire_hdr h = { .type = WIRE_TYPE_HS_INIT, .key_phase = 1, .counter = counter };
	const uint8_t *hub_pk = hub_public(t.hub);
	uint8_t sk[32], shared[32], key[32], hk[AEAD_KEY_LEN], k1[32];
	crypto_generichash_state st;

	randombytes_buf(sk, sizeof(sk));
	wire_hdr_encode(&h, out, WIRE_HDR_LEN);
	crypto_scalarmult_base(out + WIRE_HDR_LEN, sk);
	assert_int_equal(crypto_scalarmult(shared, sk, hub_pk), 0);
	crypto_generichash_init(&st, shared, sizeof(shared), sizeof(key));
	crypto_generichash_update(&st, (const uint8_t *)"mptun id", 8);
	crypto_generichash_update(&st, out + WIRE_HDR_LEN, 32);
	crypto_generichash_update(&st, hub_pk, 32);
	crypto_generichash_final(&st, key, sizeof(key));
	crypto_aead_chacha20poly1305_ietf_encrypt(out + SESSION_INIT_ID_OFF, NULL, id,
						  SESSION_ID_LEN, out, SESSION_INIT_ID_OFF, NULL,
						  nonce, key);
	aead_derive(master, 3, AEAD_CTX_DIR, hk);
	crypto_generichash(out + SESSION_INIT_MAC_OFF, SESSION_MAC_LEN, out, SESSION_INIT_MAC_OFF,
			   hk, sizeof(hk));
	session_mac1_key(hub_pk, k1);
	crypto_generichash(out + SESSION_INIT_MAC1_OFF, SESSION_MAC1_LEN, out,
			   SESSION_INIT_MAC1_OFF, k1, sizeof(k1));
}

/* Site 0's key cannot open a session as site 1: naming site 1's identity (were it known)
 * reaches site 1's engine, whose own MAC check refuses it; grafting site 1's sealed identity
 * from a captured INIT into its own does not even open. */
static void test_key_cannot_pose_as_other(void **unused)
{
	uint8_t id1[SESSION_ID_LEN], init[SESSION_INIT_LEN], k1[32];
	struct mpt_addr from = caddr(0, 0);
	struct mpt_engine *srv1 = t.site[1].server;
	int slot;

	(void)unused;
	/* the forger's own INIT, made the documented way, does open a session: the forgery
	 * below differs from it only in the identity */
	session_peer_id(t.site[0].master, id1);
	forge_init(t.site[0].master, id1, 5, init);
	slot = hub_route(t.hub, init, sizeof(init), MS);
	assert_int_equal(slot, t.site[0].slot);
	assert_int_equal(engine_recv(t.site[0].server, 0, &from, init, sizeof(init), MS), 0);
	assert_true(engine_has_session(t.site[0].server));

	session_peer_id(t.site[1].master, id1);
	forge_init(t.site[0].master, id1, 5, init);
	slot = hub_route(t.hub, init, sizeof(init), MS);
	assert_int_equal(slot, t.site[1].slot);
	assert_true(engine_recv(srv1, 0, &from, init, sizeof(init), MS) < 0);
	assert_int_equal(engine_stats(srv1)->drop_bad_auth, 1);
	assert_false(engine_has_session(srv1));
	t.nq = 0;

	/* site 1's real INIT, its sealed identity grafted into an INIT of site 0's key */
	tick_all(2 * MS);
	t.nq = 0;
	forge_init(t.site[0].master, id1, 6, init);
	memcpy(init + SESSION_INIT_ID_OFF, t.last_init[1] + SESSION_INIT_ID_OFF, SESSION_ID_LEN + 16);
	session_mac1_key(hub_public(t.hub), k1);
	crypto_generichash(init + SESSION_INIT_MAC1_OFF, SESSION_MAC1_LEN, init,
			   SESSION_INIT_MAC1_OFF, k1, sizeof(k1));
	assert_int_equal(hub_route(t.hub, init, sizeof(init), 3 * MS), -EBADMSG);
	assert_int_equal(hub_stats(t.hub)->drop_bad_id, 1);
}

/* A captured INIT replayed from another address after its session is up: found in the cache
 * (no X25519), and its engine answers a stale counter with nothing but a STALE (rationed). */
static void test_replay_starts_nothing(void **unused)
{
	struct mpt_addr evil = { .len = 3, .bytes = { 'x', 9, 9 } };
	uint64_t opened, sessions;
	struct mpt_engine *srv = t.site[2].server;
	uint8_t init[SESSION_INIT_LEN];
	int slot;

	(void)unused;
	tick_all(1 * MS);
	tick_all(2 * MS);
	assert_true(engine_has_session(srv));
	memcpy(init, t.last_init[2], sizeof(init));
	opened = hub_stats(t.hub)->id_opened;
	sessions = engine_stats(srv)->sessions;
	/* later than a retry: within one the engine answers a copy with the same RESP */
	for (unsigned k = 0; k < 20; k++) {
		uint64_t now = ENGINE_HS_RETRY_NS + (3 + k) * MS;

		slot = hub_route(t.hub, init, sizeof(init), now);
		assert_int_equal(slot, t.site[2].slot);
		assert_true(engine_recv(srv, 0, &evil, init, sizeof(init), now) < 0);
	}
	assert_int_equal(hub_stats(t.hub)->id_opened, opened);
	assert_int_equal(engine_stats(srv)->sessions, sessions);
	assert_int_equal(engine_stats(srv)->drop_replay, 20);
	assert_int_equal(engine_nremote(srv), 2);	/* the site's two uplinks, not evil */
	assert_true(t.to_evil >= 1 && t.to_evil <= 10);	/* STALEs, rationed */
	t.nq = 0;
}

/* Two sessions of one site: nothing but the header's type, phase, zero index and counter's
 * high bytes in common, so an observer cannot link them; and each has its own DATA index. */
static void test_sessions_unlinkable(void **unused)
{
	uint8_t a[SESSION_INIT_LEN], b[SESSION_INIT_LEN];
	struct wire_hdr h;
	uint16_t idx[2];

	(void)unused;
	for (int round = 0; round < 2; round++) {
		uint64_t now = (1 + (uint64_t)round * 200000) * MS;	/* past the 120 s rekey */
		uint8_t pkt[60] = { 0x40 };

		tick_all(now);
		tick_all(now + MS);
		memcpy(round ? b : a, t.last_init[0], SESSION_INIT_LEN);
		engine_send(t.site[0].client, pkt, sizeof(pkt), now + 2 * MS);
		assert_true(t.nq >= 1);
		assert_int_equal(wire_hdr_decode(&h, t.q[t.nq - 1].buf, t.q[t.nq - 1].len), 0);
		assert_int_equal(h.type, WIRE_TYPE_DATA);
		idx[round] = h.index;
		run(now + 2 * MS);
	}
	assert_int_equal(t.site[0].delivered, 2);
	assert_int_not_equal(idx[0], idx[1]);
	/* no 4-byte window after the header of one INIT appears anywhere in the other's */
	for (size_t i = WIRE_HDR_LEN; i + 4 <= SESSION_INIT_LEN; i++)
		for (size_t j = WIRE_HDR_LEN; j + 4 <= SESSION_INIT_LEN; j++)
			assert_true(memcmp(a + i, b + j, 4) != 0);
}

/* The X25519 ration: distinct INITs with a right mac1 (a key holder looping) get HUB_DH_BURST
 * openings at once, then one per HUB_DH_REFILL_NS. */
static void test_dh_rationed(void **unused)
{
	uint8_t id[SESSION_ID_LEN], init[SESSION_INIT_LEN];
	unsigned routed = 0;

	(void)unused;
	session_peer_id(t.site[0].master, id);
	for (unsigned k = 0; k < HUB_DH_BURST + 36; k++) {
		forge_init(t.site[0].master, id, 10 + k, init);
		if (hub_route(t.hub, init, sizeof(init), MS) >= 0)
			routed++;
	}
	assert_int_equal(routed, HUB_DH_BURST);
	assert_int_equal(hub_stats(t.hub)->drop_rate_limited, 36);
	forge_init(t.site[0].master, id, 500, init);
	assert_int_equal(hub_route(t.hub, init, sizeof(init), MS + HUB_DH_REFILL_NS),
			 t.site[0].slot);
}

/* A removed site routes nothing, at once; the others go on. */
static void test_remove_peer(void **unused)
{
	uint8_t pkt[80] = { 0 };

	(void)unused;
	tick_all(1 * MS);
	tick_all(2 * MS);
	hub_remove_peer(t.hub, (unsigned)t.site[1].slot);
	assert_null(hub_engine(t.hub, (unsigned)t.site[1].slot));
	for (unsigned s = 0; s < SITES; s++) {
		pkt[0] = (uint8_t)(0x40 + s);
		engine_send(t.site[s].client, pkt, sizeof(pkt), 3 * MS);
	}
	run(3 * MS);
	assert_int_equal(t.site[0].delivered, 1);
	assert_int_equal(t.site[1].delivered, 0);
	assert_int_equal(t.site[2].delivered, 1);
	assert_true(hub_stats(t.hub)->drop_unknown_index >= 1);
	/* its INIT no longer finds it, not even from the cache */
	assert_true(hub_route(t.hub, t.last_init[1], SESSION_INIT_LEN, 4 * MS) < 0);
	/* and it may come back, under a new slot */
	assert_true(hub_add_peer(t.hub, t.site[1].master, t.site[1].server) >= 0);
	assert_int_equal(hub_add_peer(t.hub, t.site[1].master, t.site[1].server), -EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sites_come_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junk_costs_no_dh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_cannot_pose_as_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_starts_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions_unlinkable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dh_rationed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_peer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
