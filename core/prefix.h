/* prefix: which peer an inner address belongs to (WireGuard's allowed IPs). A table of IPv4 and
 * IPv6 prefixes, each naming a peer; a lookup returns the peer of the longest prefix that holds
 * the address. The daemon routes a packet read from tun by its destination, and accepts a
 * packet from a peer only with a source that looks up to that same peer.
 *
 * prefix_table_new allocates the table for a fixed number of prefixes, prefix_table_free frees
 * it; adding never allocates. Lookups are pure, never read outside what they are given, and
 * cost one hash probe per distinct prefix length in the table (a handful in practice), so they
 * may run per packet. */
#ifndef MPT_PREFIX_H
#define MPT_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PREFIX_MAX 65536		/* prefixes in one table */

struct prefix_table;

/* A table for up to max prefixes (1..PREFIX_MAX); NULL on a bad max or no memory. */
struct prefix_table *prefix_table_new(unsigned max);
void prefix_table_free(struct prefix_table *t);	/* NULL: nothing */

/* Add family (4 or 6) addr/len for peer. addr holds 4 or 16 bytes. 0; -EINVAL for a bad
 * family or length or an address with bits set past len; -EEXIST when that very prefix is
 * there already (for any peer); -ENOSPC when the table is full. Overlaps of different lengths
 * are allowed: the longest wins. */
int prefix_table_add(struct prefix_table *t, uint8_t family, const uint8_t *addr, unsigned len,
		     uint16_t peer);
/* The number of prefixes in t. */
unsigned prefix_table_count(const struct prefix_table *t);

/* The peer of the longest prefix holding family addr (4 or 16 bytes), or -ENOENT. */
int prefix_lookup(const struct prefix_table *t, uint8_t family, const uint8_t *addr);

/* For an inner IP packet (no link header): the peer of its destination address (source false),
 * or of its source (true). -ENOENT when no prefix holds it, -EBADMSG when the packet is not
 * IPv4 or IPv6 or too short to hold its addresses. */
int prefix_route(const struct prefix_table *t, const uint8_t *pkt, size_t len, bool source);

#endif
