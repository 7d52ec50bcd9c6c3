/* Tests of core/replay.c: the window's exact edges, reordering, jumps, and the ring's reuse of
 * words as top advances far past the window many times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/replay.h"

#define W REPLAY_WINDOW

/* What the engine does: check, then (after authentication) update. Returns check's answer. */
static int accept(struct replay *r, uint64_t c)
{
	int rc = replay_check(r, c);

	if (rc == 0)
		replay_update(r, c);
	return rc;
}

static void test_empty_accepts_anything(void **unused)
{
	struct replay r;

	(void)unused;
	replay_init(&r);
	assert_int_equal(replay_check(&r, 0), 0);
	assert_int_equal(replay_check(&r, UINT64_MAX), 0);
	assert_int_equal(accept(&r, 0), 0);
	assert_int_equal(accept(&r, 0), -EALREADY);
}

static void test_in_order(void **unused)
{
	struct replay r;

	(void)unused;
	replay_init(&r);
	for (uint64_t c = 0; c < 3 * W; c++) {
		assert_int_equal(accept(&r, c), 0);
		assert_int_equal(replay_check(&r, c), -EALREADY);
	}
	assert_int_equal(replay_check(&r, 3 * W - 1), -EALREADY);
	assert_int_equal(replay_check(&r, 2 * W), -EALREADY);
	assert_int_equal(replay_check(&r, 2 * W - 1), -ESTALE);
	assert_int_equal(replay_check(&r, 0), -ESTALE);
}

static void test_reordered_once(void **unused)
{
	struct replay r;

	(void)unused;
	replay_init(&r);
	assert_int_equal(accept(&r, 1000), 0);
	/* Every counter below inside the window, in descending and then scattered order. */
	for (uint64_t c = 999; c > 1000 - 300; c--)
		assert_int_equal(accept(&r, c), 0);
	for (uint64_t c = 999; c > 1000 - 300; c--)
		assert_int_equal(accept(&r, c), -EALREADY);
	assert_int_equal(accept(&r, 1005), 0);
	assert_int_equal(accept(&r, 1003), 0);
	assert_int_equal(accept(&r, 1001), 0);
	assert_int_equal(accept(&r, 1003), -EALREADY);
	assert_int_equal(accept(&r, 1002), 0);
	assert_int_equal(accept(&r, 1004), 0);
	for (uint64_t c = 1000; c <= 1005; c++)
		assert_int_equal(accept(&r, c), -EALREADY);
}

static void test_duplicate(void **unused)
{
	struct replay r;

	(void)unused;
	replay_init(&r);
	assert_int_equal(accept(&r, 5), 0);
	assert_int_equal(accept(&r, 5), -EALREADY);
	assert_int_equal(accept(&r, 6), 0);
	assert_int_equal(accept(&r, 5), -EALREADY);
	assert_int_equal(accept(&r, 6), -EALREADY);
	/* An update of an already-marked counter changes nothing. */
	replay_update(&r, 6);
	assert_int_equal(replay_check(&r, 4), 0);
}

/* top - W + 1 is the oldest counter remembered; top - W is stale. */
static void test_boundary(void **unused)
{
	const uint64_t top = 5 * W + 17;
	struct replay r;

	(void)unused;
	replay_init(&r);
	assert_int_equal(accept(&r, top), 0);
	assert_int_equal(replay_check(&r, top - W), -ESTALE);
	assert_int_equal(replay_check(&r, top - W - 1), -ESTALE);
	assert_int_equal(replay_check(&r, 0), -ESTALE);
	assert_int_equal(replay_check(&r, top - W + 1), 0);
	assert_int_equal(accept(&r, top - W + 1), 0);
	assert_int_equal(accept(&r, top - W + 1), -EALREADY);
	/* A stale counter given to update anyway is ignored. */
	replay_update(&r, top - W);
	assert_int_equal(replay_check(&r, top - W), -ESTALE);

	/* The window's edges when top sits at each position of its ring word. */
	for (uint64_t t = 3 * W; t < 3 * W + 64; t++) {
		replay_init(&r);
		for (uint64_t c = t - W + 1; c <= t; c++)
			assert_int_equal(accept(&r, c), 0);
		assert_int_equal(replay_check(&r, t - W), -ESTALE);
		for (uint64_t c = t - W + 1; c <= t; c++)
			assert_int_equal(replay_check(&r, c), -EALREADY);
		assert_int_equal(replay_check(&r, t + 1), 0);
	}
}

static void test_big_jump(void **unused)
{
	const uint64_t far = 1ull << 40;
	struct replay r;

	(void)unused;
	replay_init(&r);
	for (uint64_t c = 0; c < 100; c++)
		assert_int_equal(accept(&r, c), 0);
	assert_int_equal(accept(&r, far), 0);
	assert_int_equal(replay_check(&r, 99), -ESTALE);
	assert_int_equal(replay_check(&r, far - W), -ESTALE);
	/* Inside the new window, nothing but far itself was seen, whatever the old ring held. */
	for (uint64_t c = far - W + 1; c < far; c++)
		assert_int_equal(replay_check(&r, c), 0);
	assert_int_equal(accept(&r, far - W + 1), 0);
	assert_int_equal(accept(&r, far - 1), 0);
	assert_int_equal(accept(&r, far - 1), -EALREADY);

	/* A jump by less than the window keeps what is still inside it. */
	assert_int_equal(accept(&r, far + W / 2), 0);
	assert_int_equal(replay_check(&r, far - 1), -EALREADY);
	assert_int_equal(replay_check(&r, far), -EALREADY);
	assert_int_equal(replay_check(&r, far - W + 1), -ESTALE);
	assert_int_equal(replay_check(&r, far + 1), 0);

	/* Right up to the top of the counter space. */
	assert_int_equal(accept(&r, UINT64_MAX), 0);
	assert_int_equal(accept(&r, UINT64_MAX), -EALREADY);
	assert_int_equal(replay_check(&r, UINT64_MAX - 1), 0);
	assert_int_equal(replay_check(&r, UINT64_MAX - W + 1), 0);
	assert_int_equal(replay_check(&r, UINT64_MAX - W), -ESTALE);
}

/* Advance top in uneven steps across many windows, marking only some counters: every ring word
 * is reused many times, and a counter never marked must always be accepted. */
static void test_ring_wrap(void **unused)
{
	struct replay r;
	uint64_t top = 0;

	(void)unused;
	replay_init(&r);
	/* Fill the whole ring first, so every word has stale bits to clear later. */
	for (uint64_t c = 0; c < W + 64; c++)
		assert_int_equal(accept(&r, c), 0);
	top = W + 63;
	for (int step = 0; step < 3000; step++) {
		uint64_t next = top + 1 + (uint64_t)(step * 37 % 301);

		/* Mark next; every counter between top and next was never marked. */
		assert_int_equal(accept(&r, next), 0);
		for (uint64_t c = top + 1; c < next; c++)
			assert_int_equal(replay_check(&r, c), 0);
		assert_int_equal(replay_check(&r, top), -EALREADY);
		assert_int_equal(replay_check(&r, next - W), -ESTALE);
		top = next;
	}
	assert_true(top > 50 * (uint64_t)W);

	/* Steps of exactly one ring's worth of words and of one window. */
	for (int step = 0; step < 50; step++) {
		uint64_t next = top + (step % 2 ? W : (uint64_t)REPLAY_WORDS * 64);

		assert_int_equal(accept(&r, next), 0);
		for (uint64_t c = next - W + 1; c < next; c++)
			assert_int_equal(replay_check(&r, c), 0);
		top = next;
	}
}

static void test_check_is_read_only(void **unused)
{
	struct replay r, before;

	(void)unused;
	replay_init(&r);
	memcpy(&before, &r, sizeof(r));
	replay_check(&r, 12345);
	assert_memory_equal(&r, &before, sizeof(r));

	for (uint64_t c = 0; c < 2 * W; c += 3)
		replay_update(&r, c);
	memcpy(&before, &r, sizeof(r));
	replay_check(&r, 0);			/* stale */
	replay_check(&r, 2 * W - 2);		/* seen */
	replay_check(&r, 2 * W - 1);		/* acceptable, inside */
	replay_check(&r, 2 * W + 5);		/* ahead */
	replay_check(&r, UINT64_MAX);		/* far ahead */
	assert_memory_equal(&r, &before, sizeof(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_accepts_anything),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reordered_once),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_big_jump),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_check_is_read_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
