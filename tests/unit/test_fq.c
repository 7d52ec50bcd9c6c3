/* Tests of core/fq.c: the order the fair queue serves packets in (FIFO per flow, byte fairness
 * between bulk flows, sparse flows first, no starvation) and its drop policy (overflow from the
 * fattest flow, CoDel's onset and spacing), then a seeded random run checked for invariants. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fq.h"
#include "core/rng.h"

#define MS 1000000ull
#define TARGET_NS (5 * MS)
#define INTERVAL_NS (100 * MS)

/* A packet carries its flow hash and a sequence number in its first 8 bytes. */
static int put(struct fq *q, uint32_t hash, uint32_t seq, size_t len, uint64_t now)
{
	uint8_t pkt[2048];

	memset(pkt, 0x5a, len);
	memcpy(pkt, &hash, 4);
	memcpy(pkt + 4, &seq, 4);
	return fq_enqueue(q, hash, pkt, len, now);
}

struct out {
	uint32_t hash, seq;
	size_t len;
};

static bool get(struct fq *q, uint64_t now, struct out *o)
{
	const uint8_t *p = fq_dequeue(q, now, &o->len, &o->hash);
	uint32_t hash;

	if (!p)
		return false;
	assert_true(o->len >= 8);
	memcpy(&hash, p, 4);
	memcpy(&o->seq, p + 4, 4);
	assert_int_equal(hash, o->hash);
	return true;
}

static struct fq *new_default(void)
{
	struct fq *q = fq_new(64, 1024, 1500, TARGET_NS, INTERVAL_NS);

	assert_non_null(q);
	return q;
}

static void test_empty(void **unused)
{
	struct fq *q = new_default();
	struct out o;

	(void)unused;
	assert_false(get(q, 0, &o));
	assert_int_equal(fq_peek_len(q, 0), 0);
	assert_int_equal(fq_backlog_packets(q), 0);
	assert_int_equal(fq_backlog_bytes(q), 0);
	assert_int_equal(put(q, 1, 0, 100, 0), 0);
	assert_true(get(q, 0, &o));
	assert_false(get(q, 0, &o));
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
	fq_free(NULL);
}

static void test_bad_arguments(void **unused)
{
	struct fq *q = new_default();
	uint8_t big[1501] = { 0 };

	(void)unused;
	assert_int_equal(fq_enqueue(q, 1, big, sizeof(big), 0), -EMSGSIZE);
	assert_int_equal(fq_enqueue(q, 1, big, 0, 0), -EINVAL);
	assert_int_equal(fq_stats(q)->drop_oversize, 1);
	assert_int_equal(fq_backlog_packets(q), 0);
	assert_null(fq_new(0, 16, 1500, TARGET_NS, INTERVAL_NS));
	assert_null(fq_new(16, 0, 1500, TARGET_NS, INTERVAL_NS));
	assert_null(fq_new(16, 16, 70000, TARGET_NS, INTERVAL_NS));
	assert_null(fq_new(16, 16, 1500, INTERVAL_NS + 1, INTERVAL_NS));
	assert_null(fq_new(16, 16, 1500, TARGET_NS, 1ull << 33));
	fq_free(q);
}

static void test_fifo_one_flow(void **unused)
{
	struct fq *q = new_default();
	uint64_t bytes = 0;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 200; k++) {
		assert_int_equal(put(q, 7, k, 8 + (k * 37) % 1400, 0), 0);
		bytes += 8 + (k * 37) % 1400;
	}
	assert_int_equal(fq_backlog_packets(q), 200);
	assert_int_equal(fq_backlog_bytes(q), bytes);
	for (uint32_t k = 0; k < 200; k++) {
		assert_true(get(q, 0, &o));
		assert_int_equal(o.hash, 7);
		assert_int_equal(o.seq, k);
		assert_int_equal(o.len, 8 + (k * 37) % 1400);
	}
	assert_false(get(q, 0, &o));
	assert_int_equal(fq_stats(q)->new_flows, 1);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

/* Flow 1 sends 1500-byte packets, flow 2 300-byte ones: service alternates between them, a
 * turn is about one quantum, and the bytes each has had stay within a turn of each other. */
static void test_byte_fairness(void **unused)
{
	struct fq *q = new_default();
	uint64_t bytes[3] = { 0 };
	uint32_t last = 0, turns = 0;
	size_t turn_bytes = 0;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 100; k++) {
		assert_int_equal(put(q, 1, k, 1500, 0), 0);
		assert_int_equal(put(q, 2, k, 300, 0), 0);
	}
	while (bytes[1] < 90 * 1500 && bytes[2] < 90 * 300) {
		assert_true(get(q, 0, &o));
		if (o.hash != last) {
			if (last)
				assert_true(turn_bytes <= FQ_QUANTUM_BYTES + 1500);
			turns++;
			turn_bytes = 0;
			last = o.hash;
		}
		turn_bytes += o.len;
		bytes[o.hash] += o.len;
		assert_true(bytes[1] <= bytes[2] + 2 * (FQ_QUANTUM_BYTES + 1500));
		assert_true(bytes[2] <= bytes[1] + 2 * (FQ_QUANTUM_BYTES + 1500));
	}
	/* 27000 bytes of flow 2 at about a quantum a turn: some 18 turns each */
	assert_true(turns >= 30);
	fq_free(q);
}

/* One 84-byte ping behind 100 queued packets of a bulk flow. */
/* Two flows whose hashes fall in one bucket of a plain hash (1 and 65 of 64) still get queues
 * of their own: the ping does not wait behind the bulk flow's backlog. */
static void test_colliding_hashes_apart(void **unused)
{
	struct fq *q = new_default();
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 100; k++)
		put(q, 1, k, 1500, 0);
	for (int i = 0; i < 5; i++)
		assert_true(get(q, 1 * MS, &o));
	assert_int_equal(put(q, 65, 0, 84, 1 * MS), 0);
	assert_true(get(q, 1 * MS, &o));
	assert_int_equal(o.hash, 65);
	assert_int_equal(o.len, 84);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

static void test_sparse_flow_first(void **unused)
{
	struct fq *q = new_default();
	size_t before = 0;
	struct out o;

	(void)unused;
	/* queued before any service: the ping waits at most the bulk flow's first quantum */
	for (uint32_t k = 0; k < 100; k++)
		put(q, 1, k, 1500, 0);
	assert_int_equal(put(q, 9, 0, 84, 0), 0);
	for (;;) {
		assert_true(get(q, 1 * MS, &o));
		if (o.hash == 9)
			break;
		before += o.len;
	}
	assert_true(before <= FQ_QUANTUM_BYTES + 1500);
	/* the bulk flow has been served and sits on the old list: the next ping goes first */
	for (int i = 0; i < 5; i++)
		assert_true(get(q, 2 * MS, &o));
	assert_int_equal(put(q, 9, 1, 84, 2 * MS), 0);
	assert_true(get(q, 2 * MS, &o));
	assert_int_equal(o.hash, 9);
	assert_int_equal(o.seq, 1);
	assert_int_equal(o.len, 84);
	assert_int_equal(fq_stats(q)->new_flows, 3);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

/* Flow 3 is kept busy (two packets in for each one out): it leaves the new list after a quantum
 * and shares with the two bulk flows instead of starving them. */
static void test_busy_flow_does_not_starve(void **unused)
{
	struct fq *q = fq_new(64, 4096, 1500, TARGET_NS, INTERVAL_NS);
	uint64_t bytes[4] = { 0 }, total = 0;
	uint32_t seq3 = 0;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 300; k++) {
		put(q, 1, k, 1000, 0);
		put(q, 2, k, 1000, 0);
	}
	for (int i = 0; i < 300; i++) {
		put(q, 3, seq3++, 1000, 0);
		put(q, 3, seq3++, 1000, 0);
		assert_true(get(q, 0, &o));
		bytes[o.hash] += o.len;
		total += o.len;
	}
	for (int h = 1; h <= 3; h++)
		assert_true(bytes[h] * 4 >= total);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

/* Full queue: the packet dropped is the oldest of the flow with the most bytes queued, not the
 * new packet nor anything of its small flow. */
static void test_overflow_drops_fattest(void **unused)
{
	struct fq *q = fq_new(64, 16, 1500, TARGET_NS, INTERVAL_NS);
	uint32_t next_seq[3] = { 1, 0, 0 };
	struct out o;
	unsigned n = 0;

	(void)unused;
	for (uint32_t k = 0; k < 15; k++)
		assert_int_equal(put(q, 1, k, 1000, 0), 0);
	assert_int_equal(put(q, 2, 0, 100, 0), 0);
	assert_int_equal(fq_backlog_packets(q), 16);
	assert_int_equal(put(q, 2, 1, 100, 0), FQ_DROP_OTHER);
	assert_int_equal(fq_stats(q)->drop_overflow, 1);
	assert_int_equal(fq_stats(q)->dropped_bytes, 1000);
	assert_int_equal(fq_backlog_packets(q), 16);
	assert_int_equal(fq_backlog_bytes(q), 14 * 1000 + 200);
	/* flow 1 is the fattest and its own packet pushes out its oldest */
	assert_int_equal(put(q, 1, 15, 1000, 0), FQ_DROP_SAME);
	next_seq[1] = 2;
	assert_int_equal(fq_check(q), 0);
	while (get(q, 0, &o)) {
		assert_int_equal(o.seq, next_seq[o.hash]);
		next_seq[o.hash]++;
		n++;
	}
	assert_int_equal(n, 16);
	assert_int_equal(next_seq[1], 16);
	assert_int_equal(next_seq[2], 2);
	assert_int_equal(fq_stats(q)->drop_overflow, 2);
	fq_free(q);
}

/* Dequeue one packet at now and check how many CoDel drops there have been so far. */
static void dequeue_expect(struct fq *q, uint64_t now, uint64_t drops)
{
	struct out o;

	assert_true(get(q, now, &o));
	assert_int_equal(fq_stats(q)->drop_codel, drops);
}

/* A standing queue: 60 packets queued at 0 and served slowly. Sojourn goes above target at the
 * first dequeue (10 ms); CoDel drops one interval later, then at interval/sqrt(n) spacing:
 * 100 ms, 70.710678 ms, 57.735026 ms, 50 ms, 44.721359 ms (floor of 1e8/sqrt(n) ns). */
static void test_codel_spacing(void **unused)
{
	struct fq *q = new_default();
	static const uint64_t spacing_ns[] = { 100000000, 70710678, 57735026, 50000000, 44721359 };
	uint64_t t, drop_at;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 60; k++)
		put(q, 1, k, 1000, 0);
	dequeue_expect(q, 10 * MS, 0);
	drop_at = 10 * MS + INTERVAL_NS;
	dequeue_expect(q, drop_at - 1, 0);
	dequeue_expect(q, drop_at, 1);
	assert_int_equal(fq_stats(q)->codel_dropping, 1);
	for (uint64_t n = 1; n <= 4; n++) {
		drop_at += spacing_ns[n - 1];
		dequeue_expect(q, drop_at - 1, n);
		dequeue_expect(q, drop_at, n + 1);
	}
	/* fresh packets behind the old ones: sojourn below target ends the dropping state, and
	 * no drop comes when the next drop time (drop_at + 44.7 ms) passes */
	t = drop_at + 1 * MS;
	for (uint32_t k = 100; k < 105; k++)
		put(q, 1, k, 1000, t);
	do
		assert_true(get(q, t, &o));
	while (o.seq < 100);
	/* five in and five out each ms: 4 to 9 packets queued, sojourn at most 1 ms */
	for (uint32_t k = 105; k < 1500; k += 5) {
		t += 1 * MS;
		for (uint32_t j = 0; j < 5; j++)
			put(q, 1, k + j, 1000, t);
		for (uint32_t j = 0; j < 5; j++)
			dequeue_expect(q, t, 5);
	}
	assert_true(fq_backlog_bytes(q) > 1500);
	assert_int_equal(fq_stats(q)->codel_dropping, 1);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

/* Sojourn above target, but a short burst: it drains before interval passes, so no drop. */
static void test_codel_spares_short_burst(void **unused)
{
	struct fq *q = new_default();
	struct out o;
	uint64_t t = 0;

	(void)unused;
	for (uint32_t k = 0; k < 50; k++)
		put(q, 1, k, 1500, 0);
	while (get(q, t, &o))
		t += 1 * MS;
	assert_true(t < INTERVAL_NS);
	assert_int_equal(fq_stats(q)->drop_codel, 0);
	fq_free(q);
}

/* A dequeue that comes late keeps CoDel's schedule (the next drop time advances from the last
 * one, not from now) and makes up the drops it missed: at 410 ms the drops due at 210, 280.71,
 * 338.45 and 388.45 ms all happen, and the next is due at 388.45 + 44.72 ms. */
static void test_codel_late_dequeue(void **unused)
{
	struct fq *q = new_default();
	const uint64_t next_ns = 10 * MS + INTERVAL_NS + 100000000 + 70710678 + 57735026 +
				 50000000 + 44721359;

	(void)unused;
	for (uint32_t k = 0; k < 60; k++)
		put(q, 1, k, 1000, 0);
	dequeue_expect(q, 10 * MS, 0);
	dequeue_expect(q, 110 * MS, 1);
	dequeue_expect(q, 410 * MS, 5);
	dequeue_expect(q, next_ns - 1, 5);
	dequeue_expect(q, next_ns, 6);
	fq_free(q);
}

/* Back into dropping soon after leaving it, CoDel resumes near the rate that was working: after
 * drops 1..5 (count 5 from 1), it leaves at a short sojourn and re-enters with count 5 - 1 = 4,
 * so the second drop comes interval / sqrt(5) = 44.72 ms after the first, not a whole interval. */
static void test_codel_reentry_keeps_rate(void **unused)
{
	struct fq *q = new_default();
	const uint64_t t = 420 * MS;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 60; k++)
		put(q, 1, k, 1000, 0);
	dequeue_expect(q, 10 * MS, 0);
	dequeue_expect(q, 110 * MS, 1);
	dequeue_expect(q, 410 * MS, 5);
	for (uint32_t k = 100; k < 160; k++)
		put(q, 1, k, 1000, t);
	do
		assert_true(get(q, t, &o));
	while (o.seq < 100);
	assert_int_equal(fq_stats(q)->drop_codel, 5);
	dequeue_expect(q, t + 10 * MS, 5);
	dequeue_expect(q, t + 110 * MS - 1, 5);
	/* re-entry: count 4, next drop 50 ms on; then count 5, 44.72 ms on */
	dequeue_expect(q, t + 110 * MS, 6);
	assert_int_equal(fq_stats(q)->codel_dropping, 2);
	dequeue_expect(q, t + 160 * MS - 1, 6);
	dequeue_expect(q, t + 160 * MS, 7);
	dequeue_expect(q, t + 160 * MS + 44721359 - 1, 7);
	dequeue_expect(q, t + 160 * MS + 44721359, 8);
	fq_free(q);
}

/* One packet at a time, each waiting 50 ms: sojourn is far above target, but CoDel never drops
 * when no more than one packet's worth would be left queued. */
static void test_codel_keeps_last_packet(void **unused)
{
	struct fq *q = new_default();
	uint64_t t = 0;

	(void)unused;
	for (uint32_t k = 0; k < 20; k++) {
		put(q, 1, k, 1000, t);
		t += 50 * MS;
		dequeue_expect(q, t, 0);
	}
	fq_free(q);
}

/* A flow that empties while on the new list goes to the old list's tail (when others wait
 * there), so sending a packet again soon does not make it "new" again and jump the queue. */
static void test_emptied_new_flow_waits_a_round(void **unused)
{
	struct fq *q = new_default();
	size_t before = 0;
	struct out o;

	(void)unused;
	for (uint32_t k = 0; k < 100; k++)
		put(q, 1, k, 500, 0);
	for (int i = 0; i < 4; i++)
		assert_true(get(q, 0, &o));
	put(q, 2, 0, 84, 0);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 2);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 1);
	put(q, 2, 1, 84, 0);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 1);
	before = o.len;
	for (;;) {
		assert_true(get(q, 0, &o));
		if (o.hash == 2)
			break;
		before += o.len;
	}
	assert_true(before <= FQ_QUANTUM_BYTES + 500);
	assert_int_equal(fq_stats(q)->new_flows, 2);
	fq_free(q);
}

/* fq_peek_len picks the packet and the next dequeue returns that very packet. */
static void test_peek(void **unused)
{
	struct fq *q = new_default();
	struct out o;

	(void)unused;
	put(q, 1, 0, 1500, 0);
	put(q, 2, 0, 84, 0);
	assert_int_equal(fq_peek_len(q, 0), 1500);
	assert_int_equal(fq_peek_len(q, 0), 1500);
	assert_int_equal(fq_backlog_packets(q), 2);
	assert_int_equal(fq_backlog_bytes(q), 1584);
	assert_int_equal(fq_check(q), 0);
	put(q, 3, 0, 200, 0);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 1);
	assert_int_equal(o.len, 1500);
	assert_int_equal(fq_peek_len(q, 0), 84);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 2);
	assert_true(get(q, 0, &o));
	assert_int_equal(o.hash, 3);
	assert_int_equal(fq_peek_len(q, 0), 0);
	assert_int_equal(fq_check(q), 0);
	fq_free(q);
}

#define FUZZ_STEPS 200000
#define FUZZ_HASHES 12

/* Random enqueues, dequeues and peeks with a fixed seed: the lists stay consistent, the backlog
 * is what went in less what came out or was dropped, each packet comes out at most once and in
 * its flow's order, and at the end every packet came out or was counted dropped. */
static void test_random_invariants(void **unused)
{
	struct fq *q = fq_new(8, 64, 1500, TARGET_NS, INTERVAL_NS);
	static uint8_t out_seen[FUZZ_STEPS];
	static uint16_t len_of[FUZZ_STEPS];
	int64_t last_out[FUZZ_HASHES];
	uint64_t now = 0, in_bytes = 0, out_bytes = 0, out_packets = 0;
	uint32_t next_id = 0;
	const struct fq_stats *st = fq_stats(q);
	struct mpt_rng rng;
	struct out o;

	(void)unused;
	memset(out_seen, 0, sizeof(out_seen));
	for (int h = 0; h < FUZZ_HASHES; h++)
		last_out[h] = -1;
	rng_seed(&rng, 11);
	for (uint32_t step = 0; step < FUZZ_STEPS; step++) {
		uint64_t op = rng_below(&rng, 100);
		size_t peeked = 0;

		now += rng_below(&rng, 200000);
		if (op < 52) {
			uint32_t hash = (uint32_t)rng_below(&rng, FUZZ_HASHES);
			/* mostly full-size packets, some small ones */
			size_t len = rng_below(&rng, 4) ? 1500 : 8 + rng_below(&rng, 200);

			assert_true(put(q, hash, next_id, len, now) >= 0);
			len_of[next_id++] = (uint16_t)len;
			in_bytes += len;
			continue;
		}
		if (op < 60)
			peeked = fq_peek_len(q, now);
		if (!get(q, now, &o)) {
			assert_int_equal(peeked, 0);
			assert_int_equal(fq_backlog_packets(q), 0);
			continue;
		}
		if (peeked)
			assert_int_equal(o.len, peeked);
		assert_true(o.hash < FUZZ_HASHES && o.seq < next_id);
		assert_int_equal(o.len, len_of[o.seq]);
		assert_false(out_seen[o.seq]);
		assert_true((int64_t)o.seq > last_out[o.hash]);
		out_seen[o.seq] = 1;
		last_out[o.hash] = o.seq;
		out_bytes += o.len;
		out_packets++;
		if (step % 64 == 0)
			assert_int_equal(fq_check(q), 0);
		assert_int_equal(fq_backlog_bytes(q), in_bytes - out_bytes - st->dropped_bytes);
	}
	while (get(q, now, &o)) {
		assert_false(out_seen[o.seq]);
		out_seen[o.seq] = 1;
		out_bytes += o.len;
		out_packets++;
	}
	assert_int_equal(fq_check(q), 0);
	assert_int_equal(st->enqueued, next_id);
	assert_int_equal(st->dequeued, out_packets);
	assert_int_equal(out_packets + st->drop_overflow + st->drop_codel, next_id);
	assert_int_equal(out_bytes + st->dropped_bytes, in_bytes);
	assert_int_equal(st->enqueued_bytes, in_bytes);
	assert_int_equal(st->dequeued_bytes, out_bytes);
	/* the run must have exercised both kinds of drop */
	assert_true(st->drop_overflow > 0);
	assert_true(st->drop_codel > 0);
	fq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_fifo_one_flow),
		cmocka_unit_test(test_byte_fairness),
		cmocka_unit_test(test_sparse_flow_first),
		cmocka_unit_test(test_colliding_hashes_apart),
		cmocka_unit_test(test_busy_flow_does_not_starve),
		cmocka_unit_test(test_overflow_drops_fattest),
		cmocka_unit_test(test_codel_spacing),
		cmocka_unit_test(test_codel_spares_short_burst),
		cmocka_unit_test(test_codel_late_dequeue),
		cmocka_unit_test(test_codel_reentry_keeps_rate),
		cmocka_unit_test(test_codel_keeps_last_packet),
		cmocka_unit_test(test_emptied_new_flow_waits_a_round),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_random_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
