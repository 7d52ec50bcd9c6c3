/* The daemon's command line: the 2015 options, the new ones, and every kind of bad input
 * giving CONFIG_USAGE with one line that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/config.h"

static char out[8192];

static enum config_result parse(struct config *c, const char *line)
{
	static char copy[1024];
	char *argv[64];
	int argc = 0;

	snprintf(copy, sizeof(copy), "mptun %s", line);
	for (char *t = strtok(copy, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return config_parse(c, argc, argv, out, sizeof(out));
}

static void test_2015_client_and_server(void **unused)
{
	struct config c;

	(void)unused;
	assert_int_equal(parse(&c, "-i tun0 -p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 "
			       "-l 198.51.100.1 -l 198.51.100.2 -k secret"), CONFIG_OK);
	assert_string_equal(c.tun_name, "tun0");
	assert_int_equal(c.port, 5000);
	assert_int_equal(c.nremote, 1);
	assert_int_equal(c.nlocal, 2);
	assert_string_equal(c.sched, "arrival");
	assert_int_equal(config_default_mtu(&c), 1428);
	assert_int_equal(parse(&c, "-i tun0 -p 5000 -v 10.0.0.2 -t 10.0.0.1 -k secret"), CONFIG_OK);
	assert_int_equal(c.nremote, 0);
	assert_int_equal(parse(&c, "-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 2001:db8::1 -K /k "
			       "--sched roundrobin --mtu 1400 --status /run/m.sock --user nobody -q"),
			 CONFIG_OK);
	assert_int_equal(c.remote[0].ss_family, AF_INET6);
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.verbosity, 0);
	c.mtu = 0;
	assert_int_equal(config_default_mtu(&c), 1408);
}

static void test_exits(void **unused)
{
	struct config c;

	(void)unused;
	assert_int_equal(parse(&c, "--help"), CONFIG_EXIT);
	assert_non_null(strstr(out, "usage: mptun"));
	assert_int_equal(parse(&c, "--version"), CONFIG_EXIT);
	assert_non_null(strstr(out, "mptun "));
	assert_int_equal(parse(&c, "--sched list"), CONFIG_EXIT);
	assert_non_null(strstr(out, "lossaware"));
	assert_non_null(strstr(out, "weighted"));
}

static void test_bad_input(void **unused)
{
	static const struct { const char *line, *says; } cases[] = {
		{ "--frobnicate", "unknown option" },
		{ "-x", "unknown option -x" },
		{ "-p", "needs a value" },
		{ "-p 0 -v 10.0.0.1 -t 10.0.0.2 -k s", "bad port" },
		{ "-p 70000 -v 10.0.0.1 -t 10.0.0.2 -k s", "bad port" },
		{ "-p 5x -v 10.0.0.1 -t 10.0.0.2 -k s", "bad port" },
		{ "-p 1 -p 2 -v 10.0.0.1 -t 10.0.0.2 -k s", "given twice" },
		{ "-p 1 -v 10.0.0.1 -k s", "missing -t" },
		{ "-p 1 -v 10.0.0.300 -t 10.0.0.2 -k s", "bad IPv4" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.1 -k s", "same address" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2", "missing key" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -K f", "-k and -K both" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -r 1.2.3", "bad address '1.2.3'" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -r 1.2.3.4 -r 1.2.3.4", "given twice" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -l ::1 -l [::1]", "given twice" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --sched nosuch", "unknown scheduler" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --mtu 100", "bad MTU" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s extra", "unexpected argument" },
		{ "-i averyveryverylongname -p 1 -v 10.0.0.1 -t 10.0.0.2 -k s", "bad interface" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -q --verbose", "contradict" },
	};
	struct config c;

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(parse(&c, cases[k].line), CONFIG_USAGE);
		if (!strstr(out, cases[k].says))
			fail_msg("'%s' said '%s', expected '%s'", cases[k].line, out, cases[k].says);
		assert_null(strchr(out, '\n'));
	}
}

static void test_address_limit(void **unused)
{
	char line[1024];
	size_t off;
	struct config c;

	(void)unused;
	off = (size_t)snprintf(line, sizeof(line), "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s");
	for (int k = 0; k < 16; k++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, " -r 192.0.2.%d", k + 1);
	assert_int_equal(parse(&c, line), CONFIG_OK);
	assert_int_equal(c.nremote, 16);
	snprintf(line + off, sizeof(line) - off, " -r 192.0.2.99");
	assert_int_equal(parse(&c, line), CONFIG_USAGE);
	assert_non_null(strstr(out, "more than 16"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2015_client_and_server),
		cmocka_unit_test(test_exits),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_address_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
