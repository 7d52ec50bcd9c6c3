/* loop: tun, sockets and timers around one engine. The only place in mptun that waits. */
#include "daemon/loop.h"
#include "daemon/loop_internal.h"

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
/* "fails authentication" lines per minute, all senders together: junk from many ports must
 * not turn into as many lines (then one summary line for the rest of the minute) */
#define AUTH_LINES_PER_MIN 5

/* epoll tags: sockets are 0..nsock-1; the metrics listener TAG_METRICS, its connections the
 * SCRAPE_MAX_CONN tags after it */
enum { TAG_TUN = 1000, TAG_STATUS, TAG_STATUS_CONN = 1100, TAG_METRICS = 2000 };

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
	struct metrics_peer *peer = calloc(l->npeers, sizeof(*peer));
	struct metrics_info mi = {
		.version = MPTUN_VERSION, .role = l->server ? "server" : "client",
		.tun = l->cfg.tun_name, .now_ns = mono_ns(), .started_ns = l->started_ns,
		.realtime_ns = real_ns(), .nlocal = l->nsock, .local = local, .npeer = l->npeers,
		.peer = peer, .http = scrape_stats(l->scrape),
	};
	int n;

	if (!peer)
		return -ENOMEM;
	mi.npeer = 0;
	for (unsigned k = 0; k < l->npeers; k++)
		if (l->peers[k].engine)
			peer[mi.npeer++] = (struct metrics_peer){ .name = l->peers[k].name,
								  .sched = l->cfg.sched,
								  .engine = l->peers[k].engine };
	for (unsigned i = 0; i < l->nsock; i++) {
		local[i].addr = l->local[i];
		local[i].send_errors = l->sock[i].send_errors;
		local[i].send_full = l->sock[i].send_dropped;
	}
	n = metrics_render(&mi, buf, len);
	free(peer);
	return n;
}

struct loop *loop_new(const struct config *c, const uint8_t key[AEAD_KEY_LEN], char *err,
		      size_t errlen)
{
	struct tun_inner inner;
	struct loop *l;

	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->cfg = *c;
	for (unsigned i = 0; i < STATUS_MAX_CONN; i++)
		l->sconn[i].fd = -1;
	log_open(&l->log, STDERR_FILENO, c->verbosity);
	l->server = c->nremote == 0;
	l->tun_fd = l->epfd = l->status_fd = -1;
	l->started_ns = l->now = mono_ns();
	l->epoch_ns = real_ns() - l->now;
	l->hub_mode = c->hub_key_file != NULL;
	if (!c->mtu)
		l->cfg.mtu = config_default_mtu(c);
	/* a hub's document grows with its peers (a reload may add some): about 2 KiB each with
	 * two paths; pages are resident only once written */
	l->status_doc_len = 256 * 1024;
	if (c->hub_key_file)
		l->status_doc_len += (size_t)HUB_MAX_PEERS * 4096;
	l->status_doc = malloc(l->status_doc_len);
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
				    .addr6 = c->tun_addr6, .peer6 = c->tun_peer6,
				    .no_peer = l->hub_mode };
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
	if (peers_open(l, key, err, errlen) < 0)
		goto fail;
	return l;
fail:
	loop_free(l);
	return NULL;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	scrape_free(l->scrape);
	for (unsigned i = 0; i < STATUS_MAX_CONN; i++)
		if (l->sconn[i].fd >= 0 || l->sconn[i].buf)
			status_conn_close(&l->sconn[i]);
	peers_close(l);
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
void loop_note_bad_auth(struct loop *l, const struct mpt_addr *from)
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

static void flush_all(struct loop *l)
{
	for (unsigned i = 0; i < l->nsock; i++) {
		struct udp_sock *u = &l->sock[i];

		if (!u->nq)
			continue;
		if (!udp_flush(u)) {
			/* the socket buffer is full: tell the scheduler, wake when it drains */
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = i };

			peers_set_writable(l, i, false);
			epoll_ctl(l->epfd, EPOLL_CTL_MOD, u->fd, &ev);
		}
	}
}

static void read_tun(struct loop *l)
{
	for (int k = 0; k < TUN_BATCH; k++) {
		ssize_t n = read(l->tun_fd, l->tunbuf, sizeof(l->tunbuf));
		struct peer *p;

		if (n <= 0)
			break;
		p = peers_route(l, l->tunbuf, (size_t)n);
		if (p)
			engine_send(p->engine, l->tunbuf, (size_t)n, l->now);
	}
}

/* A datagram read this long after its receive stamp is taken as read at once: the stamp is
 * not to be trusted that far (the socket buffer holds far less). */
#define ARRIVAL_MAX_AGO_NS (1000ull * 1000000)
/* The wall clock stepped between two reads when their offsets differ by more than this. */
#define ARRIVAL_STEP_NS (1000ull * 1000)

/* When a datagram arrived, on the loop's clock: the kernel's stamp (CLOCK_REALTIME) moved by
 * the clocks' offset, never later than now. Without a stamp, one too old, or when the wall
 * clock stepped since the last read (stamps taken before the step are off by it, and a path's
 * least one-way delay would take the error in for 10 s): now. */
static uint64_t arrival_ns(const struct loop *l, uint64_t real_now, bool stepped, uint64_t stamp)
{
	uint64_t ago = real_now > stamp ? real_now - stamp : 0;

	return stamp && !stepped && ago < ARRIVAL_MAX_AGO_NS && ago < l->now ? l->now - ago : l->now;
}

static void read_sock(struct loop *l, unsigned i)
{
	for (int round = 0; round < 4; round++) {
		int n = udp_recv(&l->sock[i], l->rx, UDP_BATCH);
		uint64_t real_now = real_ns();
		int64_t offset, change;
		bool stepped;

		l->now = mono_ns();
		offset = (int64_t)(real_now - l->now);
		change = offset - l->real_offset_ns;
		stepped = change > (int64_t)ARRIVAL_STEP_NS || change < -(int64_t)ARRIVAL_STEP_NS;
		l->real_offset_ns = offset;
		for (int k = 0; k < n; k++) {
			struct mpt_addr from;
			struct peer *p;
			uint64_t bad;

			addr_to_mpt(&l->rx[k].peer, &from);
			p = peers_for_datagram(l, &from, l->rx[k].buf, l->rx[k].len);
			if (!p)
				continue;
			bad = engine_stats(p->engine)->drop_bad_auth;
			/* only an authentic datagram may choose the address its peer is answered from */
			if (engine_recv_at(p->engine, i, &from, l->rx[k].buf, l->rx[k].len, l->now,
					   arrival_ns(l, real_now, stepped, l->rx[k].rx_real_ns)) == 0)
				udp_learn_dst(&l->sock[i], &l->rx[k]);
			else if (engine_stats(p->engine)->drop_bad_auth != bad)
				loop_note_bad_auth(l, &from);
		}
		if (n < UDP_BATCH)
			break;
	}
}

static void serve_status(struct loop *l)
{
	struct status_peer *sp = calloc(l->npeers, sizeof(*sp));
	struct status_info si = {
		.role = l->server ? "server" : "client", .tun = l->cfg.tun_name,
		.sched = l->cfg.sched, .now_ns = l->now, .drop_no_route = l->drop_no_route,
		.started_ns = l->started_ns, .nlocal = l->nsock, .local = l->local,
		.hub = l->hub ? hub_stats(l->hub) : NULL, .hub_mode = l->hub_mode,
		.npeers = l->npeers, .peers = sp,
	};
	int n = -ENOMEM;

	for (unsigned i = 0; i < l->nsock; i++) {
		si.udp_send_errors += l->sock[i].send_errors;
		si.udp_send_dropped += l->sock[i].send_dropped;
	}
	if (sp) {
		si.npeers = 0;
		for (unsigned k = 0; k < l->npeers; k++)
			if (l->peers[k].engine)
				sp[si.npeers++] = (struct status_peer){
					.engine = l->peers[k].engine, .name = l->peers[k].name,
					.drop_source = l->peers[k].drop_source };
		n = status_json(&si, l->status_doc, l->status_doc_len);
		free(sp);
	}
	if (n < 0)
		n = snprintf(l->status_doc, l->status_doc_len, "{\"error\":\"%s\"}\n",
			     n == -ENOSPC ? "status too large" : "out of memory");
	for (unsigned i = 0; i < STATUS_MAX_CONN; i++) {
		struct status_conn *c = &l->sconn[i];

		if (c->fd >= 0)
			continue;
		if (status_serve(l->status_fd, l->status_doc, (size_t)n, c, l->now) == 1 &&
		    add_fd(l, c->fd, EPOLLOUT, TAG_STATUS_CONN + i) < 0)
			status_conn_close(c);
		return;
	}
	status_serve(l->status_fd, l->status_doc, (size_t)n, NULL, l->now);	/* all busy */
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

int loop_run(struct loop *l, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
	     char *err, size_t errlen)
{
	struct epoll_event evs[CONFIG_MAX_ADDR + 4 + SCRAPE_MAX_CONN];
	sigset_t waitmask;

	/* signals are blocked (main.c) except inside the wait: none is lost between the check
	 * of *stop and the wait */
	sigprocmask(SIG_SETMASK, NULL, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	/* said once it runs, so that a start-up error stays the only line */
	if (!l->hub_mode && !l->cfg.key_file && !l->cfg.key_text)
		log_say(&l->log, 1, "warning: a secret can be guessed offline from one captured "
			"handshake if it is weak; a key file (-K, from `mptun genkey`) is the strong "
			"form");
	if (l->hub_mode)
		log_say(&l->log, 1, "hub on %s, %u local address%s, %u peers, scheduler %s",
			l->cfg.tun_name, l->nsock, l->nsock == 1 ? "" : "es", l->npeers,
			l->cfg.sched);
	else
		log_say(&l->log, 1, "%s on %s, %u local and %u remote address%s, scheduler %s",
			l->server ? "server" : "client", l->cfg.tun_name, l->nsock, l->cfg.nremote,
			l->cfg.nremote == 1 ? "" : "es", l->cfg.sched);
	if (l->scrape) {
		char a[64];

		log_say(&l->log, 1, "metrics on http://%s/metrics",
			addr_str(&l->cfg.metrics, a, sizeof(a)));
	}
	l->now = mono_ns();
	peers_tick(l);
	flush_all(l);
	while (!*stop) {
		struct timespec ts;
		uint64_t deadline;
		int timeout, n;

		l->now = mono_ns();
		if (*reload) {
			char msg[512];

			*reload = 0;
			if (peers_reload(l, msg, sizeof(msg)) < 0)
				log_say(&l->log, 0, "reload: %s; nothing changed", msg);
			flush_all(l);
		}
		deadline = peers_deadline(l);
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
			} else if (tag >= TAG_STATUS_CONN && tag < TAG_STATUS_CONN + STATUS_MAX_CONN) {
				status_conn_write(&l->sconn[tag - TAG_STATUS_CONN]);
			} else if (l->scrape && scrape_owns(l->scrape, tag)) {
				scrape_event(l->scrape, tag, evs[k].events, l->now);
			} else if (tag < l->nsock) {
				if (evs[k].events & EPOLLOUT) {
					struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

					peers_set_writable(l, (unsigned)tag, true);
					epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->sock[tag].fd, &ev);
				}
				if (evs[k].events & (EPOLLIN | EPOLLERR))
					read_sock(l, (unsigned)tag);
			}
			flush_all(l);
		}
		/* what was just written to the tun device may have an answer there already (the
		 * local stack answers a ping, an ACK, within the write): it leaves before the
		 * feedback that the tick below may owe, not after another wait */
		if (l->tun_written) {
			l->tun_written = false;
			read_tun(l);
			flush_all(l);
		}
		if (peers_deadline(l) <= l->now) {
			peers_tick(l);
			flush_all(l);
		}
		if (l->scrape)
			scrape_expire(l->scrape, l->now);
		for (unsigned i = 0; i < STATUS_MAX_CONN; i++)
			if (l->sconn[i].fd >= 0 && l->now >= l->sconn[i].deadline_ns)
				status_conn_close(&l->sconn[i]);	/* a reader that stopped */
		auth_minute(l);
		peers_log_changes(l);
	}
	return 0;
}
