/* reorder: the receive-side reorder buffer. Packets that several paths deliver out of order
 * are held (in a ring allocated once by reorder_new, freed by reorder_free) and released to the
 * tun side in order within their inner flow: each names its flow's previous packet (the sender
 * knows the flows, core/wire.h's flow_gap), and waits only for that one, so that a hole in one
 * flow never holds another (issue 11). With every gap 1 it is plain data-sequence order. A
 * missing packet is given up when the senders' floors prove it was lost, or when the packet
 * waiting for it has waited the timeout. A second copy of a packet already delivered is
 * dropped. Insert and release run per packet; nothing allocates then. */
#ifndef MPT_REORDER_H
#define MPT_REORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*reorder_deliver_fn)(void *ctx, const uint8_t *pkt, size_t len);

struct reorder_stats {
	uint64_t in_order, buffered, late, duplicate, gaps_lost, gaps_timeout, overflow;
	/* work: empty slots stepped over while looking for the oldest held packet */
	uint64_t slots_scanned;
};

struct reorder;

/* slots: packets held at most (a power of two, at most 4096); slot_bytes: largest packet. */
struct reorder *reorder_new(unsigned slots, size_t slot_bytes);
void reorder_free(struct reorder *r);

/* Hand in packet seq, whose flow's previous packet is seq - gap (gap 0: none to wait for);
 * delivers whatever becomes in order through fn. A sequence missing below it may be given up
 * hold_ns after now (plus release's timeout): how much later than this one a packet sent
 * before it may still arrive. */
void reorder_insert(struct reorder *r, uint32_t seq, uint16_t gap, const uint8_t *pkt,
		    size_t len, uint64_t now, uint64_t hold_ns, reorder_deliver_fn fn, void *ctx);
/* Give up the sequences below floor (their packets were lost), and the gap at the bottom once
 * the packets above it have waited their hold plus timeout_ns. */
void reorder_release(struct reorder *r, uint32_t floor, uint64_t now, uint64_t timeout_ns,
		     reorder_deliver_fn fn, void *ctx);
/* The sender's sequence may have restarted (a new session after its restart): deliver what is
 * held, in order, and take the next packet as the new start. */
void reorder_resync(struct reorder *r, reorder_deliver_fn fn, void *ctx);
/* When the oldest gap times out (the first packet above it arrived, its hold and timeout_ns
 * later), or UINT64_MAX when nothing is missing. */
uint64_t reorder_deadline(const struct reorder *r, uint64_t timeout_ns);
unsigned reorder_held(const struct reorder *r);
/* Some sequence below what arrived is missing: release has work to do (a deadline). */
bool reorder_waiting(const struct reorder *r);
/* The lowest sequence number not yet delivered or given up. */
uint32_t reorder_next(const struct reorder *r);
const struct reorder_stats *reorder_stats(const struct reorder *r);

#endif
