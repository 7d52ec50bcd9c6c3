/* metrics: the Prometheus text format, written family by family. A family's # HELP and # TYPE
 * lines come with its first sample, and all its samples follow one another (the format
 * requires it): so the loops run families outside, peers and paths inside. A number that
 * does not exist yet (an RTT before the first sample, a weight the scheduler does not give)
 * is left out rather than shown as 0. */
#include "daemon/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/capacity.h"
#include "daemon/addr.h"
#include "daemon/outbuf.h"

const int metrics_http_codes[6] = { 200, 400, 404, 405, 431, 500 };

size_t metrics_escape(const char *value, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = value; *p; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
		char one[2] = { *p, '\0' };

		for (const char *q = esc ? esc : one; *q; q++, n++)
			if (n + 1 < len)
				buf[n] = *q;
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

/* A value: an exact integer (counters), a float, or nothing to show. */
struct val {
	enum { V_NONE, V_U64, V_F64 } kind;
	uint64_t u;
	double d;
};

static struct val u64(uint64_t u)
{
	return (struct val){ .kind = V_U64, .u = u };
}

static struct val f64(double d)
{
	return (struct val){ .kind = V_F64, .d = d };
}

static const struct val none = { .kind = V_NONE };

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

struct family {
	const char *name, *type, *help;
};

/* One sample of f; *begun: f's HELP and TYPE lines are out (with its first sample). */
static void sample(struct outbuf *o, const struct family *f, bool *begun, const char *labels,
		   struct val v)
{
	if (v.kind == V_NONE)
		return;
	if (!*begun) {
		outbuf_put(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
		*begun = true;
	}
	outbuf_put(o, "%s%s%s%s ", f->name, *labels ? "{" : "", labels, *labels ? "}" : "");
	if (v.kind == V_U64)
		outbuf_put(o, "%llu\n", (unsigned long long)v.u);
	else if (isnan(v.d))
		outbuf_put(o, "NaN\n");
	else if (isinf(v.d))
		outbuf_put(o, "%sInf\n", v.d < 0 ? "-" : "+");
	else
		outbuf_put(o, "%.15g\n", v.d);
}

/* label="value", escaped, appended to buf (size len) after a comma when it is not empty. */
static void label(char *buf, size_t len, const char *name, const char *value)
{
	size_t off = strlen(buf);
	int n;

	if (off + 1 >= len)
		return;
	n = snprintf(buf + off, len - off, "%s%s=\"", off ? "," : "", name);
	if (n < 0 || (size_t)n >= len - off)
		return;
	off += (size_t)n;
	off += metrics_escape(value, buf + off, len - off);
	if (off + 1 < len) {
		buf[off] = '"';
		buf[off + 1] = '\0';
	}
}

/* Labels of up to a peer name, two addresses and one more, escaped */
#define LABELS_LEN 512

/* ---- whole daemon */

static void render_daemon(struct outbuf *o, const struct metrics_info *m)
{
	static const struct family info = { "mptun_info", "gauge",
		"Always 1: the version, this end's role (client or server) and its tun device" };
	static const struct family start = { "mptun_start_time_seconds", "gauge",
		"When the daemon started, in seconds since the Unix epoch" };
	static const struct family send = { "mptun_udp_send_failures_total", "counter",
		"Datagrams the kernel refused to send, by local socket: error (no route...) or "
		"buffer_full (its socket buffer was full)" };
	char l[LABELS_LEN], a[64];
	bool begun[3] = { false, false, false };

	l[0] = '\0';
	label(l, sizeof(l), "version", m->version);
	label(l, sizeof(l), "role", m->role);
	label(l, sizeof(l), "tun", m->tun);
	sample(o, &info, &begun[0], l, u64(1));
	sample(o, &start, &begun[1], "",
	       f64(seconds(m->realtime_ns - (m->now_ns - m->started_ns))));
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < m->nlocal; i++) {
			l[0] = '\0';
			label(l, sizeof(l), "local", addr_str(&m->local[i].addr, a, sizeof(a)));
			label(l, sizeof(l), "reason", k ? "buffer_full" : "error");
			sample(o, &send, &begun[2], l,
			       u64(k ? m->local[i].send_full : m->local[i].send_errors));
		}
}

/* ---- per peer: one number each */

enum peer_metric {
	P_INFO, P_ESTABLISHED, P_LAST_HANDSHAKE, P_SESSIONS, P_HS_SENT, P_HS_RESENT,
	P_TUN_IN_PACKETS, P_TUN_IN_BYTES, P_TUN_OUT_PACKETS, P_TUN_OUT_BYTES,
	P_SENT_DGRAMS, P_SENT_BYTES, P_RECEIVED_DGRAMS, P_RECEIVED_BYTES,
	P_QUEUE_PACKETS, P_QUEUE_BYTES, P_QUEUE_ENQ_PACKETS, P_QUEUE_ENQ_BYTES, P_QUEUE_DEQ_PACKETS,
	P_QUEUE_DEQ_BYTES, P_QUEUE_DROPPED_BYTES, P_QUEUE_NEW_FLOWS, P_QUEUE_CODEL_DROPPING,
	P_COUNT
};

static const struct family peer_families[P_COUNT] = {
	[P_INFO] = { "mptun_peer_info", "gauge", "Always 1: the peer's path scheduler" },
	[P_ESTABLISHED] = { "mptun_peer_session_established", "gauge",
		"1 when a session key is agreed with the peer, else 0" },
	[P_LAST_HANDSHAKE] = { "mptun_peer_last_handshake_seconds", "gauge",
		"When the current session's key was agreed, in seconds since the Unix epoch (0: no "
		"session)" },
	[P_SESSIONS] = { "mptun_peer_sessions_total", "counter",
		"Sessions established with the peer (one per key agreement: start and rekeys)" },
	[P_HS_SENT] = { "mptun_peer_handshake_datagrams_sent_total", "counter",
		"Handshake datagrams sent (a client sends one per path per attempt)" },
	[P_HS_RESENT] = { "mptun_peer_handshakes_resent_total", "counter",
		"Server: copies of a handshake answered with the response already made" },
	[P_TUN_IN_PACKETS] = { "mptun_peer_tun_in_packets_total", "counter",
		"Packets read from the tun device for the peer" },
	[P_TUN_IN_BYTES] = { "mptun_peer_tun_in_bytes_total", "counter",
		"Bytes of the packets read from the tun device for the peer" },
	[P_TUN_OUT_PACKETS] = { "mptun_peer_tun_out_packets_total", "counter",
		"Packets from the peer written to the tun device" },
	[P_TUN_OUT_BYTES] = { "mptun_peer_tun_out_bytes_total", "counter",
		"Bytes of the packets from the peer written to the tun device" },
	[P_SENT_DGRAMS] = { "mptun_peer_sent_datagrams_total", "counter",
		"UDP datagrams sent to the peer, every path and kind together" },
	[P_SENT_BYTES] = { "mptun_peer_sent_bytes_total", "counter",
		"Bytes of the UDP datagrams sent to the peer" },
	[P_RECEIVED_DGRAMS] = { "mptun_peer_received_datagrams_total", "counter",
		"UDP datagrams received from the peer and accepted" },
	[P_RECEIVED_BYTES] = { "mptun_peer_received_bytes_total", "counter",
		"Bytes of the UDP datagrams received from the peer and accepted" },
	[P_QUEUE_PACKETS] = { "mptun_queue_packets", "gauge",
		"Packets held in the tunnel's fair queue now (paced schedulers)" },
	[P_QUEUE_BYTES] = { "mptun_queue_bytes", "gauge",
		"Bytes held in the tunnel's fair queue now (paced schedulers)" },
	[P_QUEUE_ENQ_PACKETS] = { "mptun_queue_enqueued_packets_total", "counter",
		"Packets put in the tunnel's fair queue" },
	[P_QUEUE_ENQ_BYTES] = { "mptun_queue_enqueued_bytes_total", "counter",
		"Bytes put in the tunnel's fair queue" },
	[P_QUEUE_DEQ_PACKETS] = { "mptun_queue_dequeued_packets_total", "counter",
		"Packets taken from the tunnel's fair queue to be sent" },
	[P_QUEUE_DEQ_BYTES] = { "mptun_queue_dequeued_bytes_total", "counter",
		"Bytes taken from the tunnel's fair queue to be sent" },
	[P_QUEUE_DROPPED_BYTES] = { "mptun_queue_dropped_bytes_total", "counter",
		"Bytes dropped from the tunnel's fair queue (CoDel and overflow)" },
	[P_QUEUE_NEW_FLOWS] = { "mptun_queue_new_flows_total", "counter",
		"Inner flows that became busy and joined the queue's sparse list" },
	[P_QUEUE_CODEL_DROPPING] = { "mptun_queue_codel_dropping_total", "counter",
		"Times a flow entered CoDel's dropping state" },
};

static struct val peer_value(enum peer_metric k, const struct metrics_peer *p,
			     const struct metrics_info *m)
{
	const struct engine_stats *st = engine_stats(p->engine);
	const struct fq_stats *q = engine_queue_stats(p->engine);
	uint64_t born = engine_session_born(p->engine);

	if (k >= P_QUEUE_PACKETS && !q)
		return none;
	switch (k) {
	case P_INFO: return u64(1);
	case P_ESTABLISHED: return u64(born != 0);
	case P_LAST_HANDSHAKE:
		return born ? f64(seconds(m->realtime_ns - (m->now_ns - born))) : u64(0);
	case P_SESSIONS: return u64(st->sessions);
	case P_HS_SENT: return u64(st->handshakes_sent);
	case P_HS_RESENT: return u64(st->handshakes_resent);
	case P_TUN_IN_PACKETS: return u64(st->tun_in);
	case P_TUN_IN_BYTES: return u64(st->tun_in_bytes);
	case P_TUN_OUT_PACKETS: return u64(st->tun_out);
	case P_TUN_OUT_BYTES: return u64(st->tun_out_bytes);
	case P_SENT_DGRAMS: return u64(st->tx_dgrams);
	case P_SENT_BYTES: return u64(st->tx_bytes);
	case P_RECEIVED_DGRAMS: return u64(st->rx_dgrams);
	case P_RECEIVED_BYTES: return u64(st->rx_bytes);
	case P_QUEUE_PACKETS:
		return u64(q->enqueued - q->dequeued - q->drop_codel - q->drop_overflow);
	case P_QUEUE_BYTES:
		return u64(q->enqueued_bytes - q->dequeued_bytes - q->dropped_bytes);
	case P_QUEUE_ENQ_PACKETS: return u64(q->enqueued);
	case P_QUEUE_ENQ_BYTES: return u64(q->enqueued_bytes);
	case P_QUEUE_DEQ_PACKETS: return u64(q->dequeued);
	case P_QUEUE_DEQ_BYTES: return u64(q->dequeued_bytes);
	case P_QUEUE_DROPPED_BYTES: return u64(q->dropped_bytes);
	case P_QUEUE_NEW_FLOWS: return u64(q->new_flows);
	case P_QUEUE_CODEL_DROPPING: return u64(q->codel_dropping);
	case P_COUNT: break;
	}
	return none;
}

/* ---- per peer: one counter by reason (an offset into one of the engine's stats structs) */

enum source { SRC_ENGINE, SRC_REORDER, SRC_QUEUE };

struct reason {
	const char *value;
	size_t off;
};

#define ENG(v, field) { v, offsetof(struct engine_stats, field) }
#define REO(v, field) { v, offsetof(struct reorder_stats, field) }
#define FQ(v, field) { v, offsetof(struct fq_stats, field) }

static const struct reason drop_reasons[] = {
	ENG("bad_auth", drop_bad_auth), ENG("replay", drop_replay),
	ENG("malformed", drop_malformed), ENG("rate_limited", drop_rate_limited),
	ENG("old_session", drop_old_session), ENG("unknown_peer", drop_unknown_peer),
	ENG("handshake_late", drop_hs_late), ENG("no_memory", drop_no_memory),
};
static const struct reason tun_drop_reasons[] = {
	ENG("no_session", drop_no_session), ENG("no_path", drop_no_path),
	ENG("oversize", drop_oversize),
};
static const struct reason stale_reasons[] = {
	ENG("sent", stale_sent), ENG("received", stale_received),
};
static const struct reason reorder_outcomes[] = {
	REO("in_order", in_order), REO("buffered", buffered), REO("late", late),
	REO("duplicate", duplicate),
};
static const struct reason reorder_gaps[] = {
	REO("lost", gaps_lost), REO("timeout", gaps_timeout), REO("overflow", overflow),
};
static const struct reason queue_drops[] = {
	FQ("codel", drop_codel), FQ("overflow", drop_overflow), FQ("oversize", drop_oversize),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct by_reason {
	struct family f;
	const char *label;
	enum source src;
	const struct reason *r;
	size_t n;
} by_reason[] = {
	{ { "mptun_datagrams_dropped_total", "counter",
	    "Datagrams received and dropped, by reason: bad_auth (failed authentication: "
	    "another key, forgery, junk), replay, malformed, rate_limited (handshakes beyond "
	    "the budget), old_session, unknown_peer, handshake_late (answers to a handshake "
	    "no longer in flight), no_memory (a server without memory for a new peer's "
	    "buffers)" }, "reason", SRC_ENGINE, drop_reasons, N(drop_reasons) },
	{ { "mptun_tun_packets_dropped_total", "counter",
	    "Packets from the tun device dropped before they left, by reason: no_session, "
	    "no_path, oversize (above the MTU)" }, "reason", SRC_ENGINE, tun_drop_reasons,
	  N(tun_drop_reasons) },
	{ { "mptun_peer_stale_handshakes_total", "counter",
	    "Handshakes refused for an old counter and answered with the floor (sent: server), "
	    "such answers taken (received: client, its clock was behind)" }, "direction",
	  SRC_ENGINE, stale_reasons, N(stale_reasons) },
	{ { "mptun_reorder_packets_total", "counter",
	    "Data packets at the receive-side reorder buffer, by outcome: in_order (delivered "
	    "at once), buffered (held for a missing one), late (after its gap was given up), "
	    "duplicate (dropped)" }, "outcome", SRC_REORDER, reorder_outcomes,
	  N(reorder_outcomes) },
	{ { "mptun_reorder_gaps_total", "counter",
	    "Missing sequence numbers the reorder buffer gave up on: lost (every path sent "
	    "past them), timeout (waited the hold time), overflow (too far behind to hold)" },
	  "reason", SRC_REORDER, reorder_gaps, N(reorder_gaps) },
	{ { "mptun_queue_dropped_packets_total", "counter",
	    "Packets dropped by the tunnel's fair queue: codel (a flow's sojourn above target), "
	    "overflow (from the fattest flow, queue full), oversize (refused)" }, "reason",
	  SRC_QUEUE, queue_drops, N(queue_drops) },
};

static const void *source(enum source s, const struct mpt_engine *e)
{
	switch (s) {
	case SRC_ENGINE: return engine_stats(e);
	case SRC_REORDER: return engine_reorder_stats(e);
	case SRC_QUEUE: return engine_queue_stats(e);
	}
	return NULL;
}

static void render_peers(struct outbuf *o, const struct metrics_info *m)
{
	char l[LABELS_LEN];

	for (unsigned k = 0; k < P_COUNT; k++) {
		bool begun = false;

		for (unsigned p = 0; p < m->npeer; p++) {
			l[0] = '\0';
			label(l, sizeof(l), "peer", m->peer[p].name);
			if (k == P_INFO)
				label(l, sizeof(l), "sched", m->peer[p].sched);
			sample(o, &peer_families[k], &begun, l, peer_value(k, &m->peer[p], m));
		}
	}
	for (size_t k = 0; k < N(by_reason); k++) {
		bool begun = false;

		for (unsigned p = 0; p < m->npeer; p++) {
			const uint8_t *st = source(by_reason[k].src, m->peer[p].engine);

			for (size_t r = 0; st && r < by_reason[k].n; r++) {
				uint64_t v;

				memcpy(&v, st + by_reason[k].r[r].off, sizeof(v));
				l[0] = '\0';
				label(l, sizeof(l), "peer", m->peer[p].name);
				label(l, sizeof(l), by_reason[k].label, by_reason[k].r[r].value);
				sample(o, &by_reason[k].f, &begun, l, u64(v));
			}
		}
	}
}

/* ---- per path */

enum path_metric {
	T_UP, T_RTT, T_RTTVAR, T_MIN_RTT, T_LOSS, T_DELIVERY, T_INFLIGHT, T_SENT_BYTES,
	T_SENT_PACKETS, T_RECEIVED_BYTES, T_RECEIVED_PACKETS, T_LOST, T_DOWNS, T_WEIGHT,
	T_PACING, T_CAPACITY,
	T_COUNT
};

static const struct family path_families[T_COUNT] = {
	[T_UP] = { "mptun_path_up", "gauge",
		"1 while feedback arrives on the path, 0 once it is down (700 ms without)" },
	[T_RTT] = { "mptun_path_rtt_seconds", "gauge",
		"Smoothed round-trip time of the path (absent before the first sample)" },
	[T_RTTVAR] = { "mptun_path_rtt_variation_seconds", "gauge",
		"Round-trip time variation of the path (RFC 6298's rttvar)" },
	[T_MIN_RTT] = { "mptun_path_min_rtt_seconds", "gauge",
		"Least round-trip time seen on the path in the last 300 s" },
	[T_LOSS] = { "mptun_path_loss_ratio", "gauge",
		"Loss on the path, 0 to 1: a per-packet moving average from the peer's feedback" },
	[T_DELIVERY] = { "mptun_path_delivery_rate_bytes_per_second", "gauge",
		"The rate at which the peer reports receiving on the path" },
	[T_INFLIGHT] = { "mptun_path_inflight_bytes", "gauge",
		"Bytes sent on the path that feedback has not yet accounted for" },
	[T_SENT_BYTES] = { "mptun_path_sent_bytes_total", "counter",
		"Bytes of the datagrams sent on the path (data, probes, feedback)" },
	[T_SENT_PACKETS] = { "mptun_path_sent_packets_total", "counter",
		"Datagrams sent on the path (data, probes, feedback)" },
	[T_RECEIVED_BYTES] = { "mptun_path_received_bytes_total", "counter",
		"Bytes of the authenticated datagrams received on the path" },
	[T_RECEIVED_PACKETS] = { "mptun_path_received_packets_total", "counter",
		"Authenticated datagrams received on the path" },
	[T_LOST] = { "mptun_path_lost_packets_total", "counter",
		"Datagrams sent on the path that the peer's feedback shows missing" },
	[T_DOWNS] = { "mptun_path_downs_total", "counter", "Times the path went down" },
	[T_WEIGHT] = { "mptun_path_scheduler_weight_ratio", "gauge",
		"The share of traffic the scheduler gives the path now, 0 to 1 (absent when the "
		"scheduler does not say)" },
	[T_PACING] = { "mptun_path_pacing_rate_bytes_per_second", "gauge",
		"The rate the path's datagrams leave at now (paced schedulers)" },
	[T_CAPACITY] = { "mptun_path_capacity_bytes_per_second", "gauge",
		"The path's estimated capacity (paced schedulers; 0 before any sample)" },
};

static struct val path_value(enum path_metric k, const struct mpt_path *p, double share)
{
	if ((k == T_PACING || k == T_CAPACITY) && !p->paced)
		return none;
	switch (k) {
	case T_UP: return u64(p->up);
	case T_RTT: return p->srtt_ns ? f64(seconds(p->srtt_ns)) : none;
	case T_RTTVAR: return p->srtt_ns ? f64(seconds(p->rttvar_ns)) : none;
	case T_MIN_RTT:
		return p->min_rtt_ns && p->min_rtt_ns != UINT64_MAX ? f64(seconds(p->min_rtt_ns))
								     : none;
	case T_LOSS: return f64(p->loss_ewma);
	/* the format's base unit is the byte: the engine's bit rates over 8 */
	case T_DELIVERY: return f64((double)p->delivery_rate_bps / 8);
	case T_INFLIGHT: return u64(p->inflight_bytes);
	case T_SENT_BYTES: return u64(p->tx_bytes);
	case T_SENT_PACKETS: return u64(p->tx_packets);
	case T_RECEIVED_BYTES: return u64(p->rx_bytes);
	case T_RECEIVED_PACKETS: return u64(p->rx_packets);
	case T_LOST: return u64(p->lost_packets);
	case T_DOWNS: return u64(p->downs);
	case T_WEIGHT: return share < 0 ? none : f64(share);
	case T_PACING: return f64((double)p->pacer.rate_bps / 8);
	case T_CAPACITY: return f64((double)capacity_estimate_bps(&p->cap) / 8);
	case T_COUNT: break;
	}
	return none;
}

static void render_paths(struct outbuf *o, const struct metrics_info *m)
{
	double share[MPT_MAX_PATHS];
	char l[LABELS_LEN], a[64], b[64];

	for (unsigned k = 0; k < T_COUNT; k++) {
		bool begun = false;

		for (unsigned p = 0; p < m->npeer; p++) {
			const struct mpt_engine *e = m->peer[p].engine;
			unsigned nremote = engine_nremote(e);

			if (k == T_WEIGHT)
				engine_sched_shares(e, m->now_ns, share);
			for (unsigned i = 0; i < m->nlocal && i < MPT_MAX_LOCAL; i++)
				for (unsigned j = 0; j < nremote; j++) {
					l[0] = '\0';
					label(l, sizeof(l), "peer", m->peer[p].name);
					label(l, sizeof(l), "local",
					      addr_str(&m->local[i].addr, a, sizeof(a)));
					label(l, sizeof(l), "remote",
					      addr_mpt_str(engine_remote_addr(e, j), b, sizeof(b)));
					sample(o, &path_families[k], &begun, l,
					       path_value(k, engine_path(e, i, j),
							  share[path_index(i, j)]));
				}
		}
	}
}

static void render_http(struct outbuf *o, const struct metrics_http *h)
{
	static const struct family resp = { "mptun_metrics_responses_total", "counter",
		"Answers of the metrics listener, by HTTP status code" };
	static const struct family drop = { "mptun_metrics_connections_dropped_total", "counter",
		"Metrics connections closed without an answer: busy (every slot taken), timeout "
		"(no whole request, or the answer not read, in time)" };
	char l[LABELS_LEN], code[8];
	bool begun[2] = { false, false };

	for (size_t k = 0; k < N(metrics_http_codes); k++) {
		snprintf(code, sizeof(code), "%d", metrics_http_codes[k]);
		l[0] = '\0';
		label(l, sizeof(l), "code", code);
		sample(o, &resp, &begun[0], l, u64(h->responses[k]));
	}
	sample(o, &drop, &begun[1], "reason=\"busy\"", u64(h->dropped_busy));
	sample(o, &drop, &begun[1], "reason=\"timeout\"", u64(h->dropped_timeout));
}

int metrics_render(const struct metrics_info *m, char *buf, size_t len)
{
	struct outbuf o = { buf, len, 0, len == 0 };

	render_daemon(&o, m);
	render_peers(&o, m);
	render_paths(&o, m);
	if (m->http)
		render_http(&o, m->http);
	return o.full ? -ENOSPC : (int)o.off;
}
