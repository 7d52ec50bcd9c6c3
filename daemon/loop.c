/* loop: tun, sockets and timers around one engine. The only place in mptun that waits. */
#include "daemon/loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/engine.h"
#include "core/hub.h"
#include "core/prefix.h"
#include "core/session.h"
#include "daemon/addr.h"
#include "daemon/conffile.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/scrape.h"
#include "daemon/status.h"
#include "daemon/tun.h"
#include "daemon/udp.h"
#include "sched/registry.h"

#define TUN_BATCH 64
#define STATUS_DOC_LEN STATUS_QUERY_MAX
#define LOG_EVERY_NS (60ull * 1000000000)
#define NO_ANSWER_NS (3ull * 1000000000)
#define AUTH_PEERS 16
/* "fails authentication" lines per minute, all senders together: junk from many ports must
 * not turn into as many lines (then one summary line for the rest of the minute) */
#define AUTH_LINES_PER_MIN 5

/* epoll tags: sockets are 0..nsock-1; the metrics listener TAG_METRICS, its connections the
 * SCRAPE_MAX_CONN tags after it */
enum { TAG_TUN = 1000, TAG_STATUS, TAG_METRICS = 2000 };

struct auth_log {
	struct mpt_addr peer;
	uint64_t last_ns, count;
};

struct loop {
	struct config cfg;
	bool server;
	int tun_fd, epfd, status_fd;
	unsigned nsock;
	struct udp_sock *sock;
	struct sockaddr_storage local[CONFIG_MAX_ADDR];
	struct mpt_engine *engine;
	/* server: finds the peer of each datagram (core/hub.h); one peer today, its engine */
	struct mpt_hub *hub;
	void *secrets;			/* the engine's keys, locked in memory; NULL if not */
	size_t secrets_len;
	uint64_t started_ns, now;
	uint64_t tun_write_drops;
	/* AllowedIPs (config file): packets from the peer must come from them, packets to it go
	 * to them; NULL: no check (the command line) */
	struct prefix_table *allowed;
	uint64_t drop_source, drop_no_route;
	bool no_pwait2;			/* the kernel lacks epoll_pwait2 (before 5.11): ms waits */
	/* what was last logged, to log changes only */
	bool path_up[CONFIG_MAX_ADDR][MPT_MAX_REMOTE];
	uint64_t sessions_logged, no_answer_logged_ns, handshakes_logged, rate_limited_logged;
	uint64_t stale_logged;
	struct auth_log auth[AUTH_PEERS];
	unsigned auth_next;
	uint64_t auth_minute_ns;	/* when the current minute of auth lines began */
	unsigned auth_lines;		/* said in it */
	uint64_t auth_unsaid;		/* failed datagrams in it not said once the lines ran out */
	struct log log;
	struct udp_pkt rx[UDP_BATCH];
	uint8_t tunbuf[WIRE_MAX_DGRAM];
	char *status_doc;
	struct scrape *scrape;		/* --metrics; NULL without */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *dgram,
		    size_t len)
{
	struct loop *l = ctx;
	struct sockaddr_storage ss;

	if (local >= l->nsock)
		return;
	addr_from_mpt(to, &ss);
	if (ss.ss_family != l->sock[local].family)
		return;	/* an IPv4 uplink cannot reach an IPv6 peer: that path stays down */
	udp_queue(&l->sock[local], &ss, to->len, dgram, len);
}

static void on_deliver(void *ctx, const uint8_t *pkt, size_t len)
{
	struct loop *l = ctx;

	if (l->allowed && prefix_route(l->allowed, pkt, len, true) != 0) {
		l->drop_source++;	/* a source the peer may not use: spoofed, or misrouted */
		return;
	}
	if (write(l->tun_fd, pkt, len) != (ssize_t)len)
		l->tun_write_drops++;
}

static void on_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static uint16_t on_new_index(void *ctx)
{
	struct loop *l = ctx;

	return hub_new_index(l->hub, 0);
}

/* Server: the hub, its static key derived from the one peer's master key (the command line's
 * and a one-[Peer] file's: the client derives the same public key). */
static int hub_open(struct loop *l, const uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen)
{
	uint8_t sk[32], pk[32];
	uint64_t seed;
	int rc = 0;

	session_hub_from_master(key, sk, pk);
	randombytes_buf(&seed, sizeof(seed));
	l->hub = hub_new(sk, seed, &rc);
	sodium_memzero(sk, sizeof(sk));
	if (!l->hub)
		snprintf(err, errlen, "hub: %s", strerror(-rc));
	return l->hub ? 0 : -1;
}

static int add_fd(struct loop *l, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A client checks at start that each uplink can reach a server: a typo in -l or a missing
 * route is better said now than as a path that never comes up. */
static int check_routes(struct loop *l, char *err, size_t errlen)
{
	char a[64], b[64];

	for (unsigned i = 0; i < l->cfg.nlocal; i++) {
		bool any = false;
		int last = 0;

		for (unsigned j = 0; j < l->cfg.nremote; j++) {
			const struct sockaddr_storage *r = &l->cfg.remote[j];
			int fd;

			if (r->ss_family != l->cfg.local[i].ss_family)
				continue;
			fd = socket(r->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			if (bind(fd, (const struct sockaddr *)&l->cfg.local[i],
				 addr_len(&l->cfg.local[i])) == 0 &&
			    connect(fd, (const struct sockaddr *)r, addr_len(r)) == 0)
				any = true;
			else
				last = errno;
			close(fd);
		}
		if (!any) {
			addr_str(&l->cfg.local[i], a, sizeof(a));
			if (last == EADDRNOTAVAIL)
				snprintf(err, errlen, "-l %s: the address is not on this host", a);
			else if (last)
				snprintf(err, errlen, "no route from %s to %s: %s", a,
					 addr_str(&l->cfg.remote[0], b, sizeof(b)),
					 strerror(last));
			else
				snprintf(err, errlen, "-l %s: no -r address of its family (IPv4/IPv6)",
					 a);
			return -1;
		}
	}
	return 0;
}

static int open_sockets(struct loop *l, char *err, size_t errlen)
{
	struct sockaddr_storage addrs[CONFIG_MAX_ADDR];
	unsigned n = l->cfg.nlocal;

	if (n) {
		memcpy(addrs, l->cfg.local, n * sizeof(addrs[0]));
	} else {
		/* one wildcard socket: a server listens on PORT, a client sends from any port */
		int fam = l->cfg.nremote ? l->cfg.remote[0].ss_family : AF_INET;

		for (unsigned j = 1; j < l->cfg.nremote; j++)
			if (l->cfg.remote[j].ss_family != fam) {
				snprintf(err, errlen, "-r addresses of both IPv4 and IPv6 need -l "
					 "addresses of each family");
				return -1;
			}
		addr_parse(fam == AF_INET6 ? "::" : "0.0.0.0",
			   l->server ? l->cfg.port : 0, &addrs[0]);
		n = 1;
	}
	l->sock = calloc(n, sizeof(*l->sock));
	if (!l->sock) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (udp_open(&l->sock[i], &addrs[i], err, errlen) < 0)
			return -1;
		l->nsock++;
		l->local[i] = l->sock[i].bound;
		if (add_fd(l, l->sock[i].fd, EPOLLIN, i) < 0) {
			snprintf(err, errlen, "epoll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The metrics document, for daemon/scrape.c: the engine's numbers as they are now. */
static int render_metrics(void *ctx, char *buf, size_t len)
{
	struct loop *l = ctx;
	struct metrics_local local[CONFIG_MAX_ADDR];
	struct metrics_peer peer = {
		.name = l->cfg.peer_name, .sched = l->cfg.sched, .engine = l->engine,
	};
	struct metrics_info mi = {
		.version = MPTUN_VERSION, .role = l->server ? "server" : "client",
		.tun = l->cfg.tun_name, .now_ns = mono_ns(), .started_ns = l->started_ns,
		.realtime_ns = real_ns(), .nlocal = l->nsock, .local = local, .npeer = 1,
		.peer = &peer, .http = scrape_stats(l->scrape),
	};

	for (unsigned i = 0; i < l->nsock; i++) {
		local[i].addr = l->local[i];
		local[i].send_errors = l->sock[i].send_errors;
		local[i].send_full = l->sock[i].send_dropped;
	}
	return metrics_render(&mi, buf, len);
}

struct loop *loop_new(const struct config *c, const uint8_t key[AEAD_KEY_LEN], char *err,
		      size_t errlen)
{
	struct engine_config ec = { 0 };
	struct engine_io io = { .send = on_send, .deliver = on_deliver, .entropy = on_random };
	struct tun_inner inner;
	struct loop *l;
	int rc = 0;

	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->cfg = *c;
	log_open(&l->log, STDERR_FILENO, c->verbosity);
	l->server = c->nremote == 0;
	l->tun_fd = l->epfd = l->status_fd = -1;
	l->started_ns = l->now = mono_ns();
	if (!c->mtu)
		l->cfg.mtu = config_default_mtu(c);
	if (c->nallowed) {
		l->allowed = prefix_table_new(c->nallowed);
		for (unsigned k = 0; l->allowed && k < c->nallowed; k++) {
			const struct conffile_prefix *p = &c->allowed[k];

			/* the file's parser refused overlaps, host bits and bad lengths already */
			if (prefix_table_add(l->allowed, p->family == AF_INET6 ? 6 : 4, p->addr,
					     p->len, 0) < 0) {
				snprintf(err, errlen, "AllowedIPs: prefix of line %u refused", p->line);
				goto fail;
			}
		}
		if (!l->allowed) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	l->status_doc = malloc(STATUS_DOC_LEN);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!l->status_doc || l->epfd < 0) {
		snprintf(err, errlen, "set-up: %s", strerror(errno));
		goto fail;
	}
	if (!l->server && check_routes(l, err, errlen) < 0)
		goto fail;
	/* the tun device first: without the capability for it, nothing else is worth doing */
	l->tun_fd = tun_open(c->tun_name, err, errlen);
	if (l->tun_fd < 0)
		goto fail;
	if (open_sockets(l, err, errlen) < 0)
		goto fail;
	inner = (struct tun_inner){ .v4 = c->have_tun_addr, .v6 = c->have_tun_addr6,
				    .addr = c->tun_addr, .peer = c->tun_peer,
				    .addr6 = c->tun_addr6, .peer6 = c->tun_peer6 };
	if (tun_configure(c->tun_name, &inner, l->cfg.mtu, err, errlen) < 0)
		goto fail;
	if (add_fd(l, l->tun_fd, EPOLLIN, TAG_TUN) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	if (c->status_path) {
		l->status_fd = status_listen(c->status_path, c->status_group, err, errlen);
		if (l->status_fd < 0 || add_fd(l, l->status_fd, EPOLLIN, TAG_STATUS) < 0)
			goto fail;
	}
	if (c->have_metrics) {
		l->scrape = scrape_new(&c->metrics, l->epfd, TAG_METRICS, render_metrics, l, err,
				       errlen);
		if (!l->scrape)
			goto fail;
	}
	ec.role = l->server ? ENGINE_SERVER : ENGINE_CLIENT;
	sodium_mlock(ec.key, sizeof(ec.key));	/* not fatal: main says so at --verbose */
	memcpy(ec.key, key, AEAD_KEY_LEN);
	ec.epoch_ns = real_ns() - l->now;
	ec.nlocal = l->nsock;
	ec.sched = sched_lookup(c->sched, &ec.sched_args);
	ec.mtu = l->cfg.mtu;
	ec.reorder_ns = ENGINE_REORDER_AUTO;
	ec.rekey_ns = (uint64_t)c->rekey_s * 1000000000;
	randombytes_buf(&ec.seed, sizeof(ec.seed));
	io.ctx = l;
	if (l->server) {
		if (hub_open(l, key, err, errlen) < 0)
			goto fail;
		io.new_index = on_new_index;
	}
	l->engine = engine_new(&ec, &io, l->now, &rc);
	sodium_munlock(ec.key, sizeof(ec.key));	/* wipes it */
	if (!l->engine) {
		snprintf(err, errlen, "--sched %s: %s", c->sched,
			 rc == -EINVAL ? "bad arguments for this scheduler" : strerror(-rc));
		goto fail;
	}
	if (l->hub && hub_add_peer(l->hub, key, l->engine) != 0) {
		snprintf(err, errlen, "hub: the peer was refused");
		goto fail;
	}
	l->secrets = engine_secrets(l->engine, &l->secrets_len);
	if (sodium_mlock(l->secrets, l->secrets_len) < 0)
		l->secrets = NULL;
	for (unsigned j = 0; j < c->nremote; j++) {
		struct mpt_addr a;

		addr_to_mpt(&c->remote[j], &a);
		engine_add_remote(l->engine, &a, l->now);
	}
	return l;
fail:
	loop_free(l);
	return NULL;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->secrets)
		sodium_munlock(l->secrets, l->secrets_len);	/* wipes them */
	scrape_free(l->scrape);
	engine_free(l->engine);
	hub_free(l->hub);
	prefix_table_free(l->allowed);
	for (unsigned i = 0; i < l->nsock; i++)
		udp_close(&l->sock[i]);
	free(l->sock);
	if (l->status_fd >= 0) {
		close(l->status_fd);
		unlink(l->cfg.status_path);
	}
	if (l->tun_fd >= 0)
		close(l->tun_fd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l->status_doc);
	log_close(&l->log);
	sodium_memzero(l, sizeof(*l));
	free(l);
}

/* A new minute for auth lines: first say how many went unsaid in the last one. */
static void auth_minute(struct loop *l)
{
	if (l->auth_minute_ns && l->now - l->auth_minute_ns < LOG_EVERY_NS)
		return;
	if (l->auth_unsaid)
		log_say(&l->log, 1, "%llu more datagrams failed authentication in the last minute "
			"(too many senders to name each); dropped",
			(unsigned long long)l->auth_unsaid);
	l->auth_minute_ns = l->now;
	l->auth_lines = 0;
	l->auth_unsaid = 0;
}

/* A datagram failed authentication: say so once per peer per minute, never per packet, and
 * at most AUTH_LINES_PER_MIN times a minute in all. */
static void note_bad_auth(struct loop *l, const struct mpt_addr *from)
{
	struct auth_log *slot = NULL;
	char a[64];

	auth_minute(l);
	for (unsigned k = 0; k < AUTH_PEERS; k++)
		if (l->auth[k].peer.len == from->len &&
		    !memcmp(l->auth[k].peer.bytes, from->bytes, from->len)) {
			slot = &l->auth[k];
			break;
		}
	if (!slot) {
		slot = &l->auth[l->auth_next];
		l->auth_next = (l->auth_next + 1) % AUTH_PEERS;
		slot->peer = *from;
		slot->last_ns = 0;
		slot->count = 0;
	}
	slot->count++;
	if (slot->last_ns && l->now - slot->last_ns < LOG_EVERY_NS)
		return;
	if (l->auth_lines >= AUTH_LINES_PER_MIN) {
		l->auth_unsaid++;
		return;
	}
	log_say(&l->log, 1, "datagrams from %s fail authentication (%llu so far): a peer with "
		"another key, or not mptun; dropped", addr_mpt_str(from, a, sizeof(a)),
		(unsigned long long)slot->count);
	slot->last_ns = l->now;
	l->auth_lines++;
}

static void log_changes(struct loop *l)
{
	const struct engine_stats *st = engine_stats(l->engine);
	unsigned nremote = engine_nremote(l->engine);
	char a[64], b[64];

	auth_minute(l);
	if (st->handshakes_sent != l->handshakes_logged) {
		log_say(&l->log, 2, "handshake datagrams sent: %llu", (unsigned long long)st->handshakes_sent);
		l->handshakes_logged = st->handshakes_sent;
	}
	if (st->drop_rate_limited != l->rate_limited_logged) {
		log_say(&l->log, 2, "handshakes refused by the rate limit: %llu",
		    (unsigned long long)st->drop_rate_limited);
		l->rate_limited_logged = st->drop_rate_limited;
	}
	if (st->stale_received != l->stale_logged) {
		log_say(&l->log, 1, "the server refused our handshake's counter (this host's clock is "
			"behind the one it last accepted): going above its floor");
		l->stale_logged = st->stale_received;
	}
	if (st->sessions != l->sessions_logged) {
		log_say(&l->log, 1, l->sessions_logged ? "rekeyed: session %llu" : "session up",
		    (unsigned long long)st->sessions);
		l->sessions_logged = st->sessions;
		l->no_answer_logged_ns = 0;
	}
	if (!l->server && !engine_has_session(l->engine) && st->handshakes_sent &&
	    l->now - l->started_ns >= NO_ANSWER_NS &&
	    (!l->no_answer_logged_ns || l->now - l->no_answer_logged_ns >= LOG_EVERY_NS)) {
		log_say(&l->log, 1, "no answer from the server to %llu handshakes: it is down, unreachable, "
		    "or has another key", (unsigned long long)st->handshakes_sent);
		l->no_answer_logged_ns = l->now;
	}
	/* paths are worth reporting once feedback can reach them, i.e. under a session */
	for (unsigned i = 0; i < l->nsock && engine_has_session(l->engine); i++) {
		for (unsigned j = 0; j < nremote && j < MPT_MAX_REMOTE; j++) {
			const struct mpt_path *p = engine_path(l->engine, i, j);

			if (p->up == l->path_up[i][j])
				continue;
			l->path_up[i][j] = p->up;
			log_say(&l->log, 1, "path %s -> %s %s", addr_str(&l->local[i], a, sizeof(a)),
			    addr_mpt_str(engine_remote_addr(l->engine, j), b, sizeof(b)),
			    p->up ? "up" : "down");
		}
	}
}

static void flush_all(struct loop *l)
{
	for (unsigned i = 0; i < l->nsock; i++) {
		struct udp_sock *u = &l->sock[i];

		if (!u->nq)
			continue;
		if (!udp_flush(u)) {
			/* the socket buffer is full: tell the scheduler, wake when it drains */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = i };

			engine_set_writable(l->engine, i, false);
			epoll_ctl(l->epfd, EPOLL_CTL_MOD, u->fd, &ev);
		}
	}
}

static void read_tun(struct loop *l)
{
	for (int k = 0; k < TUN_BATCH; k++) {
		ssize_t n = read(l->tun_fd, l->tunbuf, sizeof(l->tunbuf));

		if (n <= 0)
			break;
		if (l->allowed && prefix_route(l->allowed, l->tunbuf, (size_t)n, false) != 0) {
			l->drop_no_route++;	/* no peer's AllowedIPs hold its destination */
			continue;
		}
		engine_send(l->engine, l->tunbuf, (size_t)n, l->now);
	}
}

static void read_sock(struct loop *l, unsigned i)
{
	for (int round = 0; round < 4; round++) {
		int n = udp_recv(&l->sock[i], l->rx, UDP_BATCH);

		for (int k = 0; k < n; k++) {
			struct mpt_addr from;
			uint64_t bad = engine_stats(l->engine)->drop_bad_auth;

			addr_to_mpt(&l->rx[k].peer, &from);
			/* a server's hub finds the peer first: a wrong mac1 is junk or another key */
			if (l->hub) {
				int slot = hub_route(l->hub, l->rx[k].buf, l->rx[k].len, l->now);

				if (slot == -EBADMSG)
					note_bad_auth(l, &from);
				if (slot < 0)
					continue;
			}
			/* only an authentic datagram may choose the address its peer is answered from */
			if (engine_recv(l->engine, i, &from, l->rx[k].buf, l->rx[k].len, l->now) == 0)
				udp_learn_dst(&l->sock[i], &l->rx[k]);
			else if (engine_stats(l->engine)->drop_bad_auth != bad)
				note_bad_auth(l, &from);
		}
		if (n < UDP_BATCH)
			break;
	}
}

static void serve_status(struct loop *l)
{
	uint64_t errors = 0, dropped = 0;
	struct status_info si = {
		.engine = l->engine, .role = l->server ? "server" : "client",
		.tun = l->cfg.tun_name, .sched = l->cfg.sched, .peer = l->cfg.peer_name,
		.now_ns = l->now, .drop_source = l->drop_source, .drop_no_route = l->drop_no_route,
		.started_ns = l->started_ns, .nlocal = l->nsock, .local = l->local,
		.hub = l->hub ? hub_stats(l->hub) : NULL,
	};
	int n;

	for (unsigned i = 0; i < l->nsock; i++) {
		errors += l->sock[i].send_errors;
		dropped += l->sock[i].send_dropped;
	}
	si.udp_send_errors = errors;
	si.udp_send_dropped = dropped;
	n = status_json(&si, l->status_doc, STATUS_DOC_LEN);
	if (n < 0)
		n = snprintf(l->status_doc, STATUS_DOC_LEN, "{\"error\":\"status too large\"}\n");
	status_serve(l->status_fd, l->status_doc, (size_t)n);
}

int loop_timeout(uint64_t now, uint64_t deadline, struct timespec *ts)
{
	uint64_t wait_ns = 0;

	if (deadline > now)
		wait_ns = deadline - now < LOOP_MAX_WAIT_NS ? deadline - now : LOOP_MAX_WAIT_NS;
	ts->tv_sec = (time_t)(wait_ns / 1000000000ull);
	ts->tv_nsec = (long)(wait_ns % 1000000000ull);
	return (int)((wait_ns + 999999) / 1000000);
}

/* epoll_pwait2 waits to the nanosecond: a paced datagram due in 0.3 ms leaves then, not up to
 * 1 ms late (waits in whole milliseconds hold a paced path to about one burst a ms). Where the kernel
 * lacks it, epoll_pwait with the wait rounded up to a millisecond, found out once. Both unblock
 * the same signals during the wait only. */
static int wait_events(struct loop *l, struct epoll_event *evs, int max,
		       const struct timespec *ts, int timeout_ms, const sigset_t *mask)
{
	if (!l->no_pwait2) {
		int n = epoll_pwait2(l->epfd, evs, max, ts, mask);

		if (n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
		log_say(&l->log, 2, "epoll_pwait2: not in this kernel; timers round up to 1 ms");
	}
	return epoll_pwait(l->epfd, evs, max, timeout_ms, mask);
}

int loop_run(struct loop *l, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct epoll_event evs[CONFIG_MAX_ADDR + 4 + SCRAPE_MAX_CONN];
	sigset_t waitmask;

	/* signals are blocked (main.c) except inside the wait: none is lost between the check
	 * of *stop and the wait */
	sigprocmask(SIG_SETMASK, NULL, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	/* said once it runs, so that a start-up error stays the only line */
	if (!l->cfg.key_file && !l->cfg.key_text)
		log_say(&l->log, 1, "warning: a secret can be guessed offline from one captured "
			"handshake if it is weak; a key file (-K, from `mptun genkey`) is the strong "
			"form");
	log_say(&l->log, 1, "%s on %s, %u local and %u remote address%s, scheduler %s",
		l->server ? "server" : "client", l->cfg.tun_name, l->nsock, l->cfg.nremote,
		l->cfg.nremote == 1 ? "" : "es", l->cfg.sched);
	if (l->scrape) {
		char a[64];

		log_say(&l->log, 1, "metrics on http://%s/metrics",
			addr_str(&l->cfg.metrics, a, sizeof(a)));
	}
	l->now = mono_ns();
	engine_tick(l->engine, l->now);
	flush_all(l);
	while (!*stop) {
		struct timespec ts;
		uint64_t deadline = engine_deadline(l->engine);
		int timeout, n;

		l->now = mono_ns();
		if (l->scrape && scrape_deadline(l->scrape) < deadline)
			deadline = scrape_deadline(l->scrape);
		timeout = loop_timeout(l->now, deadline, &ts);
		n = wait_events(l, evs, (int)(sizeof(evs) / sizeof(evs[0])), &ts, timeout,
				&waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
			return -1;
		}
		l->now = mono_ns();
		for (int k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;

			if (tag == TAG_TUN) {
				read_tun(l);
			} else if (tag == TAG_STATUS) {
				serve_status(l);
			} else if (l->scrape && scrape_owns(l->scrape, tag)) {
				scrape_event(l->scrape, tag, evs[k].events, l->now);
			} else if (tag < l->nsock) {
				if (evs[k].events & EPOLLOUT) {
					struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

					engine_set_writable(l->engine, (unsigned)tag, true);
					epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->sock[tag].fd, &ev);
				}
				if (evs[k].events & (EPOLLIN | EPOLLERR))
					read_sock(l, (unsigned)tag);
			}
			flush_all(l);
		}
		if (engine_deadline(l->engine) <= l->now) {
			engine_tick(l->engine, l->now);
			flush_all(l);
		}
		if (l->scrape)
			scrape_expire(l->scrape, l->now);
		log_changes(l);
	}
	return 0;
}
