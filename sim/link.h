/* link: the model of one direction of one uplink. Given a packet's size, `now` and an rng, it
 * decides the packet's fate and, when delivered, its arrival time; it schedules nothing, so the
 * simulator drives it with simulated time and a real-time emulator can drive it with the wall
 * clock. The caller embeds struct link and calls link_free to release its queue ring;
 * link_send runs per packet and allocates only when the queue reaches a new high-water mark. */
#ifndef MPT_LINK_H
#define MPT_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "sim/trace.h"

#define LINK_MAX_DOWN 8

struct link_params {
	uint64_t rate_bps;		/* 0 when trace is set */
	const struct trace *trace;	/* not owned: 1500-byte delivery opportunities */
	uint64_t delay_ns;		/* one-way propagation */
	uint64_t jitter_ns;		/* extra delay uniform in [-jitter, +jitter], FIFO kept */
	double loss;			/* Bernoulli loss probability, at entry (uses no capacity) */
	int ge;				/* Gilbert-Elliott instead of Bernoulli when nonzero: */
	double ge_p, ge_r;		/*   per packet, good->bad with p, bad->good with r, */
	double ge_h, ge_k;		/*   then loss with h in bad, k in good (netem's p r 1-h 1-k) */
	uint64_t queue_bytes;		/* drop-tail limit on bytes waiting or in transmission */
	unsigned ndown;
	struct { uint64_t start_ns, end_ns; } down[LINK_MAX_DOWN];	/* outages [start, end) */
};

enum link_fate { LINK_DELIVER, LINK_DROP_LOSS, LINK_DROP_QUEUE, LINK_DROP_DOWN };

struct link_stats {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
	uint64_t drop_loss, drop_queue, drop_down;
};

struct link_pending {
	uint64_t departure_ns;
	uint64_t bytes;
};

struct link {
	struct link_params p;
	struct link_stats stats;
	/* serialization */
	uint64_t busy_until_ns;		/* departure of the last packet accepted */
	uint64_t busy_frac;		/* rate link: sub-nanosecond remainder, in bit-ns units */
	uint64_t opp;			/* trace link: absolute index of the current opportunity */
	uint64_t credit;		/* bytes left in it */
	/* queue: packets not yet departed, oldest first */
	struct link_pending *ring;
	size_t ring_cap, ring_head, ring_len;
	uint64_t queued_bytes;
	/* loss and jitter */
	int ge_bad;
	uint64_t last_arrival_ns;
	/* the time a trace's first millisecond and an outage's times count from */
	uint64_t epoch_ns, trace_shift_ns;
};

/* 0, or -EINVAL when neither rate nor trace is set or a probability is out of [0, 1]. */
int link_init(struct link *l, const struct link_params *p);
/* Play the trace and count the outages from epoch_ns on (0 after link_init): the simulator's
 * warm-up runs before the scenario's time 0. */
void link_set_epoch(struct link *l, uint64_t epoch_ns);
void link_free(struct link *l);
enum link_fate link_send(struct link *l, uint64_t now_ns, size_t bytes, struct mpt_rng *rng,
			 uint64_t *arrival_ns);
/* The rate, or a trace's mean rate, in bit/s. */
uint64_t link_rate_bps(const struct link_params *p);
/* Bytes waiting or in transmission at now. */
uint64_t link_queue_bytes_now(struct link *l, uint64_t now_ns);

#endif
