/* Tests of core/path.c: the estimators against values computed by hand, liveness, and the
 * receiver's record. All times in nanoseconds; feedback built as the peer would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/path.h"
#include "core/wire.h"

#define MS 1000000ull

static struct wire_fb_block fb(uint32_t high, uint32_t count, uint32_t bytes, uint32_t echo_us,
			       uint32_t delay_us)
{
	return (struct wire_fb_block){ .path_id = 0, .high_seq = high, .recv_count = count,
				       .recv_bytes = bytes, .ts_echo_us = echo_us,
				       .echo_delay_us = delay_us };
}

static void send_n(struct mpt_path *p, unsigned n, uint64_t t0, size_t len)
{
	for (unsigned k = 0; k < n; k++)
		path_on_send(p, t0 + k * MS, len, true);
}

static void test_estimators_by_hand(void **unused)
{
	struct mpt_path p;
	struct wire_fb_block b;

	(void)unused;
	path_init(&p, 1, 2, true, 0);
	assert_int_equal(path_id(1, 2), 0x12);
	send_n(&p, 10, 0, 100);			/* seq 0..9 at 0..9 ms */
	assert_int_equal(p.next_seq, 10);
	assert_int_equal(p.tx_bytes, 1000);
	assert_int_equal(p.inflight_bytes, 1000);

	/* seq 4 sent at 4 ms, held 1 ms by the peer, feedback at 50 ms: RTT 45 ms */
	b = fb(4, 5, 500, 4000, 1000);
	path_on_feedback(&p, 50 * MS, &b);
	assert_int_equal(p.latest_rtt_ns, 45 * MS);
	assert_int_equal(p.srtt_ns, 45 * MS);
	assert_int_equal(p.rttvar_ns, 22500000);
	assert_int_equal(p.min_rtt_ns, 45 * MS);
	assert_int_equal(p.inflight_bytes, 500);
	assert_true(p.loss_ewma == 0.0);	/* first feedback only sets the baseline */

	/* seq 9 echoed at 80 ms, one of 5 lost: RTT 70 ms */
	b = fb(9, 9, 900, 9000, 1000);
	path_on_feedback(&p, 80 * MS, &b);
	assert_int_equal(p.latest_rtt_ns, 70 * MS);
	/* rttvar = (3 * 22.5 + |45 - 70|) / 4 = 23.125 ms; srtt = (7 * 45 + 70) / 8 = 48.125 ms */
	assert_int_equal(p.rttvar_ns, 23125000);
	assert_int_equal(p.srtt_ns, 48125000);
	assert_int_equal(p.min_rtt_ns, 45 * MS);
	/* loss sample 1/5 weighted 5 / (5 + 256) */
	assert_float_equal(p.loss_ewma, 0.2 * 5.0 / 261.0, 1e-12);
	assert_float_equal(p.loss_recent, 0.2, 1e-12);
	assert_int_equal(p.lost_packets, 1);
	assert_int_equal(p.inflight_bytes, 0);
	assert_int_equal(p.delivery_rate_bps, 0);	/* 30 ms is too short an interval */

	/* 10 more packets, all received; 100 ms after the rate epoch at 50 ms:
	 * (1900 - 500) bytes in 100 ms = 112 kbit/s */
	send_n(&p, 10, 100 * MS, 100);
	b = fb(19, 19, 1900, 109000, 500);
	path_on_feedback(&p, 150 * MS, &b);
	assert_int_equal(p.delivery_rate_bps, 112000);
	assert_int_equal(p.latest_rtt_ns, 40500000);
	assert_int_equal(p.min_rtt_ns, 40500000);
	/* a repeated echo gives no new RTT sample */
	b = fb(19, 19, 1900, 109000, 900);
	path_on_feedback(&p, 160 * MS, &b);
	assert_int_equal(p.latest_rtt_ns, 40500000);
	/* an old feedback overtaken by a newer one changes no loss or rate */
	{
		double loss = p.loss_ewma;

		b = fb(15, 15, 1500, 105000, 0);
		path_on_feedback(&p, 170 * MS, &b);
		assert_true(p.loss_ewma == loss);
		assert_int_equal(p.fb_high_seq, 19);
	}
}

static void test_late_arrivals_repay_loss(void **unused)
{
	struct mpt_path p;
	struct wire_fb_block b;

	(void)unused;
	path_init(&p, 0, 0, true, 0);
	send_n(&p, 30, 0, 100);
	b = fb(9, 10, 1000, 9000, 0);
	path_on_feedback(&p, 40 * MS, &b);
	b = fb(19, 18, 1800, 19000, 0);		/* two of 10 missing */
	path_on_feedback(&p, 60 * MS, &b);
	assert_int_equal(p.lost_packets, 2);
	b = fb(29, 30, 3000, 29000, 0);		/* they arrived late: no loss in this interval */
	path_on_feedback(&p, 80 * MS, &b);
	assert_int_equal(p.lost_packets, 2);
	assert_float_equal(p.loss_recent, 2.0 / 20.0, 1e-12);
}

static void test_liveness(void **unused)
{
	struct mpt_path p;
	struct wire_fb_block b;

	(void)unused;
	path_init(&p, 0, 0, true, 1000 * MS);
	assert_true(p.up);
	assert_false(path_check_down(&p, 1000 * MS + PATH_DEAD_NS - 1));
	assert_true(path_check_down(&p, 1000 * MS + PATH_DEAD_NS));
	assert_false(p.up);
	assert_false(path_check_down(&p, 5000 * MS));	/* already down: no second transition */
	assert_int_equal(p.downs, 1);
	assert_true(path_mark_up(&p));
	assert_false(path_mark_up(&p));
	/* the first feedback after coming back is a baseline: the outage is not counted as loss */
	send_n(&p, 100, 6000 * MS, 100);
	b = fb(99, 3, 300, 6099000, 0);
	path_on_feedback(&p, 6200 * MS, &b);
	assert_true(p.loss_ewma == 0.0);
}

static void test_rx_record(void **unused)
{
	struct path_rx rx;
	struct wire_fb_block b;

	(void)unused;
	memset(&rx, 0, sizeof(rx));
	path_rx_on_packet(&rx, 10 * MS, 1, 3, 7, 5000, 100);
	path_rx_on_packet(&rx, 12 * MS, 1, 3, 9, 7000, 100);
	path_rx_on_packet(&rx, 13 * MS, 1, 3, 8, 6000, 100);	/* reordered: high stays 9 */
	assert_int_equal(rx.high_seq, 9);
	assert_int_equal(rx.recv_count, 3);
	assert_int_equal(rx.recv_bytes, 300);
	assert_int_equal(rx.local, 1);
	assert_int_equal(rx.remote, 3);
	path_rx_fill_block(&rx, 0x21, 20 * MS, &b);
	assert_int_equal(b.path_id, 0x21);
	assert_int_equal(b.high_seq, 9);
	assert_int_equal(b.ts_echo_us, 7000);
	assert_int_equal(b.echo_delay_us, 8000);	/* 20 ms - 12 ms */
}

static void test_seq_wrap(void **unused)
{
	(void)unused;
	assert_true(seq_lt(UINT32_MAX, 0));
	assert_true(seq_lt(5, 6));
	assert_false(seq_lt(6, 5));
	assert_false(seq_lt(0, UINT32_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_estimators_by_hand),
		cmocka_unit_test(test_late_arrivals_repay_loss),
		cmocka_unit_test(test_liveness),
		cmocka_unit_test(test_rx_record),
		cmocka_unit_test(test_seq_wrap),
	};

	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
