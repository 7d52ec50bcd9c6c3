/* Tests of sim/tcp.c through a tiny network of its own: a FIFO bottleneck with a rate, a
 * one-way delay each way and a drop rule, delivering segments and ACKs in time order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim/tcp.h"

#define MS 1000000ull
#define MSS 1000
#define MAXP 65536

struct pkt {
	uint64_t at;
	bool is_ack;
	struct tcp_seg seg;
	struct tcp_ack ack;
};

struct net {
	struct tcp_sender *s;
	struct tcp_receiver *r;
	uint64_t now, busy, rate_bps, delay;
	struct pkt q[MAXP];
	unsigned n;
	bool (*drop)(const struct tcp_seg *seg, uint64_t now);
	bool swap_next;			/* deliver the next two segments swapped */
	uint32_t late_seq;		/* this segment's first copy arrives late_by later */
	uint64_t late_by;
	bool no_ts;			/* strip timestamps (a path that drops the option) */
	uint32_t max_cwnd_seen;
};

static void add(struct net *n, struct pkt p)
{
	unsigned i = n->n++;

	assert_true(n->n < MAXP);
	while (i > 0 && n->q[i - 1].at > p.at) {
		n->q[i] = n->q[i - 1];
		i--;
	}
	n->q[i] = p;
}

static void pump(struct net *n)
{
	struct tcp_seg seg;

	while (tcp_sender_next(n->s, n->now, &seg)) {
		uint64_t start = n->busy > n->now ? n->busy : n->now;
		uint64_t at;

		if (n->drop && n->drop(&seg, n->now))
			continue;
		n->busy = start + (uint64_t)MSS * 8 * 1000000000ull / n->rate_bps;
		at = n->busy + n->delay;
		if (n->swap_next) {
			at += 2 * (uint64_t)MSS * 8 * 1000000000ull / n->rate_bps;	/* overtaken by the next */
			n->swap_next = false;
		}
		if (seg.seq == n->late_seq && !seg.retx)
			at += n->late_by;
		if (n->no_ts)
			seg.ts = 0;
		add(n, (struct pkt){ .at = at, .seg = seg });
	}
}

/* Run until t_end; returns the receiver's delivered bytes. */
static uint64_t run(struct net *n, uint64_t t_end)
{
	struct tcp_sender_stats st;

	pump(n);
	while (n->now < t_end) {
		uint64_t next = t_end;
		struct tcp_ack a;

		if (n->n && n->q[0].at < next)
			next = n->q[0].at;
		if (tcp_sender_deadline(n->s) < next)
			next = tcp_sender_deadline(n->s);
		if (tcp_receiver_deadline(n->r) < next)
			next = tcp_receiver_deadline(n->r);
		n->now = next;
		if (n->n && n->q[0].at == next) {
			struct pkt p = n->q[0];

			memmove(&n->q[0], &n->q[1], (n->n - 1) * sizeof(n->q[0]));
			n->n--;
			if (p.is_ack)
				tcp_sender_on_ack(n->s, n->now, &p.ack);
			else if (tcp_receiver_on_seg(n->r, n->now, &p.seg, &a))
				add(n, (struct pkt){ .at = n->now + n->delay, .is_ack = true, .ack = a });
		}
		tcp_sender_on_timer(n->s, n->now);
		if (tcp_receiver_on_timer(n->r, n->now, &a))
			add(n, (struct pkt){ .at = n->now + n->delay, .is_ack = true, .ack = a });
		pump(n);
		tcp_sender_stats(n->s, &st);
		if (st.cwnd > n->max_cwnd_seen)
			n->max_cwnd_seen = st.cwnd;
	}
	return tcp_receiver_delivered_bytes(n->r);
}

static struct net *net_new(uint64_t rate, uint64_t delay, bool delack)
{
	struct net *n = calloc(1, sizeof(*n));
	struct tcp_config c;

	tcp_config_default(&c, MSS);
	c.delayed_ack = delack;
	n->s = tcp_sender_new(&c);
	n->r = tcp_receiver_new(&c);
	n->rate_bps = rate;
	n->delay = delay;
	n->late_seq = UINT32_MAX;
	return n;
}

static void net_free(struct net *n)
{
	tcp_sender_free(n->s);
	tcp_receiver_free(n->r);
	free(n);
}

static struct tcp_sender_stats stats(struct net *n)
{
	struct tcp_sender_stats st;

	tcp_sender_stats(n->s, &st);
	return st;
}

/* No loss, a fast link: cwnd doubles every RTT from 10. */
static void test_slow_start(void **unused)
{
	struct net *n = net_new(10000000000ull, 10 * MS, false);

	(void)unused;
	/* RTT 20 ms plus under 0.1 ms of serialization: check 1 ms after each round */
	run(n, 21 * MS);			/* one RTT: 10 acked -> 20 */
	assert_int_equal(stats(n).cwnd, 20);
	run(n, 41 * MS);
	assert_int_equal(stats(n).cwnd, 40);
	run(n, 61 * MS);
	assert_int_equal(stats(n).cwnd, 80);
	assert_int_equal(stats(n).retransmits, 0);
	net_free(n);
}

static uint32_t drop_seq[8];
static unsigned ndrop;

static bool drop_listed(const struct tcp_seg *seg, uint64_t now)
{
	(void)now;
	for (unsigned k = 0; k < ndrop; k++) {
		if (drop_seq[k] == seg->seq && !seg->retx) {
			drop_seq[k] = UINT32_MAX;	/* once */
			return true;
		}
	}
	return false;
}

static void test_one_loss_fast_recovery(void **unused)
{
	struct net *n = net_new(100000000, 10 * MS, true);

	(void)unused;
	ndrop = 1;
	drop_seq[0] = 100;
	n->drop = drop_listed;
	run(n, 2000 * MS);
	assert_int_equal(stats(n).fast_recoveries, 1);
	assert_int_equal(stats(n).retransmits, 1);
	assert_int_equal(stats(n).timeouts, 0);
	assert_int_equal(stats(n).undos, 0);		/* a real loss stays a reduction */
	assert_true(stats(n).ssthresh <= n->max_cwnd_seen / 2 + 1);
	net_free(n);
}

/* Segment 100 is not lost but 5 ms late: 60 later ones overtake it, so it is retransmitted
 * and the window halved; then the original fills the hole. The ACK that covers it echoes the
 * original's timestamp, older than the retransmission: the reduction is undone (Eifel), and
 * the flow, caught in slow start, is back in slow start. */
static struct net *run_late_segment(bool no_ts)
{
	struct net *n = net_new(100000000, 10 * MS, true);

	n->late_seq = 100;
	n->late_by = 5 * MS;
	n->no_ts = no_ts;
	run(n, 600 * MS);	/* 30 RTTs: the recovery and its undo are over within 10 */
	return n;
}

static void test_late_segment_undone_by_timestamp(void **unused)
{
	struct net *n = run_late_segment(false);

	(void)unused;
	assert_int_equal(stats(n).fast_recoveries, 1);
	assert_int_equal(stats(n).retransmits, 1);
	assert_int_equal(stats(n).undos, 1);
	assert_int_equal(stats(n).ssthresh, 16384);
	assert_int_equal(tcp_receiver_dup_segs(n->r), 1);	/* the retransmission */
	net_free(n);
}

/* The same without timestamps: the retransmission arrives as a duplicate, the receiver
 * reports it with a D-SACK, and that undoes the reduction. */
static void test_late_segment_undone_by_dsack(void **unused)
{
	struct net *n = run_late_segment(true);

	(void)unused;
	assert_int_equal(stats(n).fast_recoveries, 1);
	assert_int_equal(stats(n).undos, 1);
	assert_int_equal(stats(n).ssthresh, 16384);
	net_free(n);
}

static void test_several_losses_one_recovery(void **unused)
{
	struct net *n = net_new(100000000, 10 * MS, true);

	(void)unused;
	ndrop = 4;
	drop_seq[0] = 200;
	drop_seq[1] = 203;
	drop_seq[2] = 210;
	drop_seq[3] = 230;
	n->drop = drop_listed;
	run(n, 2000 * MS);
	assert_int_equal(stats(n).fast_recoveries, 1);
	assert_int_equal(stats(n).retransmits, 4);
	assert_int_equal(stats(n).timeouts, 0);
	assert_int_equal(stats(n).undos, 0);
	net_free(n);
}

static uint64_t blackout_from, blackout_to;

static bool drop_blackout(const struct tcp_seg *seg, uint64_t now)
{
	(void)seg;
	return now >= blackout_from && now < blackout_to;
}

static void test_blackout_rto(void **unused)
{
	struct net *n = net_new(10000000, 10 * MS, true);
	uint64_t before;

	(void)unused;
	/* the test network queues without limit, so srtt and the RTO grow with slow start: a
	 * 3 s blackout leaves room for the first RTO and its doubled successor */
	blackout_from = 300 * MS;
	blackout_to = 3300 * MS;
	n->drop = drop_blackout;
	run(n, 3200 * MS);
	assert_true(stats(n).timeouts >= 2);	/* the RTO fired and backed off */
	assert_int_equal(stats(n).cwnd, 1);
	before = tcp_receiver_delivered_bytes(n->r);
	run(n, 12000 * MS);
	assert_true(tcp_receiver_delivered_bytes(n->r) > before + 1000000);	/* recovered */
	net_free(n);
}

static void test_small_reordering_no_retransmit(void **unused)
{
	struct net *n = net_new(100000000, 10 * MS, true);

	(void)unused;
	run(n, 100 * MS);
	for (int k = 0; k < 20; k++) {
		n->swap_next = true;		/* one segment overtaken by its successor */
		run(n, (uint64_t)(100 + 20 * (k + 1)) * MS);
	}
	assert_int_equal(stats(n).retransmits, 0);
	assert_int_equal(stats(n).fast_recoveries, 0);
	net_free(n);
}

/* A clean 10 Mbit/s, 20 ms link with no loss (the receive window bounds the flow): goodput
 * after slow start reaches 90 % of the rate. */
static void test_goodput(void **unused)
{
	struct net *n = net_new(10000000, 10 * MS, true);
	uint64_t a, b;

	(void)unused;
	a = run(n, 2000 * MS);
	b = run(n, 12000 * MS);
	assert_true((double)(b - a) * 8 / 10.0 >= 0.9 * 10000000);
	net_free(n);
}

static void test_congestion_avoidance(void **unused)
{
	struct net *n = net_new(1000000000, 10 * MS, false);
	uint32_t c0;

	(void)unused;
	ndrop = 1;
	drop_seq[0] = 300;
	n->drop = drop_listed;
	run(n, 500 * MS);
	assert_int_equal(stats(n).fast_recoveries, 1);
	c0 = stats(n).cwnd;
	run(n, 500 * MS + 10 * 20 * MS);	/* ten more RTTs */
	assert_true(stats(n).cwnd >= c0 + 8 && stats(n).cwnd <= c0 + 12);
	net_free(n);
}

static void test_receiver(void **unused)
{
	struct tcp_config c;
	struct tcp_receiver *r;
	struct tcp_ack a;
	struct tcp_seg s = { .len = MSS };

	(void)unused;
	tcp_config_default(&c, MSS);
	r = tcp_receiver_new(&c);
	s.seq = 0;
	assert_int_equal(tcp_receiver_on_seg(r, 0, &s, &a), 0);	/* delayed */
	assert_int_equal(tcp_receiver_deadline(r), 40 * MS);
	s.seq = 1;
	assert_int_equal(tcp_receiver_on_seg(r, 1, &s, &a), 1);	/* every 2nd */
	assert_int_equal(a.cum, 2);
	assert_int_equal(a.nsack, 0);
	s.seq = 2;
	tcp_receiver_on_seg(r, 2, &s, &a);
	assert_int_equal(tcp_receiver_on_timer(r, 40 * MS + 1, &a), 0);
	assert_int_equal(tcp_receiver_on_timer(r, 40 * MS + 2, &a), 1);
	assert_int_equal(a.cum, 3);
	/* holes: 5, 7-8, 10 arrive: SACK blocks most recent first */
	s.seq = 5;
	assert_int_equal(tcp_receiver_on_seg(r, 50 * MS, &s, &a), 1);
	s.seq = 7;
	tcp_receiver_on_seg(r, 51 * MS, &s, &a);
	s.seq = 8;
	tcp_receiver_on_seg(r, 52 * MS, &s, &a);
	s.seq = 10;
	tcp_receiver_on_seg(r, 53 * MS, &s, &a);
	assert_int_equal(a.cum, 3);
	assert_int_equal(a.nsack, 3);
	assert_int_equal(a.sack[0].start, 10);
	assert_int_equal(a.sack[0].end, 11);
	assert_int_equal(a.sack[1].start, 7);
	assert_int_equal(a.sack[1].end, 9);
	assert_int_equal(a.sack[2].start, 5);
	assert_int_equal(a.sack[2].end, 6);
	/* a duplicate is counted, acknowledged at once and reported first, as a D-SACK */
	s.seq = 7;
	assert_int_equal(tcp_receiver_on_seg(r, 54 * MS, &s, &a), 1);
	assert_int_equal(a.dsack, 1);
	assert_int_equal(a.sack[0].start, 7);
	assert_int_equal(a.sack[0].end, 8);
	assert_int_equal(a.sack[1].start, 7);	/* then the block it fell into */
	assert_int_equal(a.sack[1].end, 9);
	s.seq = 1;
	tcp_receiver_on_seg(r, 55 * MS, &s, &a);
	assert_int_equal(a.dsack, 1);
	assert_int_equal(a.sack[0].start, 1);
	assert_int_equal(tcp_receiver_dup_segs(r), 2);
	/* filling 3 and 4 joins the block at 5 */
	s.seq = 3;
	tcp_receiver_on_seg(r, 56 * MS, &s, &a);
	s.seq = 4;
	tcp_receiver_on_seg(r, 57 * MS, &s, &a);
	assert_int_equal(a.cum, 6);
	assert_int_equal(a.dsack, 0);
	assert_int_equal(tcp_receiver_delivered_bytes(r), 6ull * MSS);
	tcp_receiver_free(r);
}

/* RFC 7323: TSecr echoes the segment the last ACK asked for; segments above it (a hole
 * below them, or the second of a delayed pair) do not move it. */
static void test_receiver_timestamps(void **unused)
{
	struct tcp_config c;
	struct tcp_receiver *r;
	struct tcp_ack a;
	struct tcp_seg s = { .len = MSS };

	(void)unused;
	tcp_config_default(&c, MSS);
	r = tcp_receiver_new(&c);
	s.seq = 0;
	s.ts = 100;
	tcp_receiver_on_seg(r, 0, &s, &a);
	s.seq = 1;
	s.ts = 101;
	tcp_receiver_on_seg(r, 1, &s, &a);
	assert_int_equal(a.tsecr, 100);		/* the delayed pair: the first one's */
	s.seq = 3;
	s.ts = 103;
	tcp_receiver_on_seg(r, 2, &s, &a);
	assert_int_equal(a.tsecr, 100);		/* above the hole at 2 */
	s.seq = 2;
	s.ts = 102;
	tcp_receiver_on_seg(r, 3, &s, &a);
	assert_int_equal(a.cum, 4);
	assert_int_equal(a.tsecr, 102);		/* the hole's filler */
	s.seq = 2;
	s.ts = 90;				/* an old copy does not move it back */
	tcp_receiver_on_seg(r, 4, &s, &a);
	assert_int_equal(a.tsecr, 102);
	tcp_receiver_free(r);
}

static void test_bad_config(void **unused)
{
	struct tcp_config c;

	(void)unused;
	tcp_config_default(&c, 0);
	assert_null(tcp_sender_new(&c));
	assert_null(tcp_receiver_new(&c));
	tcp_config_default(&c, MSS);
	c.init_cwnd = 0;
	assert_null(tcp_sender_new(&c));
	tcp_sender_free(NULL);
	tcp_receiver_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_start),
		cmocka_unit_test(test_one_loss_fast_recovery),
		cmocka_unit_test(test_late_segment_undone_by_timestamp),
		cmocka_unit_test(test_late_segment_undone_by_dsack),
		cmocka_unit_test(test_several_losses_one_recovery),
		cmocka_unit_test(test_blackout_rto),
		cmocka_unit_test(test_small_reordering_no_retransmit),
		cmocka_unit_test(test_goodput),
		cmocka_unit_test(test_congestion_avoidance),
		cmocka_unit_test(test_receiver),
		cmocka_unit_test(test_receiver_timestamps),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
