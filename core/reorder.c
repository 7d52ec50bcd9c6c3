/* The ring is indexed by data_seq modulo the slot count; `next` is the sequence the tun side
 * waits for and `head` the oldest held one, so that a gap [next, head) is given up in one step
 * and costs what it releases, not a rescan per slot (finding 8 of issue 10: slots^2 per skip).
 * `blocked_since` is when the current head-of-line gap started holding a packet.
 * `done` has one bit per sequence number in [next - DONE_WINDOW, next): set when delivered,
 * clear when skipped, so that a second copy (a reinjection, a duplicate) is dropped. */
#include "core/reorder.h"

#include "core/path.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	bool present;
	uint16_t len;
	uint64_t arrival_ns;
};

#define DONE_WINDOW 8192
#define DONE_WORDS (DONE_WINDOW / 64)

struct reorder {
	unsigned nslots;
	size_t slot_bytes;
	uint32_t next;
	bool started;
	unsigned held;
	uint32_t head;			/* the oldest held sequence, when held */
	uint64_t blocked_since;
	struct reorder_stats stats;
	struct slot *slots;
	uint8_t *bytes;
	uint64_t done[DONE_WORDS];
};

struct reorder *reorder_new(unsigned slots, size_t slot_bytes)
{
	struct reorder *r;

	if (slots == 0 || (slots & (slots - 1)) || slot_bytes == 0 || slot_bytes > UINT16_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nslots = slots;
	r->slot_bytes = slot_bytes;
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

/* The oldest held packet went: find the next one (there is one), past the gap at next. */
static void find_head(struct reorder *r)
{
	uint32_t s = r->next;

	while (!slot_of(r, s)->present) {
		s++;
		r->stats.slots_scanned++;
	}
	r->head = s;
}

/* The oldest held packet's arrival starts the head gap's clock. */
static void restart_clock(struct reorder *r)
{
	if (r->held)
		r->blocked_since = slot_of(r, r->head)->arrival_ns;
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

/* Forget n sequence numbers from `from` on: they were skipped, not delivered. */
static void clear_done(struct reorder *r, uint32_t from, uint32_t n)
{
	if (n >= DONE_WINDOW) {
		memset(r->done, 0, sizeof(r->done));
		return;
	}
	for (uint32_t k = 0; k < n; k++)
		set_done(r, from + k, false);
}

/* Deliver one packet and remember that it went. */
static void hand_over(struct reorder *r, uint32_t seq, const uint8_t *pkt, size_t len,
		      reorder_deliver_fn fn, void *ctx)
{
	set_done(r, seq, true);
	fn(ctx, pkt, len);
}

/* Deliver the in-order run starting at next. */
static void drain(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
	struct slot *s;
	bool moved = false;

	while (r->held && (s = slot_of(r, r->next))->present) {
		s->present = false;
		r->held--;
		hand_over(r, r->next, bytes_of(r, r->next), s->len, fn, ctx);
		r->next++;
		moved = true;
	}
	if (moved && r->held)
		find_head(r);
}

/* Give up on the n packets at next, all missing (n <= head - next), and deliver what follows
 * them in order. */
static void skip(struct reorder *r, uint32_t n, reorder_deliver_fn fn, void *ctx)
{
	clear_done(r, r->next, n);
	r->next += n;
	drain(r, fn, ctx);
	restart_clock(r);
}

void reorder_insert(struct reorder *r, uint32_t seq, const uint8_t *pkt, size_t len,
		    uint64_t now, reorder_deliver_fn fn, void *ctx)
{
	int32_t ahead;
	struct slot *s;

	if (!r->started) {
		r->started = true;
		r->next = seq;
	}
	ahead = (int32_t)(seq - r->next);
	if (ahead < 0 || len > r->slot_bytes) {
		if (ahead < 0 && -(int64_t)ahead <= DONE_WINDOW && is_done(r, seq)) {
			r->stats.duplicate++;	/* this one went already */
			return;
		}
		/* Its gap was already skipped: late is better than never for the tun side. */
		r->stats.late++;
		hand_over(r, seq, pkt, len, fn, ctx);
		return;
	}
	if (ahead == 0) {
		r->stats.in_order++;
		r->next++;
		hand_over(r, seq, pkt, len, fn, ctx);
		drain(r, fn, ctx);
		restart_clock(r);
		return;
	}
	while ((uint32_t)ahead >= r->nslots) {
		/* Too far ahead to hold: give up on the oldest gaps to make room, each gap (or the
		 * part of it that makes room) at once; overflow counts the packets given up. */
		uint32_t room = (uint32_t)ahead - (r->nslots - 1), n;

		if (!r->held) {
			r->stats.overflow++;
			clear_done(r, r->next, room);
			r->next += room;
			break;
		}
		n = r->head - r->next;
		if (n > room)
			n = room;
		r->stats.overflow += n;
		skip(r, n, fn, ctx);
		ahead = (int32_t)(seq - r->next);
		if (ahead < 0) {
			hand_over(r, seq, pkt, len, fn, ctx);
			return;
		}
		if (ahead == 0) {
			r->next++;
			hand_over(r, seq, pkt, len, fn, ctx);
			drain(r, fn, ctx);
			restart_clock(r);
			return;
		}
	}
	s = slot_of(r, seq);
	if (s->present) {
		r->stats.duplicate++;	/* same data twice: keep the first copy */
		return;
	}
	s->present = true;
	s->len = (uint16_t)len;
	s->arrival_ns = now;
	memcpy(bytes_of(r, seq), pkt, len);
	if (!r->held || seq_lt(seq, r->head))
		r->head = seq;
	if (!r->held++)
		r->blocked_since = now;
	r->stats.buffered++;
}

void reorder_release(struct reorder *r, uint32_t floor, uint64_t now, uint64_t timeout_ns,
		     reorder_deliver_fn fn, void *ctx)
{
	while (r->held) {
		uint32_t gap = r->head - r->next, n;

		if (seq_lt(r->next, floor)) {
			n = floor - r->next < gap ? floor - r->next : gap;
			r->stats.gaps_lost += n;
		} else if (now - r->blocked_since >= timeout_ns) {
			/* giving up on one packet restarts the clock at the head's arrival, and that
			 * clock holds for the rest of the gap: all of it goes, or just the one */
			n = now - slot_of(r, r->head)->arrival_ns >= timeout_ns ? gap : 1;
			r->stats.gaps_timeout += n;
		} else {
			break;
		}
		skip(r, n, fn, ctx);
	}
}

void reorder_resync(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
	while (r->held) {
		struct slot *s = slot_of(r, r->next);

		if (s->present) {
			s->present = false;
			r->held--;
			hand_over(r, r->next, bytes_of(r, r->next), s->len, fn, ctx);
		}
		r->next++;
	}
	r->started = false;
	memset(r->done, 0, sizeof(r->done));
}

uint64_t reorder_deadline(const struct reorder *r, uint64_t timeout_ns)
{
	return r->held ? r->blocked_since + timeout_ns : UINT64_MAX;
}

unsigned reorder_held(const struct reorder *r)
{
	return r->held;
}

uint32_t reorder_next(const struct reorder *r)
{
	return r->next;
}

const struct reorder_stats *reorder_stats(const struct reorder *r)
{
	return &r->stats;
}
