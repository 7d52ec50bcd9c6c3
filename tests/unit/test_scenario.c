/* Tests of sim/scenario.c's file parser, for a hub's site blocks: the links and traffic each
 * site gets, a file without sites as before, every site error with its file:line; and
 * sim/report.c's Jain index that the hub's table prints. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/report.h"
#include "sim/scenario.h"

static char path[64];
/* a scenario holds every site's uplinks: too big for a test's stack */
static struct scenario sc;

static const char *write_scn(const char *text)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/mptun-scn-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load(const char *text, char *err, size_t errlen)
{
	int rc;

	scenario_init(&sc, NULL);
	rc = scenario_load(&sc, write_scn(text), err, errlen);
	unlink(path);
	return rc;
}

static void test_no_sites(void **unused)
{
	char err[SCENARIO_ERR_LEN];

	(void)unused;
	assert_int_equal(load("link name=a,rate=20M\nlink rate=10M,delay=5ms\ntraffic tcp\n", err,
			      sizeof(err)), 0);
	assert_int_equal(sc.nsites, 0);
	assert_int_equal(sc.nlinks, 2);
	assert_int_equal(sc.ntraffic, 1);
	assert_string_equal(sc.links[0].name, "a");
	scenario_free(&sc);
}

static void test_sites(void **unused)
{
	char err[SCENARIO_ERR_LEN];

	(void)unused;
	assert_int_equal(load("server rate=100M,delay=2ms\n"
			      "traffic tcp\n"
			      "site north\n"
			      "link name=fibre,rate=20M,delay=10ms\n"
			      "link rate=10M\n"
			      "site south   # a comment\n"
			      "link rate=5M\n"
			      "traffic udp:2M\n"
			      "traffic tcp:2\n"
			      "server rate=50M\n"
			      "duration 10\n", err, sizeof(err)), 0);
	assert_int_equal(sc.nsites, 2);
	assert_int_equal(sc.nlinks, 0);
	/* server lines are the hub's wherever they stand */
	assert_int_equal(sc.nserver, 2);
	assert_int_equal(sc.ntraffic, 1);
	assert_string_equal(sc.sites[0].name, "north");
	assert_int_equal(sc.sites[0].nlinks, 2);
	assert_string_equal(sc.sites[0].links[0].name, "fibre");
	assert_int_equal(sc.sites[0].links[1].down.rate_bps, 10000000);
	assert_int_equal(sc.sites[0].ntraffic, 0);
	assert_string_equal(sc.sites[1].name, "south");
	assert_int_equal(sc.sites[1].nlinks, 1);
	assert_int_equal(sc.sites[1].ntraffic, 2);
	assert_int_equal(sc.sites[1].traffic[0].kind, TRAFFIC_UDP);
	assert_int_equal(sc.sites[1].traffic[1].flows, 2);
	assert_int_equal(sc.duration_ns, 10000000000ull);
	scenario_free(&sc);
}

static void test_max_sites(void **unused)
{
	char text[4096], err[SCENARIO_ERR_LEN], want[128];
	size_t used = 0;

	(void)unused;
	for (unsigned k = 0; k < SCENARIO_MAX_SITES; k++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "site s%u\nlink rate=1M\n", k);
	assert_int_equal(load(text, err, sizeof(err)), 0);
	assert_int_equal(sc.nsites, SCENARIO_MAX_SITES);
	scenario_free(&sc);
	snprintf(text + used, sizeof(text) - used, "site one-too-many\nlink rate=1M\n");
	assert_int_equal(load(text, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: more than %d sites", path, 2 * SCENARIO_MAX_SITES + 1,
		 SCENARIO_MAX_SITES);
	assert_string_equal(err, want);
	scenario_free(&sc);
}

/* The message, with %s for the file's path. */
static void bad(const char *text, const char *fmt)
{
	char err[SCENARIO_ERR_LEN], want[SCENARIO_ERR_LEN];

	assert_int_equal(load(text, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), fmt, path);
	assert_string_equal(err, want);
	scenario_free(&sc);
}

static void test_site_errors(void **unused)
{
	(void)unused;
	bad("link rate=1M\nsite a\nlink rate=1M\n",
	    "%s:1: link outside any site (the file has site blocks, from line 2): put it under a site");
	bad("site a\nlink rate=1M\nsite b\nlink rate=2M\nsite a\nlink rate=3M\n",
	    "%s:5: duplicate site name 'a' (first at line 1)");
	bad("site a\nsite b\nlink rate=1M\n", "%s:1: site 'a' has no link lines");
	bad("site a\nlink rate=1M\nsite b\n", "%s:3: site 'b' has no link lines");
	bad("site a b\nlink rate=1M\n",
	    "%s:1: bad site name 'a b' (one word, at most 31 characters, no '/')");
	bad("site a/b\nlink rate=1M\n",
	    "%s:1: bad site name 'a/b' (one word, at most 31 characters, no '/')");
	bad("site\n", "%s:1: 'site' needs a value");
	bad("site a\nlink rate=xyz\n",
	    "%s:2: bad rate 'xyz' (a positive bit/s with K, M or G, e.g. 20M)");
	bad("site a\nlink rate=1M\ntraffic tcp:0\n", "%s:3: bad TCP flow count '0' (1..64)");
}

static void test_jain(void **unused)
{
	const double equal[4] = { 5, 5, 5, 5 }, one[4] = { 8, 0, 0, 0 }, half[2] = { 3, 1 };
	const double zero[3] = { 0, 0, 0 };

	(void)unused;
	assert_float_equal(report_jain(equal, 4), 1.0, 1e-12);
	assert_float_equal(report_jain(one, 4), 0.25, 1e-12);
	/* (3 + 1)^2 / (2 (9 + 1)) */
	assert_float_equal(report_jain(half, 2), 0.8, 1e-12);
	assert_true(isnan(report_jain(zero, 3)));
	assert_true(isnan(report_jain(equal, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_sites),
		cmocka_unit_test(test_sites),
		cmocka_unit_test(test_max_sites),
		cmocka_unit_test(test_site_errors),
		cmocka_unit_test(test_jain),
	};

	return cmocka_run_group_tests_name("scenario", tests, NULL, NULL);
}
