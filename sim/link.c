/* The link model. A rate link serializes at rate_bps exactly (the remainder of each division
 * is carried, so a long run never drifts); a trace link drains 1500 bytes per opportunity, a
 * packet larger than what is left continuing into the next ones, and an opportunity that finds
 * the queue empty is lost, as in Mahimahi. */
#include "sim/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int probability_ok(double x)
{
	return x >= 0.0 && x <= 1.0;
}

int link_init(struct link *l, const struct link_params *p)
{
	memset(l, 0, sizeof(*l));
	if ((p->rate_bps == 0) == (p->trace == NULL) || !probability_ok(p->loss) ||
	    p->ndown > LINK_MAX_DOWN || p->queue_bytes == 0 ||
	    (p->ge && (!probability_ok(p->ge_p) || !probability_ok(p->ge_r) ||
		       !probability_ok(p->ge_h) || !probability_ok(p->ge_k))))
		return -EINVAL;
	if (p->trace && (p->trace->n == 0 || p->trace->period_ms == 0))
		return -EINVAL;
	l->p = *p;
	return 0;
}

void link_set_epoch(struct link *l, uint64_t epoch_ns)
{
	l->epoch_ns = epoch_ns;
	l->trace_shift_ns = 0;
	if (l->p.trace) {
		/* trace time runs ahead of ours by this, so that it is a whole number of periods
		 * at epoch_ns: never negative, whatever the epoch */
		uint64_t period_ns = (uint64_t)l->p.trace->period_ms * 1000000ull;

		l->trace_shift_ns = (period_ns - epoch_ns % period_ns) % period_ns;
	}
}

void link_free(struct link *l)
{
	free(l->ring);
	l->ring = NULL;
	l->ring_cap = l->ring_len = 0;
}

uint64_t link_rate_bps(const struct link_params *p)
{
	return p->trace ? trace_mean_rate_bps(p->trace) : p->rate_bps;
}

static void drain(struct link *l, uint64_t now)
{
	while (l->ring_len && l->ring[l->ring_head].departure_ns <= now) {
		l->queued_bytes -= l->ring[l->ring_head].bytes;
		l->ring_head = (l->ring_head + 1) & (l->ring_cap - 1);
		l->ring_len--;
	}
}

uint64_t link_queue_bytes_now(struct link *l, uint64_t now)
{
	drain(l, now);
	return l->queued_bytes;
}

static int enqueue(struct link *l, uint64_t departure, uint64_t bytes)
{
	if (l->ring_len == l->ring_cap) {
		size_t cap = l->ring_cap ? 2 * l->ring_cap : 256;
		struct link_pending *r = malloc(cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		/* unroll the old ring into the new one, oldest first */
		for (size_t k = 0; k < l->ring_len; k++)
			r[k] = l->ring[(l->ring_head + k) & (l->ring_cap - 1)];
		free(l->ring);
		l->ring = r;
		l->ring_cap = cap;
		l->ring_head = 0;
	}
	l->ring[(l->ring_head + l->ring_len) & (l->ring_cap - 1)] =
		(struct link_pending){ .departure_ns = departure, .bytes = bytes };
	l->ring_len++;
	l->queued_bytes += bytes;
	return 0;
}

static int in_outage(const struct link *l, uint64_t now)
{
	if (now < l->epoch_ns)
		return 0;
	now -= l->epoch_ns;
	for (unsigned k = 0; k < l->p.ndown; k++)
		if (now >= l->p.down[k].start_ns && now < l->p.down[k].end_ns)
			return 1;
	return 0;
}

static int lost(struct link *l, struct mpt_rng *rng)
{
	if (l->p.ge) {
		if (l->ge_bad)
			l->ge_bad = rng_double(rng) >= l->p.ge_r;
		else
			l->ge_bad = rng_double(rng) < l->p.ge_p;
		return rng_double(rng) < (l->ge_bad ? l->p.ge_h : l->p.ge_k);
	}
	return l->p.loss > 0 && rng_double(rng) < l->p.loss;
}

static uint64_t opp_time_ns(const struct trace *t, uint64_t opp)
{
	return ((opp / t->n) * t->period_ms + t->ms[opp % t->n]) * 1000000ull;
}

/* The first opportunity at or after now. */
static uint64_t first_opp_at(const struct trace *t, uint64_t now)
{
	uint64_t period_ns = (uint64_t)t->period_ms * 1000000ull;
	uint64_t cycle = now / period_ns;
	uint64_t offset_ms = (now % period_ns + 999999) / 1000000;	/* round up to a ms */
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->ms[mid] < offset_ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	return cycle * t->n + lo;	/* lo == n rolls into the next cycle's first */
}

/* now: in trace time (ours plus trace_shift_ns); so is what it returns */
static uint64_t serialize_trace(struct link *l, uint64_t now, uint64_t bytes)
{
	const struct trace *t = l->p.trace;

	if (l->busy_until_ns + l->trace_shift_ns <= now &&
	    (l->credit == 0 || opp_time_ns(t, l->opp) < now)) {
		l->opp = first_opp_at(t, now);
		l->credit = TRACE_PACKET_BYTES;
	}
	while (bytes > l->credit) {
		bytes -= l->credit;
		l->opp++;
		l->credit = TRACE_PACKET_BYTES;
	}
	l->credit -= bytes;
	return opp_time_ns(t, l->opp);
}

static uint64_t serialize_rate(struct link *l, uint64_t now, uint64_t bytes)
{
	unsigned __int128 bits_ns = (unsigned __int128)bytes * 8 * 1000000000ull;
	uint64_t start = now;

	if (l->busy_until_ns > now) {
		start = l->busy_until_ns;
		bits_ns += l->busy_frac;
	}
	l->busy_frac = (uint64_t)(bits_ns % l->p.rate_bps);
	return start + (uint64_t)(bits_ns / l->p.rate_bps);
}

enum link_fate link_send(struct link *l, uint64_t now, size_t bytes, struct mpt_rng *rng,
			 uint64_t *arrival_ns)
{
	uint64_t departure, arrival, delay = l->p.delay_ns;

	l->stats.pkts_in++;
	l->stats.bytes_in += bytes;
	if (in_outage(l, now)) {
		l->stats.drop_down++;
		return LINK_DROP_DOWN;
	}
	if (lost(l, rng)) {
		l->stats.drop_loss++;
		return LINK_DROP_LOSS;
	}
	drain(l, now);
	if (l->queued_bytes + bytes > l->p.queue_bytes) {
		l->stats.drop_queue++;
		return LINK_DROP_QUEUE;
	}
	departure = l->p.trace ? serialize_trace(l, now + l->trace_shift_ns, bytes) - l->trace_shift_ns :
				 serialize_rate(l, now, bytes);
	if (enqueue(l, departure, bytes) < 0) {
		l->stats.drop_queue++;
		return LINK_DROP_QUEUE;
	}
	l->busy_until_ns = departure;
	if (l->p.jitter_ns) {
		uint64_t span = 2 * l->p.jitter_ns + 1;
		int64_t j = (int64_t)rng_below(rng, span) - (int64_t)l->p.jitter_ns;

		delay = (int64_t)delay + j < 0 ? 0 : (uint64_t)((int64_t)delay + j);
	}
	arrival = departure + delay;
	if (arrival < l->last_arrival_ns)
		arrival = l->last_arrival_ns;	/* jitter never reorders a link */
	l->last_arrival_ns = arrival;
	l->stats.pkts_out++;
	l->stats.bytes_out += bytes;
	*arrival_ns = arrival;
	return LINK_DELIVER;
}
