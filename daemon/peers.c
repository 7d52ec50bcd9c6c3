/* peers: the daemon's engines, one per peer. A client has one (its server); a server has a hub
 * (core/hub.h) in front of its engines: one peer from the command line or a one-[Peer] file,
 * whose static key comes from that peer's master key, or a hub's [Peer]s, each with its own
 * key, under the hub's own static key (HubKeyFile). The AllowedIPs of every peer are one
 * prefix table: a packet from tun goes to the peer of its destination, a packet from a peer
 * must come from one of its own prefixes; a hub routes each prefix through its tun device. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/session.h"
#include "daemon/addr.h"
#include "daemon/conffile.h"
#include "daemon/keys.h"
#include "daemon/loop_internal.h"
#include "daemon/tun.h"
#include "sched/registry.h"

#define NO_ANSWER_NS (3ull * 1000000000)
#define PEERS_LOG_EVERY_NS (20ull * 1000000)

static void on_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *dgram,
		    size_t len)
{
	struct loop *l = ((struct peer *)ctx)->l;
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
	struct peer *p = ctx;
	struct loop *l = p->l;

	if (l->allowed && prefix_route(l->allowed, pkt, len, true) != (int)p->index) {
		p->drop_source++;	/* a source this peer may not use: spoofed, or misrouted */
		return;
	}
	if (write(l->tun_fd, pkt, len) != (ssize_t)len)
		l->tun_write_drops++;
	else
		l->tun_written = true;
}

static void on_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static uint16_t on_new_index(void *ctx)
{
	struct peer *p = ctx;

	return hub_new_index(p->l->hub, p->index);
}

/* One peer's engine, registered with the hub on a server. */
static int peer_open(struct loop *l, unsigned k, const char *name,
		     const uint8_t master[AEAD_KEY_LEN], const uint8_t *hub_pub, char *err,
		     size_t errlen)
{
	struct engine_config ec = { 0 };
	struct engine_io io = { .send = on_send, .deliver = on_deliver, .entropy = on_random };
	struct peer *p = &l->peers[k];
	int rc = 0;

	p->l = l;
	p->index = k;
	snprintf(p->name_buf, sizeof(p->name_buf), "%s", name);
	p->name = p->name_buf;
	session_peer_id(master, p->id);
	ec.role = l->server ? ENGINE_SERVER : ENGINE_CLIENT;
	sodium_mlock(ec.key, sizeof(ec.key));	/* not fatal: main says so at --verbose */
	memcpy(ec.key, master, AEAD_KEY_LEN);
	ec.epoch_ns = l->epoch_ns;
	ec.nlocal = l->nsock;
	ec.sched = sched_lookup(l->cfg.sched, &ec.sched_args);
	ec.mtu = l->cfg.mtu;
	ec.reorder_ns = ENGINE_REORDER_AUTO;
	ec.rekey_ns = (uint64_t)l->cfg.rekey_s * 1000000000;
	if (hub_pub) {
		ec.have_hub_pub = true;
		memcpy(ec.hub_pub, hub_pub, sizeof(ec.hub_pub));
	}
	randombytes_buf(&ec.seed, sizeof(ec.seed));
	io.ctx = p;
	if (l->hub)
		io.new_index = on_new_index;
	p->engine = engine_new(&ec, &io, l->now, &rc);
	sodium_munlock(ec.key, sizeof(ec.key));	/* wipes it */
	if (!p->engine) {
		snprintf(err, errlen, "--sched %s: %s", l->cfg.sched,
			 rc == -EINVAL ? "bad arguments for this scheduler" : strerror(-rc));
		return -1;
	}
	p->secrets = engine_secrets(p->engine, &p->secrets_len);
	if (sodium_mlock(p->secrets, p->secrets_len) < 0)
		p->secrets = NULL;
	if (l->hub) {
		rc = hub_add_peer(l->hub, master, p->engine);
		if (rc != (int)k) {
			snprintf(err, errlen, "peer %s: %s", name, rc == -EEXIST ? "the same key as "
				 "another peer (each has its own)" : strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* The AllowedIPs table, from every peer in place: a new one replaces the old (a table has no
 * removal; a hub rebuilds it when its peers change). */
static int build_prefixes(struct loop *l, char *err, size_t errlen)
{
	struct prefix_table *t;
	unsigned total = 0;

	for (unsigned k = 0; k < l->npeers; k++)
		total += l->peers[k].engine ? l->peers[k].nallowed : 0;
	t = prefix_table_new(total ? total : 1);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned k = 0; k < l->npeers; k++) {
		const struct peer *p = &l->peers[k];

		for (unsigned m = 0; p->engine && m < p->nallowed; m++) {
			const struct conffile_prefix *q = &p->allowed[m];

			/* the file's parser refused overlaps, host bits and bad lengths already */
			if (prefix_table_add(t, q->family == AF_INET6 ? 6 : 4, q->addr, q->len,
					     (uint16_t)k) < 0) {
				snprintf(err, errlen, "AllowedIPs: prefix of line %u refused",
					 q->line);
				prefix_table_free(t);
				return -1;
			}
		}
	}
	prefix_table_free(l->allowed);
	l->allowed = t;
	return 0;
}

/* A hub routes a peer's prefixes through its tun device (added, or deleted with del). */
static int route_peer(struct loop *l, const struct peer *p, bool del, char *err, size_t errlen)
{
	for (unsigned m = 0; m < p->nallowed; m++) {
		const struct conffile_prefix *q = &p->allowed[m];

		if (tun_route(l->cfg.tun_name, q->family, q->addr, q->len, del, err, errlen) < 0 &&
		    !del)
			return -1;
	}
	return 0;
}

/* A hub's peer from its configuration: key read, engine made, prefixes copied and routed. */
static int hub_peer_open(struct loop *l, unsigned k, const struct config_peer *cp, char *err,
			 size_t errlen)
{
	uint8_t master[AEAD_KEY_LEN];
	struct peer *p = &l->peers[k];
	int rc;

	sodium_mlock(master, sizeof(master));
	rc = conffile_peer_key(cp, master, err, errlen);
	if (rc == 0)
		rc = peer_open(l, k, cp->name, master, NULL, err, errlen);
	sodium_munlock(master, sizeof(master));	/* wipes it */
	if (rc < 0)
		return -1;
	if (k >= l->npeers)
		l->npeers = k + 1;
	p->allowed = malloc(cp->nallowed * sizeof(*p->allowed));
	if (!p->allowed) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(p->allowed, cp->allowed, cp->nallowed * sizeof(*p->allowed));
	p->nallowed = cp->nallowed;
	return route_peer(l, p, false, err, errlen);
}

/* A peer's slot emptied: its routes, its hub slot, its engine and keys. */
static void peer_close(struct loop *l, struct peer *p)
{
	char err[200];

	if (!p->engine)
		return;
	if (l->hub_mode)
		route_peer(l, p, true, err, sizeof(err));
	if (l->hub)
		hub_remove_peer(l->hub, p->index);
	if (p->secrets)
		sodium_munlock(p->secrets, p->secrets_len);	/* wipes them */
	engine_free(p->engine);
	free(p->allowed);
	memset(p, 0, sizeof(*p));
}

/* A hub's peers: each one's key read now, before the privileges go. */
static int open_hub_peers(struct loop *l, char *err, size_t errlen)
{
	for (unsigned k = 0; k < l->cfg.npeers; k++)
		if (hub_peer_open(l, k, &l->cfg.peers[k], err, errlen) < 0)
			return -1;
	return build_prefixes(l, err, errlen);
}

int peers_open(struct loop *l, const uint8_t key[AEAD_KEY_LEN], char *err, size_t errlen)
{
	uint8_t sk[32], pk[32], hub_pub[32];
	const uint8_t *pub = NULL;
	uint64_t seed;
	int rc = 0;

	l->peers = calloc(l->hub_mode ? HUB_MAX_PEERS : 1, sizeof(*l->peers));
	if (!l->peers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (l->server) {
		/* a hub's own static key, or the one derived from its one peer's master key */
		if (l->hub_mode)
			memcpy(sk, key, sizeof(sk));
		else
			session_hub_from_master(key, sk, pk);
		randombytes_buf(&seed, sizeof(seed));
		l->hub = hub_new(sk, seed, &rc);
		sodium_memzero(sk, sizeof(sk));
		if (!l->hub) {
			snprintf(err, errlen, "HubKeyFile: %s", rc == -EINVAL ? "not a usable X25519 "
				 "key" : strerror(-rc));
			return -1;
		}
	}
	if (l->hub_mode)
		return open_hub_peers(l, err, errlen);
	if (l->cfg.hub_pub_text) {
		char msg[200];

		if (keys_parse_key((const uint8_t *)l->cfg.hub_pub_text,
				   strlen(l->cfg.hub_pub_text), hub_pub, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "HubPublicKey: %s", msg);
			return -1;
		}
		pub = hub_pub;
	}
	if (peer_open(l, 0, l->cfg.peer_name ? l->cfg.peer_name : "peer", key, pub, err,
		      errlen) < 0)
		return -1;
	l->npeers = 1;
	if (l->cfg.nallowed) {
		/* the table's own reference: the struct conffile outlives the loop */
		l->peers[0].allowed = malloc(l->cfg.nallowed * sizeof(*l->peers[0].allowed));
		if (!l->peers[0].allowed) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(l->peers[0].allowed, l->cfg.allowed,
		       l->cfg.nallowed * sizeof(*l->peers[0].allowed));
		l->peers[0].nallowed = l->cfg.nallowed;
		if (build_prefixes(l, err, errlen) < 0)
			return -1;
	}
	for (unsigned j = 0; j < l->cfg.nremote; j++) {
		struct mpt_addr a;

		addr_to_mpt(&l->cfg.remote[j], &a);
		engine_add_remote(l->peers[0].engine, &a, l->now);
	}
	return 0;
}

void peers_close(struct loop *l)
{
	for (unsigned k = 0; l->peers && k < l->npeers; k++)
		peer_close(l, &l->peers[k]);
	free(l->peers);
	l->peers = NULL;
	l->npeers = 0;
	hub_free(l->hub);
	l->hub = NULL;
	prefix_table_free(l->allowed);
	l->allowed = NULL;
}

struct peer *peers_route(struct loop *l, const uint8_t *pkt, size_t len)
{
	int k;

	if (!l->allowed)
		return &l->peers[0];
	k = prefix_route(l->allowed, pkt, len, false);
	if (k < 0 || (unsigned)k >= l->npeers || !l->peers[k].engine) {
		l->drop_no_route++;	/* no peer's AllowedIPs hold its destination */
		return NULL;
	}
	return &l->peers[k];
}

struct peer *peers_for_datagram(struct loop *l, const struct mpt_addr *from, const uint8_t *dgram,
				size_t len)
{
	int slot;

	if (!l->hub)
		return &l->peers[0];
	/* a server's hub finds the peer first: a wrong mac1 is junk or another hub's key */
	slot = hub_route(l->hub, dgram, len, l->now);
	if (slot == -EBADMSG)
		loop_note_bad_auth(l, from);
	return slot >= 0 && (unsigned)slot < l->npeers && l->peers[slot].engine ? &l->peers[slot] :
	       NULL;
}

uint64_t peers_deadline(const struct loop *l)
{
	uint64_t d = UINT64_MAX;

	for (unsigned k = 0; k < l->npeers; k++) {
		uint64_t e = l->peers[k].engine ? engine_deadline(l->peers[k].engine) : UINT64_MAX;

		if (e < d)
			d = e;
	}
	return d;
}

void peers_tick(struct loop *l)
{
	for (unsigned k = 0; k < l->npeers; k++)
		if (l->peers[k].engine && engine_deadline(l->peers[k].engine) <= l->now)
			engine_tick(l->peers[k].engine, l->now);
}

void peers_set_writable(struct loop *l, unsigned local, bool writable)
{
	for (unsigned k = 0; k < l->npeers; k++)
		if (l->peers[k].engine)
			engine_set_writable(l->peers[k].engine, local, writable);
}

static void log_peer(struct loop *l, struct peer *p)
{
	const struct engine_stats *st = engine_stats(p->engine);
	unsigned nremote = engine_nremote(p->engine);
	char a[64], b[64], w[64] = "";

	/* "peer NAME: " ahead of a hub's lines; nothing for one peer */
	if (l->hub_mode)
		snprintf(w, sizeof(w), "peer %s: ", p->name);
	if (st->handshakes_sent != p->handshakes_logged) {
		log_say(&l->log, 2, "%shandshake datagrams sent: %llu", w,
			(unsigned long long)st->handshakes_sent);
		p->handshakes_logged = st->handshakes_sent;
	}
	if (st->drop_rate_limited != p->rate_limited_logged) {
		log_say(&l->log, 2, "%shandshakes refused by the rate limit: %llu", w,
			(unsigned long long)st->drop_rate_limited);
		p->rate_limited_logged = st->drop_rate_limited;
	}
	if (st->stale_received != p->stale_logged) {
		log_say(&l->log, 1, "the server refused our handshake's counter (this host's clock is "
			"behind the one it last accepted): going above its floor");
		p->stale_logged = st->stale_received;
	}
	if (st->sessions != p->sessions_logged) {
		log_say(&l->log, 1, p->sessions_logged ? "%srekeyed: session %llu" : "%ssession up",
			w, (unsigned long long)st->sessions);
		p->sessions_logged = st->sessions;
		p->no_answer_logged_ns = 0;
	}
	if (!l->server && !engine_has_session(p->engine) && st->handshakes_sent &&
	    l->now - l->started_ns >= NO_ANSWER_NS &&
	    (!p->no_answer_logged_ns || l->now - p->no_answer_logged_ns >= LOG_EVERY_NS)) {
		log_say(&l->log, 1, "no answer from the server to %llu handshakes: it is down, "
			"unreachable, or has another key", (unsigned long long)st->handshakes_sent);
		p->no_answer_logged_ns = l->now;
	}
	/* paths are worth reporting once feedback can reach them, i.e. under a session */
	for (unsigned i = 0; i < l->nsock && engine_has_session(p->engine); i++) {
		for (unsigned j = 0; j < nremote && j < MPT_MAX_REMOTE; j++) {
			const struct mpt_path *path = engine_path(p->engine, i, j);

			if (path->up == p->path_up[i][j])
				continue;
			p->path_up[i][j] = path->up;
			log_say(&l->log, 1, "%spath %s -> %s %s", w,
				addr_str(&l->local[i], a, sizeof(a)),
				addr_mpt_str(engine_remote_addr(p->engine, j), b, sizeof(b)),
				path->up ? "up" : "down");
		}
	}
}

void peers_log_changes(struct loop *l)
{
	/* a look at every peer at most every 20 ms: a hub's wakeups come per datagram batch */
	if (l->now < l->log_next_ns)
		return;
	l->log_next_ns = l->now + PEERS_LOG_EVERY_NS;
	for (unsigned k = 0; k < l->npeers; k++)
		if (l->peers[k].engine)
			log_peer(l, &l->peers[k]);
}

/* The same prefixes in the same order: a peer whose AllowedIPs did not change. */
static bool same_prefixes(const struct peer *p, const struct config_peer *cp)
{
	if (p->nallowed != cp->nallowed)
		return false;
	for (unsigned m = 0; m < p->nallowed; m++)
		if (p->allowed[m].family != cp->allowed[m].family ||
		    p->allowed[m].len != cp->allowed[m].len ||
		    memcmp(p->allowed[m].addr, cp->allowed[m].addr, 16))
			return false;
	return true;
}

/* [Interface] values a reload cannot change: said, and left as they are. */
static void interface_changes(struct loop *l, const struct config *c)
{
	const char *what = c->port != l->cfg.port ? "Port" :
			   strcmp(c->tun_name, l->cfg.tun_name) ? "Tun" :
			   strcmp(c->sched, l->cfg.sched) ? "Scheduler" :
			   strcmp(c->hub_key_file, l->cfg.hub_key_file) ? "HubKeyFile" :
			   c->nlocal != l->cfg.nlocal ? "Listen" :
			   memcmp(&c->tun_addr, &l->cfg.tun_addr, sizeof(c->tun_addr)) ||
			   memcmp(&c->tun_addr6, &l->cfg.tun_addr6, sizeof(c->tun_addr6)) ? "Address" :
			   NULL;

	if (what)
		log_say(&l->log, 1, "reload: [Interface] %s changed: it takes a restart; the peers "
			"are reloaded", what);
}

int peers_reload(struct loop *l, char *err, size_t errlen)
{
	int8_t keep[HUB_MAX_PEERS];		/* old slot: kept (1) or not */
	int16_t match[CONFFILE_MAX_PEERS];	/* new peer: its old slot, or -1 */
	struct conffile cf = { 0 };
	struct config c;
	uint8_t master[AEAD_KEY_LEN], id[32];
	unsigned added = 0, removed = 0, kept = 0;
	char msg[400];
	int rc = -1;

	if (!l->hub_mode) {
		snprintf(err, errlen, "only a hub (HubKeyFile) reloads its file: restart to apply a "
			 "change");
		return -1;
	}
	if (conffile_load(&cf, l->cfg.conf_file, &c, true, err, errlen) < 0)
		return -1;
	if (!c.hub_key_file) {
		snprintf(err, errlen, "%s: no longer a hub's file (no HubKeyFile): restart to "
			 "apply it", l->cfg.conf_file);
		goto out;
	}
	memset(keep, 0, sizeof(keep));
	sodium_mlock(master, sizeof(master));
	for (unsigned k = 0; k < c.npeers; k++) {
		const struct config_peer *cp = &c.peers[k];

		if (conffile_peer_key(cp, master, err, errlen) < 0) {
			sodium_munlock(master, sizeof(master));
			goto out;
		}
		session_peer_id(master, id);
		match[k] = -1;
		for (unsigned s = 0; s < l->npeers; s++) {
			const struct peer *p = &l->peers[s];

			if (p->engine && !strcmp(p->name, cp->name) && !memcmp(p->id, id, sizeof(id)) &&
			    same_prefixes(p, cp)) {
				match[k] = (int16_t)s;
				keep[s] = 1;
			}
		}
	}
	sodium_munlock(master, sizeof(master));	/* wipes it */
	interface_changes(l, &c);
	/* the peers gone or changed first: their prefixes and slots are free for the new */
	for (unsigned s = 0; s < l->npeers; s++)
		if (l->peers[s].engine && !keep[s]) {
			log_say(&l->log, 1, "reload: peer %s removed", l->peers[s].name);
			peer_close(l, &l->peers[s]);
			removed++;
		}
	for (unsigned k = 0, s = 0; k < c.npeers; k++) {
		if (match[k] >= 0) {
			kept++;
			continue;
		}
		while (l->peers[s].engine)
			s++;
		if (hub_peer_open(l, s, &c.peers[k], msg, sizeof(msg)) < 0) {
			log_say(&l->log, 0, "reload: %s", msg);
			peer_close(l, &l->peers[s]);
			continue;
		}
		log_say(&l->log, 1, "reload: peer %s added", c.peers[k].name);
		added++;
	}
	while (l->npeers && !l->peers[l->npeers - 1].engine)
		l->npeers--;
	rc = build_prefixes(l, err, errlen);
	if (rc == 0)
		log_say(&l->log, 1, "reload: %u peers kept, %u added, %u removed", kept, added,
			removed);
out:
	conffile_free(&cf);
	return rc;
}
