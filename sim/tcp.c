/* The TCP model. The sender keeps one byte of flags and a send time per outstanding segment in
 * a ring, and three counters (sacked, lost, retransmitted and still out) so that the pipe,
 * RFC 6675's estimate of segments in the network, is O(1):
 *     pipe = (snd_nxt - snd_una) - sacked_out - lost_out + retrans_out.
 * The receiver keeps its out-of-order data as a short list of intervals. */
#include "sim/tcp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"

#define DUPTHRESH 3
#define MAX_REORDERING 300	/* Linux's net.ipv4.tcp_max_reordering */
#define MAX_RTO_NS (60ull * 1000000000)
#define INIT_RTO_NS (1000ull * 1000000)
#define DELACK_NS (40ull * 1000000)
#define MAX_INTERVALS 64

/* EVER_RETX outlives the segment's acknowledgement (until its ring slot is reused), so that a
 * D-SACK for it below snd_una can still be told from a tunnel's duplicate */
enum { SACKED = 1, LOST = 2, RETX = 4, EVER_RETX = 8 };
enum state { OPEN, RECOVERY, LOSS };

struct tcp_sender {
	struct tcp_config c;
	uint32_t mask;
	uint8_t *flags;
	uint64_t *sent_ns;
	uint32_t una, nxt, high_sacked, lost_edge, retx_next, recovery_point;
	uint32_t sacked_out, lost_out, retrans_out, dupacks;
	/* how far below the highest SACKed segment a hole may be before it counts as lost: 3,
	 * then the deepest reordering seen (Linux's tp->reordering) */
	uint32_t reordering;
	uint32_t cwnd, cwnd_cnt, ssthresh;
	enum state state;
	bool fast_retransmit;		/* the first lost segment goes now, whatever the pipe */
	/* undo of the last reduction: what it replaced, where it began, its retransmissions
	 * not yet reported as duplicates, and when the first of them left (0: none yet) */
	bool undo_armed;
	uint32_t prior_cwnd, prior_ssthresh, undo_marker, undo_retrans;
	uint64_t retrans_stamp;
	uint64_t srtt, rttvar, rto, rto_at;
	struct tcp_sender_stats stats;
};

struct interval {
	uint32_t start, end;
	uint64_t stamp;		/* when it last grew: SACK reports the freshest first */
};

struct tcp_receiver {
	struct tcp_config c;
	uint32_t rcv_nxt;
	unsigned nint;
	struct interval in[MAX_INTERVALS];
	uint64_t stamp;
	unsigned unacked;
	uint64_t delack_at;
	uint64_t dups;
	int32_t last_interval;		/* the interval the latest segment went into, or -1 */
	uint32_t last_ack_cum;		/* Last.ACK.sent of RFC 7323 */
	uint64_t ts_recent;
};

static bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void tcp_config_default(struct tcp_config *c, uint32_t mss)
{
	memset(c, 0, sizeof(*c));
	c->mss = mss;
	c->init_cwnd = 10;
	c->max_cwnd = 16384;
	c->min_rto_ns = 200ull * 1000000;
	c->delayed_ack = 1;
}

static uint32_t pow2_at_least(uint32_t x)
{
	uint32_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

struct tcp_sender *tcp_sender_new(const struct tcp_config *c)
{
	struct tcp_sender *s;
	uint32_t size;

	if (c->mss == 0 || c->init_cwnd == 0 || c->max_cwnd < c->init_cwnd || c->max_cwnd > (1u << 24))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->c = *c;
	/* after an RTO, up to a whole window may be outstanding again above the lost one */
	size = pow2_at_least(2 * c->max_cwnd);
	s->mask = size - 1;
	s->flags = calloc(size, 1);
	s->sent_ns = calloc(size, sizeof(*s->sent_ns));
	if (!s->flags || !s->sent_ns) {
		tcp_sender_free(s);
		return NULL;
	}
	s->cwnd = c->init_cwnd;
	s->ssthresh = c->max_cwnd;
	s->reordering = DUPTHRESH;
	s->rto = INIT_RTO_NS;
	s->rto_at = UINT64_MAX;
	return s;
}

void tcp_sender_free(struct tcp_sender *s)
{
	if (!s)
		return;
	free(s->flags);
	free(s->sent_ns);
	free(s);
}

static uint32_t pipe_of(const struct tcp_sender *s)
{
	return (s->nxt - s->una) - s->sacked_out - s->lost_out + s->retrans_out;
}

static void set_flag(struct tcp_sender *s, uint32_t seq, uint8_t f)
{
	uint8_t *p = &s->flags[seq & s->mask];

	if (*p & f)
		return;
	*p |= f;
	if (f == SACKED) {
		s->sacked_out++;
		/* delivered: no longer lost, no retransmission in flight */
		if (*p & LOST) {
			s->lost_out--;
			*p &= (uint8_t)~LOST;
		}
		if (*p & RETX) {
			s->retrans_out--;
			*p &= (uint8_t)~RETX;
		}
	} else if (f == LOST) {
		s->lost_out++;
	} else {
		s->retrans_out++;
	}
}

/* seq arrived although the highest SACKed segment is above it: reordering, not loss, as deep
 * as the distance between them; holes that shallow are not lost from now on. */
static void reordered_by(struct tcp_sender *s, uint32_t seq)
{
	uint32_t depth = s->high_sacked - seq;

	if (!before(seq, s->high_sacked) || depth <= s->reordering)
		return;
	s->reordering = depth < MAX_REORDERING ? depth : MAX_REORDERING;
}

/* A segment sent once (its arrival is no retransmission's) just arrived. */
static void saw_reordering(struct tcp_sender *s, uint32_t seq)
{
	if (!(s->flags[seq & s->mask] & (SACKED | EVER_RETX)))
		reordered_by(s, seq);
}

/* Segments below cum have left: forget their flags and counts. */
static void advance_una(struct tcp_sender *s, uint32_t cum)
{
	while (before(s->una, cum)) {
		uint8_t *p = &s->flags[s->una & s->mask];

		saw_reordering(s, s->una);
		if (*p & SACKED)
			s->sacked_out--;
		if (*p & LOST)
			s->lost_out--;
		if (*p & RETX)
			s->retrans_out--;
		*p &= EVER_RETX;
		s->una++;
	}
	if (before(s->lost_edge, s->una))
		s->lost_edge = s->una;
	if (before(s->retx_next, s->una))
		s->retx_next = s->una;
	if (before(s->high_sacked, s->una))
		s->high_sacked = s->una;
}

/* A block mostly grows at either end between two ACKs: scan inwards from both ends and stop
 * at what is already known, so a long block costs little per ACK. */
static void apply_sack(struct tcp_sender *s, uint32_t start, uint32_t end)
{
	uint32_t k;

	if (before(start, s->una))
		start = s->una;
	if (before(s->nxt, end))
		end = s->nxt;
	if (!before(start, end))
		return;
	for (k = end; before(start, k) && !(s->flags[(k - 1) & s->mask] & SACKED); k--) {
		saw_reordering(s, k - 1);
		set_flag(s, k - 1, SACKED);
	}
	for (k = start; before(k, end) && !(s->flags[k & s->mask] & SACKED); k++) {
		saw_reordering(s, k);
		set_flag(s, k, SACKED);
	}
	if (before(s->high_sacked, end))
		s->high_sacked = end;
}

/* Forward acknowledgement: a hole `reordering` segments below the highest SACKed one is lost. */
static void mark_losses(struct tcp_sender *s)
{
	uint32_t limit = s->high_sacked - s->reordering;

	if (!before(s->una + s->reordering, s->high_sacked + 1))
		return;
	for (; before(s->lost_edge, limit); s->lost_edge++)
		if (!(s->flags[s->lost_edge & s->mask] & SACKED))
			set_flag(s, s->lost_edge, LOST);
}

static void update_rtt(struct tcp_sender *s, uint64_t rtt)
{
	path_rtt_sample(&s->srtt, &s->rttvar, rtt);
	s->rto = s->srtt + 4 * s->rttvar;
	if (s->rto < s->c.min_rto_ns)
		s->rto = s->c.min_rto_ns;
	if (s->rto > MAX_RTO_NS)
		s->rto = MAX_RTO_NS;
}

static void grow_cwnd(struct tcp_sender *s, uint32_t acked)
{
	if (s->cwnd < s->ssthresh) {
		s->cwnd += acked;
	} else {
		s->cwnd_cnt += acked;
		while (s->cwnd_cnt >= s->cwnd) {
			s->cwnd_cnt -= s->cwnd;
			s->cwnd++;
		}
	}
	if (s->cwnd > s->c.max_cwnd)
		s->cwnd = s->c.max_cwnd;
}

/* A reduction begins (recovery or RTO): remember what to return to if it proves spurious.
 * Linux keeps the older values when an RTO interrupts a recovery. */
static void arm_undo(struct tcp_sender *s)
{
	uint32_t cur = s->cwnd / 2 + s->cwnd / 4;

	if (s->state != OPEN)
		return;
	s->prior_cwnd = s->cwnd;
	s->prior_ssthresh = s->ssthresh > cur ? s->ssthresh : cur;
	s->undo_armed = true;
	s->undo_marker = s->una;
	s->undo_retrans = 0;
	s->retrans_stamp = 0;
}

/* Linux's tcp_undo_cwnd_reduction with Reno's undo_cwnd: back to the window before, and to
 * slow start if that is where the reduction caught the flow. */
static void undo(struct tcp_sender *s)
{
	if (s->cwnd < s->prior_cwnd)
		s->cwnd = s->prior_cwnd;
	if (s->ssthresh < s->prior_ssthresh)
		s->ssthresh = s->prior_ssthresh;
	/* the hole was reordering: as deep as it reached (Linux: tcp_check_sack_reordering) */
	reordered_by(s, s->undo_marker);
	s->undo_armed = false;
	s->state = OPEN;
	s->stats.undos++;
}

/* Did this episode retransmit seq? (Only then does a D-SACK for it say the retransmission
 * was needless; the tunnel may duplicate a segment on its own.) */
static bool was_retransmitted(const struct tcp_sender *s, uint32_t seq)
{
	return !before(seq, s->undo_marker) && before(seq, s->nxt) &&
	       s->nxt - seq <= s->mask + 1 && (s->flags[seq & s->mask] & EVER_RETX);
}

/* Was the reduction spurious? D-SACKs for every retransmission, or an ACK past them that
 * echoes a timestamp older than the first retransmission (the original got there). */
static void check_undo(struct tcp_sender *s, const struct tcp_ack *a, uint32_t acked)
{
	if (!s->undo_armed)
		return;
	if (a->dsack && a->nsack && was_retransmitted(s, a->sack[0].start) &&
	    s->undo_retrans > 0 && --s->undo_retrans == 0) {
		undo(s);
		return;
	}
	if (s->state != OPEN && acked && s->retrans_stamp && a->tsecr &&
	    a->tsecr < s->retrans_stamp && s->retrans_out == 0)
		undo(s);
}

void tcp_sender_on_ack(struct tcp_sender *s, uint64_t now, const struct tcp_ack *a)
{
	uint32_t acked = 0;

	if (before(s->nxt, a->cum))
		return;		/* acknowledges what was never sent: ignore */
	if (before(s->una, a->cum)) {
		uint32_t last = a->cum - 1;

		if (!(s->flags[last & s->mask] & RETX) && s->sent_ns[last & s->mask] &&
		    !before(last, s->una))
			update_rtt(s, now - s->sent_ns[last & s->mask]);
		acked = a->cum - s->una;
		advance_una(s, a->cum);
		s->dupacks = 0;
	} else if (a->cum == s->una && s->una != s->nxt) {
		s->dupacks++;	/* RFC 5681: same cumulative point; an older ACK is no duplicate */
	}
	for (unsigned k = a->dsack ? 1 : 0; k < a->nsack && k < 3; k++)
		apply_sack(s, a->sack[k].start, a->sack[k].end);
	mark_losses(s);
	check_undo(s, a, acked);
	if (s->state == OPEN && (s->lost_out || s->dupacks >= s->reordering)) {
		if (!s->lost_out && !(s->flags[s->una & s->mask] & SACKED))
			set_flag(s, s->una, LOST);	/* dupacks without SACK: the first hole */
		arm_undo(s);
		s->state = RECOVERY;
		s->recovery_point = s->nxt;
		s->ssthresh = s->cwnd / 2 > 2 ? s->cwnd / 2 : 2;
		s->cwnd = s->ssthresh;
		s->cwnd_cnt = 0;
		s->retx_next = s->una;
		s->fast_retransmit = true;	/* RFC 6675 4.2; Linux's PRR sends it at once too */
		s->stats.fast_recoveries++;
	} else if (s->state != OPEN && !before(s->una, s->recovery_point)) {
		s->state = OPEN;
	}
	if (acked && s->state != RECOVERY)
		grow_cwnd(s, acked);
	if (acked) {
		s->rto_at = s->una == s->nxt ? UINT64_MAX : now + s->rto;
	}
}

int tcp_sender_next(struct tcp_sender *s, uint64_t now, struct tcp_seg *out)
{
	bool forced = s->fast_retransmit;
	uint32_t seq;

	s->fast_retransmit = false;
	if (pipe_of(s) >= s->cwnd && !forced)
		return 0;
	/* lost segments first */
	while (s->lost_out > s->retrans_out && before(s->retx_next, s->nxt)) {
		seq = s->retx_next++;
		if ((s->flags[seq & s->mask] & (LOST | RETX)) == LOST) {
			set_flag(s, seq, RETX);
			s->flags[seq & s->mask] |= EVER_RETX;
			s->sent_ns[seq & s->mask] = now;
			s->stats.retransmits++;
			s->stats.segs_sent++;
			s->undo_retrans++;
			if (!s->retrans_stamp)
				s->retrans_stamp = now;
			*out = (struct tcp_seg){ .seq = seq, .len = (uint16_t)s->c.mss, .retx = 1,
						 .ts = now };
			if (s->rto_at == UINT64_MAX)
				s->rto_at = now + s->rto;
			return 1;
		}
	}
	if (pipe_of(s) >= s->cwnd || s->nxt - s->una >= s->c.max_cwnd ||
	    (s->c.limit_segments && !before(s->nxt, s->c.limit_segments)))
		return 0;
	seq = s->nxt++;
	s->flags[seq & s->mask] = 0;
	s->sent_ns[seq & s->mask] = now;
	s->stats.segs_sent++;
	*out = (struct tcp_seg){ .seq = seq, .len = (uint16_t)s->c.mss, .retx = 0, .ts = now };
	if (s->rto_at == UINT64_MAX)
		s->rto_at = now + s->rto;
	return 1;
}

uint64_t tcp_sender_deadline(const struct tcp_sender *s)
{
	return s->rto_at;
}

void tcp_sender_on_timer(struct tcp_sender *s, uint64_t now)
{
	uint32_t flight;

	if (now < s->rto_at)
		return;
	if (s->una == s->nxt) {
		s->rto_at = UINT64_MAX;
		return;
	}
	s->stats.timeouts++;
	arm_undo(s);
	flight = (s->nxt - s->una) - s->sacked_out;
	s->ssthresh = flight / 2 > 2 ? flight / 2 : 2;
	s->cwnd = 1;
	s->cwnd_cnt = 0;
	/* everything outstanding and not SACKed is lost; resend from snd_una */
	for (uint32_t k = s->una; before(k, s->nxt); k++) {
		uint8_t *p = &s->flags[k & s->mask];

		if (*p & RETX) {
			*p &= (uint8_t)~RETX;
			s->retrans_out--;
		}
		if (!(*p & SACKED))
			set_flag(s, k, LOST);
	}
	s->lost_edge = s->nxt;
	s->retx_next = s->una;
	s->state = LOSS;
	s->recovery_point = s->nxt;
	s->dupacks = 0;
	s->rto = 2 * s->rto > MAX_RTO_NS ? MAX_RTO_NS : 2 * s->rto;
	s->rto_at = now + s->rto;
}

void tcp_sender_stats(const struct tcp_sender *s, struct tcp_sender_stats *out)
{
	*out = s->stats;
	out->cwnd = s->cwnd;
	out->ssthresh = s->ssthresh;
	out->snd_una = s->una;
	out->srtt_ns = s->srtt;
}

struct tcp_receiver *tcp_receiver_new(const struct tcp_config *c)
{
	struct tcp_receiver *r;

	if (c->mss == 0 || c->max_cwnd == 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = *c;
	r->delack_at = UINT64_MAX;
	r->last_interval = -1;
	return r;
}

void tcp_receiver_free(struct tcp_receiver *r)
{
	free(r);
}

/* The ACK: a D-SACK for dup_seq if dup (RFC 2883), the cumulative point, then the freshest
 * intervals, the latest segment's first. */
static void make_ack(struct tcp_receiver *r, struct tcp_ack *a, bool dup, uint32_t dup_seq)
{
	bool used[MAX_INTERVALS] = { false };

	a->cum = r->rcv_nxt;
	a->nsack = 0;
	a->dsack = dup;
	a->tsecr = r->ts_recent;
	r->last_ack_cum = r->rcv_nxt;
	if (dup) {
		a->sack[0].start = dup_seq;
		a->sack[0].end = dup_seq + 1;
		a->nsack = 1;
	}
	if (r->last_interval >= 0 && (unsigned)r->last_interval < r->nint) {
		a->sack[a->nsack].start = r->in[r->last_interval].start;
		a->sack[a->nsack].end = r->in[r->last_interval].end;
		used[r->last_interval] = true;
		a->nsack++;
	}
	while (a->nsack < 3) {
		int best = -1;

		for (unsigned k = 0; k < r->nint; k++)
			if (!used[k] && (best < 0 || r->in[k].stamp > r->in[best].stamp))
				best = (int)k;
		if (best < 0)
			break;
		used[best] = true;
		a->sack[a->nsack].start = r->in[best].start;
		a->sack[a->nsack].end = r->in[best].end;
		a->nsack++;
	}
	r->unacked = 0;
	r->delack_at = UINT64_MAX;
}

/* Put seq into the sorted interval list; returns its interval or -1 if already there. */
static int insert_interval(struct tcp_receiver *r, uint32_t seq)
{
	unsigned k = 0;

	while (k < r->nint && before(r->in[k].end, seq))
		k++;
	if (k < r->nint && !before(seq, r->in[k].start) && before(seq, r->in[k].end))
		return -1;
	r->stamp++;
	if (k < r->nint && r->in[k].end == seq) {
		r->in[k].end++;
		r->in[k].stamp = r->stamp;
		if (k + 1 < r->nint && r->in[k + 1].start == r->in[k].end) {
			r->in[k].end = r->in[k + 1].end;
			memmove(&r->in[k + 1], &r->in[k + 2], (r->nint - k - 2) * sizeof(r->in[0]));
			r->nint--;
		}
		return (int)k;
	}
	if (k < r->nint && r->in[k].start == seq + 1) {
		r->in[k].start = seq;
		r->in[k].stamp = r->stamp;
		return (int)k;
	}
	if (r->nint == MAX_INTERVALS)
		return -2;	/* too fragmented: behave as if it never came */
	memmove(&r->in[k + 1], &r->in[k], (r->nint - k) * sizeof(r->in[0]));
	r->in[k] = (struct interval){ .start = seq, .end = seq + 1, .stamp = r->stamp };
	r->nint++;
	return (int)k;
}

int tcp_receiver_on_seg(struct tcp_receiver *r, uint64_t now, const struct tcp_seg *seg,
			struct tcp_ack *ack_out)
{
	uint32_t seq = seg->seq;
	int k;

	/* RFC 7323: echo the segment that the last ACK asked for, not a later one */
	if (!before(r->last_ack_cum, seq) && seg->ts >= r->ts_recent)
		r->ts_recent = seg->ts;
	if (before(seq, r->rcv_nxt) || !before(seq, r->rcv_nxt + r->c.max_cwnd)) {
		r->dups += before(seq, r->rcv_nxt);
		make_ack(r, ack_out, before(seq, r->rcv_nxt), seq);
		return 1;
	}
	if (seq == r->rcv_nxt) {
		bool filled = r->nint > 0;

		r->rcv_nxt++;
		if (r->nint && r->in[0].start == r->rcv_nxt) {
			r->rcv_nxt = r->in[0].end;
			memmove(&r->in[0], &r->in[1], (r->nint - 1) * sizeof(r->in[0]));
			r->nint--;
		}
		r->last_interval = -1;
		if (filled || !r->c.delayed_ack || ++r->unacked >= 2) {
			make_ack(r, ack_out, false, 0);
			return 1;
		}
		if (r->delack_at == UINT64_MAX)
			r->delack_at = now + DELACK_NS;
		return 0;
	}
	k = insert_interval(r, seq);
	if (k == -1) {
		r->dups++;
		/* RFC 2883: after the D-SACK, the block the duplicate lies in */
		for (k = 0; k < (int)r->nint && before(r->in[k].end, seq + 1); k++)
			;
		r->last_interval = k;
		make_ack(r, ack_out, true, seq);
		return 1;
	}
	r->last_interval = k >= 0 ? k : -1;
	make_ack(r, ack_out, false, 0);
	return 1;
}

uint64_t tcp_receiver_deadline(const struct tcp_receiver *r)
{
	return r->delack_at;
}

int tcp_receiver_on_timer(struct tcp_receiver *r, uint64_t now, struct tcp_ack *ack_out)
{
	if (now < r->delack_at)
		return 0;
	make_ack(r, ack_out, false, 0);
	return 1;
}

uint64_t tcp_receiver_delivered_bytes(const struct tcp_receiver *r)
{
	return (uint64_t)r->rcv_nxt * r->c.mss;
}

uint64_t tcp_receiver_dup_segs(const struct tcp_receiver *r)
{
	return r->dups;
}
