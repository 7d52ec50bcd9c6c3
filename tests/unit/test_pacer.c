/* Tests of core/pacer.c: departure times against hand-computed ones. A datagram of L bytes at
 * R bit/s costs L * 8e9 / R ns: 1500 B at 12 Mbit/s = 12e12 / 12e6 = 1 000 000 ns; at 20 Mbit/s
 * 600 000 ns; at 10 Gbit/s 1 200 ns; at 1 kbit/s 12e9 ns; 1376 B at 7 Mbit/s
 * 11 008e9 / 7e6 = 1 572 571.428... ns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/pacer.h"

#define MS 1000000ull
#define T0 1000000000ull		/* schedules start at 1 s */

/* Send len bytes as soon as the pacer allows, never before after: returns the departure. */
static uint64_t send_asap(struct pacer *p, size_t len, uint64_t after)
{
	uint64_t t = pacer_next_ns(p, len);

	if (t < after)
		t = after;
	assert_true(pacer_can_send(p, len, t));
	if (t > 0)
		assert_true(t <= after || !pacer_can_send(p, len, t - 1));
	pacer_on_send(p, len, t);
	return t;
}

static void test_12mbit_1ms_apart(void **unused)
{
	static const uint64_t want[10] = {
		1000000000, 1001000000, 1002000000, 1003000000, 1004000000,
		1005000000, 1006000000, 1007000000, 1008000000, 1009000000,
	};
	struct pacer p;

	(void)unused;
	pacer_init(&p, 12000000, 0, T0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_asap(&p, 1500, T0), want[i]);
	assert_int_equal(pacer_next_ns(&p, 1500), 1010000000);
	/* a burst of one datagram is the same as none */
	pacer_init(&p, 12000000, 1500, T0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_asap(&p, 1500, T0), want[i]);
}

static void test_20mbit_600us_apart(void **unused)
{
	static const uint64_t want[10] = {
		1000000000, 1000600000, 1001200000, 1001800000, 1002400000,
		1003000000, 1003600000, 1004200000, 1004800000, 1005400000,
	};
	struct pacer p;

	(void)unused;
	pacer_init(&p, 20000000, 0, T0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_asap(&p, 1500, T0), want[i]);
	/* 12 sends at 1 ms: the 600 us schedule catches up with now, the queue stays empty */
	for (int i = 0; i < 12; i++) {
		uint64_t now = T0 + 10 * MS + (uint64_t)i * MS;

		assert_true(pacer_can_send(&p, 1500, now));
		pacer_on_send(&p, 1500, now);
		assert_int_equal(pacer_queue_delay_ns(&p, now), 600000);
	}
}

/* burst 6000 B at 12 Mbit/s: four datagrams at T0, then the pace (tbf: tokens refill at the
 * rate, the fifth needs 1500 B of them, 1 ms) */
static void test_burst_then_pace(void **unused)
{
	static const uint64_t want[8] = {
		T0, T0, T0, T0, T0 + 1 * MS, T0 + 2 * MS, T0 + 3 * MS, T0 + 4 * MS,
	};
	struct pacer p;

	(void)unused;
	pacer_init(&p, 12000000, 6000, T0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(send_asap(&p, 1500, T0), want[i]);
	/* after the burst the schedule runs 4 ms ahead of now: the bytes in the path's buffer */
	assert_int_equal(pacer_queue_delay_ns(&p, T0 + 4 * MS), 4 * MS);
	/* small datagrams use the same byte credit: 6000 B = 60 of 100 B at T0 + 10 ms */
	pacer_init(&p, 12000000, 6000, T0 + 10 * MS);
	for (int i = 0; i < 60; i++)
		assert_int_equal(send_asap(&p, 100, T0 + 10 * MS), T0 + 10 * MS);
	/* the 61st: 100 B at 12 Mbit/s = 66 666.67 ns; the credit (5 900 B, 3 933 333.33 ns) is
	 * rounded down, so this time is rounded up */
	assert_int_equal(pacer_next_ns(&p, 100), T0 + 10 * MS + 66667);
	/* a schedule that starts at 0 with a burst: next_ns does not wrap below 0 */
	pacer_init(&p, 12000000, 6000, 0);
	assert_int_equal(pacer_next_ns(&p, 1500), 0);
	assert_int_equal(send_asap(&p, 1500, 0), 0);
	/* a datagram bigger than the burst leaves alone, once the schedule is at now */
	pacer_init(&p, 12000000, 1000, T0);
	assert_int_equal(send_asap(&p, 1500, T0), T0);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 1 * MS);
}

/* 1376 B at 7 Mbit/s over 10 000 datagrams: departure n is exactly
 * T0 + floor(n * 11 008 000 / 7) ns, the last (n = 9 999) at T0 + 15 724 141 714 ns, and the
 * schedule after 10 000 is at T0 + 15 725 714 285 ns. With a per-packet cost rounded down
 * (1 572 571 ns) it would be 4 285 ns early, with one rounded up 5 715 ns late. */
static void test_odd_rate_no_drift(void **unused)
{
	struct pacer p;
	uint64_t t = 0;

	(void)unused;
	pacer_init(&p, 7000000, 0, T0);
	for (uint64_t n = 0; n < 10000; n++) {
		t = send_asap(&p, 1376, T0);
		assert_int_equal(t, T0 + n * 11008000 / 7);
	}
	assert_int_equal(t, T0 + 15724141714ull);
	/* the schedule after 10 000: 110 080 000 000 / 7 = 15 725 714 285.71 ns */
	assert_int_equal(pacer_next_ns(&p, 1376), T0 + 15725714285ull);
}

/* 12 Mbit/s, datagrams at T0 .. T0 + 4 ms; the estimate doubles to 24 Mbit/s */
static void test_rate_change(void **unused)
{
	struct pacer p;

	(void)unused;
	/* at the sixth's due time: the sixth leaves then, the seventh 0.5 ms after */
	pacer_init(&p, 12000000, 0, T0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_asap(&p, 1500, T0), T0 + (uint64_t)i * MS);
	pacer_set_rate(&p, 24000000, T0 + 5 * MS);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 5 * MS);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 5 * MS + 500000);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 6 * MS);

	/* mid-gap, at T0 + 4.5 ms: 0.5 ms at 12 Mbit/s = 750 B still ahead, 0.25 ms at 24 */
	pacer_init(&p, 12000000, 0, T0);
	for (int i = 0; i < 5; i++)
		send_asap(&p, 1500, T0);
	pacer_set_rate(&p, 24000000, T0 + 4 * MS + 500000);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 4 * MS + 750000);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 5 * MS + 250000);

	/* halved to 6 Mbit/s mid-gap: the 750 B take 1 ms, then 2 ms a datagram */
	pacer_init(&p, 12000000, 0, T0);
	for (int i = 0; i < 5; i++)
		send_asap(&p, 1500, T0);
	pacer_set_rate(&p, 6000000, T0 + 4 * MS + 500000);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 5 * MS + 500000);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 7 * MS + 500000);

	/* odd rates: 7 -> 11 Mbit/s with a fraction pending. After one 1376 B datagram at T0 the
	 * schedule is T0 + 11 008e9 / 7e6 ns; at T0 the backlog is 1376 B, at 11 Mbit/s
	 * 11 008e9 / 11e6 = 1 000 727.27 ns */
	pacer_init(&p, 7000000, 0, T0);
	send_asap(&p, 1376, T0);
	pacer_set_rate(&p, 11000000, T0);
	assert_int_equal(pacer_next_ns(&p, 1376), T0 + 1000727);
	/* and its fraction is kept: two more at 11 Mbit/s end at 3 * 1 000 727.27 = 3 002 181.8 */
	send_asap(&p, 1376, T0);
	send_asap(&p, 1376, T0);
	assert_int_equal(pacer_next_ns(&p, 1376), T0 + 3002181);
}

/* A lower rate must not turn bytes already sent into a bigger burst: 6000 B burst at
 * 12 Mbit/s spent at T0, then 6 Mbit/s: the next 1500 B need 2 ms of refill, not none. */
static void test_rate_drop_grants_no_credit(void **unused)
{
	struct pacer p;

	(void)unused;
	pacer_init(&p, 12000000, 6000, T0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(send_asap(&p, 1500, T0), T0);
	assert_false(pacer_can_send(&p, 1500, T0));
	pacer_set_rate(&p, 6000000, T0);
	assert_false(pacer_can_send(&p, 1500, T0));
	assert_int_equal(pacer_next_ns(&p, 1500), T0 + 2 * MS);
	/* a higher rate on an idle path gives no credit for the idle time either */
	pacer_init(&p, 12000000, 3000, T0);
	pacer_set_rate(&p, 24000000, T0 + 10 * MS);
	assert_int_equal(send_asap(&p, 1500, T0 + 10 * MS), T0 + 10 * MS);
	assert_int_equal(send_asap(&p, 1500, T0 + 10 * MS), T0 + 10 * MS);
	assert_int_equal(send_asap(&p, 1500, T0 + 10 * MS), T0 + 10 * MS + 500000);
}

/* 10 s idle earns the burst (4 datagrams of 1500 B), not 10 s of 12 Mbit/s */
static void test_idle_earns_only_the_burst(void **unused)
{
	struct pacer p;
	uint64_t now = T0 + 10000 * MS;
	int n = 0;

	(void)unused;
	pacer_init(&p, 12000000, 6000, T0);
	for (int i = 0; i < 20; i++)
		send_asap(&p, 1500, T0);
	while (pacer_can_send(&p, 1500, now) && n < 1000) {
		pacer_on_send(&p, 1500, now);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(pacer_next_ns(&p, 1500), now + 1 * MS);
	/* without a burst, one datagram */
	pacer_init(&p, 12000000, 0, T0);
	send_asap(&p, 1500, T0);
	assert_true(pacer_can_send(&p, 1500, now));
	pacer_on_send(&p, 1500, now);
	assert_false(pacer_can_send(&p, 1500, now));
	assert_int_equal(pacer_next_ns(&p, 1500), now + 1 * MS);
}

/* rate 0: unpaced, everything leaves at once and nothing is scheduled */
static void test_rate_zero_is_unpaced(void **unused)
{
	struct pacer p;

	(void)unused;
	pacer_init(&p, 0, 0, T0);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(pacer_next_ns(&p, 1500), 0);
		assert_true(pacer_can_send(&p, 1500, T0));
		pacer_on_send(&p, 1500, T0);
	}
	assert_int_equal(pacer_queue_delay_ns(&p, T0), 0);
	/* a first estimate: pacing starts at now with no debt from the unpaced sends */
	pacer_set_rate(&p, 12000000, T0 + 1 * MS);
	assert_int_equal(send_asap(&p, 1500, T0 + 1 * MS), T0 + 1 * MS);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 2 * MS);
	/* back to 0 with 0.5 ms scheduled ahead: unpaced at once */
	pacer_set_rate(&p, 0, T0 + 1 * MS + 500000);
	assert_true(pacer_can_send(&p, 1500, T0 + 1 * MS + 500000));
	assert_int_equal(pacer_queue_delay_ns(&p, T0 + 1 * MS + 500000), 0);
	/* and paced again from a later now, the old schedule forgotten as idle time is */
	pacer_set_rate(&p, 12000000, T0 + 3 * MS);
	assert_int_equal(send_asap(&p, 1500, T0 + 3 * MS), T0 + 3 * MS);
	assert_int_equal(send_asap(&p, 1500, T0), T0 + 4 * MS);
}

/* next_ns never goes back at a fixed rate, whatever the lengths and send times (a send may come
 * late, or early: the pacer accounts it either way) */
static void test_next_ns_monotone(void **unused)
{
	static const uint64_t rates[] = { 1000, 7000000, 12000000, 999999937, 10000000000ull };
	uint32_t x = 12345;

	(void)unused;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct pacer p;
		uint64_t now = T0, prev[3] = { 0, 0, 0 };
		static const size_t probe[3] = { 40, 1376, 1500 };

		pacer_init(&p, rates[r], 4500, now);
		for (int i = 0; i < 20000; i++) {
			size_t len;

			x = x * 1103515245 + 12345;		/* test's own LCG */
			len = 40 + (x >> 8) % 1461;
			switch ((x >> 24) % 4) {
			case 0: now += (x >> 4) % 5000000; break;	/* idle a little */
			case 1: break;					/* early */
			default:
				if (pacer_next_ns(&p, len) > now)
					now = pacer_next_ns(&p, len);
			}
			pacer_on_send(&p, len, now);
			for (int k = 0; k < 3; k++) {
				uint64_t t = pacer_next_ns(&p, probe[k]);

				assert_true(t >= prev[k]);
				prev[k] = t;
			}
		}
	}
}

/* The re-timing on a rate change is an exact multiply-divide done in 64 bits: against 128-bit
 * arithmetic (where the compiler has it) on random backlogs, fractions and rates. */
static void test_rate_change_exact(void **unused)
{
#ifdef __SIZEOF_INT128__
	uint64_t x = 88172645463325252ull;

	(void)unused;
	for (int i = 0; i < 200000; i++) {
		struct pacer p;
		uint64_t now, d, old, rate, bound;
		unsigned __int128 num, q;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* test's own xorshift */
		old = 1 + (x % PACER_MAX_RATE_BPS) / (1ull << (x >> 58) % 40);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		rate = 1 + (x % PACER_MAX_RATE_BPS) / (1ull << (x >> 58) % 40);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		now = x >> 1;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		bound = UINT64_MAX - now;
		d = (x >> (x % 64)) % (bound < 1000000000000ull ? bound + 1 : 1000000000000ull);
		pacer_init(&p, old, 0, now);
		p.tat_ns = now + d;
		p.tat_rem = x % old;
		num = (unsigned __int128)d * old + p.tat_rem;
		q = num / rate;
		pacer_set_rate(&p, rate, now);
		if (q > bound) {
			assert_int_equal(p.tat_ns, UINT64_MAX);
			continue;
		}
		assert_int_equal(p.tat_ns, now + (uint64_t)q);
		assert_int_equal(p.tat_rem, (uint64_t)(num % rate));
	}
#else
	(void)unused;
	skip();
#endif
}

static void test_overflow_safety(void **unused)
{
	struct pacer p;
	uint64_t t0 = (1ull << 63) - 5000;

	(void)unused;
	/* 10 Gbit/s across 2^63: 1 200 ns apart, exactly */
	pacer_init(&p, 10000000000ull, 0, t0);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(send_asap(&p, 1500, t0), t0 + i * 1200);
	/* 1 kbit/s from just below 2^63: 12 s apart */
	pacer_init(&p, 1000, 0, t0);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(send_asap(&p, 1500, t0), t0 + i * 12000000000ull);
	assert_int_equal(pacer_queue_delay_ns(&p, t0 + 9 * 12000000000ull), 12000000000ull);
	/* a rate change with that 12 s backlog, up to 10 Gbit/s (1 200 ns) and down to 1 bit/s */
	pacer_set_rate(&p, 10000000000ull, t0 + 9 * 12000000000ull);
	assert_int_equal(pacer_next_ns(&p, 1500), t0 + 9 * 12000000000ull + 1200);
	pacer_set_rate(&p, 1, t0 + 9 * 12000000000ull);
	assert_int_equal(pacer_next_ns(&p, 1500), t0 + 9 * 12000000000ull + 12000000000000ull);
	/* near the end of time the schedule saturates instead of wrapping */
	pacer_init(&p, 1000, 0, UINT64_MAX - 5000000000ull);
	pacer_on_send(&p, 1500, UINT64_MAX - 5000000000ull);
	assert_int_equal(pacer_next_ns(&p, 1500), UINT64_MAX);
	pacer_on_send(&p, 1500, UINT64_MAX - 1);
	assert_int_equal(pacer_next_ns(&p, 1500), UINT64_MAX);
	assert_false(pacer_can_send(&p, 1500, UINT64_MAX - 1));
	pacer_set_rate(&p, 1, UINT64_MAX - 1);
	assert_int_equal(pacer_next_ns(&p, 1500), UINT64_MAX);
	/* out-of-range rates and lengths are clamped, not overflowed */
	pacer_init(&p, UINT64_MAX, UINT64_MAX, t0);
	assert_int_equal(p.rate_bps, PACER_MAX_RATE_BPS);
	pacer_on_send(&p, SIZE_MAX, t0);
	/* 2^30 B at 2^40 bit/s: 8e9 / 2^10 = 7 812 500 ns */
	assert_int_equal(pacer_next_ns(&p, SIZE_MAX), t0 + 7812500);
	pacer_init(&p, 1, PACER_MAX_BYTES, 0);
	pacer_on_send(&p, PACER_MAX_BYTES, 0);
	/* 2^30 B at 1 bit/s: 8.6e18 ns scheduled, all but 1 B of it credit: 8e9 ns */
	assert_int_equal(pacer_next_ns(&p, 1), 8000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_12mbit_1ms_apart),
		cmocka_unit_test(test_20mbit_600us_apart),
		cmocka_unit_test(test_burst_then_pace),
		cmocka_unit_test(test_odd_rate_no_drift),
		cmocka_unit_test(test_rate_change),
		cmocka_unit_test(test_rate_drop_grants_no_credit),
		cmocka_unit_test(test_idle_earns_only_the_burst),
		cmocka_unit_test(test_rate_zero_is_unpaced),
		cmocka_unit_test(test_next_ns_monotone),
		cmocka_unit_test(test_rate_change_exact),
		cmocka_unit_test(test_overflow_safety),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
