/* sched: the scheduler interface between the engine (core) and the schedulers (sched/).
 * A scheduler is a const ops table plus a private state block of state_size bytes that the
 * engine allocates once and frees; the scheduler never allocates. pick() runs per packet. */
#ifndef MPT_SCHED_H
#define MPT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/path.h"
#include "core/rng.h"

/* Paced schedulers: the longest sojourn the engine's queue lets a bulk flow keep (its CoDel
 * target is a few ms plus the spread of the paths' one-way delays, capped here). A path whose
 * one-way delay exceeds the fastest's by more can never be worth a bulk flow's packet: the
 * queue it would drain in parallel is never that long. */
#define SCHED_QUEUE_MAX_NS (60ull * 1000000)

/* The most paths one pick may return (more than one duplicates the packet). */
#define SCHED_MAX_PICK 4

/* What a scheduler may see: a read-only table of paths and the call's context. */
struct sched_view {
	uint64_t now_ns;
	struct mpt_rng *rng;
	const struct mpt_path *paths;	/* indexed by path_index(local, remote) */
	unsigned nlocal, nremote;
	uint32_t writable_mask;		/* bit i: local i can take a datagram now */
	size_t len;			/* plaintext length of the packet being placed */
	/* paced schedulers: what the tunnel's queue holds of this packet's inner flow, this
	 * packet included (a ping's is its own length; a bulk transfer's, its queue) */
	uint64_t backlog_bytes;
	uint64_t flow_rate_bps;		/* that flow's arrival rate (fq_peek_flow_rate) */
};

struct mpt_sched_ops {
	const char *name;
	const char *summary;		/* one line for `--sched list` */
	size_t state_size;
	/* args is the text after "NAME:" or NULL; returns 0 or -EINVAL. Required. */
	int (*init)(void *state, const char *args);
	void (*release)(void *state);
	/* Writes up to max path indices to out; returns how many (0: no usable path). Required. */
	int (*pick)(void *state, const struct sched_view *v, uint16_t *out, int max);
	/* Optional event hooks. */
	void (*on_sent)(void *state, const struct sched_view *v, unsigned path, size_t len);
	/* An authenticated datagram arrived on local from remote. */
	void (*on_recv)(void *state, const struct sched_view *v, unsigned local, unsigned remote);
	/* The path's estimators were just updated from the peer's feedback. */
	void (*on_feedback)(void *state, const struct sched_view *v, unsigned path);
	void (*on_path_state)(void *state, const struct sched_view *v, unsigned path, bool up);
	/* Remote slot now holds a new peer address (a server learning its peer); forget its history. */
	void (*on_remote_new)(void *state, const struct sched_view *v, unsigned remote);
	/* Late binding (core/sendq.c). The engine keeps tun packets in its own fair queue and paces
	 * every path at its estimated capacity (path->pacer, path->cap); pick() is asked for the
	 * queue's head packet and returns the path it should leave on; the engine sends it when
	 * that path's pacer allows, which may be later (the packet waits in the queue, pick() is
	 * asked again then). Without it, pick() places each packet as it comes from tun. */
	bool paced;
	/* When a path stalls, the engine sends its unacknowledged data again, once, on the
	 * paths pick() chooses (a copy landing on the stalled path itself is not sent). */
	bool reinject;
	/* Optional, for status only: the relative weight this scheduler gives path now (the
	 * caller normalises over all paths). */
	double (*weight)(const void *state, const struct sched_view *v, unsigned path);
};

static inline bool sched_writable(const struct sched_view *v, unsigned local)
{
	return (v->writable_mask >> local) & 1u;
}

#endif
