/* Tests of sim/link.c: exact serialization and delay, the drop-tail queue, no drift, loss
 * statistics (Bernoulli, Gilbert-Elliott) and jitter within stated tolerances, outages, trace
 * links. Seeded, so every figure is the same on every run. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "sim/link.h"

#define MS 1000000ull

static struct link_params rate_link(uint64_t rate, uint64_t delay, uint64_t queue)
{
	struct link_params p;

	memset(&p, 0, sizeof(p));
	p.rate_bps = rate;
	p.delay_ns = delay;
	p.queue_bytes = queue;
	return p;
}

static void test_serialization_exact(void **unused)
{
	struct link_params p = rate_link(12000000, 20 * MS, 1000000);
	struct link l;
	struct mpt_rng rng;
	uint64_t at;

	(void)unused;
	rng_seed(&rng, 1);
	assert_int_equal(link_init(&l, &p), 0);
	/* a burst of 100 x 1500 bytes at 12 Mbit/s: one per ms, plus 20 ms of delay */
	for (int k = 0; k < 100; k++) {
		assert_int_equal(link_send(&l, 0, 1500, &rng, &at), LINK_DELIVER);
		assert_int_equal(at, (uint64_t)(k + 1) * MS + 20 * MS);
	}
	/* an idle link starts from now */
	assert_int_equal(link_send(&l, 1000 * MS, 1500, &rng, &at), LINK_DELIVER);
	assert_int_equal(at, 1001 * MS + 20 * MS);
	link_free(&l);
}

static void test_no_drift(void **unused)
{
	struct link_params p = rate_link(7777777, 0, UINT64_MAX / 2);
	struct link l;
	struct mpt_rng rng;
	uint64_t at = 0, bits = 0;

	(void)unused;
	rng_seed(&rng, 2);
	link_init(&l, &p);
	/* one million odd-sized packets back to back: the last departure is the exact total */
	for (int k = 0; k < 1000000; k++) {
		size_t len = 61 + (size_t)(k % 1400);

		link_send(&l, 0, len, &rng, &at);
		bits += len * 8;
	}
	assert_true(llabs((long long)at - (long long)(bits * 1000000000ull / 7777777)) <= 1);
	link_free(&l);
}

static void test_queue_limit(void **unused)
{
	struct link_params p = rate_link(12000000, 0, 15000);
	struct link l;
	struct mpt_rng rng;
	uint64_t at;
	int delivered = 0;

	(void)unused;
	rng_seed(&rng, 3);
	link_init(&l, &p);
	/* 15000 bytes fit: exactly 10 of 15 packets sent at once */
	for (int k = 0; k < 15; k++)
		delivered += link_send(&l, 0, 1500, &rng, &at) == LINK_DELIVER;
	assert_int_equal(delivered, 10);
	assert_int_equal(l.stats.drop_queue, 5);
	assert_int_equal(link_queue_bytes_now(&l, 0), 15000);
	/* one packet leaves per ms */
	assert_int_equal(link_queue_bytes_now(&l, 3 * MS), 15000 - 3 * 1500);
	assert_int_equal(link_send(&l, 3 * MS, 1500, &rng, &at), LINK_DELIVER);
	assert_int_equal(link_queue_bytes_now(&l, 100 * MS), 0);
	assert_int_equal(l.stats.pkts_in, l.stats.pkts_out + l.stats.drop_queue);
	link_free(&l);
}

static void test_bernoulli_loss(void **unused)
{
	struct link_params p = rate_link(1000000000, 0, UINT64_MAX / 2);
	struct link l;
	struct mpt_rng rng;
	uint64_t at, lost = 0;
	const int n = 200000;

	(void)unused;
	rng_seed(&rng, 4);
	p.loss = 0.10;
	link_init(&l, &p);
	for (int k = 0; k < n; k++)
		lost += link_send(&l, (uint64_t)k * 1000, 100, &rng, &at) == LINK_DROP_LOSS;
	/* sd = sqrt(0.1 * 0.9 / 200k) = 0.067 %: allow 0.3 % (4.5 sd) */
	assert_true(fabs((double)lost / n - 0.10) < 0.003);
	assert_int_equal(l.stats.drop_loss, lost);
	link_free(&l);
}

/* Mean loss and mean burst length of the loss process. */
static void loss_stats(struct link_params *p, int n, double *mean, double *burst)
{
	struct link l;
	struct mpt_rng rng;
	uint64_t at, lost = 0, bursts = 0;
	int prev = 0;

	rng_seed(&rng, 5);
	link_init(&l, p);
	for (int k = 0; k < n; k++) {
		int drop = link_send(&l, (uint64_t)k * 1000, 100, &rng, &at) == LINK_DROP_LOSS;

		lost += drop;
		bursts += drop && !prev;
		prev = drop;
	}
	*mean = (double)lost / n;
	*burst = bursts ? (double)lost / bursts : 0;
	link_free(&l);
}

static void test_gilbert_elliott(void **unused)
{
	struct link_params ge = rate_link(1000000000, 0, UINT64_MAX / 2), bern = ge;
	double mean, burst, bmean, bburst;
	const double p = 0.01, r = 0.25, h = 0.8, k = 0.001;
	const double expect = p / (p + r) * h + r / (p + r) * k;	/* 0.0317 */

	(void)unused;
	ge.ge = 1;
	ge.ge_p = p;
	ge.ge_r = r;
	ge.ge_h = h;
	ge.ge_k = k;
	loss_stats(&ge, 400000, &mean, &burst);
	/* bursty losses vary more than Bernoulli's: allow 10 % relative over 400k packets */
	assert_true(fabs(mean - expect) < 0.1 * expect);
	bern.loss = expect;
	loss_stats(&bern, 400000, &bmean, &bburst);
	/* Bernoulli bursts average 1 / (1 - loss) ~ 1.03; GE's ~ 1 / (1 - (1 - r) h) = 2.5 */
	assert_true(bburst < 1.1);
	assert_true(burst > 2.0);
}

static void test_jitter_keeps_fifo(void **unused)
{
	struct link_params p = rate_link(1000000000, 20 * MS, UINT64_MAX / 2);
	struct link l;
	struct mpt_rng rng;
	uint64_t at, prev = 0;
	double extra = 0;
	const int n = 100000;

	(void)unused;
	rng_seed(&rng, 6);
	p.jitter_ns = 5 * MS;
	link_init(&l, &p);
	for (int k = 0; k < n; k++) {
		uint64_t now = (uint64_t)k * 10 * MS;	/* spaced wider than the jitter: no FIFO clamp */

		link_send(&l, now, 125, &rng, &at);
		assert_true(at >= prev);
		prev = at;
		extra += (double)at - (double)(now + 1000 + 20 * MS);	/* 125 B at 1 Gbit/s = 1 us */
	}
	/* uniform in [-5, 5] ms: sd of the mean = 2.89 ms / sqrt(100k) = 9 us; allow 50 us */
	assert_true(fabs(extra / n) < 50000);
	/* back to back with large jitter: arrivals never reorder */
	prev = 0;
	for (int k = 0; k < 10000; k++) {
		link_send(&l, 2000000 * MS, 125, &rng, &at);
		assert_true(at >= prev);
		prev = at;
	}
	link_free(&l);
}

static void test_outage(void **unused)
{
	struct link_params p = rate_link(1000000000, 0, UINT64_MAX / 2);
	struct link l;
	struct mpt_rng rng;
	uint64_t at;

	(void)unused;
	rng_seed(&rng, 7);
	p.ndown = 1;
	p.down[0].start_ns = 10 * MS;
	p.down[0].end_ns = 20 * MS;
	link_init(&l, &p);
	assert_int_equal(link_send(&l, 10 * MS - 1, 100, &rng, &at), LINK_DELIVER);
	assert_int_equal(link_send(&l, 10 * MS, 100, &rng, &at), LINK_DROP_DOWN);
	assert_int_equal(link_send(&l, 20 * MS - 1, 100, &rng, &at), LINK_DROP_DOWN);
	assert_int_equal(link_send(&l, 20 * MS, 100, &rng, &at), LINK_DELIVER);
	assert_int_equal(l.stats.drop_down, 2);
	link_free(&l);
}

static void test_trace_link(void **unused)
{
	/* 4 opportunities per 5 ms period, two in the same ms: 4 * 1500 B / 5 ms = 9.6 Mbit/s */
	uint32_t ms[] = { 1, 1, 3, 5 };
	struct trace t = { .ms = ms, .n = 4, .period_ms = 5 };
	uint32_t one[] = { 1 };
	struct trace t1 = { .ms = one, .n = 1, .period_ms = 1 };
	struct link_params p;
	struct link l;
	struct mpt_rng rng;
	uint64_t at, bytes = 0, now;

	(void)unused;
	rng_seed(&rng, 8);
	memset(&p, 0, sizeof(p));
	p.trace = &t;
	p.queue_bytes = 1u << 30;
	assert_int_equal(link_init(&l, &p), 0);
	assert_int_equal(link_rate_bps(&p), 9600000);
	/* saturate for 10 s: keep the queue non-empty, count what departs by then */
	for (now = 0; now < 10000 * MS; now += MS / 2) {
		link_send(&l, now, 1500, &rng, &at);
		if (at <= 10000 * MS)
			bytes += 1500;
	}
	/* 2000 periods of 6000 bytes; allow 1 % */
	assert_true(fabs((double)bytes - 2000.0 * 6000) < 0.01 * 2000 * 6000);
	link_free(&l);

	/* a "1" trace: one 1500-byte packet per ms, as 12 Mbit/s; an empty queue waits for the
	 * next opportunity at or after now; two 750-byte packets share one opportunity */
	p.trace = &t1;
	link_init(&l, &p);
	assert_int_equal(link_rate_bps(&p), 12000000);
	assert_int_equal(link_send(&l, 5 * MS + 1, 750, &rng, &at), LINK_DELIVER);
	assert_int_equal(at, 6 * MS);
	assert_int_equal(link_send(&l, 5 * MS + 2, 750, &rng, &at), LINK_DELIVER);
	assert_int_equal(at, 6 * MS);
	assert_int_equal(link_send(&l, 5 * MS + 3, 750, &rng, &at), LINK_DELIVER);
	assert_int_equal(at, 7 * MS);
	link_free(&l);
}

static void test_init_rejects(void **unused)
{
	uint32_t ms[] = { 1 };
	struct trace t = { .ms = ms, .n = 1, .period_ms = 1 };
	struct link_params p = rate_link(0, 0, 15000);
	struct link l;

	(void)unused;
	assert_int_equal(link_init(&l, &p), -EINVAL);		/* neither rate nor trace */
	p.rate_bps = 1000000;
	p.trace = &t;
	assert_int_equal(link_init(&l, &p), -EINVAL);		/* both */
	p.trace = NULL;
	p.loss = 1.5;
	assert_int_equal(link_init(&l, &p), -EINVAL);
	p.loss = 0;
	p.ge = 1;
	p.ge_p = -0.1;
	assert_int_equal(link_init(&l, &p), -EINVAL);
	p.ge = 0;
	assert_int_equal(link_init(&l, &p), 0);
	link_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serialization_exact),
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_bernoulli_loss),
		cmocka_unit_test(test_gilbert_elliott),
		cmocka_unit_test(test_jitter_keeps_fifo),
		cmocka_unit_test(test_outage),
		cmocka_unit_test(test_trace_link),
		cmocka_unit_test(test_init_rejects),
	};

	return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
