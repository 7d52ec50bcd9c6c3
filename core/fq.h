/* fq: the tunnel's fair queue, served like fq_codel. Packets are hashed by the caller's flow
 * classifier into buckets; each busy bucket (a "flow") keeps its packets in FIFO order. Flows
 * are served by deficit round robin with a quantum of FQ_QUANTUM_BYTES over two lists: flows
 * that just became busy (sparse: a ping, DNS, a handshake) are served before flows that stay
 * busy, so they never wait behind a bulk transfer. On dequeue, each flow runs CoDel: when its
 * packets' sojourn time stays above target_ns for interval_ns, it drops at spacing
 * interval / sqrt(count) until the sojourn falls below target again.
 * fq_new allocates everything once (a packet arena and per-flow index lists) and fq_free frees
 * it; enqueue, dequeue and peek run per packet and allocate nothing. Time is the caller's `now`
 * in ns; no clock, no global state, no printing. */
#ifndef MPT_FQ_H
#define MPT_FQ_H

#include <stddef.h>
#include <stdint.h>

/* DRR quantum: one Ethernet frame, as fq_codel's default */
#define FQ_QUANTUM_BYTES 1514

/* fq_enqueue's results besides 0 and -errno: the queue was full, the head packet of the flow
 * with the largest backlog was dropped and the new packet was queued. _SAME says that flow was
 * the new packet's own (a congestion signal for it), _OTHER that it was another flow. */
#define FQ_DROP_OTHER 1
#define FQ_DROP_SAME 2

struct fq_stats {
	uint64_t enqueued, dequeued;	/* packets */
	uint64_t enqueued_bytes, dequeued_bytes;
	uint64_t drop_overflow;		/* from the fattest flow's head when the arena was full */
	uint64_t drop_codel;		/* by a flow's CoDel on dequeue */
	uint64_t dropped_bytes;		/* of both kinds of drop */
	uint64_t drop_oversize;		/* refused by fq_enqueue (-EMSGSIZE) */
	uint64_t new_flows;		/* a flow became busy and joined the new (sparse) list */
	uint64_t codel_dropping;	/* a flow entered CoDel's dropping state */
};

struct fq;

/* nbuckets: flow buckets (flow_hash % nbuckets); capacity: packets held at most; slot_bytes:
 * the largest packet (at most 65535); target_ns, interval_ns: CoDel's (e.g. 5 ms and 100 ms;
 * interval below 2^32 ns, target at most interval). NULL on bad arguments or no memory. */
struct fq *fq_new(unsigned nbuckets, unsigned capacity, size_t slot_bytes, uint64_t target_ns,
		  uint64_t interval_ns);
void fq_free(struct fq *q);

/* Copy pkt in, stamped with now. Returns 0, FQ_DROP_OTHER or FQ_DROP_SAME (queued, but the queue
 * was full and one older packet was dropped), -EMSGSIZE if len exceeds slot_bytes, -EINVAL if
 * len is 0. */
int fq_enqueue(struct fq *q, uint32_t flow_hash, const uint8_t *pkt, size_t len, uint64_t now);

/* The next packet to send, or NULL when nothing is queued (CoDel may have dropped what was).
 * *len and *flow_hash (either may be NULL) are set when a packet is returned. The bytes stay
 * valid until the next call of fq_enqueue, fq_dequeue or fq_peek_len on q. */
const uint8_t *fq_dequeue(struct fq *q, uint64_t now, size_t *len, uint32_t *flow_hash);

/* The length of the packet the next fq_dequeue will return, or 0 when none, for a pacer that
 * must know it before sending. Like a qdisc's peek, it picks the packet now (running the flow
 * lists and CoDel at this `now`) and holds it: the next fq_dequeue returns exactly that packet,
 * whatever its own `now`. The held packet still counts in the backlog and is never dropped. */
size_t fq_peek_len(struct fq *q, uint64_t now);

/* The bytes of the flow of the packet fq_peek_len holds, that packet included (0 when none is
 * held): what that flow has queued, for a scheduler that asks how much is behind the head. */
uint64_t fq_peek_flow_bytes(const struct fq *q);

/* The arrival rate (bit/s, over the last whole FQ_RATE_WINDOW_NS) of the flow of the packet
 * fq_peek_len holds; 0 when none is held or the flow was silent longer than a window. Tells a
 * bulk transfer from a ping or a call, whose packets come one at a time either way. */
#define FQ_RATE_WINDOW_NS (100ull * 1000000)
uint64_t fq_peek_flow_rate(const struct fq *q, uint64_t now);

/* New CoDel parameters (as fq_new's), from the next dequeue on; -EINVAL leaves them as they
 * were. The engine sets the target from its paths' delays (core/sendq.c). */
int fq_set_target(struct fq *q, uint64_t target_ns, uint64_t interval_ns);

unsigned fq_backlog_packets(const struct fq *q);
uint64_t fq_backlog_bytes(const struct fq *q);
const struct fq_stats *fq_stats(const struct fq *q);

/* Walk every list and count: 0 when the lists, the free list and the backlog agree, -EFAULT
 * otherwise. O(capacity + nbuckets); for tests and fuzzing, not per packet. */
int fq_check(const struct fq *q);

#endif
