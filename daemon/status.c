/* status: JSON over a unix socket. */
#include "daemon/status.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/capacity.h"
#include "daemon/addr.h"
#include "daemon/outbuf.h"
#include "daemon/statustable.h"

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* One peer's members (session, drops, counters, paths, queue), without braces. */
static void peer_json(struct outbuf *ob, const struct status_info *s, const struct status_peer *sp)
{
	const struct mpt_engine *e = sp->engine;
	const struct engine_stats *st = engine_stats(e);
	const struct fq_stats *q = engine_queue_stats(e);	/* paced schedulers only */
	uint64_t born = engine_session_born(e);
	unsigned nremote = engine_nremote(e);
	double share[MPT_MAX_PATHS];
	struct outbuf o = *ob;
	char a[64], b[64];
	bool first = true;

	outbuf_put(&o, "\"session\":{\"established\":%s,\"age_s\":%.1f,\"sessions\":%llu,"
	    "\"handshakes_sent\":%llu,\"handshakes_resent\":%llu,\"stale_sent\":%llu,"
	    "\"stale_received\":%llu},",
	    born ? "true" : "false", born ? (double)(s->now_ns - born) / 1e9 : 0.0,
	    (unsigned long long)st->sessions, (unsigned long long)st->handshakes_sent,
	    (unsigned long long)st->handshakes_resent, (unsigned long long)st->stale_sent,
	    (unsigned long long)st->stale_received);
	outbuf_put(&o, "\"drops\":{\"bad_auth\":%llu,\"replay\":%llu,\"malformed\":%llu,"
	    "\"rate_limited\":%llu,\"old_session\":%llu,\"no_session\":%llu,\"unknown_peer\":%llu,"
	    "\"no_path\":%llu,\"oversize\":%llu,\"udp_send_error\":%llu,\"udp_send_full\":%llu,"
	    "\"hs_late\":%llu,\"no_memory\":%llu,\"source_outside\":%llu,\"no_route\":%llu},",
	    (unsigned long long)st->drop_bad_auth, (unsigned long long)st->drop_replay,
	    (unsigned long long)st->drop_malformed, (unsigned long long)st->drop_rate_limited,
	    (unsigned long long)st->drop_old_session, (unsigned long long)st->drop_no_session,
	    (unsigned long long)st->drop_unknown_peer, (unsigned long long)st->drop_no_path,
	    (unsigned long long)st->drop_oversize, (unsigned long long)s->udp_send_errors,
	    (unsigned long long)s->udp_send_dropped, (unsigned long long)st->drop_hs_late,
	    (unsigned long long)st->drop_no_memory, (unsigned long long)sp->drop_source,
	    (unsigned long long)s->drop_no_route);
	outbuf_put(&o, "\"tun_in\":%llu,\"tun_out\":%llu,\"udp_tx\":%llu,\"udp_rx\":%llu,\"paths\":[",
	    (unsigned long long)st->tun_in, (unsigned long long)st->tun_out,
	    (unsigned long long)st->tx_dgrams, (unsigned long long)st->rx_dgrams);
	engine_sched_shares(e, s->now_ns, share);
	for (unsigned i = 0; i < s->nlocal; i++) {
		for (unsigned j = 0; j < nremote; j++) {
			const struct mpt_path *p = engine_path(e, i, j);
			double loss = p->loss_ewma * 100.0;

			outbuf_put(&o, "%s{\"local\":\"%s\",\"remote\":\"%s\",\"up\":%s,\"srtt_ms\":%.2f,"
			    "\"rttvar_ms\":%.2f,\"min_rtt_ms\":%.2f,\"loss_pct\":%.2f,"
			    "\"delivery_rate_bps\":%llu,\"tx_bytes\":%llu,\"tx_packets\":%llu,"
			    "\"rx_bytes\":%llu,\"rx_packets\":%llu,\"downs\":%llu,\"weight\":%.3f",
			    first ? "" : ",", addr_str(&s->local[i], a, sizeof(a)),
			    addr_mpt_str(engine_remote_addr(e, j), b, sizeof(b)),
			    p->up ? "true" : "false", ms(p->srtt_ns), ms(p->rttvar_ns),
			    ms(p->min_rtt_ns == UINT64_MAX ? 0 : p->min_rtt_ns), loss,
			    (unsigned long long)p->delivery_rate_bps,
			    (unsigned long long)p->tx_bytes, (unsigned long long)p->tx_packets,
			    (unsigned long long)p->rx_bytes, (unsigned long long)p->rx_packets,
			    (unsigned long long)p->downs, share[path_index(i, j)]);
			if (p->paced)
				outbuf_put(&o, ",\"capacity_bps\":%llu,\"capacity_mode\":\"%s\","
				    "\"pacing_bps\":%llu,\"startup_end\":\"%s\","
				    "\"startup_end_bps\":%llu,\"capacity_drops\":%llu",
				    (unsigned long long)capacity_estimate_bps(&p->cap),
				    p->cap.mode == CAP_STARTUP ? "startup" : "probe",
				    (unsigned long long)p->pacer.rate_bps,
				    p->cap.startup_end == CAP_END_FLAT ? "flat" :
				    p->cap.startup_end == CAP_END_QUEUE ? "queue" : "none",
				    (unsigned long long)p->cap.startup_end_bps,
				    (unsigned long long)p->cap.drops);
			outbuf_put(&o, "}");
			first = false;
		}
	}
	outbuf_put(&o, "]");
	if (q)
		outbuf_put(&o, ",\"queue\":{\"backlog\":%llu,\"enqueued\":%llu,\"dequeued\":%llu,"
		    "\"drop_codel\":%llu,\"drop_overflow\":%llu,\"new_flows\":%llu,"
		    "\"target_ms\":%.2f}",
		    (unsigned long long)(q->enqueued - q->dequeued - q->drop_codel -
					 q->drop_overflow),
		    (unsigned long long)q->enqueued, (unsigned long long)q->dequeued,
		    (unsigned long long)q->drop_codel, (unsigned long long)q->drop_overflow,
		    (unsigned long long)q->new_flows, ms(engine_queue_target_ns(e)));
	*ob = o;
}

int status_json(const struct status_info *s, char *buf, size_t len)
{
	struct outbuf o = { buf, len, 0, false };

	outbuf_put(&o, "{\"role\":\"%s\",\"tun\":\"%s\",\"sched\":\"%s\",", s->role, s->tun,
	    s->sched);
	if (!s->hub_mode)
		outbuf_put(&o, "\"peer\":\"%s\",", s->peers[0].name);
	outbuf_put(&o, "\"uptime_s\":%.1f,", (double)(s->now_ns - s->started_ns) / 1e9);
	if (s->hub)
		outbuf_put(&o, "\"hub\":{\"malformed\":%llu,\"mac1\":%llu,\"rate_limited\":%llu,"
		    "\"bad_id\":%llu,\"unknown_peer\":%llu,\"unknown_index\":%llu,"
		    "\"id_opened\":%llu,\"id_cached\":%llu},",
		    (unsigned long long)s->hub->drop_malformed, (unsigned long long)s->hub->drop_mac1,
		    (unsigned long long)s->hub->drop_rate_limited,
		    (unsigned long long)s->hub->drop_bad_id,
		    (unsigned long long)s->hub->drop_unknown_peer,
		    (unsigned long long)s->hub->drop_unknown_index,
		    (unsigned long long)s->hub->id_opened, (unsigned long long)s->hub->id_cached);
	if (!s->hub_mode) {
		peer_json(&o, s, &s->peers[0]);
	} else {
		outbuf_put(&o, "\"peers\":[");
		for (unsigned k = 0; k < s->npeers; k++) {
			outbuf_put(&o, "%s{\"name\":\"%s\",", k ? "," : "", s->peers[k].name);
			peer_json(&o, s, &s->peers[k]);
			outbuf_put(&o, "}");
		}
		outbuf_put(&o, "]");
	}
	outbuf_put(&o, "}\n");
	return o.full ? -ENOSPC : (int)o.off;
}

/* A group name, or a number. 0, or -1 with err for an unknown name. */
static int group_id(const char *group, gid_t *gid, char *err, size_t errlen)
{
	const struct group *gr;
	char *end;
	unsigned long v;

	*gid = geteuid() == 0 ? 0 : getegid();
	if (!group)
		return 0;
	gr = getgrnam(group);
	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(group, &end, 10);
	if (group[0] >= '0' && group[0] <= '9' && !*end && !errno && v < (gid_t)-1) {
		*gid = (gid_t)v;
		return 0;
	}
	snprintf(err, errlen, "--status-group %s: no such group", group);
	return -1;
}

/* bind with the socket file's final mode and group from the start: the umask makes it 0660,
 * the effective group id gives its group, and nothing changes it by path afterwards (a path
 * can be swapped between two calls; a descriptor cannot). */
static int bind_private(int fd, const struct sockaddr_un *sun, gid_t gid)
{
	gid_t egid = getegid();
	mode_t mask;
	int rc, e;

	if (gid != egid && setegid(gid) < 0)
		return -1;
	mask = umask(0117);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	umask(mask);
	if (gid != egid && setegid(egid) < 0)
		return -1;
	errno = e;
	return rc;
}

int status_listen(const char *path, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	gid_t gid;
	int fd;

	if (group_id(group, &gid, err, errlen) < 0)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "status socket: %s", strerror(errno));
		return -1;
	}
	/* a socket file left by a daemon that died: replace it, but never another kind of file */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(err, errlen, "--status %s: exists and is not a socket", path);
			close(fd);
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			snprintf(err, errlen, "--status %s: another daemon is serving it", path);
			close(fd);
			return -1;
		}
		unlink(path);
	}
	if (bind_private(fd, &sun, gid) < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "--status %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* a set-group-ID directory gives its own group instead: say so rather than serve it */
	if (lstat(path, &sb) == 0 && sb.st_gid != gid) {
		snprintf(err, errlen, "--status %s: created in group %u, not %u (a set-group-ID "
			 "directory?)", path, (unsigned)sb.st_gid, (unsigned)gid);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

void status_conn_close(struct status_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	*c = (struct status_conn){ .fd = -1 };
}

/* As much of buf as the socket takes now; the new offset. */
static size_t send_some(int fd, const char *buf, size_t len, size_t off, bool *failed)
{
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0) {
			*failed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
			break;
		}
		off += (size_t)n;
	}
	return off;
}

int status_serve(int lfd, const char *doc, size_t len, struct status_conn *c, uint64_t now)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	bool failed = false;
	size_t off;

	if (fd < 0)
		return 0;
	off = send_some(fd, doc, len, 0, &failed);
	if (off == len || failed || !c || c->fd >= 0 || !(c->buf = malloc(len - off))) {
		close(fd);	/* done, or no room to keep it: the reader has what fitted */
		return 0;
	}
	memcpy(c->buf, doc + off, len - off);
	c->fd = fd;
	c->len = len - off;
	c->off = 0;
	c->deadline_ns = now + STATUS_CONN_NS;
	return 1;
}

int status_conn_write(struct status_conn *c)
{
	bool failed = false;

	c->off = send_some(c->fd, c->buf, c->len, c->off, &failed);
	if (c->off < c->len && !failed)
		return 1;
	status_conn_close(c);
	return 0;
}

int status_query(const char *path, bool json, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *doc = NULL, *table = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "status: path too long");
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "status: cannot connect to %s: %s (is mptun running with "
			 "--status %s?)", path, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (size_t cap = 0;;) {
		if (len == cap) {
			char *d = cap < STATUS_QUERY_MAX ? realloc(doc, cap ? 2 * cap : 65536) : NULL;

			if (!d) {
				snprintf(err, errlen, "status: %s", cap < STATUS_QUERY_MAX ?
					 "out of memory" : "the document is too large");
				goto out;
			}
			doc = d;
			cap = cap ? 2 * cap : 65536;
		}
		n = read(fd, doc + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	/* the table is much shorter than the document it shows */
	table = malloc(len + 65536);
	if (!table) {
		snprintf(err, errlen, "status: out of memory");
		goto out;
	}
	if (json) {
		rc = fwrite(doc, 1, len, stdout) == len ? 0 : -1;
		if (rc < 0)
			snprintf(err, errlen, "status: cannot write: %s", strerror(errno));
		goto out;
	}
	n = status_table(doc, len, table, len + 65536, err, errlen);
	if (n < 0) {
		if (n == -ENOSPC)
			snprintf(err, errlen, "status: the table does not fit (try --json)");
		goto out;
	}
	rc = fwrite(table, 1, (size_t)n, stdout) == (size_t)n ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "status: cannot write: %s", strerror(errno));
out:
	close(fd);
	free(doc);
	free(table);
	return rc;
}
