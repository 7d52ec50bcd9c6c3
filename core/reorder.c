/* The ring is indexed by data_seq modulo the slot count. `next` is the lowest sequence not yet
 * resolved: everything below it was delivered or given up, and everything held lies in
 * [next, next + slots). A held packet waits for its predecessor in its flow (seq - gap), and
 * that predecessor's slot names it as its waiter, so that delivering (or giving up) a packet
 * delivers the chain that waited for it at once: packets of other flows never wait. `head`
 * is the lowest held sequence; its arrival starts the timeout clock. `done` has one bit per
 * sequence in [next - (DONE_WINDOW - slots), next + slots): set when delivered, clear when
 * given up, so that a second copy (a reinjection, a duplicate) is dropped. Giving up a gap
 * steps over at most `slots` sequence numbers (finding 8 of issue 10: the cost of a skip is
 * what it releases, not a rescan per slot); a longer jump holds nothing and is taken at once. */
#include "core/reorder.h"

#include "core/path.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	bool present;			/* a packet is held here */
	bool has_waiter;		/* a held packet waits for this sequence */
	uint16_t len;
	uint32_t waiter;
	uint32_t pred;			/* held: the sequence it waits for */
	uint64_t expiry_ns;		/* arrival plus its hold: gaps below it may go then */
};

#define DONE_WINDOW 8192
#define DONE_WORDS (DONE_WINDOW / 64)

struct reorder {
	unsigned nslots;
	size_t slot_bytes;
	uint32_t next;
	bool started;
	unsigned held;
	uint32_t head;			/* the lowest held sequence, when held */
	uint32_t top;			/* one above the highest sequence delivered or held */
	/* the gap at next may be given up from this time (plus release's timeout): the earliest
	 * expiry of the packets above it (find_gap); UINT64_MAX: no gap */
	uint64_t gap_base;
	uint64_t last_hold_ns;		/* the latest packet's hold, for a gap with none in sight */
	struct reorder_stats stats;
	struct slot *slots;
	uint8_t *bytes;
	uint64_t done[DONE_WORDS];
};

struct reorder *reorder_new(unsigned slots, size_t slot_bytes)
{
	struct reorder *r;

	if (slots == 0 || (slots & (slots - 1)) || slots > DONE_WINDOW / 2 || slot_bytes == 0 ||
	    slot_bytes > UINT16_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nslots = slots;
	r->slot_bytes = slot_bytes;
	r->gap_base = UINT64_MAX;
	r->slots = calloc(slots, sizeof(*r->slots));
	r->bytes = malloc((size_t)slots * slot_bytes);
	if (!r->slots || !r->bytes) {
		reorder_free(r);
		return NULL;
	}
	return r;
}

void reorder_free(struct reorder *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->bytes);
	free(r);
}

static struct slot *slot_of(struct reorder *r, uint32_t seq)
{
	return &r->slots[seq & (r->nslots - 1)];
}

static uint8_t *bytes_of(struct reorder *r, uint32_t seq)
{
	return r->bytes + (size_t)(seq & (r->nslots - 1)) * r->slot_bytes;
}

static void set_done(struct reorder *r, uint32_t seq, bool done)
{
	uint64_t bit = 1ull << (seq % 64);

	if (done)
		r->done[(seq / 64) % DONE_WORDS] |= bit;
	else
		r->done[(seq / 64) % DONE_WORDS] &= ~bit;
}

static bool is_done(const struct reorder *r, uint32_t seq)
{
	return r->done[(seq / 64) % DONE_WORDS] >> (seq % 64) & 1;
}

/* Has seq been delivered or given up? */
static bool resolved(const struct reorder *r, uint32_t seq)
{
	return seq_lt(seq, r->next) || is_done(r, seq);
}

/* The lowest held packet went: find the next one up (there is one while held). */
static void find_head(struct reorder *r)
{
	uint32_t s = r->head;

	while (!slot_of(r, s)->present) {
		s++;
		r->stats.slots_scanned++;
	}
	r->head = s;
}

/* Deliver seq, then the chain of held packets that waited for it. */
static void deliver_chain(struct reorder *r, uint32_t seq, const uint8_t *pkt, size_t len,
			  reorder_deliver_fn fn, void *ctx)
{
	bool head_went = false;

	for (;;) {
		struct slot *s = slot_of(r, seq);
		uint32_t w = s->waiter;
		bool more = s->has_waiter;

		set_done(r, seq, true);
		s->has_waiter = false;
		fn(ctx, pkt, len);
		if (!more)
			break;
		s = slot_of(r, w);
		if (!s->present || s->pred != seq)
			break;
		s->present = false;
		r->held--;
		head_went |= w == r->head;
		seq = w;
		pkt = bytes_of(r, w);
		len = s->len;
	}
	if (head_went && r->held)
		find_head(r);
}

/* The chain that waited for seq, which is given up (lost, or waited for too long). */
static void release_waiter(struct reorder *r, uint32_t seq, reorder_deliver_fn fn, void *ctx)
{
	struct slot *s = slot_of(r, seq), *w;

	if (!s->has_waiter)
		return;
	s->has_waiter = false;
	w = slot_of(r, s->waiter);
	if (!w->present || w->pred != seq)
		return;
	w->present = false;
	r->held--;
	if (s->waiter == r->head && r->held)
		r->head = s->waiter + 1;
	deliver_chain(r, s->waiter, bytes_of(r, s->waiter), w->len, fn, ctx);
	if (r->held && !slot_of(r, r->head)->present)
		find_head(r);
}

/* next moves up by one: the sequence entering the top of the window forgets the bit of the one
 * that leaves the bottom of the history. */
static void advance(struct reorder *r)
{
	set_done(r, r->next + r->nslots, false);
	r->next++;
}

/* What was delivered ahead of next is resolved: next moves past it. */
static void settle(struct reorder *r)
{
	while (is_done(r, r->next))
		advance(r);
}

/* The gap at next: when it may be given up. Each packet carries an expiry (its arrival plus the
 * hold the engine gives it: how much later a packet sent before it may still arrive). A gap
 * that opens (a packet arrives above next while nothing was missing) takes that packet's. When
 * next moves on to another missing sequence, it takes the expiry of the first packet found
 * above it within GAP_LOOK slots (or of the lowest held one, if earlier); none found: now plus
 * the latest hold.
 * So the look costs a bounded number of slots per move of next, never a rescan per packet
 * (finding 8 of issue 10). */
#define GAP_LOOK 64

static void find_gap(struct reorder *r, uint64_t now)
{
	r->gap_base = UINT64_MAX;
	if (!seq_lt(r->next, r->top))
		return;
	r->gap_base = now + r->last_hold_ns;
	for (uint32_t x = r->next + 1; seq_lt(x, r->top) && x - r->next <= GAP_LOOK; x++) {
		r->stats.slots_scanned++;
		if (is_done(r, x) || slot_of(r, x)->present) {
			r->gap_base = slot_of(r, x)->expiry_ns;
			break;
		}
	}
	if (r->held && slot_of(r, r->head)->expiry_ns < r->gap_base)
		r->gap_base = slot_of(r, r->head)->expiry_ns;
}

/* The run of missing sequences at next, up to the first that arrived (or top). */
static uint32_t gap_end(struct reorder *r)
{
	uint32_t x = r->next;

	while (seq_lt(x, r->top) && x - r->next < r->nslots && !is_done(r, x) &&
	       !slot_of(r, x)->present)
		x++;
	return x == r->next ? x + 1 : x;	/* at least next itself goes */
}

/* Resolve every sequence below target: a held one is delivered (its predecessor is given up),
 * a missing one is given up and *given counts it; each releases the chain that waited for it.
 * Beyond the window nothing is held: the rest is a jump (counted as one when count_jump). */
static void resolve_below(struct reorder *r, uint32_t target, uint64_t *given, bool count_jump,
			  reorder_deliver_fn fn, void *ctx)
{
	uint32_t n = target - r->next, k;

	/* held packets and their waiters lie within the window: step through it */
	for (k = 0; k < n && k < r->nslots; k++) {
		uint32_t x = r->next;
		struct slot *s = slot_of(r, x);

		r->stats.slots_scanned++;
		if (s->present) {
			s->present = false;
			r->held--;
			if (x == r->head && r->held)
				r->head = x + 1;
			deliver_chain(r, x, bytes_of(r, x), s->len, fn, ctx);
			if (r->held && !slot_of(r, r->head)->present)
				find_head(r);
		} else if (!is_done(r, x)) {
			(*given)++;
			release_waiter(r, x, fn, ctx);
		}
		advance(r);
	}
	if (k < n) {
		uint32_t jump = n - k;

		if (count_jump)
			(*given)++;
		if (jump >= DONE_WINDOW) {
			memset(r->done, 0, sizeof(r->done));
		} else {
			for (uint32_t k = 0; k < jump; k++)
				set_done(r, r->next + r->nslots + k, false);
		}
		r->next += jump;
	}
	settle(r);
}

void reorder_insert(struct reorder *r, uint32_t seq, uint16_t gap, const uint8_t *pkt,
		    size_t len, uint64_t now, uint64_t hold_ns, reorder_deliver_fn fn, void *ctx)
{
	int32_t ahead;
	uint32_t pred = seq - gap;
	struct slot *s;

	r->last_hold_ns = hold_ns;
	if (!r->started) {
		r->started = true;
		r->next = r->top = seq;
		r->gap_base = UINT64_MAX;
	}
	ahead = (int32_t)(seq - r->next);
	if (ahead < 0 || len > r->slot_bytes) {
		if (ahead < 0 && -(int64_t)ahead <= DONE_WINDOW - r->nslots && is_done(r, seq)) {
			r->stats.duplicate++;	/* this one went already */
			return;
		}
		/* Its gap was already given up: late is better than never for the tun side. */
		r->stats.late++;
		if (ahead < 0) {
			set_done(r, seq, true);
			fn(ctx, pkt, len);
		} else {
			s = slot_of(r, seq);
			s->expiry_ns = now + hold_ns;
			if (!seq_lt(seq, r->top))
				r->top = seq + 1;
			deliver_chain(r, seq, pkt, len, fn, ctx);
			settle(r);
			find_gap(r, now);
		}
		return;
	}
	if ((uint32_t)ahead >= r->nslots) {
		/* too far ahead to hold: give up the oldest sequences to make room */
		resolve_below(r, seq - (r->nslots - 1), &r->stats.overflow, true, fn, ctx);
		r->gap_base = UINT64_MAX;
		if (seq_lt(r->top, r->next))
			r->top = r->next;
	}
	s = slot_of(r, seq);
	if (s->present || is_done(r, seq)) {
		r->stats.duplicate++;	/* same data twice: keep the first copy */
		return;
	}
	s->expiry_ns = now + hold_ns;
	if (!seq_lt(seq, r->top))
		r->top = seq + 1;
	if (gap == 0 || resolved(r, pred) || slot_of(r, pred)->has_waiter) {
		/* nothing of its flow is missing before it (or the chain is already claimed: not
		 * a flow's order, so not worth a wait) */
		uint32_t before = r->next;

		r->stats.in_order++;
		deliver_chain(r, seq, pkt, len, fn, ctx);
		settle(r);
		if (r->next != before)
			find_gap(r, now);
		else if (r->gap_base == UINT64_MAX && seq_lt(r->next, r->top))
			r->gap_base = now + hold_ns;	/* a gap opens */
		return;
	}
	s->present = true;
	s->pred = pred;
	s->len = (uint16_t)len;
	s->expiry_ns = now + hold_ns;
	memcpy(bytes_of(r, seq), pkt, len);
	slot_of(r, pred)->has_waiter = true;
	slot_of(r, pred)->waiter = seq;
	if (!r->held++ || seq_lt(seq, r->head))
		r->head = seq;
	r->stats.buffered++;
	if (r->gap_base == UINT64_MAX)
		r->gap_base = now + hold_ns;	/* a gap opens */
}

void reorder_release(struct reorder *r, uint32_t floor, uint64_t now, uint64_t timeout_ns,
		     reorder_deliver_fn fn, void *ctx)
{
	if (!seq_lt(r->next, r->top))
		return;
	/* every path has sent past the floor: what is missing below it was lost */
	if (seq_lt(r->next, floor)) {
		resolve_below(r, floor, &r->stats.gaps_lost, false, fn, ctx);
		find_gap(r, now);
	}
	/* a gap whose packets above have waited timeout_ns: given up, the whole run at once */
	while (r->gap_base != UINT64_MAX && now >= r->gap_base + timeout_ns) {
		resolve_below(r, gap_end(r), &r->stats.gaps_timeout, false, fn, ctx);
		find_gap(r, now);
	}
}

void reorder_resync(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
	while (r->held) {
		struct slot *s = slot_of(r, r->next);

		if (s->present) {
			s->present = false;
			r->held--;
			fn(ctx, bytes_of(r, r->next), s->len);
		}
		r->next++;
	}
	for (unsigned k = 0; k < r->nslots; k++)
		r->slots[k].has_waiter = false;
	r->started = false;
	r->gap_base = UINT64_MAX;
	memset(r->done, 0, sizeof(r->done));
}

uint64_t reorder_deadline(const struct reorder *r, uint64_t timeout_ns)
{
	return r->gap_base == UINT64_MAX ? UINT64_MAX : r->gap_base + timeout_ns;
}

unsigned reorder_held(const struct reorder *r)
{
	return r->held;
}

bool reorder_waiting(const struct reorder *r)
{
	return r->gap_base != UINT64_MAX;
}

uint32_t reorder_next(const struct reorder *r)
{
	return r->next;
}

const struct reorder_stats *reorder_stats(const struct reorder *r)
{
	return &r->stats;
}
