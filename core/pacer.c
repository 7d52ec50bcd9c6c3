/* The schedule is kept as an exact fraction of a nanosecond, tat_ns + tat_rem / rate_bps, so
 * that pacing at a rate that does not divide 8e9 loses nothing per packet (see pacer.h for the
 * arithmetic). All of it is integer: with rate <= 2^40 and len <= 2^30, len * 8e9 + rem stays
 * below 2^64, and a rate change re-times the backlog with a 64-bit multiply-divide that splits
 * the multiplier rather than needing 128-bit integers or a double. */
#include "core/pacer.h"

#define NS_BITS 8000000000ull		/* ns per second times bits per byte */

static uint64_t clamp_rate(uint64_t rate_bps)
{
	return rate_bps > PACER_MAX_RATE_BPS ? PACER_MAX_RATE_BPS : rate_bps;
}

static uint64_t clamp_bytes(uint64_t bytes)
{
	return bytes > PACER_MAX_BYTES ? PACER_MAX_BYTES : bytes;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* floor(bytes * 8e9 / rate): the time bytes take at rate, rounded down. */
static uint64_t cost_ns(uint64_t bytes, uint64_t rate_bps)
{
	return clamp_bytes(bytes) * NS_BITS / rate_bps;
}

/* floor((d * a + extra) / c) and its remainder, exactly, for a, c in [1, 2^40] and
 * extra < 2^61; saturates at UINT64_MAX (the remainder is then 0). With d = q c + r,
 * d a = q a c + r a, and r a (up to 2^80) is split as r (ah 2^20 + al):
 * r ah = q1 c + r1, so r a + extra = q1 2^20 c + t2 with t2 = r1 2^20 + r al + extra < 2^62. */
static uint64_t muldiv(uint64_t d, uint64_t a, uint64_t c, uint64_t extra, uint64_t *rem)
{
	uint64_t q = d / c, r = d % c;
	uint64_t ah = a >> 20, al = a & ((1ull << 20) - 1);
	uint64_t t1 = r * ah, q1 = t1 / c, r1 = t1 % c;
	uint64_t t2 = (r1 << 20) + r * al + extra;
	uint64_t frac = (q1 << 20) + t2 / c;

	if (q > (UINT64_MAX - frac) / a) {
		*rem = 0;
		return UINT64_MAX;
	}
	*rem = t2 % c;
	return q * a + frac;
}

void pacer_init(struct pacer *p, uint64_t rate_bps, uint64_t burst_bytes, uint64_t now)
{
	p->rate_bps = clamp_rate(rate_bps);
	p->burst_bytes = clamp_bytes(burst_bytes);
	p->tat_ns = now;
	p->tat_rem = 0;
}

void pacer_set_rate(struct pacer *p, uint64_t rate_bps, uint64_t now)
{
	uint64_t old = p->rate_bps, rate = clamp_rate(rate_bps);

	if (rate == old)
		return;
	p->rate_bps = rate;
	if (old == 0 || rate == 0 || p->tat_ns < now) {
		/* nothing scheduled ahead of now, or no rate to convert from or to: the fraction is in
		 * units of the old rate, drop it; time behind now earns nothing (on_send restarts the
		 * schedule at now) */
		p->tat_rem = 0;
		return;
	}
	/* backlog (tat_ns - now) + tat_rem / old ns at old is (that) * old / 8e9 bytes; the same
	 * bytes at the new rate take ((tat_ns - now) * old + tat_rem) / rate ns */
	p->tat_ns = add_sat(now, muldiv(p->tat_ns - now, old, rate, p->tat_rem, &p->tat_rem));
}

void pacer_set_burst(struct pacer *p, uint64_t burst_bytes)
{
	p->burst_bytes = clamp_bytes(burst_bytes);
}

uint64_t pacer_next_ns(const struct pacer *p, size_t len)
{
	uint64_t credit;

	if (p->rate_bps == 0)
		return 0;
	credit = p->burst_bytes > len ? cost_ns(p->burst_bytes - len, p->rate_bps) : 0;
	return p->tat_ns > credit ? p->tat_ns - credit : 0;
}

bool pacer_can_send(const struct pacer *p, size_t len, uint64_t now)
{
	return pacer_next_ns(p, len) <= now;
}

void pacer_on_send(struct pacer *p, size_t len, uint64_t now)
{
	uint64_t num;

	if (p->tat_ns < now) {
		/* idle: the schedule restarts at now, its fraction with it */
		p->tat_ns = now;
		p->tat_rem = 0;
	}
	if (p->rate_bps == 0)
		return;
	num = clamp_bytes(len) * NS_BITS + p->tat_rem;
	p->tat_rem = num % p->rate_bps;
	p->tat_ns = add_sat(p->tat_ns, num / p->rate_bps);
}

uint64_t pacer_queue_delay_ns(const struct pacer *p, uint64_t now)
{
	if (p->rate_bps == 0 || p->tat_ns <= now)
		return 0;
	return p->tat_ns - now;
}
