/* The ring is indexed by data_seq modulo the slot count; `next` is the sequence the tun side
 * waits for. `blocked_since` is when the current head-of-line gap started holding a packet. */
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
	while (!slot_of(r, s)->present)
		s++;
	r->blocked_since = slot_of(r, s)->arrival_ns;
}

/* Deliver the in-order run starting at next. */
static void drain(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
	struct slot *s;

	while (r->held && (s = slot_of(r, r->next))->present) {
		s->present = false;
		r->held--;
		fn(ctx, bytes_of(r, r->next), s->len);
		r->next++;
	}
}

/* Give up on the packet at next. */
static void skip(struct reorder *r, reorder_deliver_fn fn, void *ctx)
{
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
		/* Its gap was already skipped: late is better than never for the tun side. */
		r->stats.late++;
		fn(ctx, pkt, len);
		return;
	}
	if (ahead == 0) {
		r->stats.in_order++;
		r->next++;
		fn(ctx, pkt, len);
		drain(r, fn, ctx);
		restart_clock(r);
		return;
	}
	while ((uint32_t)ahead >= r->nslots) {
		/* Too far ahead to hold: give up on the oldest gaps to make room. */
		r->stats.overflow++;
		if (!r->held) {
			r->next = seq - (r->nslots - 1);
			break;
		}
		skip(r, fn, ctx);
		ahead = (int32_t)(seq - r->next);
		if (ahead < 0) {
			fn(ctx, pkt, len);
			return;
		}
		if (ahead == 0) {
			r->next++;
			fn(ctx, pkt, len);
			drain(r, fn, ctx);
			restart_clock(r);
			return;
		}
	}
	s = slot_of(r, seq);
	if (s->present) {
		r->stats.late++;	/* same data twice: keep the first copy */
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
