/* Tests of core/flow.c: 5-tuples of IPv4 and IPv6 packets (options, extension headers,
 * fragments), the documented partial key of every truncation, and the keyed hash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/flow.h"

static const uint8_t src4[4] = { 10, 0, 0, 1 }, dst4[4] = { 192, 168, 7, 9 };
static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 packet: header with optlen bytes of options, then a transport header whose first
 * four bytes are the ports, payload bytes in all up to len. Returns len. */
static size_t ip4(uint8_t *p, size_t len, uint8_t proto, size_t optlen, unsigned frag,
		  unsigned sport, unsigned dport)
{
	size_t ihl = 20 + optlen;

	memset(p, 0xa5, len);
	p[0] = (uint8_t)(0x40 | ihl / 4);
	p[1] = 0;
	put16(p + 2, (unsigned)len);
	put16(p + 4, 0x1234);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put16(p + 10, 0);
	memcpy(p + 12, src4, 4);
	memcpy(p + 16, dst4, 4);
	memset(p + 20, 1, optlen);		/* NOPs */
	put16(p + ihl, sport);
	put16(p + ihl + 2, dport);
	return len;
}

/* An IPv6 header for a packet of len bytes with next header nh; the caller writes the rest. */
static void ip6_hdr(uint8_t *p, size_t len, uint8_t nh)
{
	memset(p, 0x5a, len);
	p[0] = 0x60;
	p[1] = p[2] = p[3] = 0;
	put16(p + 4, (unsigned)(len - 40));
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src6, 16);
	memcpy(p + 24, dst6, 16);
}

static size_t ip6(uint8_t *p, size_t len, uint8_t proto, unsigned sport, unsigned dport)
{
	ip6_hdr(p, len, proto);
	put16(p + 40, sport);
	put16(p + 42, dport);
	return len;
}

static void assert_key(const struct flow_key *k, int family, int proto, unsigned sport,
		       unsigned dport)
{
	assert_int_equal(k->family, family);
	assert_int_equal(k->proto, proto);
	assert_int_equal(k->sport, sport);
	assert_int_equal(k->dport, dport);
	if (family == 4) {
		assert_memory_equal(k->src, src4, 4);
		assert_memory_equal(k->dst, dst4, 4);
		for (int i = 4; i < 16; i++)
			assert_true(k->src[i] == 0 && k->dst[i] == 0);
	} else if (family == 6) {
		assert_memory_equal(k->src, src6, 16);
		assert_memory_equal(k->dst, dst6, 16);
	}
}

static void test_ipv4_tcp_udp_icmp(void **unused)
{
	uint8_t p[100];
	struct flow_key k;

	(void)unused;
	assert_int_equal(flow_classify(&k, p, ip4(p, 60, 6, 0, 0x4000, 40000, 443)), 0);
	assert_key(&k, 4, 6, 40000, 443);
	assert_int_equal(flow_classify(&k, p, ip4(p, 28, 17, 0, 0, 5353, 53)), 0);
	assert_key(&k, 4, 17, 5353, 53);
	/* ICMP echo: ports 0 although its identifier sits where a port would */
	assert_int_equal(flow_classify(&k, p, ip4(p, 84, 1, 0, 0, 0x0800, 0x7777)), 0);
	assert_key(&k, 4, 1, 0, 0);
	/* the other port-carrying protocols */
	assert_int_equal(flow_classify(&k, p, ip4(p, 40, 132, 0, 0, 1, 2)), 0);
	assert_key(&k, 4, 132, 1, 2);
	assert_int_equal(flow_classify(&k, p, ip4(p, 40, 136, 0, 0, 3, 4)), 0);
	assert_key(&k, 4, 136, 3, 4);
	assert_int_equal(flow_classify(&k, p, ip4(p, 40, 33, 0, 0, 5, 6)), 0);
	assert_key(&k, 4, 33, 5, 6);
	/* GRE: no ports */
	assert_int_equal(flow_classify(&k, p, ip4(p, 40, 47, 0, 0, 5, 6)), 0);
	assert_key(&k, 4, 47, 0, 0);
	/* bytes after the total length are ignored */
	ip4(p, 40, 6, 0, 0, 7, 8);
	assert_int_equal(flow_classify(&k, p, 60), 0);
	assert_key(&k, 4, 6, 7, 8);
}

static void test_ipv4_options(void **unused)
{
	uint8_t p[100];
	struct flow_key k;

	(void)unused;
	assert_int_equal(flow_classify(&k, p, ip4(p, 64, 6, 12, 0, 1234, 80)), 0);
	assert_key(&k, 4, 6, 1234, 80);
	assert_int_equal(flow_classify(&k, p, ip4(p, 64, 17, 40, 0, 1234, 80)), 0);
	assert_key(&k, 4, 17, 1234, 80);
	/* IHL 15 but the packet ends inside the options */
	ip4(p, 64, 17, 40, 0, 1234, 80);
	put16(p + 2, 56);
	assert_int_equal(flow_classify(&k, p, 56), -EBADMSG);
	assert_key(&k, 4, 17, 0, 0);
}

static void test_ipv4_malformed(void **unused)
{
	uint8_t p[100];
	struct flow_key k;

	(void)unused;
	ip4(p, 40, 6, 0, 0, 1, 2);
	p[0] = 0x44;				/* IHL 4 */
	assert_int_equal(flow_classify(&k, p, 40), -EBADMSG);
	assert_key(&k, 4, 6, 0, 0);
	ip4(p, 40, 6, 0, 0, 1, 2);
	put16(p + 2, 19);			/* total length < IHL * 4 */
	assert_int_equal(flow_classify(&k, p, 40), -EBADMSG);
	assert_key(&k, 4, 6, 0, 0);
	ip4(p, 40, 6, 0, 0, 1, 2);
	put16(p + 2, 41);			/* total length past len */
	assert_int_equal(flow_classify(&k, p, 40), -EBADMSG);
	assert_key(&k, 4, 6, 0, 0);
	/* TCP with only 3 bytes of transport header */
	assert_int_equal(flow_classify(&k, p, ip4(p, 23, 6, 0, 0, 1, 2)), -EBADMSG);
	assert_key(&k, 4, 6, 0, 0);
	/* ICMP needs nothing past the IP header */
	assert_int_equal(flow_classify(&k, p, ip4(p, 20, 1, 0, 0, 1, 2)), 0);
	assert_key(&k, 4, 1, 0, 0);
}

static void test_ipv4_fragments(void **unused)
{
	uint8_t p[100];
	struct flow_key first, middle, last, whole;

	(void)unused;
	assert_int_equal(flow_classify(&first, p, ip4(p, 60, 17, 0, 0x2000, 5000, 6000)), 0);
	assert_int_equal(flow_classify(&middle, p, ip4(p, 60, 17, 0, 0x2000 | 5, 9, 9)), 0);
	assert_int_equal(flow_classify(&last, p, ip4(p, 40, 17, 0, 10, 9, 9)), 0);
	assert_key(&first, 4, 17, 0, 0);
	assert_true(flow_key_equal(&first, &middle));
	assert_true(flow_key_equal(&first, &last));
	assert_int_equal(flow_hash(&first, 42), flow_hash(&last, 42));
	/* DF alone is not a fragment */
	assert_int_equal(flow_classify(&whole, p, ip4(p, 60, 17, 0, 0x4000, 5000, 6000)), 0);
	assert_key(&whole, 4, 17, 5000, 6000);
	/* a later fragment too short for a transport header is still well formed */
	assert_int_equal(flow_classify(&last, p, ip4(p, 21, 6, 0, 20, 9, 9)), 0);
	assert_key(&last, 4, 6, 0, 0);
}

static void test_ipv6_tcp_udp_icmpv6(void **unused)
{
	uint8_t p[100];
	struct flow_key k;

	(void)unused;
	assert_int_equal(flow_classify(&k, p, ip6(p, 80, 6, 51000, 22)), 0);
	assert_key(&k, 6, 6, 51000, 22);
	assert_int_equal(flow_classify(&k, p, ip6(p, 48, 17, 443, 60000)), 0);
	assert_key(&k, 6, 17, 443, 60000);
	assert_int_equal(flow_classify(&k, p, ip6(p, 64, 58, 0x8000, 0x1111)), 0);
	assert_key(&k, 6, 58, 0, 0);
	/* no next header, ESP: the walk ends there */
	assert_int_equal(flow_classify(&k, p, ip6(p, 40, 59, 0, 0)), 0);
	assert_key(&k, 6, 59, 0, 0);
	assert_int_equal(flow_classify(&k, p, ip6(p, 80, 50, 1, 2)), 0);
	assert_key(&k, 6, 50, 0, 0);
	/* payload length 0: a jumbogram, taken as the rest of len */
	ip6(p, 60, 17, 7, 8);
	put16(p + 4, 0);
	assert_int_equal(flow_classify(&k, p, 60), 0);
	assert_key(&k, 6, 17, 7, 8);
}

/* hop-by-hop (8 bytes) then destination options (16 bytes) then TCP */
static size_t ip6_ext(uint8_t *p)
{
	size_t len = 40 + 8 + 16 + 20;

	ip6_hdr(p, len, 0);
	p[40] = 60;
	p[41] = 0;
	p[48] = 6;
	p[49] = 1;
	put16(p + 64, 33000);
	put16(p + 66, 8080);
	return len;
}

static void test_ipv6_extension_headers(void **unused)
{
	uint8_t p[200];
	struct flow_key k;
	size_t len = ip6_ext(p);

	(void)unused;
	assert_int_equal(flow_classify(&k, p, len), 0);
	assert_key(&k, 6, 6, 33000, 8080);

	/* routing (8) then AH (payload length 4: 24 bytes) then UDP */
	len = 40 + 8 + 24 + 8;
	ip6_hdr(p, len, 43);
	p[40] = 51;
	p[41] = 0;
	p[48] = 17;
	p[49] = 4;
	put16(p + 72, 4500);
	put16(p + 74, 4500);
	assert_int_equal(flow_classify(&k, p, len), 0);
	assert_key(&k, 6, 17, 4500, 4500);

	/* an extension header that runs past the payload length */
	len = ip6_ext(p);
	p[49] = 5;			/* 48 bytes from 48: past 84 */
	assert_int_equal(flow_classify(&k, p, len), -EBADMSG);
	assert_key(&k, 6, 0, 0, 0);
}

static void test_ipv6_too_many_ext_headers(void **unused)
{
	uint8_t p[200];
	struct flow_key k;
	size_t n, len;

	(void)unused;
	for (n = FLOW_MAX_EXT_HDRS; n <= FLOW_MAX_EXT_HDRS + 1; n++) {
		len = 40 + 8 * n + 8;
		ip6_hdr(p, len, 60);
		for (size_t i = 0; i < n; i++) {
			p[40 + 8 * i] = i + 1 < n ? 60 : 17;
			p[40 + 8 * i + 1] = 0;
		}
		put16(p + 40 + 8 * n, 1);
		put16(p + 40 + 8 * n + 2, 2);
		if (n == FLOW_MAX_EXT_HDRS) {
			assert_int_equal(flow_classify(&k, p, len), 0);
			assert_key(&k, 6, 17, 1, 2);
		} else {
			assert_int_equal(flow_classify(&k, p, len), -EBADMSG);
			assert_key(&k, 6, 60, 0, 0);
		}
	}
}

/* a fragment header (offset in 8-byte units, M flag) then 16 bytes of fragment */
static size_t ip6_frag(uint8_t *p, unsigned offset, int more, unsigned sport)
{
	size_t len = 40 + 8 + 16;

	ip6_hdr(p, len, 44);
	p[40] = 17;
	p[41] = 0;
	put16(p + 42, offset << 3 | (more ? 1 : 0));
	memset(p + 44, 0xab, 4);		/* identification */
	put16(p + 48, sport);
	put16(p + 50, 53);
	return len;
}

static void test_ipv6_fragments(void **unused)
{
	uint8_t p[100];
	struct flow_key first, later, last;

	(void)unused;
	assert_int_equal(flow_classify(&first, p, ip6_frag(p, 0, 1, 5353)), 0);
	assert_int_equal(flow_classify(&later, p, ip6_frag(p, 2, 1, 0x9999)), 0);
	assert_int_equal(flow_classify(&last, p, ip6_frag(p, 4, 0, 0x7777)), 0);
	assert_key(&first, 6, 17, 0, 0);
	assert_true(flow_key_equal(&first, &later));
	assert_true(flow_key_equal(&first, &last));
	assert_int_equal(flow_hash(&first, 7), flow_hash(&later, 7));
	/* an atomic fragment (offset 0, no M) too: a fragment header means ports 0 */
	assert_int_equal(flow_classify(&last, p, ip6_frag(p, 0, 0, 5353)), 0);
	assert_true(flow_key_equal(&first, &last));
}

/* Every prefix of a valid packet: never a read outside it (ASan), -EBADMSG, and the documented
 * partial key (nothing when the fixed header is cut, else ports 0). */
static void check_truncations(const uint8_t *pkt, size_t len, size_t fixed)
{
	struct flow_key full, k;
	uint8_t *copy;

	assert_int_equal(flow_classify(&full, pkt, len), 0);
	for (size_t l = 0; l < len; l++) {
		/* a heap copy of exactly l bytes: ASan sees a read one past it */
		copy = test_malloc(l ? l : 1);
		memcpy(copy, pkt, l);
		assert_int_equal(flow_classify(&k, copy, l), -EBADMSG);
		if (l < fixed) {
			struct flow_key zero;

			memset(&zero, 0, sizeof(zero));
			assert_memory_equal(&k, &zero, sizeof(k));
		} else {
			assert_int_equal(k.family, full.family);
			assert_memory_equal(k.src, full.src, 16);
			assert_memory_equal(k.dst, full.dst, 16);
			assert_int_equal(k.proto, pkt[full.family == 4 ? 9 : 6]);
			assert_int_equal(k.sport, 0);
			assert_int_equal(k.dport, 0);
		}
		test_free(copy);
	}
}

static void test_truncations(void **unused)
{
	uint8_t p[200];

	(void)unused;
	check_truncations(p, ip4(p, 60, 6, 0, 0, 1, 2), 20);
	check_truncations(p, ip4(p, 64, 17, 12, 0, 1, 2), 20);
	check_truncations(p, ip4(p, 60, 1, 0, 0, 1, 2), 20);
	check_truncations(p, ip4(p, 60, 17, 0, 0x2000, 1, 2), 20);
	check_truncations(p, ip6(p, 80, 6, 1, 2), 40);
	check_truncations(p, ip6(p, 48, 58, 1, 2), 40);
	check_truncations(p, ip6_ext(p), 40);
	check_truncations(p, ip6_frag(p, 0, 1, 1), 40);
	check_truncations(p, ip6_frag(p, 3, 0, 1), 40);
}

static void test_not_ip(void **unused)
{
	uint8_t p[100];
	struct flow_key k, zero;

	(void)unused;
	memset(&zero, 0, sizeof(zero));
	ip4(p, 60, 6, 0, 0, 1, 2);
	for (unsigned v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		p[0] = (uint8_t)(v << 4 | 5);
		assert_int_equal(flow_classify(&k, p, 60), -EBADMSG);
		assert_memory_equal(&k, &zero, sizeof(k));
	}
	/* an IPv6 version nibble on an IPv4-sized packet is too short for IPv6 */
	p[0] = 0x65;
	assert_int_equal(flow_classify(&k, p, 39), -EBADMSG);
	assert_memory_equal(&k, &zero, sizeof(k));
	assert_int_equal(flow_classify(&k, NULL, 0), -EBADMSG);
	assert_memory_equal(&k, &zero, sizeof(k));
}

static void test_hash(void **unused)
{
	uint8_t p[100];
	struct flow_key a, b, rev;
	unsigned same_seed_diff = 0;

	(void)unused;
	flow_classify(&a, p, ip4(p, 60, 6, 0, 0, 40000, 443));
	flow_classify(&b, p, ip4(p, 60, 6, 0, 0, 40000, 443));
	assert_true(flow_key_equal(&a, &b));
	assert_int_equal(flow_hash(&a, 1), flow_hash(&b, 1));

	/* another seed, another hash (a 2^-32 chance each; 64 seeds all equal is impossible) */
	for (uint64_t s = 1; s <= 64; s++)
		same_seed_diff += flow_hash(&a, s) != flow_hash(&a, 0);
	assert_true(same_seed_diff >= 63);
	assert_int_not_equal(flow_hash(&a, 0x0123456789abcdefULL),
			     flow_hash(&a, 0x0123456789abcdeeULL));

	/* the reply direction is another flow */
	rev = a;
	memcpy(rev.src, a.dst, 16);
	memcpy(rev.dst, a.src, 16);
	rev.sport = a.dport;
	rev.dport = a.sport;
	assert_false(flow_key_equal(&a, &rev));
	assert_int_not_equal(flow_hash(&a, 99), flow_hash(&rev, 99));

	/* one port apart, one protocol apart: other flows */
	flow_classify(&b, p, ip4(p, 60, 6, 0, 0, 40001, 443));
	assert_false(flow_key_equal(&a, &b));
	assert_int_not_equal(flow_hash(&a, 99), flow_hash(&b, 99));
	flow_classify(&b, p, ip4(p, 60, 17, 0, 0, 40000, 443));
	assert_false(flow_key_equal(&a, &b));
}

/* The hash spreads keys that differ in one port evenly over buckets. */
static void test_hash_spread(void **unused)
{
	unsigned buckets[16] = { 0 };
	uint8_t p[100];
	struct flow_key k;

	(void)unused;
	for (unsigned port = 0; port < 16 * 256; port++) {
		flow_classify(&k, p, ip4(p, 40, 17, 0, 0, port, 53));
		buckets[flow_hash(&k, 0xfeedULL) % 16]++;
	}
	/* 256 expected per bucket; sigma is 15.5 */
	for (int i = 0; i < 16; i++)
		assert_true(buckets[i] > 256 - 100 && buckets[i] < 256 + 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp_udp_icmp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_malformed),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv6_tcp_udp_icmpv6),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_too_many_ext_headers),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_hash_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
