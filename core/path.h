/* path: one path (local address i, remote address j): its send-side sequence numbers and the
 * estimators fed by the peer's feedback (loss, RTT, delivery rate, inflight, liveness), plus
 * the receive-side record of one of the peer's paths. Plain structs embedded in the engine; no
 * allocation. Every function here may run per packet. */
#ifndef MPT_PATH_H
#define MPT_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/capacity.h"
#include "core/pacer.h"

#define MPT_MAX_LOCAL 16
#define MPT_MAX_REMOTE 16
#define MPT_MAX_PATHS (MPT_MAX_LOCAL * MPT_MAX_REMOTE)

/* Liveness: probe a path with nothing sent for PATH_PROBE_NS; call it down after
 * PATH_DEAD_NS without feedback, so that it is down within 1 s of silence. */
#define PATH_PROBE_NS (200ull * 1000000)
/* A path that has come up is young until feedback has covered PATH_YOUNG_PKTS of its packets
 * (probes or data) since: it is probed every PATH_PROBE_YOUNG_NS meanwhile, so that its loss
 * rate is known within a second of it coming up, before the first packets of a flow are spread
 * onto it (a TCP flow that loses one of its first packets leaves slow start at a few packets).
 * 50 probes see at least one loss on a path that loses 10 % with 99.5 % odds. */
#define PATH_YOUNG_PKTS 50
#define PATH_PROBE_YOUNG_NS (20ull * 1000000)
#define PATH_DEAD_NS (700ull * 1000000)
/* Receivers send feedback on a path at most this often while packets arrive on it. */
#define PATH_FEEDBACK_NS (20ull * 1000000)
/* Loss EWMA: each packet covered by feedback weighs 1/PATH_LOSS_PKTS. */
#define PATH_LOSS_PKTS 256
#define PATH_RECENT 8		/* loss_recent covers the last 8 feedbacks */
#define PATH_SENT_RING 512	/* cumulative bytes per recent sequence, for inflight */
/* Min RTT forgets after 300 s: long, because a tunnel cannot drain its senders' queues to
 * re-measure it, and a standing queue must not pass for the path's base delay. */
/* A path with data outstanding whose peer stays silent past srtt + 4 rttvar + PATH_STALL_NS
 * (at least the receiver's feedback interval), counted from the later of its last feedback
 * and its oldest unanswered elicit, is stalled: a cellular gap or a dying link, long before
 * liveness calls it down. */
#define PATH_STALL_NS (20ull * 1000000)
#define PATH_MIN_RTT_WINDOW_NS (300ull * 1000000000)

struct wire_fb_block;

static inline unsigned path_index(unsigned local, unsigned remote)
{
	return local * MPT_MAX_REMOTE + remote;
}

static inline uint8_t path_id(unsigned local, unsigned remote)
{
	return (uint8_t)(local << 4 | remote);
}

struct mpt_path {
	uint8_t local, remote;
	bool up;
	/* send side */
	uint32_t next_seq;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_data;		/* tun packets among tx_packets */
	uint64_t last_tx_data_ns;	/* when the last of them left */
	uint64_t last_elicit_ns;	/* last data or probe: things that ask for feedback */
	uint32_t elicit_seq;		/* its sequence number */
	bool elicit_pending;		/* no feedback has covered it yet */
	uint64_t elicit_since_ns;	/* the oldest elicit feedback has not covered */
	uint32_t sent_cum[PATH_SENT_RING];
	/* estimators */
	uint64_t srtt_ns, rttvar_ns, min_rtt_ns, latest_rtt_ns, min_rtt_stamp_ns;
	uint64_t fwd_qdelay_ns;		/* the peer's report of this direction's queueing delay */
	double loss_ewma;		/* fraction 0..1, per-packet weighted */
	double loss_recent;		/* fraction over the last PATH_RECENT feedbacks */
	uint64_t delivery_rate_bps;	/* smoothed, as the peer reports bytes received */
	uint32_t inflight_bytes;
	uint64_t last_fb_ns;
	uint64_t fb_count;
	uint64_t acked_bytes;		/* bytes the peer reported received, cumulative */
	uint64_t lost_packets;		/* sent packets the peer's feedback shows missing */
	uint64_t covered_packets;	/* sent packets that feedback has accounted for */
	uint64_t covered_at_up;		/* covered_packets when it last came up */
	/* feedback bookkeeping */
	bool fb_baseline;		/* the next feedback only sets the baseline */
	uint32_t fb_high_seq, fb_recv_count, fb_recv_bytes, fb_ts_echo;
	uint32_t rate_bytes0;
	uint64_t rate_t0_ns;
	unsigned recent_pos;
	uint32_t recent_sent[PATH_RECENT], recent_lost[PATH_RECENT];
	bool reinjected;		/* its stalled data went out again on other paths */
	/* counters for status */
	uint64_t rx_packets, rx_bytes, downs;
	/* pacing, for schedulers that bind late (core/sendq.c); untouched otherwise */
	bool paced;
	struct capacity cap;
	struct pacer pacer;
	bool dr_valid;			/* the delivery-rate anchor below is set */
	uint32_t dr_seq, dr_ts_us, dr_bytes;	/* the last sample's newest packet, as fed back */
	uint64_t dr_ack_ns;		/* when it reached the peer, on our clock (less the way back) */
	bool idle_marked;		/* the path could send and was given nothing, */
	uint32_t idle_seq;		/* when its next sequence number was this */
};

/* The receiver's record of one of the peer's paths, keyed by the peer's path id. */
struct path_rx {
	bool active;
	bool dirty;			/* packets arrived that feedback has not reported */
	uint8_t local, remote;		/* the reverse route: where feedback goes */
	uint32_t high_seq, recv_count, recv_bytes;
	uint32_t ts_echo;
	uint64_t ts_arrival_ns, last_rx_ns, last_fb_ns;
	uint32_t data_floor;		/* data_seq below this was sent on this path before */
	/* the highest outer counter that arrived on it in the current session: a new peer
	 * address is learnt only from a datagram above it (core/engine.c) */
	bool counter_seen;
	uint64_t counter_top;
	/* one-way delay of its packets, as arrival minus the peer's tx_us: offset by the two clocks'
	 * difference, the same for every path of one peer, so paths compare exactly (RFC 6298's
	 * smoothing, microseconds) */
	bool owd_valid;
	int32_t owd_us;
	uint32_t owd_var_us;
	int32_t owd_last_us;		/* the latest packet's */
	int32_t owd_min_us;		/* the least since owd_min_ns (renewed every 10 s) */
	uint64_t owd_min_ns;
	uint64_t last_data_ns;		/* its last data packet (a missing one can only be on a
					 * path that carries data) */
};

/* up: whether the path may carry data before its first feedback (see path_mark_up). */
void path_init(struct mpt_path *p, unsigned local, unsigned remote, bool up, uint64_t now);
/* Pace p from now on (its estimator starts afresh). */
void path_pace_init(struct mpt_path *p, uint64_t now);
/* p could send now and the tunnel gives it nothing: delivery samples that span this moment
 * say what the path carried, not what it could carry. */
static inline void path_mark_idle(struct mpt_path *p)
{
	p->idle_marked = true;
	p->idle_seq = p->next_seq;
}
/* RFC 6298's smoothing of one RTT sample into srtt and rttvar (0 = no sample yet). */
void path_rtt_sample(uint64_t *srtt, uint64_t *rttvar, uint64_t rtt);
/* Account a datagram of len bytes sent on p; returns the path_seq it must carry. */
uint32_t path_on_send(struct mpt_path *p, uint64_t now, size_t len, bool elicits);
/* Fold the peer's feedback block into the estimators. */
void path_on_feedback(struct mpt_path *p, uint64_t now, const struct wire_fb_block *b);
/* Liveness transitions; return true when the state changed. */
bool path_mark_up(struct mpt_path *p);
/* How long p may go without an elicit (data or probe) before it is probed. */
static inline uint64_t path_probe_interval(const struct mpt_path *p)
{
	return p->up && p->covered_packets - p->covered_at_up < PATH_YOUNG_PKTS ?
	       PATH_PROBE_YOUNG_NS : PATH_PROBE_NS;
}
bool path_check_down(struct mpt_path *p, uint64_t now);

bool path_stalled(const struct mpt_path *p, uint64_t now);
/* A paced path out of start-up that the peer reports queueing (over CAP_QDELAY_NS) and whose
 * outstanding bytes would take it, at the lesser of its estimate and its last delivery sample
 * taken while we sent it more (capacity.h's last_bps), more than PATH_BACKLOG_NS beyond its
 * least RTT to deliver: its capacity fell under what was sent into it before feedback could
 * tell (a cellular link from 20 to 1 Mbit/s queues what it was sent in those ~100 ms for a
 * second), and every other path's packets wait at the receiver for those. Its oldest are
 * re-sent elsewhere, as a stalled path's are. */
#define PATH_BACKLOG_NS (100ull * 1000000)
bool path_backlogged(const struct mpt_path *p);
/* When p would count as stalled if nothing changes, or UINT64_MAX. */
uint64_t path_stall_deadline(const struct mpt_path *p);

void path_rx_on_packet(struct path_rx *rx, uint64_t now, unsigned local, unsigned remote,
		       uint32_t seq, uint32_t tx_us, size_t frame_len);
void path_rx_fill_block(const struct path_rx *rx, uint8_t peer_path_id, uint64_t now,
			struct wire_fb_block *b);

/* Serial-number comparison for 32-bit sequence spaces. */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

#endif
