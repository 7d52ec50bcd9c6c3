/* Tests of core/prefix.c: longest-prefix match of inner addresses to peers, IPv4 and IPv6, and
 * the packet-level route by destination or source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "core/prefix.h"

static int add(struct prefix_table *t, const char *cidr, uint16_t peer)
{
	char buf[64];
	uint8_t a[16];
	char *slash;
	int v6;

	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = 0;
	v6 = strchr(buf, ':') != NULL;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, buf, a), 1);
	return prefix_table_add(t, v6 ? 6 : 4, a, (unsigned)atoi(slash + 1), peer);
}

static int look(const struct prefix_table *t, const char *ip)
{
	uint8_t a[16];
	int v6 = strchr(ip, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, a), 1);
	return prefix_lookup(t, v6 ? 6 : 4, a);
}

static void test_longest_wins(void **unused)
{
	struct prefix_table *t = prefix_table_new(16);

	(void)unused;
	assert_non_null(t);
	assert_int_equal(add(t, "10.0.0.0/8", 1), 0);
	assert_int_equal(add(t, "10.1.0.0/16", 2), 0);
	assert_int_equal(add(t, "10.1.2.3/32", 3), 0);
	assert_int_equal(add(t, "0.0.0.0/0", 9), 0);
	assert_int_equal(add(t, "fd00::/8", 4), 0);
	assert_int_equal(add(t, "fd00:1::/32", 5), 0);
	assert_int_equal(add(t, "fd00:1::7/128", 6), 0);
	assert_int_equal(prefix_table_count(t), 7);

	assert_int_equal(look(t, "10.1.2.3"), 3);
	assert_int_equal(look(t, "10.1.2.4"), 2);
	assert_int_equal(look(t, "10.1.255.255"), 2);
	assert_int_equal(look(t, "10.2.0.1"), 1);
	assert_int_equal(look(t, "11.0.0.1"), 9);	/* the default route */
	assert_int_equal(look(t, "fd00:1::7"), 6);
	assert_int_equal(look(t, "fd00:1::8"), 5);
	assert_int_equal(look(t, "fd00:2::1"), 4);
	assert_int_equal(look(t, "fe80::1"), -ENOENT);	/* no IPv6 default */
	prefix_table_free(t);
}

/* Prefix lengths that are not byte multiples: the boundary bits. */
static void test_odd_lengths(void **unused)
{
	struct prefix_table *t = prefix_table_new(8);

	(void)unused;
	assert_int_equal(add(t, "192.168.4.0/22", 1), 0);	/* .4.0 - .7.255 */
	assert_int_equal(add(t, "192.168.8.0/21", 2), 0);	/* .8.0 - .15.255 */
	assert_int_equal(add(t, "2001:db8:8000::/33", 3), 0);
	assert_int_equal(look(t, "192.168.3.255"), -ENOENT);
	assert_int_equal(look(t, "192.168.4.0"), 1);
	assert_int_equal(look(t, "192.168.7.255"), 1);
	assert_int_equal(look(t, "192.168.8.0"), 2);
	assert_int_equal(look(t, "192.168.15.255"), 2);
	assert_int_equal(look(t, "192.168.16.0"), -ENOENT);
	assert_int_equal(look(t, "2001:db8:8000::1"), 3);
	assert_int_equal(look(t, "2001:db8:ffff:ffff::1"), 3);
	assert_int_equal(look(t, "2001:db8:7fff::1"), -ENOENT);
	prefix_table_free(t);
}

static void test_add_errors(void **unused)
{
	struct prefix_table *t = prefix_table_new(2);
	uint8_t a[16] = { 10 };

	(void)unused;
	assert_null(prefix_table_new(0));
	assert_null(prefix_table_new(PREFIX_MAX + 1));
	assert_int_equal(add(t, "10.0.0.1/24", 1), -EINVAL);	/* host bits */
	assert_int_equal(add(t, "10.0.0.0/8", 1), 0);
	assert_int_equal(add(t, "10.0.0.0/8", 2), -EEXIST);
	assert_int_equal(prefix_table_add(t, 4, a, 33, 1), -EINVAL);
	assert_int_equal(prefix_table_add(t, 5, a, 8, 1), -EINVAL);
	assert_int_equal(add(t, "fd00::/8", 3), 0);
	assert_int_equal(add(t, "fd01::/16", 3), -ENOSPC);
	assert_int_equal(prefix_table_count(t), 2);
	assert_int_equal(look(t, "10.9.9.9"), 1);	/* the failed adds changed nothing */
	prefix_table_free(t);
	prefix_table_free(NULL);
}

/* 1024 sites with a /24 and a /64 each, plus a hub's own /32s: every one found, and the
 * neighbours of each prefix not. */
static void test_many_peers(void **unused)
{
	struct prefix_table *t = prefix_table_new(3 * 1024);
	uint8_t a[16];

	(void)unused;
	assert_non_null(t);
	for (unsigned p = 0; p < 1024; p++) {
		uint8_t v4[4] = { 10, (uint8_t)(p >> 8), (uint8_t)p, 0 };
		uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, (uint8_t)(p >> 8), (uint8_t)p };
		uint8_t host[4] = { 172, 16, (uint8_t)(p >> 8), (uint8_t)p };

		assert_int_equal(prefix_table_add(t, 4, v4, 24, (uint16_t)p), 0);
		assert_int_equal(prefix_table_add(t, 6, v6, 64, (uint16_t)p), 0);
		assert_int_equal(prefix_table_add(t, 4, host, 32, (uint16_t)p), 0);
	}
	for (unsigned p = 0; p < 1024; p++) {
		uint8_t v4[4] = { 10, (uint8_t)(p >> 8), (uint8_t)p, 77 };

		assert_int_equal(prefix_lookup(t, 4, v4), (int)p);
		memset(a, 0x5a, sizeof(a));
		a[0] = 0xfd, a[1] = a[2] = a[3] = a[4] = a[5] = 0, a[6] = (uint8_t)(p >> 8), a[7] = (uint8_t)p;
		assert_int_equal(prefix_lookup(t, 6, a), (int)p);
		a[5] = 1;	/* the next /64 up: nobody's */
		assert_int_equal(prefix_lookup(t, 6, a), -ENOENT);
	}
	uint8_t out[4] = { 10, 4, 0, 1 };	/* past the 1024 /24s */

	assert_int_equal(prefix_lookup(t, 4, out), -ENOENT);
	prefix_table_free(t);
}

static void test_route_packets(void **unused)
{
	struct prefix_table *t = prefix_table_new(4);
	uint8_t v4[20] = { 0x45 }, v6[40] = { 0x60 };

	(void)unused;
	assert_int_equal(add(t, "10.0.1.0/24", 1), 0);
	assert_int_equal(add(t, "10.0.2.0/24", 2), 0);
	assert_int_equal(add(t, "fd00:1::/64", 1), 0);
	assert_int_equal(add(t, "fd00:2::/64", 2), 0);
	v4[12] = 10, v4[14] = 1, v4[15] = 5;	/* from 10.0.1.5 */
	v4[16] = 10, v4[18] = 2, v4[19] = 9;	/* to 10.0.2.9 */
	assert_int_equal(prefix_route(t, v4, sizeof(v4), false), 2);
	assert_int_equal(prefix_route(t, v4, sizeof(v4), true), 1);
	assert_int_equal(prefix_route(t, v4, 19, false), -EBADMSG);
	v6[8] = 0xfd, v6[11] = 2;		/* from fd00:2:: */
	v6[24] = 0xfd, v6[27] = 1;		/* to fd00:1:: */
	assert_int_equal(prefix_route(t, v6, sizeof(v6), false), 1);
	assert_int_equal(prefix_route(t, v6, sizeof(v6), true), 2);
	assert_int_equal(prefix_route(t, v6, 39, true), -EBADMSG);
	v6[0] = 0x50;
	assert_int_equal(prefix_route(t, v6, sizeof(v6), true), -EBADMSG);
	prefix_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_wins),
		cmocka_unit_test(test_odd_lengths),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_many_peers),
		cmocka_unit_test(test_route_packets),
	};

	return cmocka_run_group_tests_name("prefix", tests, NULL, NULL);
}
