/* Tests of core/reorder.c: in-order pass-through, holding and releasing, gaps skipped by the
 * floor and by timeout, late packets, duplicates and overflow, and the work a skip costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/reorder.h"

struct sink {
	unsigned n;
	uint32_t seqs[4096];
};

/* Packets carry their own sequence number in the first 4 bytes. */
static void collect(void *ctx, const uint8_t *pkt, size_t len)
{
	struct sink *s = ctx;
	uint32_t seq;

	assert_true(len >= 4);
	memcpy(&seq, pkt, 4);
	s->seqs[s->n++] = seq;
}

static void put(struct reorder *r, struct sink *s, uint32_t seq, uint64_t now)
{
	uint8_t pkt[64];

	memset(pkt, 0xab, sizeof(pkt));
	memcpy(pkt, &seq, 4);
	reorder_insert(r, seq, 1, pkt, sizeof(pkt), now, 0, collect, s);
}

/* seq of a flow whose previous packet is seq - gap */
static void put_flow(struct reorder *r, struct sink *s, uint32_t seq, uint16_t gap, uint64_t now)
{
	uint8_t pkt[64];

	memset(pkt, 0xcd, sizeof(pkt));
	memcpy(pkt, &seq, 4);
	reorder_insert(r, seq, gap, pkt, sizeof(pkt), now, 0, collect, s);
}

static void test_in_order(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	for (uint32_t k = 100; k < 200; k++)
		put(r, &s, k, k);
	assert_int_equal(s.n, 100);
	for (unsigned k = 0; k < 100; k++)
		assert_int_equal(s.seqs[k], 100 + k);
	assert_int_equal(reorder_held(r), 0);
	assert_int_equal(reorder_deadline(r, 10), UINT64_MAX);
	reorder_free(r);
}

static void test_hold_and_release(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 2, 10);
	put(r, &s, 3, 11);
	assert_int_equal(s.n, 1);
	assert_int_equal(reorder_held(r), 2);
	assert_int_equal(reorder_deadline(r, 100), 110);
	put(r, &s, 1, 20);
	assert_int_equal(s.n, 4);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(s.seqs[k], k);
	assert_int_equal(reorder_stats(r)->buffered, 2);
	reorder_free(r);
}

static void test_floor_skips_lost(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 2, 1);
	put(r, &s, 4, 2);
	/* every path has sent past 1 but not past 3: 1 is lost, 3 may still come */
	reorder_release(r, 3, 5, 1000, collect, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seqs[1], 2);
	assert_int_equal(reorder_stats(r)->gaps_lost, 1);
	/* the timeout, counted from when 4 started waiting, gives up on 3 */
	reorder_release(r, 3, 2 + 999, 1000, collect, &s);
	assert_int_equal(s.n, 2);
	reorder_release(r, 3, 2 + 1000, 1000, collect, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seqs[2], 4);
	assert_int_equal(reorder_stats(r)->gaps_timeout, 1);
	/* 3 arriving now is late: delivered at once, counted */
	put(r, &s, 3, 2000);
	assert_int_equal(s.n, 4);
	assert_int_equal(reorder_stats(r)->late, 1);
	reorder_free(r);
}

static void test_duplicate_held(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 5, 1);
	put(r, &s, 5, 2);
	assert_int_equal(reorder_held(r), 1);
	reorder_release(r, 6, 3, 1000, collect, &s);
	assert_int_equal(s.n, 2);
	/* copies of delivered packets are dropped; a skipped one still gets through once */
	put(r, &s, 0, 4);
	put(r, &s, 5, 4);
	assert_int_equal(s.n, 2);
	assert_int_equal(reorder_stats(r)->duplicate, 3);
	put(r, &s, 3, 5);
	put(r, &s, 3, 6);
	assert_int_equal(s.n, 3);
	assert_int_equal(reorder_stats(r)->late, 1);
	reorder_free(r);
}

static void test_overflow_and_wrap(void **unused)
{
	struct reorder *r = reorder_new(16, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, UINT32_MAX - 2, 0);
	put(r, &s, UINT32_MAX, 1);		/* holds, waiting for MAX-1 */
	put(r, &s, 20, 2);			/* 22 ahead of next: must make room */
	assert_true(reorder_stats(r)->overflow > 0);
	/* MAX was released in order before 20 was placed; nothing older than 20 is left held */
	assert_int_equal(s.seqs[1], UINT32_MAX);
	put(r, &s, 5, 3);
	assert_true(s.n >= 2);
	/* far ahead with nothing held: jumps without looping over the gap */
	put(r, &s, 2000000000u, 4);
	assert_true(reorder_held(r) <= 16);
	reorder_free(r);
	assert_null(reorder_new(12, 1500));
	reorder_free(NULL);
}

/* Finding 8 of issue 10: one packet held 1023 ahead, then one far ahead, made every skipped
 * slot rescan the whole gap: ~slots^2/2 steps per pair. The work of a skip is counted (never
 * timed): slots stepped over must stay within a small multiple of the slots it releases. */
static void test_skip_cost_overflow(void **unused)
{
	struct reorder *r = reorder_new(1024, 1500);
	const struct reorder_stats *st = reorder_stats(r);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 1023, 1);
	put(r, &s, 3000000, 2);
	/* 1..1022 given up, 1023 delivered, then a jump with nothing held */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seqs[1], 1023);
	/* 1..1022 and 1024 stepped over in the window, the rest one jump */
	assert_int_equal(st->overflow, 1023 + 1);
	assert_int_equal(reorder_held(r), 1);
	assert_int_equal(reorder_next(r), 3000000 - 1023);
	assert_true(st->slots_scanned <= 2 * (1022 + 1));
	reorder_free(r);
}

/* Several held packets with gaps between them: each gap is stepped over a bounded number of
 * times, whatever the gap's size. */
static void test_skip_cost_spread(void **unused)
{
	struct reorder *r = reorder_new(1024, 1500);
	const struct reorder_stats *st = reorder_stats(r);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 1023, 1);
	put(r, &s, 500, 2);
	put(r, &s, 10, 3);
	put(r, &s, 5000, 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.seqs[1], 10);
	assert_int_equal(s.seqs[2], 500);
	assert_int_equal(s.seqs[3], 1023);
	assert_int_equal(st->overflow, 1021 + 1);
	assert_true(st->slots_scanned <= 2 * (1020 + 3));
	reorder_free(r);
}

/* The same through reorder_release: by the floor, then by timeout. */
static void test_skip_cost_release(void **unused)
{
	struct reorder *r = reorder_new(1024, 1500);
	const struct reorder_stats *st = reorder_stats(r);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 1023, 1);
	reorder_release(r, 1023, 2, 1000, collect, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(st->gaps_lost, 1022);
	assert_true(st->slots_scanned <= 2 * (1022 + 1));

	put(r, &s, 2047, 10);
	reorder_release(r, 1024, 1009, 1000, collect, &s);
	assert_int_equal(s.n, 2);
	reorder_release(r, 1024, 1010, 1000, collect, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seqs[2], 2047);
	assert_int_equal(st->gaps_timeout, 1023);
	assert_true(st->slots_scanned <= 2 * (1022 + 1023 + 2));
	reorder_free(r);
}

/* Issue 11: a hole in one flow never delays another. Flow A has the even sequence numbers,
 * flow B the odd ones, each packet naming its flow's previous one (gap 2). */
static void test_flow_hole_holds_only_its_flow(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put_flow(r, &s, 0, 0, 0);	/* A's first */
	put_flow(r, &s, 1, 0, 0);	/* B's first */
	/* A's 2 is missing: B's 3 and 5 go at once, A's 4 waits for 2 */
	put_flow(r, &s, 3, 2, 1);
	put_flow(r, &s, 4, 2, 2);
	put_flow(r, &s, 5, 2, 3);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.seqs[2], 3);
	assert_int_equal(s.seqs[3], 5);
	assert_int_equal(reorder_held(r), 1);
	/* the hole's clock runs from the first packet after it, 3 */
	assert_int_equal(reorder_deadline(r, 100), 101);
	/* 2 comes: A's chain goes in order */
	put_flow(r, &s, 2, 2, 10);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.seqs[4], 2);
	assert_int_equal(s.seqs[5], 4);
	assert_int_equal(reorder_held(r), 0);
	assert_int_equal(reorder_next(r), 6);
	assert_int_equal(reorder_stats(r)->buffered, 1);
	/* the same packets in plain sequence order (gap 1) hold B behind A's hole */
	reorder_free(r);
	r = reorder_new(64, 1500);
	memset(&s, 0, sizeof(s));
	put(r, &s, 0, 0);
	put(r, &s, 1, 0);
	put(r, &s, 3, 1);
	put(r, &s, 5, 3);
	assert_int_equal(s.n, 2);
	reorder_free(r);
}

/* A flow's hole is given up by the floor or after the timeout, counted from when the packet
 * waiting for it arrived; other flows go on meanwhile, and a packet with gap 0 never waits. */
static void test_flow_hole_given_up(void **unused)
{
	struct reorder *r = reorder_new(64, 1500);
	static struct sink s;

	(void)unused;
	memset(&s, 0, sizeof(s));
	put_flow(r, &s, 10, 0, 0);
	put_flow(r, &s, 13, 2, 5);	/* A: waits for 11 */
	put_flow(r, &s, 15, 2, 6);	/* A: waits for 13, held */
	put_flow(r, &s, 14, 0, 7);	/* a new flow: goes */
	assert_int_equal(s.n, 2);
	assert_int_equal(reorder_held(r), 2);
	reorder_release(r, 11, 104, 100, collect, &s);
	assert_int_equal(s.n, 2);
	reorder_release(r, 11, 105, 100, collect, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.seqs[2], 13);
	assert_int_equal(s.seqs[3], 15);
	assert_int_equal(reorder_stats(r)->gaps_timeout, 2);	/* 11 and 12 */
	/* by the floor: 17 waits for 16, which every path has sent past */
	put_flow(r, &s, 17, 1, 200);
	assert_int_equal(reorder_held(r), 1);
	reorder_release(r, 17, 201, 100, collect, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.seqs[4], 17);
	assert_int_equal(reorder_stats(r)->gaps_lost, 1);
	/* the late 11 and 16 still get through, once */
	put_flow(r, &s, 11, 0, 300);
	put_flow(r, &s, 16, 1, 300);
	put_flow(r, &s, 16, 1, 301);
	assert_int_equal(s.n, 7);
	assert_int_equal(reorder_stats(r)->late, 2);
	reorder_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_hold_and_release),
		cmocka_unit_test(test_floor_skips_lost),
		cmocka_unit_test(test_duplicate_held),
		cmocka_unit_test(test_overflow_and_wrap),
		cmocka_unit_test(test_skip_cost_overflow),
		cmocka_unit_test(test_skip_cost_spread),
		cmocka_unit_test(test_skip_cost_release),
		cmocka_unit_test(test_flow_hole_holds_only_its_flow),
		cmocka_unit_test(test_flow_hole_given_up),
	};

	return cmocka_run_group_tests_name("reorder", tests, NULL, NULL);
}
