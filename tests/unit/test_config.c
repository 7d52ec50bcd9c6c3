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
	assert_string_equal(c.sched, "ecf");
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
		{ "-p 1 -v 10.0.0.300 -t 10.0.0.2 -k s", "bad IPv4 or IPv6 address '10.0.0.300'" },
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
		{ "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --sched ecf --sched arrival", "--sched given twice" },
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

/* The salt of an IPv4 configuration is pinned byte for byte, as mptun 0.1.0 derived it: a
 * deployment that stretches a secret must keep its key across upgrades (issue 12 part 4 adds
 * inner IPv6 addresses and must leave these untouched). */
static void test_secret_salt_pinned(void **unused)
{
	static const struct { const char *line; uint8_t salt[AEAD_SALT_LEN]; } pins[] = {
		{ "-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s",
		  { 0x51, 0x58, 0x1f, 0xd1, 0x7f, 0x3d, 0x3e, 0x29,
		    0x53, 0xc5, 0xd4, 0x06, 0x6a, 0x7b, 0xc3, 0x6f } },
		/* the server's view of the same tunnel: -v and -t swapped, the same salt */
		{ "-p 5000 -v 10.0.0.2 -t 10.0.0.1 -k s",
		  { 0x51, 0x58, 0x1f, 0xd1, 0x7f, 0x3d, 0x3e, 0x29,
		    0x53, 0xc5, 0xd4, 0x06, 0x6a, 0x7b, 0xc3, 0x6f } },
		/* -v above -t: sorted, and the port's high byte in use */
		{ "-p 65535 -v 192.168.7.200 -t 10.0.0.2 -k s",
		  { 0xdd, 0xe3, 0x28, 0xda, 0xe8, 0xc9, 0x19, 0x3a,
		    0x66, 0xa7, 0x73, 0x10, 0x56, 0xd4, 0x72, 0x23 } },
	};
	uint8_t salt[AEAD_SALT_LEN];

	(void)unused;
	assert_int_equal(aead_global_init(), 0);
	for (size_t k = 0; k < sizeof(pins) / sizeof(pins[0]); k++) {
		salt_of(pins[k].line, salt);
		if (memcmp(salt, pins[k].salt, AEAD_SALT_LEN))
			fail_msg("'%s': the salt changed", pins[k].line);
	}
}

/* Issue 12 part 4: -v and -t take IPv6 too, once per family each: an IPv6 tunnel, or a
 * dual-stack one. */
static void test_inner_ipv6(void **unused)
{
	struct in6_addr a6, p6;
	struct config c;

	(void)unused;
	inet_pton(AF_INET6, "fd00::1", &a6);
	inet_pton(AF_INET6, "fd00::2", &p6);
	assert_int_equal(parse(&c, "-p 1 -v fd00::1 -t fd00::2 -k s"), CONFIG_OK);
	assert_false(c.have_tun_addr);
	assert_false(c.have_tun_peer);
	assert_true(c.have_tun_addr6 && c.have_tun_peer6);
	assert_memory_equal(&c.tun_addr6, &a6, sizeof(a6));
	assert_memory_equal(&c.tun_peer6, &p6, sizeof(p6));
	assert_int_equal(config_default_mtu(&c), 1428);

	/* dual-stack, families in any order, long options too */
	assert_int_equal(parse(&c, "-p 1 -v fd00::1 -t 10.0.0.2 --addr 10.0.0.1 --peer fd00::2 "
			       "-r 2001:db8::1 -k s"), CONFIG_OK);
	assert_true(c.have_tun_addr && c.have_tun_peer && c.have_tun_addr6 && c.have_tun_peer6);
	assert_int_equal(c.tun_addr.s_addr, htonl(0x0a000001));
	assert_int_equal(c.tun_peer.s_addr, htonl(0x0a000002));
	assert_memory_equal(&c.tun_addr6, &a6, sizeof(a6));
	assert_memory_equal(&c.tun_peer6, &p6, sizeof(p6));
	assert_int_equal(config_default_mtu(&c), 1408);

	/* the 2015 line: IPv4 only, nothing IPv6 set */
	assert_int_equal(parse(&c, "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s"), CONFIG_OK);
	assert_true(c.have_tun_addr && c.have_tun_peer);
	assert_false(c.have_tun_addr6 || c.have_tun_peer6);

	/* IPv6 needs 1280 bytes; IPv4 alone keeps the old floor */
	assert_int_equal(parse(&c, "-p 1 -v fd00::1 -t fd00::2 -k s --mtu 1280"), CONFIG_OK);
	assert_int_equal(parse(&c, "-p 1 -v 10.0.0.1 -t 10.0.0.2 -k s --mtu 1000"), CONFIG_OK);
}

static void test_inner_ipv6_bad(void **unused)
{
	static const struct { const char *line, *says; } cases[] = {
		{ "-v 10.0.0.1 -v 10.0.0.3 -t 10.0.0.2", "-v: two IPv4 addresses" },
		{ "-v 10.0.0.1 -t 10.0.0.2 -t 10.0.0.3", "-t: two IPv4 addresses" },
		{ "-v fd00::1 -v fd00::3 -t fd00::2", "-v: two IPv6 addresses" },
		{ "-v fd00::1 -t fd00::2 -t fd00::3", "-t: two IPv6 addresses" },
		{ "-v 10.0.0.1 -v fd00::1 -t 10.0.0.2", "-v has an IPv6 address and -t none" },
		{ "-v 10.0.0.1 -v fd00::1 -t fd00::2", "-v has an IPv4 address and -t none" },
		{ "-v 10.0.0.1 -t 10.0.0.2 -t fd00::2", "-t has an IPv6 address and -v none" },
		{ "-v 10.0.0.1 -t fd00::2", "-v has an IPv4 address and -t none" },
		{ "-v fd00::1 -t 10.0.0.2", "-t has an IPv4 address and -v none" },
		{ "-v fd00::1 -t fd00:0:0::1", "same address (IPv6)" },
		{ "-v 10.0.0.1 -v fd00::1 -t 10.0.0.1 -t fd00::2", "same address" },
		{ "-v 10.0.0.1 -v fd00::1 -t 10.0.0.2 -t fd00::1", "same address (IPv6)" },
		{ "-v fd00::g -t fd00::2", "-v: bad IPv4 or IPv6 address 'fd00::g'" },
		{ "-v fd00::1 -t fe80::1%eth0", "-t: bad IPv4 or IPv6 address" },
		{ "-v fd00::1 -t [fd00::2]", "-t: bad IPv4 or IPv6 address" },
		{ "-v :: -t fd00::2", "not a unicast IPv6 address" },
		{ "-v fd00::1 -t ff02::1", "not a unicast IPv6 address" },
		{ "-v ::ffff:10.0.0.1 -t fd00::2", "not a unicast IPv6 address" },
		{ "-v fd00::1 -t fd00::2 --mtu 1279", "needs an MTU of 1280" },
		{ "-v 10.0.0.1 -v fd00::1 -t 10.0.0.2 -t fd00::2 --mtu 1000", "needs an MTU of 1280" },
		{ "-v fd00::1", "missing -t" },
		{ "-t fd00::1", "missing -v" },
	};
	char line[256];
	struct config c;

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		snprintf(line, sizeof(line), "-p 1 -k s %s", cases[k].line);
		assert_int_equal(parse(&c, line), CONFIG_USAGE);
		if (!strstr(out, cases[k].says))
			fail_msg("'%s' said '%s', expected '%s'", line, out, cases[k].says);
		assert_null(strchr(out, '\n'));
	}
}

/* The salt of a tunnel with inner IPv6 addresses: its documented form (config.h), both ends
 * agree, and every family and address counts. */
static void test_secret_salt_ipv6(void **unused)
{
	static const uint8_t dual_ctx[] = {
		'p', 'o', 'r', 't', '+', 't', 'u', 'n', '4', '6', 0, 0x13, 0x88,
		4, 10, 0, 0, 1, 10, 0, 0, 2,
		6, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		   0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	};
	static const uint8_t v6_ctx[] = {
		'p', 'o', 'r', 't', '+', 't', 'u', 'n', '4', '6', 0, 0x13, 0x88,
		6, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		   0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	};
	uint8_t client[AEAD_SALT_LEN], server[AEAD_SALT_LEN], other[AEAD_SALT_LEN];
	uint8_t want[AEAD_SALT_LEN];

	(void)unused;
	assert_int_equal(aead_global_init(), 0);
	salt_of("-p 5000 -v 10.0.0.1 -v fd00::1 -t 10.0.0.2 -t fd00::2 -r 192.0.2.1 -k s", client);
	aead_secret_salt(dual_ctx, sizeof(dual_ctx), want);
	assert_memory_equal(client, want, AEAD_SALT_LEN);
	salt_of("-p 5000 -v fd00::2 -t fd00::1 -t 10.0.0.1 -v 10.0.0.2 -k other", server);
	assert_memory_equal(client, server, AEAD_SALT_LEN);

	salt_of("-p 5000 -v fd00::2 -t fd00::1 -k s", server);
	aead_secret_salt(v6_ctx, sizeof(v6_ctx), want);
	assert_memory_equal(server, want, AEAD_SALT_LEN);
	salt_of("-p 5000 -v fd00::1 -t fd00::2 -r 192.0.2.1 -k s", other);
	assert_memory_equal(server, other, AEAD_SALT_LEN);
	/* IPv6 alone is another tunnel than dual-stack, and than IPv4 alone */
	assert_memory_not_equal(client, server, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.0.1 -t 10.0.0.2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);

	salt_of("-p 5000 -v 10.0.0.1 -v fd00::1 -t 10.0.0.2 -t fd00::3 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	salt_of("-p 5000 -v 10.0.0.1 -v fd00::1 -t 10.0.0.3 -t fd00::2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	salt_of("-p 5001 -v 10.0.0.1 -v fd00::1 -t 10.0.0.2 -t fd00::2 -r 192.0.2.1 -k s", other);
	assert_memory_not_equal(client, other, AEAD_SALT_LEN);
	/* --salt still wins */
	salt_of("-p 5000 -v fd00::1 -t fd00::2 -k s --salt office-7", client);
	salt_of("-p 6000 -v 10.9.0.2 -t 10.9.0.1 -k s --salt office-7", server);
	assert_memory_equal(client, server, AEAD_SALT_LEN);
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
		cmocka_unit_test(test_secret_salt_pinned),
		cmocka_unit_test(test_inner_ipv6),
		cmocka_unit_test(test_inner_ipv6_bad),
		cmocka_unit_test(test_secret_salt_ipv6),
		cmocka_unit_test(test_key_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
