/* The daemon's address conversions (daemon/addr.c): text in and out, the engine's mpt_addr
 * there and back, the wildcard test and the two comparisons. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/addr.h"

static void test_parse_and_print(void **unused)
{
	static const struct {
		const char *in;
		uint16_t port;
		const char *out;
	} cases[] = {
		{ "1.2.3.4", 5000, "1.2.3.4:5000" },
		{ "2001:db8::1", 5000, "[2001:db8::1]:5000" },
		{ "[2001:db8::1]", 5000, "[2001:db8::1]:5000" },
		{ "0.0.0.0", 0, "0.0.0.0:0" },
		{ "::", 65535, "[::]:65535" },
		{ "::ffff:192.0.2.1", 1, "[::ffff:192.0.2.1]:1" },
	};
	struct sockaddr_storage ss;
	char buf[64];

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(addr_parse(cases[k].in, cases[k].port, &ss), 0);
		assert_string_equal(addr_str(&ss, buf, sizeof(buf)), cases[k].out);
	}
	assert_int_equal(addr_parse("1.2.3.4", 5000, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(addr_len(&ss), sizeof(struct sockaddr_in));
	assert_int_equal(addr_parse("2001:db8::1", 5000, &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(addr_len(&ss), sizeof(struct sockaddr_in6));
	/* a family it does not know prints as "?", truncated output stays a string */
	memset(&ss, 0, sizeof(ss));
	assert_string_equal(addr_str(&ss, buf, sizeof(buf)), "?");
	assert_int_equal(addr_parse("192.0.2.1", 5000, &ss), 0);
	assert_string_equal(addr_str(&ss, buf, 5), "192.");
}

static void test_parse_refuses(void **unused)
{
	static const char *bad[] = {
		"", "1.2.3", "1.2.3.4:5", "[1.2.3.4", "2001:db8::1]", "[]", "host.example",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0]", "1.2.3.4 ",
	};
	struct sockaddr_storage ss;

	(void)unused;
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&ss, 0xa5, sizeof(ss));
		if (addr_parse(bad[k], 1, &ss) != -EINVAL)
			fail_msg("'%s' was taken", bad[k]);
		assert_int_equal(ss.ss_family, 0);
	}
}

/* ADDR:PORT, as --metrics takes it: the port required, IPv6 only in brackets. */
static void test_parse_port(void **unused)
{
	static const char *good[][2] = {
		{ "127.0.0.1:9469", "127.0.0.1:9469" },
		{ "0.0.0.0:1", "0.0.0.0:1" },
		{ "[::1]:65535", "[::1]:65535" },
		{ "[2001:db8::7]:9469", "[2001:db8::7]:9469" },
	};
	static const char *bad[] = {
		"", ":", "127.0.0.1", "127.0.0.1:", ":9469", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:99999999999", "127.0.0.1:+80", "127.0.0.1:-1", "127.0.0.1:80x",
		"::1:9469", "[::1]", "[::1:9469", "::1]:9469", "[]:9469", "[:9469",
		"localhost:9469", "1.2.3.4 :80",
	};
	struct sockaddr_storage ss;
	char buf[64];

	(void)unused;
	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		if (addr_parse_port(good[k][0], &ss) != 0)
			fail_msg("'%s' was refused", good[k][0]);
		assert_string_equal(addr_str(&ss, buf, sizeof(buf)), good[k][1]);
	}
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memset(&ss, 0xa5, sizeof(ss));
		if (addr_parse_port(bad[k], &ss) != -EINVAL)
			fail_msg("'%s' was taken", bad[k]);
		assert_int_equal(ss.ss_family, 0);
	}
}

static void test_mpt_round_trip_v4(void **unused)
{
	struct sockaddr_storage ss, back;
	struct mpt_addr a;
	char buf[64];

	(void)unused;
	assert_int_equal(addr_parse("198.51.100.7", 5000, &ss), 0);
	addr_to_mpt(&ss, &a);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	for (size_t k = a.len; k < sizeof(a.bytes); k++)
		assert_int_equal(a.bytes[k], 0);
	addr_from_mpt(&a, &back);
	assert_memory_equal(&back, &ss, sizeof(ss));
	assert_true(addr_same(&back, &ss));
	assert_string_equal(addr_mpt_str(&a, buf, sizeof(buf)), "198.51.100.7:5000");
}

static void test_mpt_round_trip_v6(void **unused)
{
	struct sockaddr_storage ss, back;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	struct mpt_addr a, b;
	char buf[64];

	(void)unused;
	assert_int_equal(addr_parse("2001:db8::1", 5000, &ss), 0);
	in6->sin6_scope_id = 3;
	addr_to_mpt(&ss, &a);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	addr_from_mpt(&a, &back);
	assert_memory_equal(&back, &ss, sizeof(ss));
	assert_string_equal(addr_mpt_str(&a, buf, sizeof(buf)), "[2001:db8::1]:5000");

	/* flow info differs from datagram to datagram: cleared, one peer stays one address */
	in6->sin6_flowinfo = htonl(0x12345);
	addr_to_mpt(&ss, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	addr_from_mpt(&b, &back);
	assert_int_equal(((struct sockaddr_in6 *)&back)->sin6_flowinfo, 0);
	assert_int_equal(((struct sockaddr_in6 *)&back)->sin6_scope_id, 3);
}

static void test_from_mpt_clamps(void **unused)
{
	struct mpt_addr a;
	struct sockaddr_storage ss;
	const uint8_t *p = (const uint8_t *)&ss;

	(void)unused;
	memset(&a, 0x11, sizeof(a));
	a.len = 255;	/* not one of ours: only the bytes an mpt_addr has are read */
	addr_from_mpt(&a, &ss);
	for (size_t k = sizeof(a.bytes); k < sizeof(ss); k++)
		assert_int_equal(p[k], 0);
}

static void test_wildcard(void **unused)
{
	static const struct {
		const char *in;
		bool wildcard;
	} cases[] = {
		{ "0.0.0.0", true }, { "::", true }, { "[::]", true },
		{ "127.0.0.1", false }, { "192.0.2.1", false }, { "::1", false },
		{ "::ffff:0.0.0.0", false }, { "2001:db8::", false },
	};
	struct sockaddr_storage ss;

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(addr_parse(cases[k].in, 4000, &ss), 0);
		if (addr_is_wildcard(&ss) != cases[k].wildcard)
			fail_msg("'%s': wildcard should be %d", cases[k].in, cases[k].wildcard);
	}
}

static void test_compare(void **unused)
{
	struct sockaddr_storage a, b;

	(void)unused;
	addr_parse("192.0.2.1", 4000, &a);
	addr_parse("192.0.2.1", 4001, &b);
	assert_true(addr_same_ip(&a, &b));
	assert_false(addr_same(&a, &b));
	addr_parse("192.0.2.1", 4000, &b);
	assert_true(addr_same(&a, &b));
	addr_parse("192.0.2.2", 4000, &b);
	assert_false(addr_same_ip(&a, &b));
	assert_false(addr_same(&a, &b));

	addr_parse("2001:db8::1", 4000, &a);
	addr_parse("[2001:db8::1]", 9, &b);
	assert_true(addr_same_ip(&a, &b));
	assert_false(addr_same(&a, &b));
	addr_parse("2001:db8::2", 4000, &b);
	assert_false(addr_same_ip(&a, &b));

	/* the same bytes in another family are another address */
	addr_parse("0.0.0.0", 0, &a);
	addr_parse("::", 0, &b);
	assert_false(addr_same_ip(&a, &b));
	assert_false(addr_same(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_print),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_parse_port),
		cmocka_unit_test(test_mpt_round_trip_v4),
		cmocka_unit_test(test_mpt_round_trip_v6),
		cmocka_unit_test(test_from_mpt_clamps),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
