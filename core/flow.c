/* flow: an inner IP packet's 5-tuple and its keyed hash. Every read is checked against the
 * end of what the packet's own header says it holds, which is itself checked against len. */
#include "core/flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

_Static_assert(sizeof(struct flow_key) == 38, "flow_key has no padding: memcmp compares it");
_Static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8,
	       "crypto_shorthash is SipHash-2-4");

#define FLOW_KEY_BYTES	38

#define IPPROTO_V_HOPOPTS	0
#define IPPROTO_V_TCP		6
#define IPPROTO_V_UDP		17
#define IPPROTO_V_DCCP		33
#define IPPROTO_V_ROUTING	43
#define IPPROTO_V_FRAGMENT	44
#define IPPROTO_V_ESP		50
#define IPPROTO_V_AH		51
#define IPPROTO_V_NONE		59
#define IPPROTO_V_DSTOPTS	60
#define IPPROTO_V_SCTP		132
#define IPPROTO_V_UDPLITE	136

#define IPV4_HDR_LEN	20
#define IPV6_HDR_LEN	40
#define IPV4_MF		0x2000
#define IPV4_OFFSET	0x1fff

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_V_TCP || proto == IPPROTO_V_UDP || proto == IPPROTO_V_UDPLITE ||
	       proto == IPPROTO_V_SCTP || proto == IPPROTO_V_DCCP;
}

/* Ports from the transport header at pkt[off], which must end by end. */
static int read_ports(struct flow_key *key, const uint8_t *pkt, size_t off, size_t end)
{
	if (!has_ports(key->proto))
		return 0;
	if (off > end || end - off < 4)
		return -EBADMSG;
	key->sport = get_be16(pkt + off);
	key->dport = get_be16(pkt + off + 2);
	return 0;
}

static int classify_v4(struct flow_key *key, const uint8_t *pkt, size_t len)
{
	size_t ihl, total;
	uint16_t frag;

	if (len < IPV4_HDR_LEN)
		return -EBADMSG;
	key->family = 4;
	key->proto = pkt[9];
	memcpy(key->src, pkt + 12, 4);
	memcpy(key->dst, pkt + 16, 4);
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	total = get_be16(pkt + 2);
	if (ihl < IPV4_HDR_LEN || total < ihl || total > len)
		return -EBADMSG;
	frag = get_be16(pkt + 6);
	/* a later fragment has no transport header; the first one goes with them */
	if (frag & (IPV4_MF | IPV4_OFFSET))
		return 0;
	return read_ports(key, pkt, ihl, total);
}

/* Walks the extension headers from pkt[IPV6_HDR_LEN] up to end; sets proto and ports. */
static int walk_v6(struct flow_key *key, const uint8_t *pkt, size_t end)
{
	size_t off = IPV6_HDR_LEN, hlen;
	uint8_t nh = pkt[6];
	unsigned n;

	for (n = 0; n <= FLOW_MAX_EXT_HDRS; n++) {
		switch (nh) {
		case IPPROTO_V_HOPOPTS:
		case IPPROTO_V_ROUTING:
		case IPPROTO_V_DSTOPTS:
		case IPPROTO_V_AH:
			if (n == FLOW_MAX_EXT_HDRS || end - off < 2)
				return -EBADMSG;
			/* AH counts 4-byte words minus 2 (RFC 4302), the others 8-byte words
			 * minus 1 (RFC 8200) */
			if (nh == IPPROTO_V_AH)
				hlen = ((size_t)pkt[off + 1] + 2) * 4;
			else
				hlen = ((size_t)pkt[off + 1] + 1) * 8;
			if (end - off < hlen)
				return -EBADMSG;
			nh = pkt[off];
			off += hlen;
			break;
		case IPPROTO_V_FRAGMENT:
			/* no ports in any fragment, and the fragment header's next header is the
			 * same in all of them: one datagram, one flow */
			if (end - off < 8)
				return -EBADMSG;
			key->proto = pkt[off];
			return 0;
		case IPPROTO_V_ESP:
		case IPPROTO_V_NONE:
			key->proto = nh;
			return 0;
		default:
			key->proto = nh;
			return read_ports(key, pkt, off, end);
		}
	}
	return -EBADMSG;
}

static int classify_v6(struct flow_key *key, const uint8_t *pkt, size_t len)
{
	size_t end;
	int rc;

	if (len < IPV6_HDR_LEN)
		return -EBADMSG;
	key->family = 6;
	key->proto = pkt[6];
	memcpy(key->src, pkt + 8, 16);
	memcpy(key->dst, pkt + 24, 16);
	end = IPV6_HDR_LEN + (size_t)get_be16(pkt + 4);
	/* payload length 0 is a jumbogram (RFC 2675): its length is in hop-by-hop */
	if (end == IPV6_HDR_LEN)
		end = len;
	if (end > len)
		return -EBADMSG;
	rc = walk_v6(key, pkt, end);
	/* the documented partial key: the fixed header's next header */
	if (rc < 0)
		key->proto = pkt[6];
	return rc;
}

int flow_classify(struct flow_key *key, const uint8_t *pkt, size_t len)
{
	int rc = -EBADMSG;

	memset(key, 0, sizeof(*key));
	if (len >= 1 && pkt[0] >> 4 == 4)
		rc = classify_v4(key, pkt, len);
	else if (len >= 1 && pkt[0] >> 4 == 6)
		rc = classify_v6(key, pkt, len);
	if (rc < 0)
		key->sport = key->dport = 0;
	return rc;
}

int flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* splitmix64's finaliser: the second half of the SipHash key, so that both halves depend on
 * every bit of the seed */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t flow_hash(const struct flow_key *key, uint64_t seed)
{
	uint8_t in[FLOW_KEY_BYTES], k[crypto_shorthash_KEYBYTES], out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	/* a fixed byte layout, so the hash does not depend on the host's byte order */
	in[0] = key->family;
	in[1] = key->proto;
	memcpy(in + 2, key->src, 16);
	memcpy(in + 18, key->dst, 16);
	in[34] = (uint8_t)(key->sport >> 8);
	in[35] = (uint8_t)key->sport;
	in[36] = (uint8_t)(key->dport >> 8);
	in[37] = (uint8_t)key->dport;
	put_le64(k, seed);
	put_le64(k + 8, mix64(seed));
	crypto_shorthash(out, in, sizeof(in), k);
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return (uint32_t)(h ^ (h >> 32));
}
