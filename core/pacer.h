/* pacer: one path's departure schedule, so that a path is sent at about its estimated capacity
 * and its own buffer holds a few milliseconds at most (issue 11). A plain struct the caller
 * embeds, one per path; no allocation, no clock: every call takes `now` (monotonic ns). Every
 * function here may run per packet.
 *
 * Model: a virtual clock (GCRA, the token bucket written in time). `tat` is the time at which
 * every byte sent so far has left at the configured rate ("theoretical arrival time").
 *   - cost(len) = len * 8 * 1e9 / rate_bps ns. It is added as an exact fraction: the schedule is
 *     tat_ns + tat_rem / rate_bps, with 0 <= tat_rem < rate_bps, so that
 *         num = len * 8e9 + tat_rem;  tat_ns += num / rate;  tat_rem = num % rate
 *     carries the remainder and n sends of len bytes in a row (no idle between) advance tat
 *     by exactly floor(n * len * 8e9 / rate) ns: no drift, however odd the rate.
 *   - A datagram of len bytes may leave once
 *         tat + cost(len) - cost(max(burst_bytes, len)) <= now,
 *     i.e. at next_ns = tat - credit, credit = cost(burst_bytes - len) if burst_bytes > len,
 *     else 0. So burst_bytes (fq's quantum, tbf's burst) may leave back to back; a datagram
 *     bigger than the burst leaves alone once the schedule has caught up with now.
 *   - On a send, tat = max(tat, now) + cost(len): time spent idle is forgotten, so an idle path
 *     earns at most burst_bytes of back-to-back credit, never more.
 * next_ns is floor(tat) - floor(credit), within 1 ns of the exact time; the fraction is kept in
 * the state, so the rounding never accumulates.
 *
 * Rate 0 means unpaced (every datagram may leave at once; nothing is scheduled): an estimator
 * with no sample yet must not block a path. Bytes sent unpaced are not charged when a rate
 * is set: pacing starts from the later of now and what was scheduled before. Blocking a path
 * (down, stalled) is the caller's job; a pacer spaces departures, it does not admit them.
 * Limits: rates above PACER_MAX_RATE_BPS and lengths (and bursts) above PACER_MAX_BYTES are
 * taken as those maxima, which keeps len * 8e9 + rem within 64 bits; times saturate at
 * UINT64_MAX instead of wrapping. */
#ifndef MPT_PACER_H
#define MPT_PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACER_MAX_RATE_BPS (1ull << 40)		/* about 1.1 Tbit/s */
#define PACER_MAX_BYTES (1ull << 30)

struct pacer {
	uint64_t rate_bps;		/* 0: unpaced */
	uint64_t burst_bytes;
	uint64_t tat_ns;		/* the schedule: tat_ns + tat_rem / rate_bps */
	uint64_t tat_rem;		/* < rate_bps */
};

/* The schedule starts at now: burst_bytes may leave at once. */
void pacer_init(struct pacer *p, uint64_t rate_bps, uint64_t burst_bytes, uint64_t now);
/* A new rate from the estimator. Bytes already scheduled ahead of now drain at the new rate
 * (they are re-timed exactly: bytes are conserved, so a lower rate grants no extra burst and a
 * higher one no credit for the past); every datagram sent afterwards costs len at the new rate.
 * Called at or after the due time of the next departure, the change applies from the next
 * datagram's cost on. */
void pacer_set_rate(struct pacer *p, uint64_t rate_bps, uint64_t now);
void pacer_set_burst(struct pacer *p, uint64_t burst_bytes);
/* The earliest time a datagram of len bytes may leave, from the pacer's state alone; a time at
 * or before now means at once. 0 when unpaced. Non-decreasing over sends at a fixed rate. */
uint64_t pacer_next_ns(const struct pacer *p, size_t len);
bool pacer_can_send(const struct pacer *p, size_t len, uint64_t now);
/* Account a departure of len bytes at now (whether or not the pacer allowed it). */
void pacer_on_send(struct pacer *p, size_t len, uint64_t now);
/* How far the schedule runs ahead of now: what the bytes already sent still take to drain at
 * the rate, i.e. about the queueing delay they meet if the rate is right. 0 when unpaced. */
uint64_t pacer_queue_delay_ns(const struct pacer *p, uint64_t now);

#endif
