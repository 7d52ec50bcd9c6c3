/* The arena has capacity + 1 slots, each slot_bytes long, chained by index: a free list, and
 * one FIFO per flow bucket. The extra slot is for the packet fq_peek_len holds, so that a full
 * queue can always make room by dropping from a flow. Flows are chained by index into the new
 * and old lists, as in fq_codel; a flow is on at most one list.
 * CoDel's spacing interval / sqrt(count) is computed as isqrt(interval^2 / count): exact to the
 * nanosecond, integer only, and it runs once per CoDel drop, not per packet. */
#include "core/fq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
/* a flow that keeps being dropped: count stops growing, spacing stays about interval / 32768 */
#define COUNT_MAX (1u << 30)
#define FQ_WAYS 8

enum { LIST_NONE, LIST_NEW, LIST_OLD };

struct slot {
	uint32_t next;
	uint32_t flow;			/* its flow's index in flows */
	uint32_t flow_hash;
	uint16_t len;
	uint64_t enqueue_ns;
};

struct flow {
	uint32_t tag;			/* the flow hash it holds, while tagged */
	bool tagged;
	bool mixed;			/* holds packets of other hashes too (a full set) */
	uint32_t head, tail;		/* packets, oldest first */
	uint32_t packets;
	uint64_t backlog_bytes;
	uint32_t list_next;		/* in the new or old list */
	uint8_t list;
	int32_t deficit;
	/* CoDel */
	bool dropping;
	uint32_t count, lastcount;
	uint64_t first_above_ns;	/* 0: sojourn not above target */
	uint64_t drop_next_ns;
	/* arrival rate: bytes over FQ_RATE_WINDOW_NS windows */
	uint64_t win_start_ns;
	uint64_t win_bytes;
	uint64_t rate_bps;		/* of the last whole window */
};

struct flow_list {
	uint32_t head, tail;
};

struct fq {
	unsigned nbuckets, capacity, nslots;
	size_t slot_bytes;
	uint64_t target_ns, interval_ns;
	struct slot *slots;
	uint8_t *bytes;
	struct flow *flows;
	/* free slots: those released (a list), then those never used (fresh..nslots-1), so that
	 * an idle queue's arena is never written and costs no resident memory (a hub's idle
	 * peers) */
	uint32_t free_head;
	uint32_t fresh;
	struct flow_list new_flows, old_flows;
	unsigned queued_packets;	/* in flows, not counting the held one */
	uint64_t queued_bytes;
	uint32_t held;			/* picked by fq_peek_len, or NONE */
	struct fq_stats stats;
};

struct fq *fq_new(unsigned nbuckets, unsigned capacity, size_t slot_bytes, uint64_t target_ns,
		  uint64_t interval_ns)
{
	struct fq *q;

	if (nbuckets == 0 || nbuckets >= NONE || capacity == 0 || capacity >= NONE - 1 ||
	    slot_bytes == 0 || slot_bytes > UINT16_MAX || interval_ns == 0 ||
	    interval_ns > UINT32_MAX || target_ns > interval_ns)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->nbuckets = nbuckets;
	q->capacity = capacity;
	q->nslots = capacity + 1;
	q->slot_bytes = slot_bytes;
	q->target_ns = target_ns;
	q->interval_ns = interval_ns;
	q->slots = calloc(q->nslots, sizeof(*q->slots));
	q->bytes = malloc((size_t)q->nslots * slot_bytes);
	q->flows = calloc(nbuckets, sizeof(*q->flows));
	if (!q->slots || !q->bytes || !q->flows) {
		fq_free(q);
		return NULL;
	}
	q->free_head = NONE;
	q->fresh = 0;
	for (unsigned i = 0; i < nbuckets; i++) {
		q->flows[i].head = q->flows[i].tail = NONE;
		q->flows[i].list_next = NONE;
	}
	q->new_flows.head = q->new_flows.tail = NONE;
	q->old_flows.head = q->old_flows.tail = NONE;
	q->held = NONE;
	return q;
}

void fq_free(struct fq *q)
{
	if (!q)
		return;
	free(q->slots);
	free(q->bytes);
	free(q->flows);
	free(q);
}

static uint8_t *bytes_of(const struct fq *q, uint32_t s)
{
	return q->bytes + (size_t)s * q->slot_bytes;
}

static void slot_release(struct fq *q, uint32_t s)
{
	q->slots[s].next = q->free_head;
	q->free_head = s;
}

static void list_push(struct fq *q, struct flow_list *l, uint8_t which, uint32_t fi)
{
	struct flow *f = &q->flows[fi];

	f->list = which;
	f->list_next = NONE;
	if (l->tail == NONE)
		l->head = fi;
	else
		q->flows[l->tail].list_next = fi;
	l->tail = fi;
}

static void list_pop(struct fq *q, struct flow_list *l)
{
	struct flow *f = &q->flows[l->head];

	l->head = f->list_next;
	if (l->head == NONE)
		l->tail = NONE;
	f->list_next = NONE;
	f->list = LIST_NONE;
}

/* Take the flow's oldest packet off it (still in the arena); NONE when the flow is empty. */
static uint32_t flow_pop(struct fq *q, struct flow *f)
{
	uint32_t s = f->head;

	if (s == NONE)
		return NONE;
	f->head = q->slots[s].next;
	if (f->head == NONE)
		f->tail = NONE;
	f->packets--;
	f->backlog_bytes -= q->slots[s].len;
	q->queued_packets--;
	q->queued_bytes -= q->slots[s].len;
	return s;
}

static void drop(struct fq *q, uint32_t s, uint64_t *counter)
{
	(*counter)++;
	q->stats.dropped_bytes += q->slots[s].len;
	slot_release(q, s);
}

static uint64_t isqrt64(uint64_t x)
{
	uint64_t r = 0, bit = (uint64_t)1 << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* CoDel's control law: the next drop comes interval / sqrt(count) after the last one. */
static uint64_t drop_spacing_ns(const struct fq *q, uint32_t count)
{
	return isqrt64(q->interval_ns * q->interval_ns / count);
}

/* Is packet s (just taken off flow f) one to drop? Sojourn must have stayed above target for a
 * whole interval, and more than one packet's worth must be left queued (never drop the last). */
static bool should_drop(struct fq *q, struct flow *f, uint32_t s, uint64_t now)
{
	uint64_t enq, sojourn_ns;

	if (s == NONE) {
		f->first_above_ns = 0;
		return false;
	}
	enq = q->slots[s].enqueue_ns;
	sojourn_ns = now > enq ? now - enq : 0;
	if (sojourn_ns < q->target_ns || q->queued_bytes <= q->slot_bytes) {
		f->first_above_ns = 0;
		return false;
	}
	if (f->first_above_ns == 0) {
		f->first_above_ns = now + q->interval_ns;
		return false;
	}
	return now >= f->first_above_ns;
}

/* The flow's next packet that CoDel lets through, or NONE when it has none left. */
static uint32_t codel_dequeue(struct fq *q, struct flow *f, uint64_t now)
{
	uint32_t s = flow_pop(q, f);
	bool to_drop;

	if (s == NONE) {
		f->dropping = false;
		return NONE;
	}
	to_drop = should_drop(q, f, s, now);
	if (f->dropping) {
		if (!to_drop) {
			f->dropping = false;
			return s;
		}
		while (f->dropping && now >= f->drop_next_ns) {
			if (f->count < COUNT_MAX)
				f->count++;
			drop(q, s, &q->stats.drop_codel);
			s = flow_pop(q, f);
			if (!should_drop(q, f, s, now))
				f->dropping = false;
			else
				f->drop_next_ns += drop_spacing_ns(q, f->count);
		}
	} else if (to_drop) {
		uint32_t delta = f->count - f->lastcount;

		drop(q, s, &q->stats.drop_codel);
		s = flow_pop(q, f);
		should_drop(q, f, s, now);
		f->dropping = true;
		q->stats.codel_dropping++;
		/* back into dropping soon after leaving it: resume near the rate that was working */
		if (delta > 1 && (now < f->drop_next_ns ||
				  now - f->drop_next_ns < 16 * q->interval_ns))
			f->count = delta;
		else
			f->count = 1;
		f->lastcount = f->count;
		f->drop_next_ns = now + drop_spacing_ns(q, f->count);
	}
	return s;
}

/* Deficit round robin over the new list, then the old one. */
static uint32_t pick(struct fq *q, uint64_t now)
{
	for (;;) {
		struct flow_list *l;
		uint32_t fi, s;
		struct flow *f;

		if (q->new_flows.head != NONE)
			l = &q->new_flows;
		else if (q->old_flows.head != NONE)
			l = &q->old_flows;
		else
			return NONE;
		fi = l->head;
		f = &q->flows[fi];
		if (f->deficit <= 0) {
			f->deficit += FQ_QUANTUM_BYTES;
			list_pop(q, l);
			list_push(q, &q->old_flows, LIST_OLD, fi);
			continue;
		}
		s = codel_dequeue(q, f, now);
		if (s == NONE) {
			list_pop(q, l);
			/* an emptied new flow waits a round on the old list, so that a flow cannot
			 * stay "new" for ever by sending just under a quantum at a time */
			if (l == &q->new_flows && q->old_flows.head != NONE)
				list_push(q, &q->old_flows, LIST_OLD, fi);
			continue;
		}
		f->deficit -= q->slots[s].len;
		return s;
	}
}

/* The flow with the largest backlog in bytes: it loses its oldest packet when the arena is full. */
static uint32_t fattest(const struct fq *q)
{
	uint32_t best = NONE;
	uint64_t most = 0;

	for (uint32_t i = 0; i < q->nbuckets; i++) {
		if (q->flows[i].backlog_bytes > most) {
			most = q->flows[i].backlog_bytes;
			best = i;
		}
	}
	return best;
}

/* The flow of a hash: set-associative, as cake does, so that two flows whose hashes meet in one
 * set still get queues of their own (with plain hashing into 1024 buckets, a ping shared a
 * bulk flow's queue, and its CoDel delay, about once in 128 runs of 8 flows): the way that
 * holds the hash; else, while a way of the set holds other hashes' packets too, that one (the
 * hash's earlier packets may be there: its order is kept); else an idle way (empty, in no
 * list) taken for it, else an empty one; else (every way busy) the hash's own way, shared. */
static uint32_t flow_of(struct fq *q, uint32_t hash)
{
	unsigned ways = q->nbuckets % FQ_WAYS ? 1 : FQ_WAYS;
	uint32_t base = hash % (q->nbuckets / ways) * ways, pick = NONE, mixed = NONE;

	for (unsigned w = 0; w < ways; w++) {
		const struct flow *f = &q->flows[base + w];

		if (f->tagged && f->tag == hash)
			return base + w;
		if (f->mixed && f->packets)
			mixed = base + w;
		if (f->packets == 0 && (pick == NONE || (f->list == LIST_NONE &&
							 q->flows[pick].list != LIST_NONE)))
			pick = base + w;
	}
	if (mixed != NONE)
		return mixed;
	if (pick == NONE) {
		pick = base + hash % ways;
		q->flows[pick].mixed = true;
		return pick;
	}
	if (q->flows[pick].list == LIST_NONE) {
		/* a fresh flow: no CoDel state or rate of another's */
		q->flows[pick] = (struct flow){ .head = NONE, .tail = NONE, .list_next = NONE };
	}
	q->flows[pick].tag = hash;
	q->flows[pick].tagged = true;
	q->flows[pick].mixed = false;
	return pick;
}

int fq_enqueue(struct fq *q, uint32_t flow_hash, const uint8_t *pkt, size_t len, uint64_t now)
{
	uint32_t fi = flow_of(q, flow_hash), s;
	struct flow *f = &q->flows[fi];
	int ret = 0;

	if (len == 0)
		return -EINVAL;
	if (len > q->slot_bytes) {
		q->stats.drop_oversize++;
		return -EMSGSIZE;
	}
	if (q->queued_packets >= q->capacity) {
		uint32_t fat = fattest(q);

		drop(q, flow_pop(q, &q->flows[fat]), &q->stats.drop_overflow);
		ret = fat == fi ? FQ_DROP_SAME : FQ_DROP_OTHER;
	}
	if (q->free_head != NONE) {
		s = q->free_head;
		q->free_head = q->slots[s].next;
	} else {
		s = q->fresh++;
	}
	q->slots[s].next = NONE;
	q->slots[s].flow = fi;
	q->slots[s].flow_hash = flow_hash;
	q->slots[s].len = (uint16_t)len;
	q->slots[s].enqueue_ns = now;
	memcpy(bytes_of(q, s), pkt, len);
	if (f->tail == NONE)
		f->head = s;
	else
		q->slots[f->tail].next = s;
	f->tail = s;
	f->packets++;
	f->backlog_bytes += len;
	if (now - f->win_start_ns >= FQ_RATE_WINDOW_NS) {
		uint64_t dt = now - f->win_start_ns;

		/* a flow silent for more than a window starts again from nothing */
		f->rate_bps = dt < 2 * FQ_RATE_WINDOW_NS ?
			      (uint64_t)((double)f->win_bytes * 8e9 / (double)dt) : 0;
		f->win_start_ns = now;
		f->win_bytes = 0;
	}
	f->win_bytes += len;
	q->queued_packets++;
	q->queued_bytes += len;
	q->stats.enqueued++;
	q->stats.enqueued_bytes += len;
	if (f->list == LIST_NONE) {
		list_push(q, &q->new_flows, LIST_NEW, fi);
		f->deficit = FQ_QUANTUM_BYTES;
		q->stats.new_flows++;
	}
	return ret;
}

const uint8_t *fq_dequeue(struct fq *q, uint64_t now, size_t *len, uint32_t *flow_hash)
{
	uint32_t s = q->held;

	if (s != NONE)
		q->held = NONE;
	else
		s = pick(q, now);
	if (s == NONE)
		return NULL;
	q->stats.dequeued++;
	q->stats.dequeued_bytes += q->slots[s].len;
	if (len)
		*len = q->slots[s].len;
	if (flow_hash)
		*flow_hash = q->slots[s].flow_hash;
	/* back on the free list at once: only the next enqueue can write over these bytes */
	slot_release(q, s);
	return bytes_of(q, s);
}

size_t fq_peek_len(struct fq *q, uint64_t now)
{
	if (q->held == NONE)
		q->held = pick(q, now);
	return q->held == NONE ? 0 : q->slots[q->held].len;
}

int fq_set_target(struct fq *q, uint64_t target_ns, uint64_t interval_ns)
{
	if (interval_ns == 0 || interval_ns > UINT32_MAX || target_ns > interval_ns)
		return -EINVAL;
	q->target_ns = target_ns;
	q->interval_ns = interval_ns;
	return 0;
}

uint64_t fq_peek_flow_rate(const struct fq *q, uint64_t now)
{
	const struct flow *f;

	if (q->held == NONE)
		return 0;
	f = &q->flows[q->slots[q->held].flow];
	return now - f->win_start_ns < 2 * FQ_RATE_WINDOW_NS ? f->rate_bps : 0;
}

uint64_t fq_peek_flow_bytes(const struct fq *q)
{
	const struct slot *h;

	if (q->held == NONE)
		return 0;
	h = &q->slots[q->held];
	return h->len + q->flows[h->flow].backlog_bytes;
}

unsigned fq_backlog_packets(const struct fq *q)
{
	return q->queued_packets + (q->held != NONE);
}

uint64_t fq_backlog_bytes(const struct fq *q)
{
	return q->queued_bytes + (q->held != NONE ? q->slots[q->held].len : 0);
}

const struct fq_stats *fq_stats(const struct fq *q)
{
	return &q->stats;
}

static int check_list(const struct fq *q, const struct flow_list *l, uint8_t which,
		      unsigned *nflows)
{
	uint32_t last = NONE;
	unsigned n = 0;

	for (uint32_t fi = l->head; fi != NONE; fi = q->flows[fi].list_next) {
		if (fi >= q->nbuckets || q->flows[fi].list != which || ++n > q->nbuckets)
			return -EFAULT;
		last = fi;
	}
	if (last != l->tail)
		return -EFAULT;
	*nflows += n;
	return 0;
}

int fq_check(const struct fq *q)
{
	unsigned packets = 0, nfree = 0, listed = 0, tagged = 0;
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < q->nbuckets; i++) {
		const struct flow *f = &q->flows[i];
		unsigned fp = 0;
		uint64_t fb = 0;
		uint32_t last = NONE;

		for (uint32_t s = f->head; s != NONE; s = q->slots[s].next) {
			if (s >= q->nslots || ++fp > q->nslots ||
			    q->slots[s].flow != i)
				return -EFAULT;
			fb += q->slots[s].len;
			last = s;
		}
		if (last != f->tail || fp != f->packets || fb != f->backlog_bytes)
			return -EFAULT;
		/* a flow with packets is always on a list, or it would never be served */
		if (fp && f->list == LIST_NONE)
			return -EFAULT;
		tagged += f->list != LIST_NONE;
		packets += fp;
		bytes += fb;
	}
	if (packets != q->queued_packets || bytes != q->queued_bytes)
		return -EFAULT;
	for (uint32_t s = q->free_head; s != NONE; s = q->slots[s].next)
		if (s >= q->nslots || ++nfree > q->nslots)
			return -EFAULT;
	if (q->fresh > q->nslots || nfree > q->fresh)
		return -EFAULT;
	nfree += q->nslots - q->fresh;
	if (nfree + packets + (q->held != NONE) != q->nslots)
		return -EFAULT;
	if (check_list(q, &q->new_flows, LIST_NEW, &listed) ||
	    check_list(q, &q->old_flows, LIST_OLD, &listed) || listed != tagged)
		return -EFAULT;
	if (q->stats.enqueued != q->stats.dequeued + q->stats.drop_overflow +
				 q->stats.drop_codel + fq_backlog_packets(q))
		return -EFAULT;
	return 0;
}
