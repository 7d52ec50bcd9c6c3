/* flow: tells inner flows apart. Classifies a plaintext IP packet as read from tun (no link
 * header; the first nibble is the IP version) into its 5-tuple, and hashes that key with a
 * caller's secret seed. Pure: no allocation, no state; callable per packet. Never reads outside
 * [pkt, pkt + len).
 *
 * Ports are the first 4 bytes of the transport header for TCP, UDP, UDP-Lite, SCTP and DCCP;
 * every other protocol (ICMP and ICMPv6 included: one ping is one address pair) has ports 0.
 * Fragments: every fragment of a datagram has ports 0, the first one (IPv4 offset 0 with MF
 * set, or any IPv6 fragment header) included, so that all fragments of one datagram land in the
 * same flow. */
#ifndef MPT_FLOW_H
#define MPT_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* Extension headers walked before an IPv6 packet is declared malformed. */
#define FLOW_MAX_EXT_HDRS	8

/* A flow's key. Always fully written by flow_classify (unused bytes zero), and without padding,
 * so two keys may be compared with memcmp. IPv4 addresses are in src[0..3] and dst[0..3].
 * Ports are in host byte order. family: 4 or 6, 0 when the packet is not IP (or too short to
 * hold its addresses). proto: the upper-layer protocol (IPv6: after the extension headers). */
struct flow_key {
	uint8_t family;
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

/* Fills *key from pkt. Returns 0 for a well-formed packet, or -EBADMSG, then *key holds:
 * - first nibble neither 4 nor 6, or len shorter than the fixed header (20 / 40 bytes):
 *   all zero (family 0);
 * - otherwise family, addresses and proto as given by the fixed header (IPv4 protocol, IPv6
 *   next header, extension headers not walked) and ports 0.
 * Malformed means: IPv4 IHL < 5 or total length < IHL * 4; the header's total (IPv4) or
 * payload (IPv6) length past len; an IPv6 extension header past that length or more than
 * FLOW_MAX_EXT_HDRS of them; a port-carrying protocol with less than 4 bytes of transport
 * header. Bytes after the header's length are ignored. An IPv6 payload length of 0
 * (jumbogram) is taken as the rest of len.
 * On success: proto after the IPv6 extension headers; at an IPv6 fragment header, the fragment
 * header's next header (the same in every fragment); ESP (50) and no-next-header (59) end the
 * walk with ports 0. */
int flow_classify(struct flow_key *key, const uint8_t *pkt, size_t len);

/* 1 when a and b are the same flow (one direction: a reply is another flow). */
int flow_key_equal(const struct flow_key *a, const struct flow_key *b);

/* SipHash-2-4 of the key under a 128-bit key expanded from seed, folded to 32 bits. The seed is
 * the secret that keeps a remote sender from crafting collisions: draw it from the caller's
 * rng, once per queue. */
uint32_t flow_hash(const struct flow_key *key, uint64_t seed);

#endif
