/* Tests of the tunnel's own queue through two engines in memory (core/sendq.c with sched/ecf.c,
 * core/reorder.c with flow_gap): tun packets wait in the queue and leave at the paths' paced
 * rate, a ping never waits behind a bulk flow, and at the receiver a hole in one flow never
 * holds another. No clock: every call is given its time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/engine.h"
#include "core/wire.h"
#include "sched/registry.h"

#define MS 1000000ull
#define MAXQ 8192

struct dg {
	bool to_server;
	unsigned local;
	size_t len;
	uint64_t sent_at;
	uint8_t buf[WIRE_MAX_DGRAM];
};

static struct {
	struct mpt_engine *client, *server;
	struct mpt_addr caddr[2], saddr;
	struct dg q[MAXQ];
	unsigned nq;
	uint64_t now;
	/* what the server's tun side got: the first byte after the headers names the packet */
	unsigned ndelivered;
	uint16_t delivered[MAXQ];
	uint64_t delivered_at[MAXQ];
	int slow_local;			/* the client's uplink that is slower, or -1 */
	uint64_t slow_ns;		/* its one-way delay */
	uint64_t extra_ns[2];		/* and every uplink's, on top */
	uint64_t rate_bps[2];		/* the client's uplinks' rates upward (0: unlimited) */
	uint64_t busy_until[2];		/* ... and when each is free again */
} net;

static struct mpt_addr addr(uint8_t tag)
{
	struct mpt_addr a;

	memset(&a, 0, sizeof(a));
	a.len = 4;
	a.bytes[0] = tag;
	return a;
}

static void on_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *b,
		    size_t len)
{
	struct dg *d = &net.q[net.nq++];

	(void)to;
	assert_true(net.nq < MAXQ);
	d->to_server = ctx == &net.client;
	d->local = local;
	d->len = len;
	d->sent_at = net.now;
	if (d->to_server && net.rate_bps[local]) {
		/* it leaves once the uplink has sent what came before it */
		uint64_t start = net.busy_until[local] > net.now ? net.busy_until[local] : net.now;

		net.busy_until[local] = start + (uint64_t)len * 8 * 1000000000ull / net.rate_bps[local];
		d->sent_at = net.busy_until[local];
	}
	memcpy(d->buf, b, len);
}

static void srv_deliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	assert_true(len >= 30);
	net.delivered_at[net.ndelivered] = net.now;
	net.delivered[net.ndelivered++] = (uint16_t)(p[28] << 8 | p[29]);
}

static void cli_deliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)p;
	(void)len;
}

static void entropy(void *ctx, uint8_t *buf, size_t len)
{
	static uint8_t x;

	(void)ctx;
	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)(x++ * 37 + 11);
}

static struct mpt_engine *make(bool server, unsigned nlocal)
{
	struct engine_config cfg = {
		.role = server ? ENGINE_SERVER : ENGINE_CLIENT, .cipher_none = true, .nlocal = nlocal,
		.sched = sched_lookup("ecf", NULL), .mtu = 1400,
		.reorder_ns = ENGINE_REORDER_AUTO, .seed = 5,
	};
	struct engine_io io = {
		.ctx = server ? (void *)&net.server : (void *)&net.client, .send = on_send,
		.deliver = server ? srv_deliver : cli_deliver, .entropy = entropy,
	};
	struct mpt_engine *e;
	int err = 0;

	memset(cfg.key, 0x33, sizeof(cfg.key));
	e = engine_new(&cfg, &io, 0, &err);
	assert_non_null(e);
	return e;
}

/* An IPv4 packet of len bytes: UDP from port sport (bulk) or ICMP (sport 0), named id. */
static size_t ip_packet(uint8_t *p, size_t len, uint16_t sport, uint16_t id)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = sport ? 17 : 1;
	p[12] = 10, p[15] = 1;
	p[16] = 10, p[19] = 2;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[23] = 53;
	p[28] = (uint8_t)(id >> 8);
	p[29] = (uint8_t)id;
	return len;
}

/* What is due arrives: every datagram one hop with no delay, except on the client's uplink
 * slow_local (both ways), which takes slow_ns: a slower path; and extra_ns on each uplink. */
static void deliver_all(void)
{
	unsigned keep = 0;

	for (unsigned k = 0; k < net.nq; k++) {
		struct dg *d = &net.q[k];

		uint64_t delay = net.extra_ns[d->local] + ((int)d->local == net.slow_local ? net.slow_ns : 0);

		if (d->sent_at + delay > net.now) {
			net.q[keep++] = *d;
			continue;
		}
		if (d->to_server)
			engine_recv(net.server, 0, &net.caddr[d->local], d->buf, d->len, net.now);
		else
			engine_recv(net.client, d->local, &net.saddr, d->buf, d->len, net.now);
	}
	net.nq = keep;
}

static void step_to(uint64_t t)
{
	for (; net.now <= t; net.now += MS / 4) {
		if (engine_deadline(net.client) <= net.now)
			engine_tick(net.client, net.now);
		if (engine_deadline(net.server) <= net.now)
			engine_tick(net.server, net.now);
		deliver_all();
	}
	net.now = t;
}

static int setup(void **state)
{
	(void)state;
	memset(&net, 0, sizeof(net));
	net.slow_local = -1;
	net.caddr[0] = addr('c');
	net.caddr[1] = addr('d');
	net.saddr = addr('s');
	net.client = make(false, 2);
	net.server = make(true, 1);
	assert_int_equal(engine_add_remote(net.client, &net.saddr, 0), 0);
	step_to(100 * MS);		/* session up, the path validated and measured */
	assert_true(engine_has_session(net.client));
	net.ndelivered = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	engine_free(net.client);
	engine_free(net.server);
	return 0;
}

/* 200 bulk packets then one ping, all at once: the queue holds them, the path's pacer lets a
 * burst go at once and the rest at its rate, and the ping leaves among the first. */
static void test_queue_paces_and_ping_goes_first(void **unused)
{
	uint8_t p[1400];
	unsigned at_once, ping_pos = 0;

	(void)unused;
	for (uint16_t k = 1; k <= 200; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 4000, k), net.now), 0);
	assert_int_equal(engine_send(net.client, p, ip_packet(p, 84, 0, 999), net.now), 0);
	at_once = net.nq;
	/* the path's pacer (start-up, a few Mbit/s) let a burst of a few datagrams go, not 201 */
	assert_true(at_once >= 1 && at_once <= 8);
	assert_int_equal(engine_queue_stats(net.client)->enqueued, 201);
	step_to(net.now + 3000 * MS);
	assert_int_equal(net.ndelivered, 201);
	for (unsigned k = 0; k < net.ndelivered; k++)
		if (net.delivered[k] == 999)
			ping_pos = k;
	/* sparse flows first: ahead of it only what had left, the packet the queue had picked for
	 * the pacer, and the bulk flow's first quantum (fq_codel's new-flow round) */
	assert_true(ping_pos <= at_once + 2);
	/* the bulk flow in its order */
	for (unsigned k = 0, want = 1; k < net.ndelivered; k++) {
		if (net.delivered[k] == 999)
			continue;
		assert_int_equal(net.delivered[k], want);
		want++;
	}
}

/* A bulk flow A spreads over a fast uplink and a slow one (40 ms more; a first burst showed
 * the receiver that it carries data): A's packets that came the fast way wait at the receiver for those on the slow one. A flow B that starts meanwhile
 * is delivered at once: a hole in A never holds B. Then A arrives whole and in order. */
static void test_hole_holds_only_its_flow(void **unused)
{
	uint8_t p[1400];
	unsigned a = 0, b = 0, on_slow;
	uint64_t t0;

	(void)unused;
	net.slow_local = 1;
	net.slow_ns = 40 * MS;
	step_to(net.now + 1000 * MS);	/* the paths' delays learnt by their probes */
	/* a first burst, so that the receiver has seen data come the slow way lately: a hole's
	 * hold is the one-way delay of the slowest path that carries data */
	for (uint16_t k = 1; k <= 30; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 3000, k), net.now), 0);
	step_to(net.now + 300 * MS);
	assert_int_equal(net.ndelivered, 30);
	net.ndelivered = 0;
	t0 = net.now;
	on_slow = (unsigned)engine_path(net.client, 1, 0)->tx_data;
	/* 60 packets: about 40 ms of the fast uplink's rate, more than the slow one's delay */
	for (uint16_t k = 1; k <= 60; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 4000, k), net.now), 0);
	step_to(t0 + 10 * MS);
	on_slow = (unsigned)engine_path(net.client, 1, 0)->tx_data - on_slow;
	assert_true(on_slow > 0);	/* A's backlog spread onto the slow uplink */
	for (uint16_t k = 1; k <= 5; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 84, 5000, (uint16_t)(100 + k)), net.now), 0);
	step_to(t0 + 35 * MS);		/* before anything sent the slow way arrives */
	for (unsigned k = 0; k < net.ndelivered; k++) {
		if (net.delivered[k] > 100)
			assert_int_equal(net.delivered[k], 100 + ++b);
		else
			assert_int_equal(net.delivered[k], ++a);
	}
	assert_int_equal(b, 5);		/* all of B, though A has packets on the slow uplink */
	assert_true(a < 60);		/* A waits for them */
	step_to(t0 + 1000 * MS);
	assert_int_equal(net.ndelivered, 65);
	a = 0;
	for (unsigned k = 0; k < net.ndelivered; k++)
		if (net.delivered[k] <= 100)
			assert_int_equal(net.delivered[k], ++a);
}

/* An uplink whose capacity falls far under what was sent into it (a cellular link from 10 to
 * 0.5 Mbit/s) still delivers, so it never stalls, but what it holds would take it half a
 * second: its oldest packets are sent again on the other uplink, and the flow, held in order
 * at the receiver, does not wait for them. */
static void test_backlog_rescued(void **unused)
{
	uint8_t p[1400];
	uint16_t id = 0, id_fall;
	uint64_t t0, fall, before;
	unsigned upto = 0;
	static bool seen[UINT16_MAX + 1];

	(void)unused;
	net.rate_bps[0] = net.rate_bps[1] = 10000000;
	/* 9.6 Mbit/s for 3 s: both uplinks carry it and their estimates settle */
	for (t0 = net.now; net.now < t0 + 3000 * MS;) {
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 3000, ++id), net.now), 0);
		step_to(net.now + MS);
	}
	assert_true(engine_path(net.client, 1, 0)->tx_data > 500);
	before = engine_stats(net.client)->reinjected;
	net.rate_bps[1] = 500000;
	fall = net.now;
	id_fall = id;
	/* the flow slows to what uplink 0 carries with room to spare (an inner TCP would) */
	for (; net.now < fall + 300 * MS;) {
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 3000, ++id), net.now), 0);
		step_to(net.now + 2 * MS);
	}
	assert_false(path_stalled(engine_path(net.client, 1, 0), net.now));	/* it delivers */
	step_to(net.now + 2000 * MS);
	/* what was sent in the 100 ms after the fall has reached the tun side within 160 ms of it
	 * (what went into uplink 1 before the fall showed, about ten packets, comes out of it
	 * one per 20 ms, the last about 220 ms after: within 120 ms with copies of them sent on
	 * uplink 0; the receiver does not hold the rest for them meanwhile) */
	for (unsigned k = 0; k < net.ndelivered; k++) {
		if (net.delivered[k] > id_fall && net.delivered[k] <= id_fall + 50) {
			assert_true(net.delivered_at[k] < fall + 160 * MS);
			upto++;
		}
	}
	assert_true(upto >= 48);	/* a CoDel drop or so, with the copies on uplink 0 */
	assert_true(engine_stats(net.client)->reinjected > before + 8);	/* a stall's most */
	/* each packet once at most (the copy or the original, whichever comes first; a few come
	 * after a later one, their hold at the receiver over), and nearly all (the first second's
	 * start-up queue drops some at its CoDel) */
	memset(seen, 0, sizeof(seen));
	for (unsigned k = 0; k < net.ndelivered; k++) {
		assert_false(seen[net.delivered[k]]);
		seen[net.delivered[k]] = true;
	}
	assert_true(net.ndelivered > (unsigned)id - id / 20u);
}

/* Where every path queues (one bottleneck behind them all: both uplinks fall at once, or a
 * hub's own uplink under its sites), a copy would only add to the queue: none is sent once
 * the reports show it. */
static void test_no_copies_into_every_queue(void **unused)
{
	uint8_t p[1400];
	uint16_t id = 0;
	uint64_t t0, before;

	(void)unused;
	net.rate_bps[0] = net.rate_bps[1] = 10000000;
	for (t0 = net.now; net.now < t0 + 3000 * MS;) {
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 3000, ++id), net.now), 0);
		step_to(net.now + MS);
	}
	before = engine_stats(net.client)->reinjected;
	net.rate_bps[0] = net.rate_bps[1] = 500000;
	for (t0 = net.now; net.now < t0 + 300 * MS;) {
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 3000, ++id), net.now), 0);
		step_to(net.now + 2 * MS);
	}
	assert_true(path_backlogged(engine_path(net.client, 1, 0)) ||
		    path_backlogged(engine_path(net.client, 0, 0)));
	/* a few, at most, in the moment before uplink 0's reports show its queue too (35 where
	 * copies go wherever) */
	assert_true(engine_stats(net.client)->reinjected <= before + 8);
}

/* The queue's CoDel target follows the paths that carry data: the base, plus the spread of
 * their one-way delays, and at least the farthest one's round trip, twice its one-way delay (a
 * Reno flow halves its window at a drop and must still keep them busy). The delays here are
 * the client's sends only, so a 40 ms one is a 40 ms RTT, which the engine takes for 20 ms
 * each way. */
static uint64_t want_target(void)
{
	uint64_t s0 = engine_path(net.client, 0, 0)->srtt_ns, s1 = engine_path(net.client, 1, 0)->srtt_ns;
	uint64_t hi = (s0 > s1 ? s0 : s1) / 2, lo = (s0 < s1 ? s0 : s1) / 2;
	uint64_t t = 10 * MS + hi - lo;

	t = t > 2 * hi ? t : 2 * hi;
	return t < SCHED_QUEUE_MAX_NS ? t : SCHED_QUEUE_MAX_NS;	/* the cap */
}

static void test_target_follows_paths(void **unused)
{
	uint8_t p[1400];

	(void)unused;
	assert_int_equal(engine_queue_target_ns(net.client), 10 * MS);	/* no delay: the base */
	net.slow_local = 1;
	net.slow_ns = 40 * MS;
	step_to(net.now + 3000 * MS);	/* its smoothed RTT settles near 40 ms */
	for (uint16_t k = 1; k <= 60; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 4000, k), net.now), 0);
	step_to(net.now + 100 * MS);
	assert_true(engine_path(net.client, 1, 0)->tx_data > 0);
	/* one-way 0 and about 20 ms (18 as smoothed): the base plus their spread is about
	 * 28 ms, the far one's round trip about 36 */
	assert_true(engine_queue_target_ns(net.client) >= 34 * MS);
	assert_true(engine_queue_target_ns(net.client) <= 43 * MS);
	assert_true(engine_queue_target_ns(net.client) + MS >= want_target());
	assert_true(engine_queue_target_ns(net.client) <= want_target() + MS);
	/* both uplinks 40 ms: no spread, but at least the round trip */
	net.extra_ns[0] = 40 * MS;
	step_to(net.now + 3000 * MS);
	for (uint16_t k = 1; k <= 60; k++)
		assert_int_equal(engine_send(net.client, p, ip_packet(p, 1200, 4000, k), net.now), 0);
	step_to(net.now + 200 * MS);
	uint64_t s0 = engine_path(net.client, 0, 0)->srtt_ns, s1 = engine_path(net.client, 1, 0)->srtt_ns;
	uint64_t owd = (s0 > s1 ? s0 : s1) / 2;

	assert_true(owd >= 17 * MS);	/* (the bulk data's own queueing adds to the 40 ms) */
	assert_true(engine_queue_target_ns(net.client) + MS >= want_target());
	assert_true(engine_queue_target_ns(net.client) <= want_target() + MS);
	assert_true(want_target() >= 34 * MS);	/* the round trip, not the base */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_paces_and_ping_goes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_holds_only_its_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_follows_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_rescued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_copies_into_every_queue, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
