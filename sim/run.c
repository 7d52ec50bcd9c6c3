/* One simulated run. Path (i, j) crosses client uplink i then server uplink j; each uplink is
 * two link models (towards its host and away from it). The engines are the real ones, crypto
 * included; the tun side is the traffic models below. Everything happens in event order, and
 * every random draw comes from seeded generators, so a run is a pure function of its inputs.
 * A hub is several sites: each has its own uplinks, its own client engine and its own engine
 * on the server (the hub's state for that peer), and every site's server side sends and
 * receives over the same server uplinks. A scenario without sites is one site. */
#include "sim/run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/engine.h"
#include "core/rng.h"
#include "core/wire.h"
#include "sim/eventq.h"
#include "sim/link.h"
#include "sim/tcp.h"

#define OUTER_HDR 28			/* IPv4 + UDP around each datagram on a link */
#define MTU (1500 - OUTER_HDR - WIRE_OVERHEAD)
#define PING_LEN 84
#define PING_INTERVAL_NS (100ull * 1000000)
#define DRAIN_NS (2ull * 1000000000)
#define DGRAM_BLOCK 256

enum ev_type { EV_HOP, EV_TICK, EV_UDP, EV_PING, EV_TCP_SND, EV_TCP_RCV, EV_BIN };

/* Inner packets: a sim-private layout behind an IPv4-looking first byte. */
enum inner_kind { IN_UDP = 1, IN_PING_REQ, IN_PING_REP, IN_TCP_SEG, IN_TCP_ACK };

struct dgram {
	struct dgram *next;
	bool to_server;
	uint8_t site, src, dst, stage;	/* src, dst: uplink indices at each end */
	uint16_t len;
	uint8_t buf[WIRE_MAX_DGRAM];
};

struct dgram_block {
	struct dgram_block *next;
	struct dgram d[DGRAM_BLOCK];
};

struct pending {
	uint16_t len;
	uint8_t buf[MTU];
};

struct sim;
struct site;

struct endpoint {
	struct sim *sim;
	struct site *site;
	struct mpt_engine *engine;
	bool is_server;
	bool in_engine;
	uint64_t tick_at;
	struct pending *outbox;
	size_t nout, capout;
};

struct flow {
	const struct traffic_spec *spec;
	struct site *site;
	unsigned index;
	struct tcp_sender *snd;
	struct tcp_receiver *rcv;
	uint64_t snd_at, rcv_at;
	bool pump;
	uint64_t delivered;		/* tcp: bytes counted into goodput so far */
	uint64_t udp_start, udp_count;
};

/* One client site and the server's engine for it. */
struct site {
	unsigned index;
	unsigned nlinks, link0;		/* its uplinks; link0: the first in the run's numbering */
	const struct uplink_spec *links;
	unsigned ntraffic;
	const struct traffic_spec *traffic;
	struct endpoint client, server;
	/* per uplink: cup (client -> net), cdown (net -> client) */
	struct link cup[MPT_MAX_LOCAL], cdown[MPT_MAX_LOCAL];
	struct mpt_addr caddr[MPT_MAX_LOCAL];
	uint64_t tun_id, max_tun_id;	/* application packets towards this client, numbered */
	bool any_tun_id;
};

struct sim {
	const struct scenario *s;
	const struct run_options *o;
	struct run_result *r;
	struct eventq *q;
	struct mpt_rng rng;
	struct mpt_rng key_rng;		/* ephemeral keys: apart, so links draw the same numbers */
	uint64_t now, end_ns, stop_ns;
	uint64_t t0;			/* the scenario's time 0: the end of the warm-up */
	unsigned nsites, nserver;
	struct site sites[SCENARIO_MAX_SITES];
	/* per server uplink: sup (server -> net), sdown (net -> server), shared by every site */
	struct link sup[MPT_MAX_REMOTE], sdown[MPT_MAX_REMOTE];
	bool server_ideal;
	struct mpt_addr saddr[MPT_MAX_REMOTE];
	struct dgram *free_dgrams;
	struct dgram_block *blocks;
	unsigned nflows;
	struct flow *flows;
	size_t rtt_cap;
	uint64_t data_seen[RUN_MAX_LINKS];
	int err;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

static unsigned bin_of(const struct sim *sim)
{
	uint64_t b;

	if (sim->now < sim->t0)
		return sim->r->nbins;		/* the warm-up: in no bin */
	b = (sim->now - sim->t0) / RUN_BIN_NS;
	return b < sim->r->nbins ? (unsigned)b : sim->r->nbins;
}

static void push(struct sim *sim, uint64_t t, int type, void *ptr, uint64_t arg)
{
	if (eventq_push(sim->q, t, type, ptr, arg) < 0)
		sim->err = -ENOMEM;
}

static struct dgram *dgram_get(struct sim *sim)
{
	struct dgram *d = sim->free_dgrams;

	if (!d) {
		struct dgram_block *b = malloc(sizeof(*b));

		if (!b) {
			sim->err = -ENOMEM;
			return NULL;
		}
		b->next = sim->blocks;
		sim->blocks = b;
		for (int i = DGRAM_BLOCK - 1; i >= 0; i--) {
			b->d[i].next = sim->free_dgrams;
			sim->free_dgrams = &b->d[i];
		}
		d = sim->free_dgrams;
	}
	sim->free_dgrams = d->next;
	return d;
}

static void dgram_put(struct sim *sim, struct dgram *d)
{
	d->next = sim->free_dgrams;
	sim->free_dgrams = d;
}

/* ---- engine calls: the engine's callbacks must not re-enter it, so the tun side's replies
 * wait in an outbox until the call returns. */

static void schedule_tick(struct endpoint *ep)
{
	uint64_t t = engine_deadline(ep->engine);

	if (t == UINT64_MAX || t >= ep->tick_at)
		return;
	if (t < ep->sim->now)
		t = ep->sim->now;
	ep->tick_at = t;
	push(ep->sim, t, EV_TICK, ep, 0);
}

static void pump_flows(struct sim *sim);

static void call_end(struct endpoint *ep)
{
	struct sim *sim = ep->sim;

	ep->in_engine = false;
	for (size_t k = 0; k < ep->nout; k++)
		engine_send(ep->engine, ep->outbox[k].buf, ep->outbox[k].len, sim->now);
	ep->nout = 0;
	if (ep->is_server)
		pump_flows(sim);
	schedule_tick(ep);
}

static void app_emit(struct endpoint *ep, const uint8_t *pkt, size_t len)
{
	if (!ep->in_engine) {
		engine_send(ep->engine, pkt, len, ep->sim->now);
		schedule_tick(ep);
		return;
	}
	if (ep->nout == ep->capout) {
		size_t cap = ep->capout ? 2 * ep->capout : 64;
		struct pending *p = realloc(ep->outbox, cap * sizeof(*p));

		if (!p) {
			ep->sim->err = -ENOMEM;
			return;
		}
		ep->outbox = p;
		ep->capout = cap;
	}
	ep->outbox[ep->nout].len = (uint16_t)len;
	memcpy(ep->outbox[ep->nout].buf, pkt, len);
	ep->nout++;
}

/* ---- the network ---- */

static struct link *stage_link(struct sim *sim, const struct dgram *d)
{
	struct site *site = &sim->sites[d->site];

	if (d->to_server)
		return d->stage == 0 ? &site->cup[d->src] :
		       sim->server_ideal ? NULL : &sim->sdown[d->dst];
	return d->stage == 0 ? (sim->server_ideal ? NULL : &sim->sup[d->src]) : &site->cdown[d->dst];
}

static unsigned client_uplink(const struct dgram *d)
{
	return d->to_server ? d->src : d->dst;
}

/* The server hands each datagram to the engine of the site that sent it: the real hub finds
 * the peer from its session; the simulator knows it. */
static void arrive(struct sim *sim, struct dgram *d)
{
	struct site *site = &sim->sites[d->site];
	struct endpoint *ep = d->to_server ? &site->server : &site->client;
	const struct mpt_addr *from = d->to_server ? &site->caddr[d->src] : &sim->saddr[d->src];

	if (!d->to_server) {
		unsigned b = bin_of(sim), i = site->link0 + d->dst;

		sim->r->link_bytes[i] += d->len;
		if (b < sim->r->nbins)
			sim->r->bin_link_bytes[(size_t)i * sim->r->nbins + b] += d->len;
	}
	ep->in_engine = true;
	engine_recv(ep->engine, d->dst, from, d->buf, d->len, sim->now);
	call_end(ep);
	dgram_put(sim, d);
}

/* Move d through its remaining link stages, starting now. */
static void forward(struct sim *sim, struct dgram *d)
{
	while (d->stage < 2) {
		struct link *l = stage_link(sim, d);
		uint64_t at;
		enum link_fate fate;

		if (!l) {
			d->stage++;
			continue;
		}
		fate = link_send(l, sim->now, d->len + OUTER_HDR, &sim->rng, &at);
		if (fate != LINK_DELIVER) {
			struct site *site = &sim->sites[d->site];

			if (fate == LINK_DROP_DOWN && (l == &site->cup[client_uplink(d)] ||
						       l == &site->cdown[client_uplink(d)])) {
				unsigned b = bin_of(sim), i = site->link0 + client_uplink(d);

				if (b < sim->r->nbins)
					sim->r->bin_link_outage[(size_t)i * sim->r->nbins + b]++;
			}
			dgram_put(sim, d);
			return;
		}
		d->stage++;
		push(sim, at, EV_HOP, d, 0);
		return;
	}
	arrive(sim, d);
}

static void on_send(void *ctx, unsigned local, const struct mpt_addr *to,
		    const uint8_t *buf, size_t len)
{
	struct endpoint *ep = ctx;
	struct sim *sim = ep->sim;
	struct dgram *d = dgram_get(sim);

	if (!d)
		return;
	sim->r->datagrams++;
	d->to_server = !ep->is_server;
	d->site = (uint8_t)ep->site->index;
	d->src = (uint8_t)local;
	d->dst = to->bytes[1];
	d->stage = 0;
	d->len = (uint16_t)len;
	memcpy(d->buf, buf, len);
	forward(sim, d);
}

/* ---- traffic ---- */

/* The inner packets are IPv4 with real 5-tuples where the tunnel looks (core/flow.c tells flows
 * apart by them): 10.99.0.2 the server, 10.99.0.1 the client, TCP and UDP flows on ports 5001
 * and 40000 + flow, pings ICMP. The simulator's own fields follow the 24 header bytes: the
 * timestamp at 24, the tun id at 32 (data towards the client), the TCP sequence or cumulative
 * ACK at 40, segment length or SACK count at 44, retransmission or D-SACK flag at 46, SACK
 * blocks from 48. */
#define IN_TS 24
#define IN_ID 32
#define IN_SEQ 40
#define IN_SEGLEN 44
#define IN_FLAG 46
#define IN_SACK 48

static size_t inner_init(uint8_t *p, enum inner_kind kind, size_t len, unsigned flow, uint64_t ts)
{
	bool to_client = kind == IN_UDP || kind == IN_PING_REP || kind == IN_TCP_SEG;
	static const uint8_t server[4] = { 10, 99, 0, 2 }, client[4] = { 10, 99, 0, 1 };

	memset(p, 0, IN_SEQ + 8);
	p[0] = 0x45;
	p[1] = (uint8_t)kind;
	put16(p + 2, (uint16_t)len);
	put16(p + 4, (uint16_t)flow);
	p[8] = 64;
	p[9] = kind == IN_UDP ? 17 : kind == IN_TCP_SEG || kind == IN_TCP_ACK ? 6 : 1;
	memcpy(p + 12, to_client ? server : client, 4);
	memcpy(p + 16, to_client ? client : server, 4);
	if (p[9] != 1) {
		put16(p + (to_client ? 20 : 22), 5001);
		put16(p + (to_client ? 22 : 20), (uint16_t)(40000 + flow));
	}
	put64(p + IN_TS, ts);
	return len;
}

/* Application data towards the client: numbered, so the client can count loss and reordering. */
static void emit_down(struct sim *sim, struct site *site, uint8_t *p, size_t len)
{
	put64(p + IN_ID, site->tun_id++);
	sim->r->app_sent++;
	app_emit(&site->server, p, len);
}

static void count_goodput(struct sim *sim, struct site *site, uint64_t bytes)
{
	struct run_result *r = sim->r;
	unsigned b;

	if (sim->now > sim->end_ns)
		return;
	r->goodput_bps += (double)bytes;	/* bytes for now; rates at the end */
	r->site_goodput_bps[site->index] += (double)bytes;
	b = bin_of(sim);
	if (b < r->nbins) {
		r->bin_goodput_bps[b] += (double)bytes;
		r->bin_site_goodput_bps[(size_t)site->index * r->nbins + b] += (double)bytes;
	}
}

static void arm_tcp_timers(struct sim *sim, struct flow *f)
{
	uint64_t t = tcp_sender_deadline(f->snd);

	if (t != UINT64_MAX && t < f->snd_at) {
		f->snd_at = t < sim->now ? sim->now : t;
		push(sim, f->snd_at, EV_TCP_SND, f, 0);
	}
	t = tcp_receiver_deadline(f->rcv);
	if (t != UINT64_MAX && t < f->rcv_at) {
		f->rcv_at = t < sim->now ? sim->now : t;
		push(sim, f->rcv_at, EV_TCP_RCV, f, 0);
	}
}

static void tcp_pump(struct sim *sim, struct flow *f)
{
	struct tcp_seg seg;
	uint8_t p[MTU];

	f->pump = false;
	while (sim->now < sim->end_ns && tcp_sender_next(f->snd, sim->now, &seg)) {
		size_t len = inner_init(p, IN_TCP_SEG, 52 + (size_t)seg.len, f->index, seg.ts);

		put32(p + IN_SEQ, seg.seq);
		put16(p + IN_SEGLEN, seg.len);
		p[IN_FLAG] = seg.retx;
		emit_down(sim, f->site, p, len);
	}
	arm_tcp_timers(sim, f);
}

static void pump_flows(struct sim *sim)
{
	for (unsigned k = 0; k < sim->nflows; k++)
		if (sim->flows[k].pump)
			tcp_pump(sim, &sim->flows[k]);
}

static void send_ack(struct flow *f, const struct tcp_ack *a)
{
	uint8_t p[128];
	/* IP, TCP and the timestamp option, 2 + 8 per block of the SACK option and 2 of padding */
	size_t len = inner_init(p, IN_TCP_ACK, a->nsack ? 56 + 8u * a->nsack : 52, f->index,
				a->tsecr);

	put32(p + IN_SEQ, a->cum);
	p[IN_SEGLEN] = a->nsack;
	p[IN_FLAG] = a->dsack;
	for (unsigned k = 0; k < a->nsack && k < 3; k++) {
		put32(p + IN_SACK + 8 * k, a->sack[k].start);
		put32(p + IN_SACK + 4 + 8 * k, a->sack[k].end);
	}
	app_emit(&f->site->client, p, len);
}

static void tcp_receiver_progress(struct sim *sim, struct flow *f)
{
	uint64_t d = tcp_receiver_delivered_bytes(f->rcv);

	count_goodput(sim, f->site, d - f->delivered);
	f->delivered = d;
}

static void client_deliver(struct sim *sim, struct site *site, const uint8_t *p, size_t len)
{
	unsigned kind = p[1], fi = get16(p + 4);
	struct tcp_ack ack;

	if (kind == IN_PING_REP) {
		struct run_result *r = sim->r;

		if (r->nrtt == sim->rtt_cap) {
			size_t cap = sim->rtt_cap ? 2 * sim->rtt_cap : 1024;
			double *n = realloc(r->rtt_ms, cap * sizeof(*n));

			if (!n) {
				sim->err = -ENOMEM;
				return;
			}
			r->rtt_ms = n;
			sim->rtt_cap = cap;
		}
		r->rtt_ms[r->nrtt++] = (double)(sim->now - get64(p + IN_TS)) / 1e6;
		return;
	}
	if (kind != IN_UDP && kind != IN_TCP_SEG)
		return;
	{
		uint64_t id = get64(p + IN_ID);

		sim->r->app_recv++;
		if (site->any_tun_id && id < site->max_tun_id)
			sim->r->app_reordered++;
		else
			site->max_tun_id = id;
		site->any_tun_id = true;
	}
	if (kind == IN_UDP) {
		count_goodput(sim, site, len - 28);
		return;
	}
	if (fi < sim->nflows && sim->flows[fi].rcv && sim->flows[fi].site == site) {
		struct flow *f = &sim->flows[fi];
		struct tcp_seg seg = { .seq = get32(p + IN_SEQ), .len = get16(p + IN_SEGLEN),
				       .retx = p[IN_FLAG], .ts = get64(p + IN_TS) };

		if (tcp_receiver_on_seg(f->rcv, sim->now, &seg, &ack))
			send_ack(f, &ack);
		tcp_receiver_progress(sim, f);
		arm_tcp_timers(sim, f);
	}
}

static void server_deliver(struct sim *sim, struct endpoint *ep, const uint8_t *p, size_t len)
{
	unsigned kind = p[1], fi = get16(p + 4);

	if (kind == IN_PING_REQ) {
		uint8_t reply[PING_LEN];

		memcpy(reply, p, len < PING_LEN ? len : PING_LEN);
		inner_init(reply, IN_PING_REP, PING_LEN, fi, get64(p + IN_TS));
		app_emit(ep, reply, PING_LEN);
	} else if (kind == IN_TCP_ACK && fi < sim->nflows && sim->flows[fi].snd &&
		   sim->flows[fi].site == ep->site) {
		struct flow *f = &sim->flows[fi];
		struct tcp_ack a = { .cum = get32(p + IN_SEQ), .nsack = p[IN_SEGLEN],
				     .dsack = p[IN_FLAG] != 0, .tsecr = get64(p + IN_TS) };

		if (a.nsack > 3)
			a.nsack = 3;
		for (unsigned k = 0; k < a.nsack; k++) {
			a.sack[k].start = get32(p + IN_SACK + 8 * k);
			a.sack[k].end = get32(p + IN_SACK + 4 + 8 * k);
		}
		tcp_sender_on_ack(f->snd, sim->now, &a);
		f->pump = true;
	}
}

static void on_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct endpoint *ep = ctx;

	if (len < IN_SEQ + 8 || pkt[0] != 0x45)
		return;
	if (ep->is_server)
		server_deliver(ep->sim, ep, pkt, len);
	else
		client_deliver(ep->sim, ep->site, pkt, len);
}

static void on_udp(struct sim *sim, struct flow *f)
{
	uint8_t p[MTU];
	const uint64_t payload = MTU - 28;
	uint64_t next;

	if (sim->now >= sim->end_ns)
		return;
	inner_init(p, IN_UDP, MTU, f->index, sim->now);
	emit_down(sim, f->site, p, MTU);
	f->udp_count++;
	if (f->spec->poisson) {
		double mean = (double)payload * 8e9 / (double)f->spec->rate_bps;
		double u = rng_double(&sim->rng);

		next = sim->now + (uint64_t)(-log(1.0 - u) * mean);
	} else {
		/* From the flow's start, so rounding never accumulates into drift. */
		next = f->udp_start + (uint64_t)((unsigned __int128)f->udp_count * payload *
						 8000000000ull / f->spec->rate_bps);
	}
	push(sim, next, EV_UDP, f, 0);
}

static void on_ping(struct sim *sim, struct site *site)
{
	uint8_t p[PING_LEN];

	if (sim->now >= sim->end_ns)
		return;
	inner_init(p, IN_PING_REQ, PING_LEN, 0, sim->now);
	sim->r->pings_sent++;
	app_emit(&site->client, p, PING_LEN);
	push(sim, sim->now + PING_INTERVAL_NS, EV_PING, site, 0);
}

/* Data datagrams each client uplink carried (both directions) since the last bin. */
static void on_bin(struct sim *sim, uint64_t bin)
{
	uint64_t total[RUN_MAX_LINKS] = { 0 };

	for (unsigned k = 0; k < sim->nsites; k++) {
		const struct site *site = &sim->sites[k];
		const struct mpt_engine *server = site->server.engine;
		unsigned nremote = engine_nremote(server);

		for (unsigned i = 0; i < site->nlinks; i++)
			for (unsigned j = 0; j < sim->nserver; j++)
				total[site->link0 + i] += engine_path(site->client.engine, i, j)->tx_data;
		for (unsigned j = 0; j < sim->nserver; j++) {
			for (unsigned m = 0; m < nremote; m++) {
				unsigned i = engine_remote_addr(server, m)->bytes[1];

				total[site->link0 + i] += engine_path(server, j, m)->tx_data;
			}
		}
	}
	for (unsigned i = 0; i < sim->r->nlinks; i++) {
		if (bin > 0 && bin <= sim->r->nbins)
			sim->r->bin_link_data[(size_t)i * sim->r->nbins + bin - 1] = total[i] - sim->data_seen[i];
		sim->data_seen[i] = total[i];
	}
	if (bin < sim->r->nbins)
		push(sim, sim->t0 + (bin + 1) * RUN_BIN_NS, EV_BIN, NULL, bin + 1);
}

/* ---- set-up and the loop ---- */

/* A client address names its site too when there are sites, so that no two sites' uplinks
 * share an address at the hub; a scenario without sites keeps the two-byte form. */
static struct mpt_addr addr_of(char side, unsigned i, const struct site *site, bool hub)
{
	struct mpt_addr a;

	memset(&a, 0, sizeof(a));
	a.len = 2;
	a.bytes[0] = (uint8_t)side;
	a.bytes[1] = (uint8_t)i;
	if (hub && site) {
		a.len = 3;
		a.bytes[2] = (uint8_t)site->index;
	}
	return a;
}

/* Ephemeral keys from the run's seeded generator: a run stays a pure function of its seed. */
static void on_random(void *ctx, uint8_t *buf, size_t len)
{
	struct endpoint *ep = ctx;

	for (size_t k = 0; k < len; k++)
		buf[k] = (uint8_t)rng_next(&ep->sim->key_rng);
}

/* Each site's pair of engines has its own key (a hub's peers each have theirs) and its own
 * seed; site 0's are the run's, so a scenario without sites runs as it always did. */
static int make_engine(struct sim *sim, struct site *site, struct endpoint *ep, bool server,
		       unsigned nlocal)
{
	struct engine_config cfg = {
		.role = server ? ENGINE_SERVER : ENGINE_CLIENT,
		.cipher_none = sim->o->cipher_none,
		.nlocal = nlocal,
		.sched = sim->o->sched,
		.sched_args = sim->o->sched_args,
		.mtu = MTU,
		.reorder_ns = ENGINE_REORDER_AUTO,
		.seed = sim->s->seed * 2 + (server ? 1 : 0) + ((uint64_t)site->index << 40),
		.epoch_ns = 1000000000ull,
	};
	struct engine_io io = { .ctx = ep, .send = on_send, .deliver = on_deliver,
				.entropy = on_random };
	int err = 0;

	memcpy(cfg.key, sim->o->key, sizeof(cfg.key));
	if (site->index) {
		uint8_t salt[4] = { 's', 'i', 't', (uint8_t)site->index };

		crypto_generichash(cfg.key, sizeof(cfg.key), salt, sizeof(salt), sim->o->key,
				   sizeof(sim->o->key));
	}
	ep->sim = sim;
	ep->site = site;
	ep->is_server = server;
	ep->tick_at = UINT64_MAX;
	ep->engine = engine_new(&cfg, &io, 0, &err);
	sodium_memzero(cfg.key, sizeof(cfg.key));
	return ep->engine ? 0 : err;
}

/* The run's sites: the scenario's, or its one client as site 0. */
static void init_sites(struct sim *sim)
{
	const struct scenario *s = sim->s;
	unsigned link0 = 0;

	sim->nsites = s->nsites ? s->nsites : 1;
	for (unsigned k = 0; k < sim->nsites; k++) {
		struct site *site = &sim->sites[k];
		const struct site_spec *ss = s->nsites ? &s->sites[k] : NULL;

		site->index = k;
		site->link0 = link0;
		site->nlinks = ss ? ss->nlinks : s->nlinks;
		site->links = ss ? ss->links : s->links;
		site->ntraffic = ss && ss->ntraffic ? ss->ntraffic : s->ntraffic;
		site->traffic = ss && ss->ntraffic ? ss->traffic : s->traffic;
		link0 += site->nlinks;
	}
	sim->r->nlinks = link0;
	sim->r->nsites = sim->nsites;
}

static int add_flows(struct sim *sim, struct site *site)
{
	for (unsigned t = 0; t < site->ntraffic; t++) {
		const struct traffic_spec *ts = &site->traffic[t];
		unsigned n = ts->kind == TRAFFIC_TCP ? ts->flows : 1;

		for (unsigned k = 0; k < n; k++) {
			struct flow *f = &sim->flows[sim->nflows];

			f->spec = ts;
			f->site = site;
			f->index = sim->nflows++;
			f->snd_at = f->rcv_at = UINT64_MAX;
			if (ts->kind == TRAFFIC_TCP) {
				struct tcp_config c;

				tcp_config_default(&c, MTU - 52);	/* IP, TCP, timestamps */
				f->snd = tcp_sender_new(&c);
				f->rcv = tcp_receiver_new(&c);
				if (!f->snd || !f->rcv)
					return -ENOMEM;
				/* Stagger flow starts by a millisecond, as real clients never start at
				 * once; sites too. */
				push(sim, sim->t0 + 100000000ull + (k + site->index) * 1000000ull,
				     EV_TCP_SND, f, 0);
			} else {
				f->udp_start = sim->t0 + 100000000ull;
				push(sim, f->udp_start, EV_UDP, f, 0);
			}
		}
	}
	return 0;
}

static int setup(struct sim *sim)
{
	const struct scenario *s = sim->s;
	struct run_result *r = sim->r;
	bool hub = s->nsites > 0;
	double client_bps = 0, server_bps = 0;
	unsigned nflows = 0;
	int rc;

	rng_seed(&sim->rng, s->seed);
	rng_seed(&sim->key_rng, s->seed ^ 0x6b657973ull);
	sim->t0 = s->warmup_ns;
	sim->end_ns = sim->t0 + s->duration_ns;
	sim->stop_ns = sim->end_ns + DRAIN_NS;
	sim->nserver = s->nserver ? s->nserver : 1;
	sim->server_ideal = s->nserver == 0;
	init_sites(sim);
	r->nbins = (unsigned)((s->duration_ns + RUN_BIN_NS - 1) / RUN_BIN_NS);
	r->bin_goodput_bps = calloc(r->nbins, sizeof(double));
	r->bin_site_goodput_bps = calloc((size_t)r->nbins * sim->nsites, sizeof(double));
	r->bin_link_bytes = calloc((size_t)r->nbins * r->nlinks, sizeof(uint64_t));
	r->bin_link_data = calloc((size_t)r->nbins * r->nlinks, sizeof(uint64_t));
	r->bin_link_outage = calloc((size_t)r->nbins * r->nlinks, sizeof(uint64_t));
	for (unsigned k = 0; k < sim->nsites; k++)
		for (unsigned t = 0; t < sim->sites[k].ntraffic; t++)
			nflows += sim->sites[k].traffic[t].kind == TRAFFIC_TCP ?
				  sim->sites[k].traffic[t].flows : 1;
	sim->flows = calloc(nflows ? nflows : 1, sizeof(*sim->flows));
	sim->q = eventq_new();
	if (!r->bin_goodput_bps || !r->bin_site_goodput_bps || !r->bin_link_bytes ||
	    !r->bin_link_data || !r->bin_link_outage || !sim->flows || !sim->q)
		return -ENOMEM;
	for (unsigned k = 0; k < sim->nsites; k++) {
		struct site *site = &sim->sites[k];

		for (unsigned i = 0; i < site->nlinks; i++) {
			if (link_init(&site->cup[i], &site->links[i].up) < 0 ||
			    link_init(&site->cdown[i], &site->links[i].down) < 0)
				return -EINVAL;
			link_set_epoch(&site->cup[i], sim->t0);
			link_set_epoch(&site->cdown[i], sim->t0);
			site->caddr[i] = addr_of('c', i, site, hub);
			client_bps += (double)link_rate_bps(&site->links[i].down);
		}
	}
	for (unsigned j = 0; j < s->nserver; j++) {
		if (link_init(&sim->sup[j], &s->server[j].up) < 0 ||
		    link_init(&sim->sdown[j], &s->server[j].down) < 0)
			return -EINVAL;
		link_set_epoch(&sim->sup[j], sim->t0);
		link_set_epoch(&sim->sdown[j], sim->t0);
		server_bps += (double)link_rate_bps(&s->server[j].up);
	}
	/* A hub's sites can use no more than its uplinks carry; one client is as it was. */
	r->capacity_bps = hub && s->nserver && server_bps < client_bps ? server_bps : client_bps;
	for (unsigned j = 0; j < sim->nserver; j++)
		sim->saddr[j] = addr_of('s', j, NULL, hub);
	for (unsigned k = 0; k < sim->nsites; k++) {
		struct site *site = &sim->sites[k];

		rc = make_engine(sim, site, &site->client, false, site->nlinks);
		if (!rc)
			rc = make_engine(sim, site, &site->server, true, sim->nserver);
		if (rc)
			return rc;
		for (unsigned j = 0; j < sim->nserver; j++) {
			rc = engine_add_remote(site->client.engine, &sim->saddr[j], 0);
			if (rc < 0)
				return rc;
		}
	}
	for (unsigned k = 0; k < sim->nsites; k++) {
		rc = add_flows(sim, &sim->sites[k]);
		if (rc < 0)
			return rc;
	}
	for (unsigned k = 0; k < sim->nsites; k++)
		push(sim, sim->t0 + 50000000ull, EV_PING, &sim->sites[k], 0);
	push(sim, sim->t0, EV_BIN, NULL, 0);
	for (unsigned k = 0; k < sim->nsites; k++) {
		struct endpoint *client = &sim->sites[k].client;

		client->in_engine = false;
		engine_tick(client->engine, 0);
		schedule_tick(client);
	}
	return sim->err;
}

static void dispatch(struct sim *sim, const struct event *ev)
{
	switch (ev->type) {
	case EV_HOP:
		forward(sim, ev->ptr);
		break;
	case EV_TICK: {
		struct endpoint *ep = ev->ptr;

		if (ev->time_ns != ep->tick_at)
			break;		/* superseded by an earlier tick */
		ep->tick_at = UINT64_MAX;
		ep->in_engine = true;
		engine_tick(ep->engine, sim->now);
		call_end(ep);
		break;
	}
	case EV_UDP:
		on_udp(sim, ev->ptr);
		break;
	case EV_PING:
		on_ping(sim, ev->ptr);
		break;
	case EV_TCP_SND: {
		struct flow *f = ev->ptr;

		if (ev->time_ns == f->snd_at)
			f->snd_at = UINT64_MAX;
		tcp_sender_on_timer(f->snd, sim->now);
		tcp_pump(sim, f);
		break;
	}
	case EV_TCP_RCV: {
		struct flow *f = ev->ptr;
		struct tcp_ack ack;

		if (ev->time_ns == f->rcv_at)
			f->rcv_at = UINT64_MAX;
		if (tcp_receiver_on_timer(f->rcv, sim->now, &ack))
			send_ack(f, &ack);
		arm_tcp_timers(sim, f);
		break;
	}
	case EV_BIN:
		on_bin(sim, ev->arg);
		break;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void teardown(struct sim *sim)
{
	for (unsigned k = 0; k < sim->nflows; k++) {
		tcp_sender_free(sim->flows[k].snd);
		tcp_receiver_free(sim->flows[k].rcv);
	}
	for (unsigned k = 0; k < SCENARIO_MAX_SITES; k++) {
		struct site *site = &sim->sites[k];

		for (unsigned i = 0; i < MPT_MAX_LOCAL; i++) {
			link_free(&site->cup[i]);
			link_free(&site->cdown[i]);
		}
		engine_free(site->client.engine);
		engine_free(site->server.engine);
		free(site->client.outbox);
		free(site->server.outbox);
	}
	for (unsigned j = 0; j < MPT_MAX_REMOTE; j++) {
		link_free(&sim->sup[j]);
		link_free(&sim->sdown[j]);
	}
	free(sim->flows);
	eventq_free(sim->q);
	while (sim->blocks) {
		struct dgram_block *b = sim->blocks;

		sim->blocks = b->next;
		free(b);
	}
}

int run_sim(const struct scenario *s, const struct run_options *o, struct run_result *r)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	struct event ev;
	int rc;

	memset(r, 0, sizeof(*r));
	r->sched = o->sched->name;
	if (!sim)
		return -ENOMEM;
	sim->s = s;
	sim->o = o;
	sim->r = r;
	rc = setup(sim);
	while (!rc && eventq_pop(sim->q, &ev)) {
		if (ev.time_ns > sim->stop_ns)
			break;
		sim->now = ev.time_ns;
		r->events++;
		dispatch(sim, &ev);
		rc = sim->err;
	}
	for (unsigned k = 0; k < sim->nflows; k++) {
		struct tcp_sender_stats st;

		if (!sim->flows[k].snd)
			continue;
		tcp_sender_stats(sim->flows[k].snd, &st);
		r->tcp_retransmits += st.retransmits;
		r->tcp_timeouts += st.timeouts;
	}
	teardown(sim);
	free(sim);
	r->goodput_bps = r->goodput_bps * 8e9 / (double)s->duration_ns;
	for (unsigned k = 0; k < r->nsites; k++)
		r->site_goodput_bps[k] *= 8e9 / (double)s->duration_ns;
	for (unsigned b = 0; b < r->nbins; b++)
		r->bin_goodput_bps[b] *= 8e9 / (double)RUN_BIN_NS;
	for (size_t b = 0; r->bin_site_goodput_bps && b < (size_t)r->nbins * r->nsites; b++)
		r->bin_site_goodput_bps[b] *= 8e9 / (double)RUN_BIN_NS;
	if (r->nrtt)
		qsort(r->rtt_ms, r->nrtt, sizeof(double), cmp_double);
	return rc;
}

void run_result_free(struct run_result *r)
{
	free(r->rtt_ms);
	free(r->bin_goodput_bps);
	free(r->bin_site_goodput_bps);
	free(r->bin_link_bytes);
	free(r->bin_link_data);
	free(r->bin_link_outage);
	memset(r, 0, sizeof(*r));
}
