/* Path estimators. The peer's feedback carries cumulative counts (highest sequence, packets and
 * bytes received) and echoes our send timestamp, so a lost feedback loses nothing: the next one
 * carries the same totals. Loss, rate and RTT are all deltas between two feedbacks. */
#include "core/path.h"

#include <string.h>

#include "core/wire.h"

void path_init(struct mpt_path *p, unsigned local, unsigned remote, bool up, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->local = (uint8_t)local;
	p->remote = (uint8_t)remote;
	p->up = up;
	/* Counts as heard from at creation: a path that never answers goes down after PATH_DEAD_NS. */
	p->last_fb_ns = now;
	p->fb_baseline = true;
}

/* The least one-way delay a receiver compares against is renewed this often: a path whose
 * delay grew for good (a new route) is not read as queueing for ever. */
#define RX_OWD_MIN_WINDOW_NS (10000ull * 1000000)

/* A pacer lets this much leave back to back: two datagrams, or a millisecond at its rate. */
static uint64_t pace_burst(uint64_t rate_bps)
{
	uint64_t ms = rate_bps / 8000;

	return ms > 2 * 1514 ? ms : 2 * 1514;
}

void path_pace_init(struct mpt_path *p, uint64_t now)
{
	p->paced = true;
	capacity_init(&p->cap, now, 5u * p->local + 3u * p->remote);
	pacer_init(&p->pacer, capacity_pacing_bps(&p->cap), pace_burst(CAP_INIT_BPS), now);
	p->dr_valid = false;
	p->idle_marked = false;
}

uint32_t path_on_send(struct mpt_path *p, uint64_t now, size_t len, bool elicits)
{
	uint32_t seq = p->next_seq++;

	p->tx_packets++;
	p->tx_bytes += len;
	p->inflight_bytes += (uint32_t)len;
	p->sent_cum[seq % PATH_SENT_RING] = (uint32_t)p->tx_bytes;
	if (p->paced)
		pacer_on_send(&p->pacer, len, now);
	if (elicits) {
		if (!p->elicit_pending)
			p->elicit_since_ns = now;
		p->last_elicit_ns = now;
		p->elicit_seq = seq;
		p->elicit_pending = true;
	}
	return seq;
}

void path_rtt_sample(uint64_t *srtt, uint64_t *rttvar, uint64_t rtt)
{
	if (*srtt == 0) {
		*srtt = rtt;
		*rttvar = rtt / 2;
	} else {
		/* RFC 6298 gains: rttvar 1/4, srtt 1/8. */
		uint64_t dev = *srtt > rtt ? *srtt - rtt : rtt - *srtt;

		*rttvar = (3 * *rttvar + dev) / 4;
		*srtt = (7 * *srtt + rtt) / 8;
	}
}

static void update_rtt(struct mpt_path *p, uint64_t now, const struct wire_fb_block *b)
{
	uint32_t now_us = (uint32_t)(now / 1000);
	int64_t rtt_us;
	uint64_t rtt;

	if (b->ts_echo_us == p->fb_ts_echo && p->fb_count > 1)
		return;		/* same packet echoed again: no new sample */
	p->fb_ts_echo = b->ts_echo_us;
	rtt_us = (int32_t)(now_us - b->ts_echo_us) - (int64_t)b->echo_delay_us;
	if (rtt_us <= 0)
		rtt_us = 1;
	rtt = (uint64_t)rtt_us * 1000;
	p->latest_rtt_ns = rtt;
	path_rtt_sample(&p->srtt_ns, &p->rttvar_ns, rtt);
	if (p->min_rtt_ns == 0 || rtt <= p->min_rtt_ns ||
	    now - p->min_rtt_stamp_ns > PATH_MIN_RTT_WINDOW_NS) {
		p->min_rtt_ns = rtt;
		p->min_rtt_stamp_ns = now;
	}
}

static void update_loss(struct mpt_path *p, uint32_t dsent, int64_t dlost)
{
	double sample, alpha;
	uint32_t sent = 0, lost = 0;

	if (dsent == 0)
		return;
	if (dlost < 0)
		dlost = 0;	/* late arrivals repaid an earlier interval's loss */
	if ((uint64_t)dlost > dsent)
		dlost = dsent;
	p->lost_packets += (uint64_t)dlost;
	p->covered_packets += dsent;
	sample = (double)dlost / dsent;
	alpha = (double)dsent / (dsent + PATH_LOSS_PKTS);
	p->loss_ewma += alpha * (sample - p->loss_ewma);

	p->recent_sent[p->recent_pos] = dsent;
	p->recent_lost[p->recent_pos] = (uint32_t)dlost;
	p->recent_pos = (p->recent_pos + 1) % PATH_RECENT;
	for (int i = 0; i < PATH_RECENT; i++) {
		sent += p->recent_sent[i];
		lost += p->recent_lost[i];
	}
	p->loss_recent = sent ? (double)lost / sent : 0.0;
}

static void update_rate(struct mpt_path *p, uint64_t now, uint32_t recv_bytes)
{
	uint64_t dt = now - p->rate_t0_ns;
	uint32_t dbytes = recv_bytes - p->rate_bytes0;
	uint64_t sample;

	/* Shorter intervals measure feedback jitter more than the path. */
	if (dt < 4 * PATH_FEEDBACK_NS)
		return;
	sample = (uint64_t)((double)dbytes * 8e9 / (double)dt);
	p->delivery_rate_bps = p->delivery_rate_bps ?
		(3 * p->delivery_rate_bps + sample) / 4 : sample;
	p->rate_t0_ns = now;
	p->rate_bytes0 = recv_bytes;
}

static void update_inflight(struct mpt_path *p, uint32_t high_seq)
{
	uint32_t outstanding = p->next_seq - high_seq - 1;

	if (outstanding >= p->next_seq)	/* nothing acknowledged that we sent */
		return;
	if (outstanding < PATH_SENT_RING)
		p->inflight_bytes = (uint32_t)p->tx_bytes - p->sent_cum[high_seq % PATH_SENT_RING];
}

/* A delivery-rate sample between the anchor and this feedback: the bytes the peer received over
 * the longer of the span over which we sent them and the span over which they arrived (the
 * peer's echo delay taken off our receive time, the way back assumed steady). Spans shorter
 * than DR_MIN_SPAN_NS are left to grow: they measure the feedback's jitter. */
#define DR_MIN_SPAN_NS (5ull * 1000000)

static void delivery_sample(struct mpt_path *p, uint64_t now, const struct wire_fb_block *b)
{
	uint64_t ack_ns = now - (uint64_t)b->echo_delay_us * 1000;

	if (p->dr_valid) {
		uint64_t d_send = (uint64_t)(uint32_t)(b->ts_echo_us - p->dr_ts_us) * 1000;
		uint64_t d_ack = ack_ns > p->dr_ack_ns ? ack_ns - p->dr_ack_ns : 0;
		uint64_t span = d_send > d_ack ? d_send : d_ack;
		uint32_t bytes = b->recv_bytes - p->dr_bytes;
		bool app_limited = p->idle_marked && seq_lt(p->dr_seq, p->idle_seq);
		/* this direction's queue, as the peer measures it: an RTT would count the other
		 * direction's too */
		uint64_t qdelay = p->fwd_qdelay_ns;

		uint32_t sent;
		bool pushed;

		if (!seq_lt(p->dr_seq, b->high_seq) || span < DR_MIN_SPAN_NS)
			return;		/* nothing new, or too short a span yet: keep the anchor */
		/* pushed: we sent into it faster than it delivered (by an eighth) over the span */
		sent = p->next_seq - p->dr_seq < PATH_SENT_RING ?
		       p->sent_cum[b->high_seq % PATH_SENT_RING] - p->sent_cum[p->dr_seq % PATH_SENT_RING] : 0;
		pushed = d_send > 0 && (double)sent * 8e9 / (double)d_send >
				       (double)bytes * 8e9 / (double)span * 9 / 8;
		capacity_on_sample(&p->cap, now, (uint64_t)((double)bytes * 8e9 / (double)span),
				   app_limited, pushed, p->min_rtt_ns, qdelay);
		uint64_t rate = capacity_pacing_bps(&p->cap);

		pacer_set_rate(&p->pacer, rate, now);
		pacer_set_burst(&p->pacer, pace_burst(rate));
	}
	p->dr_valid = true;
	p->dr_seq = b->high_seq;
	p->dr_ts_us = b->ts_echo_us;
	p->dr_bytes = b->recv_bytes;
	p->dr_ack_ns = ack_ns;
}

void path_on_feedback(struct mpt_path *p, uint64_t now, const struct wire_fb_block *b)
{
	p->fb_count++;
	p->reinjected = false;
	p->last_fb_ns = now;
	p->fwd_qdelay_ns = (uint64_t)b->fwd_qdelay_us * 1000;
	update_rtt(p, now, b);
	if (seq_lt(b->high_seq, p->next_seq))
		update_inflight(p, b->high_seq);
	if (p->fb_baseline) {
		/* First feedback ever, or first after an outage: losses before it say nothing
		 * about the path as it is now. */
		p->fb_baseline = false;
	} else if (!seq_lt(b->high_seq, p->fb_high_seq)) {
		uint32_t dsent = b->high_seq - p->fb_high_seq;
		int64_t dlost = (int64_t)dsent - (int32_t)(b->recv_count - p->fb_recv_count);

		update_loss(p, dsent, dlost);
		p->acked_bytes += b->recv_bytes - p->fb_recv_bytes;
		update_rate(p, now, b->recv_bytes);
		if (p->paced)
			delivery_sample(p, now, b);
	} else {
		return;		/* an older feedback overtaken by a newer one */
	}
	if (p->rate_t0_ns == 0 || p->fb_count == 1) {
		p->rate_t0_ns = now;
		p->rate_bytes0 = b->recv_bytes;
	}
	p->fb_high_seq = b->high_seq;
	if (p->elicit_pending && !seq_lt(b->high_seq, p->elicit_seq))
		p->elicit_pending = false;
	p->fb_recv_count = b->recv_count;
	p->fb_recv_bytes = b->recv_bytes;
}

uint64_t path_stall_deadline(const struct mpt_path *p)
{
	/* only what asks for feedback (data, probes) can be overdue: our own feedback datagrams
	 * are never answered, and counting them made every idle path look stalled. And only from
	 * when it was asked: counted from the last feedback alone, a path idle for a while was
	 * stalled the moment it sent again, and its traffic went to a slower one */
	uint64_t from = p->elicit_since_ns > p->last_fb_ns ? p->elicit_since_ns : p->last_fb_ns;

	if (!p->srtt_ns || !p->elicit_pending)
		return UINT64_MAX;
	return from + p->srtt_ns + 4 * p->rttvar_ns + PATH_STALL_NS;
}

bool path_stalled(const struct mpt_path *p, uint64_t now)
{
	return now > path_stall_deadline(p);
}

bool path_backlogged(const struct mpt_path *p)
{
	/* at what it delivered over the last sample, if we sent it more and that is less: the
	 * estimate steps down over samples */
	uint64_t est = p->cap.last_bps < capacity_estimate_bps(&p->cap) ? p->cap.last_bps :
		       capacity_estimate_bps(&p->cap);

	/* not in start-up, where the estimate trails what the pacer sends by design; and only
	 * with a queue to show for it: the estimate of a path the scheduler gave little is what
	 * it was given, not what it can carry */
	return p->paced && p->cap.mode != CAP_STARTUP && est && p->min_rtt_ns &&
	       p->fwd_qdelay_ns > CAP_QDELAY_NS &&
	       (double)p->inflight_bytes * 8e9 / (double)est >
		       (double)(p->min_rtt_ns + PATH_BACKLOG_NS);
}

bool path_mark_up(struct mpt_path *p)
{
	if (p->up)
		return false;
	p->up = true;
	p->fb_baseline = true;
	p->covered_at_up = p->covered_packets;
	p->min_rtt_ns = 0;	/* it may have come back by another route */
	if (p->paced)
		path_pace_init(p, p->last_fb_ns);
	return true;
}

bool path_check_down(struct mpt_path *p, uint64_t now)
{
	if (!p->up || now - p->last_fb_ns < PATH_DEAD_NS)
		return false;
	p->up = false;
	p->downs++;
	p->inflight_bytes = 0;
	return true;
}

void path_rx_on_packet(struct path_rx *rx, uint64_t now, unsigned local, unsigned remote,
		       uint32_t seq, uint32_t tx_us, size_t frame_len)
{
	if (!rx->active || seq_lt(rx->high_seq, seq)) {
		rx->high_seq = seq;
		rx->ts_echo = tx_us;
		rx->ts_arrival_ns = now;
	}
	{
		int32_t owd = (int32_t)((uint32_t)(now / 1000) - tx_us);

		rx->owd_last_us = owd;
		if (!rx->owd_valid || (int32_t)(owd - rx->owd_min_us) < 0 ||
		    now - rx->owd_min_ns > RX_OWD_MIN_WINDOW_NS) {
			rx->owd_min_us = owd;
			rx->owd_min_ns = now;
		}
		if (!rx->owd_valid) {
			rx->owd_valid = true;
			rx->owd_us = owd;
			rx->owd_var_us = 0;
		} else {
			int32_t d = owd - rx->owd_us;
			uint32_t ad = d < 0 ? (uint32_t)-(int64_t)d : (uint32_t)d;

			rx->owd_us += d / 8;
			rx->owd_var_us = (3 * rx->owd_var_us + ad) / 4;
		}
	}
	rx->active = true;
	rx->local = (uint8_t)local;
	rx->remote = (uint8_t)remote;
	rx->recv_count++;
	rx->recv_bytes += (uint32_t)frame_len;
	rx->last_rx_ns = now;
}

void path_rx_fill_block(const struct path_rx *rx, uint8_t peer_path_id, uint64_t now,
			struct wire_fb_block *b)
{
	b->path_id = peer_path_id;
	b->high_seq = rx->high_seq;
	b->recv_count = rx->recv_count;
	b->recv_bytes = rx->recv_bytes;
	b->ts_echo_us = rx->ts_echo;
	b->echo_delay_us = (uint32_t)((now - rx->ts_arrival_ns) / 1000);
	b->fwd_qdelay_us = rx->owd_valid && (int32_t)(rx->owd_last_us - rx->owd_min_us) > 0 ?
			   (uint32_t)(rx->owd_last_us - rx->owd_min_us) : 0;
}
