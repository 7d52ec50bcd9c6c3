/* Tests of sched/: the registry walk, weighted's exact arithmetic, lossaware leaving a lossy
 * path and a dead one, roundrobin cycling. Schedulers run on hand-made path tables. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/path.h"
#include "core/rng.h"
#include "sched/lossaware.h"
#include "sched/registry.h"
#include "sched/weighted.h"

struct toy {
	struct mpt_path paths[MPT_MAX_PATHS];
	struct mpt_rng rng;
	struct sched_view v;
};

static void toy_init(struct toy *t, unsigned nlocal, unsigned nremote)
{
	memset(t, 0, sizeof(*t));
	rng_seed(&t->rng, 42);
	for (unsigned i = 0; i < nlocal; i++)
		for (unsigned j = 0; j < nremote; j++)
			path_init(&t->paths[path_index(i, j)], i, j, true, 0);
	t->v = (struct sched_view){
		.now_ns = 1, .rng = &t->rng, .paths = t->paths, .nlocal = nlocal,
		.nremote = nremote, .writable_mask = (1u << nlocal) - 1, .len = 1000,
	};
}

static void *state_new(const struct mpt_sched_ops *ops, const char *args)
{
	void *s = calloc(1, ops->state_size ? ops->state_size : 1);

	assert_non_null(s);
	assert_int_equal(ops->init(s, args), 0);
	return s;
}

static void state_free(const struct mpt_sched_ops *ops, void *s)
{
	if (ops->release)
		ops->release(s);
	free(s);
}

/* Every entry: unique name, summary, required hooks, and pick returns a live path. */
static void test_registry_walk(void **unused)
{
	(void)unused;
	assert_true(sched_registry_len >= 3);
	for (size_t i = 0; i < sched_registry_len; i++) {
		const struct mpt_sched_ops *ops = sched_registry[i];
		struct toy t;
		uint16_t out[SCHED_MAX_PICK];
		void *s;

		assert_int_equal(sched_ops_check(ops), 0);
		assert_true(strlen(ops->summary) > 10);
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(ops->name, sched_registry[k]->name);
		assert_ptr_equal(sched_lookup(ops->name, NULL), ops);

		toy_init(&t, 3, 2);
		t.paths[path_index(1, 0)].up = false;
		s = state_new(ops, NULL);
		for (int n = 0; n < 200; n++) {
			int k = ops->pick(s, &t.v, out, SCHED_MAX_PICK);

			assert_true(k >= 1 && k <= SCHED_MAX_PICK);
			for (int m = 0; m < k; m++) {
				unsigned local = out[m] / MPT_MAX_REMOTE, remote = out[m] % MPT_MAX_REMOTE;

				assert_true(local < 3 && remote < 2);
				/* weighted ignores liveness by design; the others must not pick a dead path */
				if (ops != &sched_weighted)
					assert_true(t.paths[out[m]].up);
			}
		}
		assert_int_equal(ops->init(s, "nonsense-argument"), -EINVAL);
		state_free(ops, s);
	}
	assert_null(sched_lookup("nosuch", NULL));
}

static void test_lookup_args(void **unused)
{
	const char *args = "x";

	(void)unused;
	assert_ptr_equal(sched_lookup("lossaware:abc", &args), &sched_lossaware);
	assert_string_equal(args, "abc");
	assert_ptr_equal(sched_lookup("weighted", &args), &sched_weighted);
	assert_null(args);
	assert_null(sched_lookup("weight", NULL));
	assert_null(sched_lookup("weightedx", NULL));
}

/* Counts grow per authenticated arrival; passing 16384 halves the whole side exactly. */
static void test_weighted_bump_halve(void **unused)
{
	struct toy t;
	struct weighted_state *w;

	(void)unused;
	toy_init(&t, 2, 3);
	w = state_new(&sched_weighted, NULL);
	for (int n = 0; n < 100; n++)
		sched_weighted.on_recv(w, &t.v, 1, 2);
	sched_weighted.on_recv(w, &t.v, 0, 0);
	assert_int_equal(w->local_count[0], 1);
	assert_int_equal(w->local_count[1], 100);
	assert_int_equal(w->remote_count[0], 1);
	assert_int_equal(w->remote_count[2], 100);

	w->local_count[0] = 16384;
	w->local_count[1] = 7;
	w->remote_count[0] = 16383;
	w->remote_count[1] = 5;
	w->remote_count[2] = 3;
	sched_weighted.on_recv(w, &t.v, 1, 0);
	/* local 1 grew to 8, nobody passed 16384: no halving */
	assert_int_equal(w->local_count[0], 16384);
	assert_int_equal(w->local_count[1], 8);
	/* remote 0 reached 16384: not yet past it */
	assert_int_equal(w->remote_count[0], 16384);
	sched_weighted.on_recv(w, &t.v, 0, 0);
	/* local 0 -> 16385 > 16384: every local halves; remote 0 likewise */
	assert_int_equal(w->local_count[0], 8192);
	assert_int_equal(w->local_count[1], 4);
	assert_int_equal(w->remote_count[0], 8192);
	assert_int_equal(w->remote_count[1], 2);
	assert_int_equal(w->remote_count[2], 1);
	state_free(&sched_weighted, w);
}

/* Draws follow (64 + count) / total, locals limited to the writable ones. */
static void test_weighted_draw(void **unused)
{
	struct toy t;
	struct weighted_state *w;
	unsigned hits[2] = { 0, 0 };
	uint16_t out[1];
	const int draws = 200000;

	(void)unused;
	toy_init(&t, 2, 1);
	w = state_new(&sched_weighted, NULL);
	w->local_count[0] = 64;		/* weight 128 */
	w->local_count[1] = 256;	/* weight 320 */
	for (int n = 0; n < draws; n++) {
		assert_int_equal(sched_weighted.pick(w, &t.v, out, 1), 1);
		hits[out[0] / MPT_MAX_REMOTE]++;
	}
	/* expected 128/448 = 0.2857; 200k draws: sd 0.001, allow 0.005 */
	assert_true(abs((int)hits[0] - (int)(draws * 128.0 / 448)) < draws * 0.005);
	t.v.writable_mask = 1u << 1;
	for (int n = 0; n < 1000; n++) {
		sched_weighted.pick(w, &t.v, out, 1);
		assert_int_equal(out[0] / MPT_MAX_REMOTE, 1);
	}
	t.v.writable_mask = 0;
	assert_int_equal(sched_weighted.pick(w, &t.v, out, 1), 0);
	state_free(&sched_weighted, w);
}

static void test_roundrobin_cycles(void **unused)
{
	const struct mpt_sched_ops *rr = sched_lookup("roundrobin", NULL);
	struct toy t;
	uint16_t out[1];
	void *s;
	unsigned seen[MPT_MAX_PATHS] = { 0 };

	(void)unused;
	toy_init(&t, 2, 2);
	s = state_new(rr, NULL);
	for (int n = 0; n < 400; n++) {
		rr->pick(s, &t.v, out, 1);
		seen[out[0]]++;
	}
	for (unsigned i = 0; i < 2; i++)
		for (unsigned j = 0; j < 2; j++)
			assert_int_equal(seen[path_index(i, j)], 100);
	/* a dead path is skipped; the others keep their turn */
	t.paths[path_index(0, 1)].up = false;
	memset(seen, 0, sizeof(seen));
	for (int n = 0; n < 300; n++) {
		rr->pick(s, &t.v, out, 1);
		seen[out[0]]++;
	}
	assert_int_equal(seen[path_index(0, 1)], 0);
	assert_int_equal(seen[path_index(0, 0)], 100);
	assert_int_equal(seen[path_index(1, 0)], 100);
	assert_int_equal(seen[path_index(1, 1)], 100);
	/* all dead: cycle over everything rather than go silent */
	for (unsigned k = 0; k < MPT_MAX_PATHS; k++)
		t.paths[k].up = false;
	assert_int_equal(rr->pick(s, &t.v, out, 1), 1);
	state_free(rr, s);
}

/* Feed lossaware feedback where path 1 loses 10 % while not queueing: its share must fall far
 * below the others', and a dead path must get nothing. */
static void test_lossaware_leaves_lossy_path(void **unused)
{
	struct toy t;
	struct lossaware_state *s;
	unsigned seen[MPT_MAX_PATHS] = { 0 };
	uint16_t out[1];
	double w_lossy, w_clean;

	(void)unused;
	toy_init(&t, 4, 1);
	s = state_new(&sched_lossaware, NULL);
	for (int round = 0; round < 50; round++) {
		for (unsigned i = 0; i < 4; i++) {
			struct mpt_path *p = &t.paths[path_index(i, 0)];

			p->srtt_ns = p->min_rtt_ns = 40000000;
			p->delivery_rate_bps = 15000000;
			p->covered_packets += 1000;
			p->lost_packets += i == 1 ? 100 : 0;
			sched_lossaware.on_feedback(s, &t.v, path_index(i, 0));
		}
	}
	assert_float_equal(s->loss[path_index(1, 0)], 0.10, 1e-6);
	assert_float_equal(s->loss[path_index(0, 0)], 0.0, 1e-12);
	/* weight at 10 % loss is 1 / (1 + 20^2) of a clean path's */
	w_lossy = lossaware_weight(s, &t.paths[path_index(1, 0)], path_index(1, 0), t.v.now_ns);
	w_clean = lossaware_weight(s, &t.paths[path_index(0, 0)], path_index(0, 0), t.v.now_ns);
	assert_float_equal(w_clean / w_lossy, 401.0, 1e-2);
	for (int n = 0; n < 10000; n++) {
		assert_int_equal(sched_lossaware.pick(s, &t.v, out, 1), 1);
		seen[out[0]]++;
	}
	/* about 1/(3 * 401 + 1) = 0.08 % of the packets */
	assert_true(seen[path_index(1, 0)] >= 4 && seen[path_index(1, 0)] < 20);
	assert_true(seen[path_index(0, 0)] > 3000);

	/* a dead path gets nothing at all */
	t.paths[path_index(2, 0)].up = false;
	memset(seen, 0, sizeof(seen));
	for (int n = 0; n < 10000; n++) {
		sched_lossaware.pick(s, &t.v, out, 1);
		seen[out[0]]++;
	}
	assert_int_equal(seen[path_index(2, 0)], 0);
	state_free(&sched_lossaware, s);
}

/* Data out and the peer silent past srtt + 4 rttvar + 20 ms: no new data until feedback. */
static void test_lossaware_stalled_path(void **unused)
{
	struct toy t;
	struct lossaware_state *s;
	struct mpt_path *p;
	const uint64_t ms = 1000000;

	(void)unused;
	toy_init(&t, 1, 1);
	s = state_new(&sched_lossaware, NULL);
	p = &t.paths[0];
	p->srtt_ns = 50 * ms;
	p->rttvar_ns = 5 * ms;
	p->last_fb_ns = 1000 * ms;
	p->elicit_pending = true;	/* a data packet or probe not yet covered by feedback */
	t.v.now_ns = p->last_fb_ns + 90 * ms - 1;	/* limit is 50 + 20 + 20 = 90 ms */
	assert_true(lossaware_weight(s, p, 0, t.v.now_ns) > 0);
	t.v.now_ns = p->last_fb_ns + 90 * ms + 1;
	assert_true(lossaware_weight(s, p, 0, t.v.now_ns) == 0);
	p->elicit_pending = false;	/* nothing outstanding: silence is just idleness */
	assert_true(lossaware_weight(s, p, 0, t.v.now_ns) > 0);
	/* idle for a second, then asked again: overdue only 90 ms after that, not at once */
	p->elicit_pending = true;
	p->elicit_since_ns = p->last_fb_ns + 1000 * ms;
	t.v.now_ns = p->elicit_since_ns + 90 * ms - 1;
	assert_true(lossaware_weight(s, p, 0, t.v.now_ns) > 0);
	t.v.now_ns = p->elicit_since_ns + 90 * ms + 1;
	assert_true(lossaware_weight(s, p, 0, t.v.now_ns) == 0);
	state_free(&sched_lossaware, s);
}

/* Losses at a full queue are congestion: they move the rate estimate, not the loss weight. */
static void test_lossaware_congestion_loss_ignored(void **unused)
{
	struct toy t;
	struct lossaware_state *s;
	struct mpt_path *p;

	(void)unused;
	toy_init(&t, 1, 1);
	s = state_new(&sched_lossaware, NULL);
	p = &t.paths[0];
	p->min_rtt_ns = 40000000;
	p->srtt_ns = 120000000;
	p->delivery_rate_bps = 10000000;
	for (int n = 0; n < 20; n++) {
		p->covered_packets += 1000;
		p->lost_packets += 300;
		sched_lossaware.on_feedback(s, &t.v, 0);
	}
	assert_true(s->loss[0] == 0.0);
	state_free(&sched_lossaware, s);
}

/* A bottleneck (queueing, pushed harder than it delivers) is held at what it delivers; a path
 * whose queue drains after its share was cut holds its estimate; a free one may grow to twice
 * what it delivers. */
static void test_lossaware_rate_estimate(void **unused)
{
	struct toy t;
	struct lossaware_state *s;
	struct mpt_path *free_path, *busy, *draining;
	const uint64_t step = 20000000;	/* 20 ms between feedbacks */

	(void)unused;
	toy_init(&t, 3, 1);
	s = state_new(&sched_lossaware, NULL);
	free_path = &t.paths[path_index(0, 0)];
	busy = &t.paths[path_index(1, 0)];
	draining = &t.paths[path_index(2, 0)];
	free_path->srtt_ns = free_path->min_rtt_ns = 20000000;
	busy->min_rtt_ns = draining->min_rtt_ns = 20000000;
	busy->srtt_ns = draining->srtt_ns = 60000000;	/* 40 ms of queue */
	free_path->delivery_rate_bps = busy->delivery_rate_bps = draining->delivery_rate_bps = 10000000;
	s->rate_bps[path_index(2, 0)] = 17e6;
	for (int n = 0; n < 100; n++) {
		t.v.now_ns += step;
		free_path->tx_bytes += 10000000 / 8 * step / 1000000000;	/* sends 10 Mbit/s */
		busy->tx_bytes += 15000000 / 8 * step / 1000000000;		/* sends 15, gets 10 */
		draining->tx_bytes += 8000000 / 8 * step / 1000000000;		/* sends 8, gets 10 */
		for (unsigned i = 0; i < 3; i++)
			sched_lossaware.on_feedback(s, &t.v, path_index(i, 0));
	}
	assert_float_equal(s->rate_bps[path_index(1, 0)], 10e6, 1);
	assert_float_equal(s->rate_bps[path_index(0, 0)], 20e6, 1);
	assert_float_equal(s->rate_bps[path_index(2, 0)], 17e6, 1);
	state_free(&sched_lossaware, s);
}

/* arrival: the nearest path while it has room; the farther one once the near one holds a
 * queue that would make a packet later than the far path's delay. */
static void test_arrival_nearest_first(void **unused)
{
	const uint64_t ms = 1000000;
	struct toy t;
	uint16_t out[SCHED_MAX_PICK];
	void *s;

	(void)unused;
	toy_init(&t, 2, 1);
	s = state_new(&sched_arrival, NULL);
	/* equal rates (lossaware's initial estimate, 1 Mbit/s); 10 ms and 40 ms base RTT */
	t.paths[0].min_rtt_ns = t.paths[0].srtt_ns = 10 * ms;
	t.paths[path_index(1, 0)].min_rtt_ns = t.paths[path_index(1, 0)].srtt_ns = 40 * ms;
	assert_int_equal(sched_arrival.pick(s, &t.v, out, SCHED_MAX_PICK), 1);
	assert_int_equal(out[0], 0);
	/* 1 Mbit/s for 10 ms is 1250 bytes in flight without a queue; 6000 more take 48 ms to
	 * drain: later than 20 ms one-way on the other path */
	t.paths[0].inflight_bytes = 1250 + 6000;
	assert_int_equal(sched_arrival.pick(s, &t.v, out, SCHED_MAX_PICK), 1);
	assert_int_equal(out[0], path_index(1, 0));
	/* a down path is never picked, however near */
	t.paths[0].inflight_bytes = 0;
	t.paths[0].up = false;
	assert_int_equal(sched_arrival.pick(s, &t.v, out, SCHED_MAX_PICK), 1);
	assert_int_equal(out[0], path_index(1, 0));
	assert_int_equal(sched_arrival.init(s, "bogus"), -EINVAL);
	state_free(&sched_arrival, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_walk),
		cmocka_unit_test(test_lookup_args),
		cmocka_unit_test(test_weighted_bump_halve),
		cmocka_unit_test(test_weighted_draw),
		cmocka_unit_test(test_roundrobin_cycles),
		cmocka_unit_test(test_lossaware_leaves_lossy_path),
		cmocka_unit_test(test_lossaware_stalled_path),
		cmocka_unit_test(test_lossaware_congestion_loss_ignored),
		cmocka_unit_test(test_lossaware_rate_estimate),
		cmocka_unit_test(test_arrival_nearest_first),
	};

	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
