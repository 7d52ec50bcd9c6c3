/* Tests of sim/eventq.c: order by time, ties in insertion order, a long random run against a
 * reference sort, interleaved pushes and pops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/rng.h"
#include "sim/eventq.h"

static void test_order_and_ties(void **unused)
{
	struct eventq *q = eventq_new();
	struct event e;
	uint64_t t;

	(void)unused;
	assert_int_equal(eventq_pop(q, &e), 0);
	assert_int_equal(eventq_peek_time(q, &t), 0);
	eventq_push(q, 30, 1, NULL, 0);
	eventq_push(q, 10, 2, NULL, 0);
	eventq_push(q, 20, 3, NULL, 0);
	eventq_push(q, 10, 4, NULL, 0);
	eventq_push(q, 10, 5, NULL, 0);
	assert_int_equal(eventq_len(q), 5);
	assert_int_equal(eventq_peek_time(q, &t), 1);
	assert_int_equal(t, 10);
	/* time first, then insertion order among equal times */
	{
		const int want[] = { 2, 4, 5, 3, 1 };

		for (size_t k = 0; k < 5; k++) {
			assert_int_equal(eventq_pop(q, &e), 1);
			assert_int_equal(e.type, want[k]);
		}
	}
	assert_int_equal(eventq_len(q), 0);
	eventq_free(q);
	eventq_free(NULL);
}

/* 100k pushes with few distinct times (many ties), popped, interleaved with pushes: the
 * sequence out must be sorted by (time, arg), arg being the insertion counter. */
static void test_random_against_reference(void **unused)
{
	struct eventq *q = eventq_new();
	struct mpt_rng rng;
	struct event e;
	uint64_t pushed = 0, popped = 0, last_t = 0, last_arg = 0;
	uint64_t floor_t = 0;

	(void)unused;
	rng_seed(&rng, 5);
	while (pushed < 100000 || eventq_len(q)) {
		if (pushed < 100000 && (eventq_len(q) == 0 || rng_below(&rng, 3))) {
			/* never in the past of what was popped, as a simulator never schedules */
			assert_int_equal(eventq_push(q, floor_t + rng_below(&rng, 50), 0, NULL, pushed), 0);
			pushed++;
			continue;
		}
		assert_int_equal(eventq_pop(q, &e), 1);
		if (popped++) {
			assert_true(e.time_ns >= last_t);
			if (e.time_ns == last_t)
				assert_true(e.arg > last_arg);
		}
		last_t = floor_t = e.time_ns;
		last_arg = e.arg;
	}
	assert_int_equal(popped, 100000);
	eventq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_ties),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests_name("eventq", tests, NULL, NULL);
}
