/* Tests of core/capacity.c: the per-path capacity estimate rises with what the path delivers,
 * falls when the path queues while taking less than it is sent, and is not fooled by samples
 * that say only what the tunnel gave it (app-limited) or by a queue it did not cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/capacity.h"

#define MS 1000000ull
#define MBIT 1000000ull

/* One sample every 20 ms (the feedback interval), min RTT rtt, from *t on; n samples. */
static void feed_rtt(struct capacity *c, uint64_t *t, unsigned n, uint64_t bps, bool app_limited,
		     bool pushed, uint64_t qdelay, uint64_t rtt)
{
	for (unsigned k = 0; k < n; k++) {
		*t += 20 * MS;
		capacity_on_sample(c, *t, bps, app_limited, pushed, rtt, qdelay);
	}
}

/* ... min RTT 40 ms */
static void feed(struct capacity *c, uint64_t *t, unsigned n, uint64_t bps, bool app_limited,
		 bool pushed, uint64_t qdelay)
{
	feed_rtt(c, t, n, bps, app_limited, pushed, qdelay, 40 * MS);
}

static void test_startup_then_probe(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	assert_int_equal(capacity_estimate_bps(&c), 0);
	assert_int_equal(capacity_pacing_bps(&c), CAP_INIT_BPS);	/* before any sample */
	/* start-up doubles: paced at twice what it delivers */
	feed(&c, &t, 1, 4 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 4 * MBIT);
	assert_int_equal(capacity_pacing_bps(&c), 8 * MBIT);
	feed(&c, &t, 2, 8 * MBIT, false, false, 0);
	assert_int_equal(c.mode, CAP_STARTUP);
	/* three busy rounds without a quarter's growth: probing, first draining */
	feed(&c, &t, 8, 9 * MBIT, false, false, 0);
	assert_int_equal(c.mode, CAP_PROBE);
	assert_int_equal(capacity_estimate_bps(&c), 9 * MBIT);
	/* the gain cycles up, down, then 1: every phase is seen within 8 rounds while the probe
	 * makes a queue (5 ms); without one the drain phase stays at 1 (app-limited samples: the
	 * cycle as it is); busy at the estimate without a queue, the cycle as it is too: a path
	 * that carries exactly its estimate shows no queue either (test_reprobe_on_growth). Up
	 * moves CAP_PROBE_QUEUE_NS of queue over the 40 ms round, down the queue that showed; in
	 * between, the 5 ms queue loses half its excess over CAP_DRAIN_QDELAY_NS a round */
	const uint64_t step = 9 * MBIT * CAP_PROBE_QUEUE_NS / (40 * MS);
	const uint64_t settle = 9 * MBIT * ((5 * MS - CAP_DRAIN_QDELAY_NS) / 2) / (40 * MS);

	assert_true(step < 9 * MBIT / 4);
	for (int mode = 0; mode < 3; mode++) {
		bool up = false, down = false, even = false, gentle = false;

		for (unsigned k = 0; k < 2 * CAP_PHASES * 2; k++) {
			uint64_t p;

			feed(&c, &t, 1, mode == 1 ? 2 * MBIT : 9 * MBIT, mode == 1, false,
			     mode == 0 ? 5 * MS : 0);
			p = capacity_pacing_bps(&c);
			up |= p == 9 * MBIT + step;
			down |= p == 9 * MBIT - 9 * MBIT * 5 * MS / (40 * MS);	/* the 5 ms queue */
			even |= p == (mode == 0 ? 9 * MBIT - settle : 9 * MBIT);
			gentle |= p == 9 * MBIT / 8 * 9;
			assert_true(p >= 9 * MBIT / 4 * 3 && p <= 9 * MBIT / 4 * 5);
		}
		assert_int_equal(capacity_estimate_bps(&c), 9 * MBIT);
		assert_true(even);
		assert_true(up && !gentle);
		assert_true(mode == 0 ? down : !down);
	}
}

/* The periodic probe moves CAP_PROBE_QUEUE_NS of queue over a round, whatever the path's RTT: on
 * a far path (80 ms) a 5/4 probe would queue 20 ms, which a flow spread over it waits for at
 * the receiver. Its drain takes off what queue showed as it began (at least that much, at most
 * a quarter of a round): a queue left from before (start-up, a reprobe) goes too. The drain
 * that ends start-up is still 3/4. */
static void test_probe_moves_little_queue(void **unused)
{
	static const uint64_t rtts[] = { 10 * MS, 80 * MS, 300 * MS };
	static const uint64_t queues[] = { CAP_PROBE_QUEUE_NS, 12 * MS, 100 * MS };

	(void)unused;
	for (unsigned r = 0; r < sizeof(rtts) / sizeof(rtts[0]); r++) {
		for (unsigned q = 0; q < sizeof(queues) / sizeof(queues[0]); q++) {
			uint64_t round = rtts[r] > CAP_ROUND_MIN_NS ? rtts[r] : CAP_ROUND_MIN_NS;
			uint64_t t = 0, hi = 0, lo = UINT64_MAX, est = 10 * MBIT, drained;
			struct capacity c;

			capacity_init(&c, t, 0);
			feed_rtt(&c, &t, 1, est / 2, false, false, 0, rtts[r]);
			for (unsigned k = 0; k < 100 && c.mode == CAP_STARTUP; k++)
				feed_rtt(&c, &t, 1, est, false, false, 0, rtts[r]);
			assert_int_equal(c.mode, CAP_PROBE);
			assert_int_equal(capacity_pacing_bps(&c), est / 4 * 3);	/* start-up's drain */
			for (unsigned k = 0; k < 4 * CAP_PHASES * (unsigned)(round / (20 * MS)); k++) {
				uint64_t p;

				/* app-limited at the estimate with a queue: the cycle as it is */
				feed_rtt(&c, &t, 1, est, true, false, queues[q], rtts[r]);
				p = capacity_pacing_bps(&c);
				if (c.forced_drain)
					continue;
				hi = p > hi ? p : hi;
				lo = p < lo ? p : lo;
			}
			assert_int_equal(capacity_estimate_bps(&c), est);
			/* the excess over a round, in time at the estimate, is the bound: 3 ms */
			assert_int_equal((hi - est) * round / est, CAP_PROBE_QUEUE_NS);
			/* the drain: the queue that showed, at most a quarter of the round */
			drained = queues[q] < round / 4 ? queues[q] : round / 4;
			assert_int_equal((est - lo) * round / est, drained);
		}
	}
}

/* A queue ends start-up even when the sender is not pushing harder than the path delivers (an
 * inner TCP holding the uplink's buffer full at the delivery rate): left in start-up, the path
 * was paced at twice its capacity for good. The estimate stays. */
static void test_queue_ends_startup(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 3, 20 * MBIT, true, false, 0);
	assert_int_equal(c.mode, CAP_STARTUP);
	feed(&c, &t, 1, 20 * MBIT, true, true, 30 * MS);
	assert_int_equal(c.mode, CAP_PROBE);
	assert_int_equal(capacity_estimate_bps(&c), 20 * MBIT);
	assert_true(capacity_pacing_bps(&c) < 20 * MBIT);	/* draining */
	/* kept busy (not app-limited) counts as well as pushed */
	capacity_init(&c, t, 0);
	feed(&c, &t, 3, 20 * MBIT, false, false, 0);
	feed(&c, &t, 1, 20 * MBIT, false, false, 30 * MS);
	assert_int_equal(c.mode, CAP_PROBE);
	/* the queue that ends start-up may come with more delivered than the estimate (its last
	 * round filled the pipe): the path carries that much, and the estimate says so */
	capacity_init(&c, t, 0);
	feed(&c, &t, 3, 20 * MBIT, true, false, 0);
	feed(&c, &t, 1, 35 * MBIT, true, true, 14 * MS);
	assert_int_equal(c.mode, CAP_PROBE);
	assert_int_equal(capacity_estimate_bps(&c), 35 * MBIT);
}

/* A queue on a path that took all the tunnel gave it (app-limited, not pushed) does not end
 * start-up: before any data, a path carries only probes, and a delay spike then (jitter, or
 * someone else's traffic on the uplink as the tunnel comes up) once ended its start-up at the
 * probes' 0.1 Mbit/s, so that the fibre path of the testbed took 10 s to climb to 50 Mbit/s
 * a probe step at a time, and the download through it ran at 62 Mbit/s instead of 85. */
static void test_idle_queue_keeps_startup(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 5, 100000, true, false, 0);
	feed(&c, &t, 3, 100000, true, false, 15 * MS);
	assert_int_equal(c.mode, CAP_STARTUP);
	assert_int_equal(c.startup_end, CAP_END_NONE);
	assert_int_equal(capacity_pacing_bps(&c), CAP_INIT_BPS);
	/* then data: start-up doubles as before, and ends on the queue its own push makes */
	feed(&c, &t, 4, 4 * MBIT, false, false, 0);
	assert_int_equal(c.mode, CAP_STARTUP);
	assert_int_equal(capacity_pacing_bps(&c), 8 * MBIT);
	feed(&c, &t, 1, 6 * MBIT, false, true, 15 * MS);
	assert_int_equal(c.mode, CAP_PROBE);
	assert_int_equal(c.startup_end, CAP_END_QUEUE);
	assert_int_equal(capacity_estimate_bps(&c), 6 * MBIT);
}

/* One round per sample's 20 ms pacing: a path that delivers what it is sent, up to link_bps,
 * with no queue (the pacer at or under the link), or queue_ns when sent more. n samples;
 * returns how many were paced above the estimate. */
static unsigned run_link(struct capacity *c, uint64_t *t, unsigned n, uint64_t link_bps,
			 uint64_t queue_ns)
{
	unsigned above = 0;

	for (unsigned k = 0; k < n; k++) {
		uint64_t p = capacity_pacing_bps(c);

		above += p > capacity_estimate_bps(c);
		feed(c, t, 1, p < link_bps ? p : link_bps, false, p > link_bps,
		     p > link_bps ? queue_ns : 0);
	}
	return above;
}

/* Probe again at once only when the probe before found capacity. A path that carries exactly
 * its estimate, busy and without a queue, looks no different from one with room to spare
 * until a probe says which: probing it again every other round (as before) kept the far paths
 * of the testbed's 50/30/10/10 mix in a cycle of 9/8 and a forced 3/4, their queue swinging
 * from 1 to 14 ms. A path that has room catches up in a few cycles' time, not one step per
 * eight rounds. */
static void test_reprobe_on_growth(void **unused)
{
	struct capacity c;
	uint64_t t = 0;
	unsigned above, rounds;

	(void)unused;
	/* at its capacity: out of start-up, above the estimate one round (two samples) in eight */
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, 10 * MBIT, false, false, 0);
	run_link(&c, &t, 4 * CAP_PHASES * 2, 10 * MBIT, 2 * MS);
	above = run_link(&c, &t, 10 * CAP_PHASES * 2, 10 * MBIT, 2 * MS);
	assert_int_equal(capacity_estimate_bps(&c), 10 * MBIT);
	assert_true(above >= 10 * 2 - 2 && above <= 10 * 2 + 2);
	/* the link doubles: a probe finds it, and the probes follow each other while they find
	 * more; the cycle alone (3 ms over a 40 ms round, one in eight) would take 80 rounds */
	for (rounds = 0; rounds < 200 && capacity_estimate_bps(&c) < 19 * MBIT; rounds++)
		run_link(&c, &t, 2, 20 * MBIT, 2 * MS);
	assert_true(rounds <= 30);
	/* and once there, the cycle as it is */
	run_link(&c, &t, 4 * CAP_PHASES * 2, 20 * MBIT, 2 * MS);
	above = run_link(&c, &t, 10 * CAP_PHASES * 2, 20 * MBIT, 2 * MS);
	assert_true(above >= 10 * 2 - 2 && above <= 10 * 2 + 2);
}

static void test_rises_with_the_link(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, 10 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 10 * MBIT);
	/* the link doubles: the first busy sample above says so */
	feed(&c, &t, 1, 20 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 20 * MBIT);
	/* an app-limited sample above the estimate raises it too: the path carried that much */
	feed(&c, &t, 1, 25 * MBIT, true, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 25 * MBIT);
}

static void test_falls_when_pushed_into_a_queue(void **unused)
{
	struct capacity c;
	uint64_t t = 0, prev;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, 40 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 40 * MBIT);
	/* a cellular link drops to 10 Mbit/s: it queues and takes less than it is sent. The
	 * estimate steps down, at most an eighth per sample while the queue comes and goes (it
	 * may have formed late in the span; test_queued_span_is_the_rate has one that stays),
	 * and stops at what it delivers */
	prev = capacity_estimate_bps(&c);
	for (unsigned k = 0; k < 60; k++) {
		feed(&c, &t, 1, 10 * MBIT, false, true, k % 2 ? 5 * MS : 30 * MS);
		assert_true(capacity_estimate_bps(&c) >= prev - prev / CAP_DROP_STEP);
		assert_true(capacity_estimate_bps(&c) >= 10 * MBIT);
		prev = capacity_estimate_bps(&c);
	}
	assert_int_equal(capacity_estimate_bps(&c), 10 * MBIT);
	assert_true(c.drops > 0);
	/* it recovers: the link is back to 30, busy samples raise the estimate at once */
	feed(&c, &t, 1, 30 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 30 * MBIT);
}

/* A queue that stood through a sample's whole span (it showed at the sample before too) says
 * the path was full all along: what it delivered is its rate, taken at once, not an eighth a
 * sample. A cellular link from 20 to 1 Mbit/s would otherwise be sent 20 samples' worth
 * (400 ms) of more than it carries. */
static void test_queued_span_is_the_rate(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, 20 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 20 * MBIT);
	/* the first queued sample: the queue may have formed late in its span */
	feed(&c, &t, 1, 1 * MBIT, false, true, 15 * MS);
	assert_int_equal(capacity_estimate_bps(&c), 20 * MBIT - 20 * MBIT / CAP_DROP_STEP);
	/* the next: queued from its start */
	feed(&c, &t, 1, 1 * MBIT, false, true, 40 * MS);
	assert_int_equal(capacity_estimate_bps(&c), 1 * MBIT);
	assert_int_equal(c.drops, 2);
}

static void test_not_fooled(void **unused)
{
	struct capacity c;
	uint64_t t = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, 40 * MBIT, false, false, 0);
	/* the tunnel gave it little for seconds (app-limited): the estimate stays */
	feed(&c, &t, 200, 2 * MBIT, true, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 40 * MBIT);
	/* a queue it did not cause (jitter, others' traffic: not pushed): the estimate stays
	 * (the pacing settles at most an eighth below it while the queue stands) */
	feed(&c, &t, 50, 5 * MBIT, true, false, 50 * MS);
	assert_int_equal(capacity_estimate_bps(&c), 40 * MBIT);
	/* busy but below the old best for longer than the window, without a queue: the window
	 * forgets the old best */
	feed(&c, &t, (unsigned)(CAP_WINDOW_NS / (20 * MS)) + 2, 30 * MBIT, false, false, 0);
	assert_int_equal(capacity_estimate_bps(&c), 30 * MBIT);
}

/* Paths that leave start-up in the same round (four equal uplinks) take their own places in
 * the gain cycle: they never all probe, nor all drain, in one round. */
static void test_paths_out_of_step(void **unused)
{
	struct capacity c[4];
	uint64_t t[4] = { 0 };

	(void)unused;
	for (unsigned i = 0; i < 4; i++) {
		capacity_init(&c[i], 0, 5u * i);
		feed(&c[i], &t[i], 1, 4 * MBIT, false, false, 0);
		feed(&c[i], &t[i], 2, 8 * MBIT, false, false, 0);
		feed(&c[i], &t[i], 8, 9 * MBIT, false, false, 0);
		assert_int_equal(c[i].mode, CAP_PROBE);
	}
	for (unsigned round = 0; round < 4 * CAP_PHASES; round++) {
		unsigned probing = 0, draining = 0;

		for (unsigned i = 0; i < 4; i++) {
			/* app-limited at the estimate with a queue: the cycle as it is, drains on */
			feed(&c[i], &t[i], 2, 9 * MBIT, true, false, 5 * MS);
			probing += capacity_pacing_bps(&c[i]) > 9 * MBIT;
			/* the drain phase takes off the whole 5 ms; the phases between, less */
			draining += capacity_pacing_bps(&c[i]) <= 9 * MBIT - 9 * MBIT * 5 * MS / (40 * MS);
		}
		if (round == 0)
			continue;	/* the drain that ends start-up: all four at once */
		assert_true(probing <= 1);
		assert_true(draining <= 1);
	}
}

/* The window's best of noisy samples runs the estimate a little above the path. A toy path of
 * rate R whose samples say R, and 3 % more one time in eight; every 20 ms the pacer's excess
 * over R adds to the path's queue, which feedback reports 40 ms late (its interval, and the
 * path's delay). The window keeps the estimate 3 % high, and "pushed" (an eighth faster) never
 * holds, so no sample lowers it. Between the probes the queue that stands drains: it settles a
 * few ms above CAP_DRAIN_QDELAY_NS. Without that, it grows without bound (over 50 ms on
 * average here; a real uplink's buffer overflows), and every ping on the path waits for it. */
static void test_standing_queue_drains(void **unused)
{
	const uint64_t R = 40 * MBIT;
	struct capacity c;
	uint64_t t = 0, worst = 0, sum = 0, n = 0;
	int64_t q = 0, seen[3] = { 0 };

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, R, false, false, 0);
	assert_int_equal(c.mode, CAP_PROBE);
	for (unsigned k = 0; k < 500; k++) {
		uint64_t bps = k % 8 == 0 ? R / 100 * 103 : R;

		feed(&c, &t, 1, bps, false, false, (uint64_t)seen[2]);
		q += ((int64_t)capacity_pacing_bps(&c) - (int64_t)R) * (int64_t)(20 * MS) / (int64_t)R;
		if (q < 0)
			q = 0;
		seen[2] = seen[1];
		seen[1] = seen[0];
		seen[0] = q;
		if (k >= 100) {		/* after 2 s */
			worst = (uint64_t)q > worst ? (uint64_t)q : worst;
			sum += (uint64_t)q;
			n++;
		}
	}
	print_message("standing queue: mean %.1f ms, worst %.1f ms\n", (double)sum / n / 1e6,
		      (double)worst / 1e6);
	assert_int_equal(capacity_estimate_bps(&c), R / 100 * 103);	/* still high ... */
	assert_true(sum / n <= 6 * MS);					/* ... yet the queue small */
	assert_true(worst < CAP_QDELAY_NS);
}

/* A route that got longer reads as a queue (the peer's least one-way delay is renewed only every
 * 10 s) that no drain can take off: between the probes it costs at most 1/CAP_SETTLE_MAX of the
 * rate, and the estimate stays. */
static void test_longer_route_costs_little(void **unused)
{
	const uint64_t R = 40 * MBIT;
	struct capacity c;
	uint64_t t = 0, lo = UINT64_MAX;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, R, false, false, 0);
	assert_int_equal(c.mode, CAP_PROBE);
	feed(&c, &t, 4 * CAP_PHASES, R, false, false, 0);	/* out of the start-up's drain */
	for (unsigned k = 0; k < 4 * CAP_PHASES * 2; k++) {
		/* 30 ms more one way, delivered as paced: not pushed, so no sample lowers it */
		feed(&c, &t, 1, R, false, false, 30 * MS);
		if (c.phase >= 2)
			lo = capacity_pacing_bps(&c) < lo ? capacity_pacing_bps(&c) : lo;
	}
	assert_int_equal(capacity_estimate_bps(&c), R);
	assert_int_equal(lo, R - R / CAP_SETTLE_MAX);
}

/* Jitter is no queue: a sample whose packet waited 20 ms, in a round whose other sample shows
 * none (a round is two samples here), moves the pacing rate not at all between the probes; only a queue that stood through
 * a round is drained. */
static void test_jitter_is_no_queue(void **unused)
{
	const uint64_t R = 40 * MBIT;
	struct capacity c;
	uint64_t t = 0;
	unsigned seen = 0;

	(void)unused;
	capacity_init(&c, t, 0);
	feed(&c, &t, 20, R, false, false, 0);	/* busy at R: start-up ends flat */
	assert_int_equal(c.mode, CAP_PROBE);
	feed(&c, &t, 4 * CAP_PHASES, R, true, false, 0);	/* out of the start-up's drain */
	for (unsigned k = 0; k < 4 * CAP_PHASES * 2; k++) {
		/* app-limited at the estimate: the cycle as it is; every third sample jitters */
		feed(&c, &t, 1, R, true, false, k % 3 ? 0 : 20 * MS);
		if (c.phase >= 2) {
			assert_int_equal(capacity_pacing_bps(&c), R);
			seen++;
		}
	}
	assert_true(seen > 0);
	assert_int_equal(capacity_estimate_bps(&c), R);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_then_probe),
		cmocka_unit_test(test_probe_moves_little_queue),
		cmocka_unit_test(test_queue_ends_startup),
		cmocka_unit_test(test_idle_queue_keeps_startup),
		cmocka_unit_test(test_rises_with_the_link),
		cmocka_unit_test(test_falls_when_pushed_into_a_queue),
		cmocka_unit_test(test_not_fooled),
		cmocka_unit_test(test_paths_out_of_step),
		cmocka_unit_test(test_standing_queue_drains),
		cmocka_unit_test(test_longer_route_costs_little),
		cmocka_unit_test(test_jitter_is_no_queue),
		cmocka_unit_test(test_queued_span_is_the_rate),
		cmocka_unit_test(test_reprobe_on_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
