/* reorder: the receive-side reorder buffer. Packets that several paths deliver out of order
 * are held (in a ring allocated once by reorder_new, freed by reorder_free) and released to the
 * tun side in data-sequence order. A gap is skipped when the senders' floors prove its packet
 * was lost, or after a timeout. A second copy of a packet already delivered is dropped.
 * Insert and release run per packet; nothing allocates then. */
#ifndef MPT_REORDER_H
#define MPT_REORDER_H

#include <stddef.h>
#include <stdint.h>

typedef void (*reorder_deliver_fn)(void *ctx, const uint8_t *pkt, size_t len);

struct reorder_stats {
	uint64_t in_order, buffered, late, duplicate, gaps_lost, gaps_timeout, overflow;
	/* work: empty slots stepped over while looking for the oldest held packet */
	uint64_t slots_scanned;
};

struct reorder;

/* slots: packets held at most (a power of two); slot_bytes: largest packet. */
struct reorder *reorder_new(unsigned slots, size_t slot_bytes);
void reorder_free(struct reorder *r);

/* Hand in packet seq; delivers whatever becomes in order through fn. */
void reorder_insert(struct reorder *r, uint32_t seq, const uint8_t *pkt, size_t len,
		    uint64_t now, reorder_deliver_fn fn, void *ctx);
/* Skip gaps below floor (their packets were lost) and gaps older than timeout_ns. */
void reorder_release(struct reorder *r, uint32_t floor, uint64_t now, uint64_t timeout_ns,
		     reorder_deliver_fn fn, void *ctx);
/* The sender's sequence may have restarted (a new session after its restart): deliver what is
 * held, in order, and take the next packet as the new start. */
void reorder_resync(struct reorder *r, reorder_deliver_fn fn, void *ctx);
/* When the oldest held gap times out, or UINT64_MAX when nothing is held. */
uint64_t reorder_deadline(const struct reorder *r, uint64_t timeout_ns);
unsigned reorder_held(const struct reorder *r);
/* The sequence number the tun side waits for. */
uint32_t reorder_next(const struct reorder *r);
const struct reorder_stats *reorder_stats(const struct reorder *r);

#endif
