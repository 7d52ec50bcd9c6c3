/* tcp: a sans-I/O model of one bulk TCP flow, sender and receiver halves, counted in segments
 * of `mss` bytes numbered from 0. Good enough to show what reordering and loss across tunnel
 * paths do to TCP: slow start, Reno congestion avoidance, SACK-based fast recovery with
 * forward-acknowledgement loss marking (a hole `reordering` segments below the highest SACKed
 * one is lost: 3, then the deepest reordering seen, up to 300, as Linux's tp->reordering), the
 * first retransmission sent at once, one window reduction per recovery, RFC 6298 RTO with
 * backoff and Karn's rule, and
 * Linux's undo of a reduction that proves spurious: by timestamps (Eifel, RFC 3522: the ACK
 * that covers a retransmitted hole echoes the original's send time) or by D-SACK (RFC 2883:
 * every retransmission of the episode is reported as a duplicate). Without undo, a hole that
 * the tunnel's reorder buffer releases early and that is then filled late would cost a whole
 * window reduction here and nothing on a real host.
 * _new allocates every ring once, _free frees; the per-segment calls never allocate. No clock:
 * time comes in as nanoseconds. */
#ifndef MPT_TCP_H
#define MPT_TCP_H

#include <stdint.h>

struct tcp_seg {
	uint32_t seq;		/* segment number */
	uint16_t len;
	uint8_t retx;
	uint64_t ts;		/* TSval: the sender's clock when this copy left */
};

struct tcp_ack {
	uint32_t cum;		/* next segment expected */
	uint8_t nsack;
	uint8_t dsack;		/* sack[0] reports a segment received twice (RFC 2883) */
	struct { uint32_t start, end; } sack[3];	/* [start, end), most recent first */
	uint64_t tsecr;		/* TSecr: TS.Recent of RFC 7323, 0 before any */
};

struct tcp_config {
	uint32_t mss;
	uint32_t init_cwnd;	/* segments (10) */
	uint32_t max_cwnd;	/* segments, also the receive window (16384) */
	uint64_t min_rto_ns;	/* 200 ms */
	uint32_t limit_segments;	/* 0: never ends */
	int delayed_ack;	/* ACK every 2nd in-order segment or after 40 ms */
};

struct tcp_sender_stats {
	uint64_t segs_sent, retransmits, fast_recoveries, timeouts, undos;
	uint32_t cwnd, ssthresh, snd_una;
	uint64_t srtt_ns;
};

void tcp_config_default(struct tcp_config *c, uint32_t mss);

struct tcp_sender *tcp_sender_new(const struct tcp_config *c);
void tcp_sender_free(struct tcp_sender *s);
/* 1: send *out now (lost segments first, then new data while the pipe is below cwnd). The
 * caller loops until 0 after every event. */
int tcp_sender_next(struct tcp_sender *s, uint64_t now, struct tcp_seg *out);
void tcp_sender_on_ack(struct tcp_sender *s, uint64_t now, const struct tcp_ack *a);
/* RTO expiry, or UINT64_MAX when nothing is outstanding. */
uint64_t tcp_sender_deadline(const struct tcp_sender *s);
/* A no-op before the deadline. */
void tcp_sender_on_timer(struct tcp_sender *s, uint64_t now);
void tcp_sender_stats(const struct tcp_sender *s, struct tcp_sender_stats *out);

struct tcp_receiver *tcp_receiver_new(const struct tcp_config *c);
void tcp_receiver_free(struct tcp_receiver *r);
/* 1 when an ACK must go out now (in *ack_out). */
int tcp_receiver_on_seg(struct tcp_receiver *r, uint64_t now, const struct tcp_seg *seg,
			struct tcp_ack *ack_out);
uint64_t tcp_receiver_deadline(const struct tcp_receiver *r);
int tcp_receiver_on_timer(struct tcp_receiver *r, uint64_t now, struct tcp_ack *ack_out);
uint64_t tcp_receiver_delivered_bytes(const struct tcp_receiver *r);
uint64_t tcp_receiver_dup_segs(const struct tcp_receiver *r);

#endif
