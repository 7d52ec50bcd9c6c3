/* The loop's wait before the engine's next tick (loop_timeout): to the nanosecond for
 * epoll_pwait2, rounded up to whole ms for the fallback, never negative, never unbounded. No
 * clock is read: the loop itself is exercised by tests/netns/daemon.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/loop.h"

#define MS 1000000ull

static void expect_wait(uint64_t now, uint64_t deadline, time_t sec, long nsec, int ms)
{
	struct timespec ts = { .tv_sec = 99, .tv_nsec = 99 };

	assert_int_equal(loop_timeout(now, deadline, &ts), ms);
	assert_int_equal(ts.tv_sec, sec);
	assert_int_equal(ts.tv_nsec, nsec);
}

/* Issue 11: a paced departure 0.3 ms away is waited for 0.3 ms, not 1 ms. */
static void test_sub_ms(void **unused)
{
	(void)unused;
	expect_wait(5 * MS, 5 * MS + 300000, 0, 300000, 1);
	expect_wait(5 * MS, 5 * MS + 1, 0, 1, 1);
	expect_wait(5 * MS, 5 * MS + MS, 0, 1000000, 1);
	expect_wait(5 * MS, 5 * MS + MS + 1, 0, 1000001, 2);
	expect_wait(7, 7 + 2500000, 0, 2500000, 3);
	expect_wait(0, 999999999, 0, 999999999, 1000);
}

/* A deadline due or past is no wait at all. */
static void test_past(void **unused)
{
	(void)unused;
	expect_wait(5 * MS, 5 * MS, 0, 0, 0);
	expect_wait(5 * MS, 5 * MS - 1, 0, 0, 0);
	expect_wait(5 * MS, 0, 0, 0, 0);
	expect_wait(UINT64_MAX, 1, 0, 0, 0);
}

/* No tick wanted (UINT64_MAX) or one far off: one second, so the loop neither spins nor
 * sleeps past its next look. */
static void test_cap(void **unused)
{
	(void)unused;
	expect_wait(5 * MS, UINT64_MAX, 1, 0, 1000);
	expect_wait(0, UINT64_MAX, 1, 0, 1000);
	expect_wait(0, LOOP_MAX_WAIT_NS, 1, 0, 1000);
	expect_wait(0, LOOP_MAX_WAIT_NS + 1, 1, 0, 1000);
	expect_wait(3, 3 + 3600 * 1000 * MS, 1, 0, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sub_ms),
		cmocka_unit_test(test_past),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
