/* The daemon's command line: the 2015 options, the new ones, and every kind of bad input
 * giving CONFIG_USAGE with one line that names the problem. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/aead.h"
#include "daemon/config.h"

static char out[8192];

/* line split at spaces into argv; env the value of MPTUN_SECRET, or NULL */
static enum config_result parse_env(struct config *c, const char *line, const char *env)
{
	static char copy[1024];
	char *argv[64];
	int argc = 0;

	snprintf(copy, sizeof(copy), "mptun %s", line);
	for (char *t = strtok(copy, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return config_parse(c, argc, argv, env, out, sizeof(out));
}

static enum config_result parse(struct config *c, const char *line)
{
	return parse_env(c, line, NULL);
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
	assert_false(c.have_metrics);	/* off unless asked */
	assert_string_equal(c.peer_name, "peer");
	assert_int_equal(parse(&c, "-p 5000 -v 10.0.0.1 -t 10.0.0.2 -K /k --metrics [::1]:9469"),
			 CONFIG_OK);
	assert_true(c.have_metrics);
	assert_int_equal(c.metrics.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.metrics)->sin6_port), 9469);
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
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --rekey 0", "bad interval" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --rekey 121", "bad interval" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --rekey 5 --rekey 6", "given twice" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s extra", "unexpected argument" },
		{ "-i averyveryverylongname -p 1 -v 10.0.0.1 -t 10.0.0.2 -k s", "bad interface" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s -q --verbose", "contradict" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --metrics 127.0.0.1", "--metrics: bad address" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --metrics ::1:9469", "--metrics: bad address" },
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --metrics 127.0.0.1:1 --metrics 127.0.0.1:2",
		  "given twice" },
	};
	struct config c;

	char *argv[] = { "mptun", "-p", "1\nx", NULL };

	(void)unused;
	/* found by fuzz_config: a quoted argument's newline made the message two lines */
	assert_int_equal(config_parse(&c, 3, argv, NULL, out, sizeof(out)), CONFIG_USAGE);
	assert_non_null(strstr(out, "bad port '1?x'"));
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

static void salt_of(const char *line, uint8_t salt[AEAD_SALT_LEN])
{
	struct config c;

	assert_int_equal(parse(&c, line), CONFIG_OK);
	config_secret_salt(&c, salt);
}

/* Issue 10, finding 5: the Argon2id salt differs between deployments, and both ends of one
 * tunnel derive the same one from what they already share: the port and the two inner
 * addresses (a client's -v/-t are its server's -t/-v), or --salt. */
static void test_secret_salt(void **unused)
{
	uint8_t client[AEAD_SALT_LEN], server[AEAD_SALT_LEN], other[AEAD_SALT_LEN];
	uint8_t k1[AEAD_KEY_LEN], k2[AEAD_KEY_LEN];

	(void)unused;
	assert_int_equal(aead_global_init(), 0);
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s", client);
	salt_of("-p 5000 -v 10.0.0.2 -t 10.0.0.1 -l 192.0.2.1 -k other", server);
	assert_memory_equal(client, server, AEAD_SALT_LEN);
	salt_of("-p 5001 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.3 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.1.1 -t 10.0.0.2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);

	/* --salt: the same on both ends whatever their addresses, apart from the default */
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s --salt office-7", client);
	salt_of("-p 6000 -v 10.9.0.2 -t 10.9.0.1 -k s --salt office-7", server);
	assert_memory_equal(client, server, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s --salt office-8", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);

	/* so the same secret gives each deployment its own key */
	assert_int_equal(aead_key_from_secret("s", 1, client, k1), 0);
	assert_int_equal(aead_key_from_secret("s", 1, other, k2), 0);
	assert_memory_not_equal(k1, k2, AEAD_KEY_LEN);
}

/* One key source: -k, -K, --secret-file or MPTUN_SECRET; --status-group needs --status. */
static void test_key_sources(void **unused)
{
	static const struct { const char *line, *env, *says; } bad[] = {
		{ "-k s --secret-file f", NULL, "-k and --secret-file both given" },
		{ "-K f --secret-file f", NULL, "-K and --secret-file both given" },
		{ "-K f", "s", "-K and MPTUN_SECRET both given" },
		{ "-k s", "s", "-k and MPTUN_SECRET both given" },
		{ "", "", "MPTUN_SECRET is empty" },
		{ "-K f --salt x", NULL, "--salt is for a secret" },
		{ "-k s --salt", NULL, "needs a value" },
		{ "-k s --status-group adm", NULL, "--status-group without --status" },
		{ "", NULL, "--secret-file FILE or MPTUN_SECRET" },
	};
	char line[256];
	struct config c;

	(void)unused;
	assert_int_equal(parse(&c, "-p 1 -v 10.0.0.1 -t 10.0.0.2 --secret-file /etc/s"), CONFIG_OK);
	assert_string_equal(c.secret_file, "/etc/s");
	assert_false(c.secret_env);
	assert_int_equal(parse_env(&c, "-p 1 -v 10.0.0.1 -t 10.0.0.2", "s"), CONFIG_OK);
	assert_true(c.secret_env);
	assert_null(c.secret);
	assert_int_equal(parse_env(&c, "-p 1 -v 10.0.0.1 -t 10.0.0.2 --salt x --status /s "
				   "--status-group adm", "s"), CONFIG_OK);
	assert_string_equal(c.salt, "x");
	assert_string_equal(c.status_group, "adm");
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		snprintf(line, sizeof(line), "-p 1 -v 10.0.0.1 -t 10.0.0.2 %s", bad[k].line);
		assert_int_equal(parse_env(&c, line, bad[k].env), CONFIG_USAGE);
		if (!strstr(out, bad[k].says))
			fail_msg("'%s' said '%s', expected '%s'", line, out, bad[k].says);
		assert_null(strchr(out, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2015_client_and_server),
		cmocka_unit_test(test_exits),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_address_limit),
		cmocka_unit_test(test_secret_salt),
		cmocka_unit_test(test_key_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
