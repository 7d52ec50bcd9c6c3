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

/* One sample every 20 ms (the feedback interval), min RTT 40 ms, from *t on; n samples. */
static void feed(struct capacity *c, uint64_t *t, unsigned n, uint64_t bps, bool app_limited,
		 bool pushed, uint64_t qdelay)
{
	for (unsigned k = 0; k < n; k++) {
		*t += 20 * MS;
		capacity_on_sample(c, *t, bps, app_limited, pushed, 40 * MS, qdelay);
	}
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
	/* the gain cycles 5/4, 3/4, then 1: every phase is seen within 8 rounds while the probe
	 * makes a queue (5 ms); without one the drain phase stays at 1 (app-limited samples: the
	 * cycle as it is); busy without a queue, it probes again every other round, at 9/8 */
	for (int mode = 0; mode < 3; mode++) {
		bool up = false, down = false, even = false, gentle = false;

		for (unsigned k = 0; k < 2 * CAP_PHASES * 2; k++) {
			uint64_t p;

			feed(&c, &t, 1, mode == 1 ? 2 * MBIT : 9 * MBIT, mode == 1, false,
			     mode == 0 ? 5 * MS : 0);
			p = capacity_pacing_bps(&c);
			up |= p == 9 * MBIT / 4 * 5;
			down |= p == 9 * MBIT / 4 * 3;
			even |= p == 9 * MBIT;
			gentle |= p == 9 * MBIT / 8 * 9;
			assert_true(p >= 9 * MBIT / 4 * 3 && p <= 9 * MBIT / 4 * 5);
		}
		assert_int_equal(capacity_estimate_bps(&c), 9 * MBIT);
		assert_true(even);
		assert_true(mode == 2 ? gentle && !up && !down : up && !gentle);
		assert_true(mode == 0 ? down : !down);
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
	feed(&c, &t, 1, 20 * MBIT, true, false, 30 * MS);
	assert_int_equal(c.mode, CAP_PROBE);
	assert_int_equal(capacity_estimate_bps(&c), 20 * MBIT);
	assert_true(capacity_pacing_bps(&c) < 20 * MBIT);	/* draining */
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
	 * estimate steps down, at most an eighth per sample, and stops at what it delivers */
	prev = capacity_estimate_bps(&c);
	for (unsigned k = 0; k < 30; k++) {
		feed(&c, &t, 1, 10 * MBIT, false, true, 30 * MS);
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
	/* a queue it did not cause (jitter, others' traffic: not pushed): the estimate stays */
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
			draining += capacity_pacing_bps(&c[i]) < 9 * MBIT;
		}
		if (round == 0)
			continue;	/* the drain that ends start-up: all four at once */
		assert_true(probing <= 1);
		assert_true(draining <= 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_then_probe),
		cmocka_unit_test(test_queue_ends_startup),
		cmocka_unit_test(test_rises_with_the_link),
		cmocka_unit_test(test_falls_when_pushed_into_a_queue),
		cmocka_unit_test(test_not_fooled),
		cmocka_unit_test(test_paths_out_of_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
