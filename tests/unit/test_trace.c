/* Tests of sim/trace.c: good traces, repeats, CRLF and blank lines, the mean rate, and every
 * malformed file with its file:line in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/trace.h"

static char path[64];

static const char *write_trace(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/mptun-trace-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_good(void **unused)
{
	struct trace *t = NULL;
	char err[256];

	(void)unused;
	assert_int_equal(trace_load(write_trace("1\n1\n3\r\n\n7\n"), &t, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(t->n, 4);
	assert_int_equal(t->ms[1], 1);
	assert_int_equal(t->ms[3], 7);
	assert_int_equal(t->period_ms, 7);
	/* 4 packets of 1500 bytes per 7 ms */
	assert_int_equal(trace_mean_rate_bps(t), 4ull * 1500 * 8 * 1000 / 7);
	trace_free(t);
	assert_int_equal(trace_load(write_trace("1\n"), &t, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(trace_mean_rate_bps(t), 12000000);
	trace_free(t);
	trace_free(NULL);
}

/* One malformed file: load fails, the message names the file and the line. */
static void bad(const char *text, const char *want)
{
	struct trace *t = NULL;
	char err[256], expect[128];

	assert_true(trace_load(write_trace(text), &t, err, sizeof(err)) < 0);
	unlink(path);
	assert_null(t);
	snprintf(expect, sizeof(expect), want, path);
	if (!strstr(err, expect))
		fail_msg("'%s' does not contain '%s'", err, expect);
}

static void test_malformed(void **unused)
{
	struct trace *t = NULL;
	char err[256];

	(void)unused;
	bad("", "%s: empty trace");
	bad("\n\n", "%s: empty trace");
	bad("1\n2\nabc\n", "%s:3: not a non-negative integer");
	bad("1\n-2\n", "%s:2: not a non-negative integer");
	bad("1\n2.5\n", "%s:2: not a non-negative integer");
	bad("5\n9\n4\n", "%s:3: timestamp decreases (4 after 9)");
	bad("0\n0\n", "%s: period is 0 ms");
	bad("1 2\n", "%s:1: not a non-negative integer");
	assert_true(trace_load("/nonexistent/trace.down", &t, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/trace.down"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
