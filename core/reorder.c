/* The ring is indexed by data_seq modulo the slot count; `next` is the sequence the tun side
 * waits for. `blocked_since` is when the current head-of-line gap started holding a packet.
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

/* The earliest arrival among held packets starts the head gap's clock. */
static void restart_clock(struct reorder *r)
{
	uint32_t s = r->next;

	if (!r->held)
		return;
	while (!slot_of(r, s)->present) {
		s++;
		r->stats.slots_scanned++;
	}
	r->blocked_since = slot_of(r, s)->arrival_ns;
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

	while (r->held && (s = slot_of(r, r->next))->present) {
		s->present = false;
		r->held--;
		hand_over(r, r->next, bytes_of(r, r->next), s->len, fn, ctx);
		r->next++;
	}
}

/* Give up on the packet at next. */
static void skip(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
	set_done(r, r->next, false);
	r->next++;
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
		/* Too far ahead to hold: give up on the oldest gaps to make room. */
		r->stats.overflow++;
		if (!r->held) {
			uint32_t to = seq - (r->nslots - 1);

			for (uint32_t k = r->next; k != to && (uint32_t)(k - r->next) < DONE_WINDOW; k++)
				set_done(r, k, false);
			r->next = to;
			break;
		}
		skip(r, fn, ctx);
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
	if (!r->held++)
		r->blocked_since = now;
	r->stats.buffered++;
}

void reorder_release(struct reorder *r, uint32_t floor, uint64_t now, uint64_t timeout_ns,
		     reorder_deliver_fn fn, void *ctx)
{
	while (r->held) {
		if (seq_lt(r->next, floor)) {
			r->stats.gaps_lost++;
		} else if (now - r->blocked_since >= timeout_ns) {
			r->stats.gaps_timeout++;
		} else {
			break;
		}
		skip(r, fn, ctx);
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
