/* udp: sockets bound per local address, recvmmsg/sendmmsg batches, PKTINFO on wildcards. */
#include "daemon/udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/addr.h"

#define CMSG_SPACE_PKTINFO CMSG_SPACE(sizeof(struct in6_pktinfo))
#define CMSG_SPACE_RX (CMSG_SPACE_PKTINFO + CMSG_SPACE(sizeof(struct timespec)))

int udp_open(struct udp_sock *u, const struct sockaddr_storage *addr, char *err, size_t errlen)
{
	char name[64];
	int one = 1, bufsz = 4 << 20, e;

	memset(u, 0, sizeof(*u));
	u->family = addr->ss_family;
	u->bound = *addr;
	u->wildcard = addr_is_wildcard(addr);
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (u->family == AF_INET6)
		setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (u->wildcard) {
		if (u->family == AF_INET)
			setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	/* each datagram's arrival as the kernel saw it: a daemon that waited for a CPU reads a
	 * batch at once, and the arrival times its peer's delivery samples and one-way delays
	 * are taken from (core/path.c) must not be the batch's */
	setsockopt(u->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	/* bursts of a fast uplink: room for a few milliseconds at gigabit rates */
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(u->fd, (const struct sockaddr *)addr, addr_len(addr)) < 0) {
		e = errno;
		addr_str(addr, name, sizeof(name));
		if (e == EADDRINUSE)
			snprintf(err, errlen, "cannot listen on %s: the port is in use", name);
		else if (e == EADDRNOTAVAIL)
			snprintf(err, errlen, "cannot bind to %s: the address is not on this host",
				 name);
		else
			snprintf(err, errlen, "cannot bind to %s: %s", name, strerror(e));
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	/* GSO where the kernel has it (4.18+); a refusal only costs the optimisation */
	u->gso = setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &(int){ 0 }, sizeof(int)) == 0;
	if (((struct sockaddr_in *)&u->bound)->sin_port == 0) {
		socklen_t len = sizeof(u->bound);

		getsockname(u->fd, (struct sockaddr *)&u->bound, &len);
	}
	return 0;
}

void udp_close(struct udp_sock *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

/* The control message at *off in mh: 1 with its header in *c and its data (*dlen bytes) at
 * *data, *off moved past it; 0 at the end; -EBADMSG for a header out of bounds. Offsets, not
 * CMSG_NXTHDR: a cmsg_len near SIZE_MAX must not become a wild pointer. */
static int cmsg_next(const struct msghdr *mh, size_t *off, struct cmsghdr *c,
		     const uint8_t **data, size_t *dlen)
{
	const uint8_t *base = mh->msg_control;
	size_t total = base ? mh->msg_controllen : 0, step;

	if (*off > total || total - *off < sizeof(struct cmsghdr))
		return 0;
	memcpy(c, base + *off, sizeof(*c));
	if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > total - *off)
		return -EBADMSG;
	*data = base + *off + CMSG_LEN(0);
	*dlen = c->cmsg_len - CMSG_LEN(0);
	step = CMSG_ALIGN(c->cmsg_len);
	/* the last one may lack its padding: nothing can follow it */
	*off = step > total - *off ? total : *off + step;
	return 1;
}

int udp_cmsg_dst(const struct msghdr *mh, struct udp_dst *dst)
{
	struct cmsghdr c;
	const uint8_t *data;
	size_t off = 0, dlen;
	int rc;

	memset(dst, 0, sizeof(*dst));
	while ((rc = cmsg_next(mh, &off, &c, &data, &dlen)) > 0) {
		if (c.cmsg_level == IPPROTO_IP && c.cmsg_type == IP_PKTINFO &&
		    dlen >= sizeof(dst->v4)) {
			memcpy(&dst->v4, data, sizeof(dst->v4));
			dst->family = AF_INET;
			return 0;
		}
		if (c.cmsg_level == IPPROTO_IPV6 && c.cmsg_type == IPV6_PKTINFO &&
		    dlen >= sizeof(dst->v6)) {
			memcpy(&dst->v6, data, sizeof(dst->v6));
			dst->family = AF_INET6;
			return 0;
		}
	}
	return rc < 0 ? rc : -ENOENT;
}

uint64_t udp_cmsg_stamp(const struct msghdr *mh)
{
	struct cmsghdr c;
	struct timespec ts;
	const uint8_t *data;
	size_t off = 0, dlen;

	while (cmsg_next(mh, &off, &c, &data, &dlen) > 0) {
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_TIMESTAMPNS &&
		    dlen >= sizeof(ts)) {
			memcpy(&ts, data, sizeof(ts));
			if (ts.tv_sec < 0 || ts.tv_nsec < 0)
				return 0;
			return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return 0;
}

void udp_learn_dst(struct udp_sock *u, const struct udp_pkt *p)
{
	struct udp_peer_dst *slot = NULL;

	if (!u->wildcard || p->dst.family != u->family)
		return;
	for (unsigned k = 0; k < UDP_PEERS && !slot; k++)
		if (u->dst[k].used && addr_same(&u->dst[k].peer, &p->peer))
			slot = &u->dst[k];
	if (!slot) {
		/* a new peer takes the oldest slot: a client that moved leaves its old one */
		slot = &u->dst[u->dst_next];
		u->dst_next = (u->dst_next + 1) % UDP_PEERS;
		memset(slot, 0, sizeof(*slot));
		memcpy(&slot->peer, &p->peer, addr_len(&p->peer));
		slot->used = true;
	}
	slot->dst = p->dst;
	/* answer from the address it came to, out of whichever interface routes */
	if (u->family == AF_INET) {
		slot->dst.v4.ipi_spec_dst = slot->dst.v4.ipi_addr;
		slot->dst.v4.ipi_ifindex = 0;
	} else {
		slot->dst.v6.ipi6_ifindex = 0;
	}
}

int udp_recv(struct udp_sock *u, struct udp_pkt *pkts, unsigned max)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint8_t ctl[UDP_BATCH][CMSG_SPACE_RX];
	int n;

	if (max > UDP_BATCH)
		max = UDP_BATCH;
	for (unsigned k = 0; k < max; k++) {
		iov[k] = (struct iovec){ pkts[k].buf, sizeof(pkts[k].buf) };
		mm[k].msg_hdr = (struct msghdr){
			.msg_name = &pkts[k].peer, .msg_namelen = sizeof(pkts[k].peer),
			.msg_iov = &iov[k], .msg_iovlen = 1,
			.msg_control = ctl[k], .msg_controllen = sizeof(ctl[k]),
		};
	}
	n = recvmmsg(u->fd, mm, max, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int k = 0; k < n; k++) {
		pkts[k].len = mm[k].msg_len;
		pkts[k].peer_len = mm[k].msg_hdr.msg_namelen;
		/* a datagram longer than any of ours was truncated: mark it so the engine drops it */
		if (mm[k].msg_hdr.msg_flags & MSG_TRUNC)
			pkts[k].len = 0;
		if (u->wildcard)
			udp_cmsg_dst(&mm[k].msg_hdr, &pkts[k].dst);
		else
			pkts[k].dst.family = 0;
		pkts[k].rx_real_ns = udp_cmsg_stamp(&mm[k].msg_hdr);
	}
	return n;
}

void udp_queue(struct udp_sock *u, const struct sockaddr_storage *to, socklen_t tolen,
	       const uint8_t *buf, size_t len)
{
	struct udp_pkt *p;

	if (u->nq == UDP_BATCH)
		udp_flush(u);
	p = &u->q[u->nq++];
	memcpy(&p->peer, to, tolen);
	p->peer_len = tolen;
	p->len = len;
	memcpy(p->buf, buf, len);
}

static size_t set_src(struct udp_sock *u, const struct udp_pkt *p, uint8_t *ctl)
{
	struct msghdr mh = { .msg_control = ctl, .msg_controllen = CMSG_SPACE_PKTINFO };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	for (unsigned k = 0; k < UDP_PEERS; k++) {
		const struct udp_peer_dst *d = &u->dst[k];

		if (!d->used || d->dst.family != u->family || !addr_same(&d->peer, &p->peer))
			continue;
		memset(ctl, 0, CMSG_SPACE_PKTINFO);
		if (u->family == AF_INET) {
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(d->dst.v4));
			memcpy(CMSG_DATA(c), &d->dst.v4, sizeof(d->dst.v4));
			return CMSG_SPACE(sizeof(d->dst.v4));
		}
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(d->dst.v6));
		memcpy(CMSG_DATA(c), &d->dst.v6, sizeof(d->dst.v6));
		return CMSG_SPACE(sizeof(d->dst.v6));
	}
	return 0;
}

/* Consecutive datagrams to one peer with one length leave as one GSO send (UDP_SEGMENT):
 * the kernel walks its stack once for all of them. The last of a run may be shorter. */
#define GSO_MAX_SEGS 64
#define GSO_MAX_BYTES 65000

bool udp_flush(struct udp_sock *u)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint8_t ctl[UDP_BATCH][CMSG_SPACE_PKTINFO + CMSG_SPACE(sizeof(uint16_t))];
	unsigned nmsg = 0, count[UDP_BATCH], done = 0;
	bool ok = true;

	for (unsigned k = 0; k < u->nq;) {
		const struct udp_pkt *p = &u->q[k];
		unsigned n = 1;
		size_t clen = u->wildcard ? set_src(u, p, ctl[nmsg]) : 0, total = p->len;

		if (u->gso) {
			while (k + n < u->nq && n < GSO_MAX_SEGS &&
			       total + u->q[k + n].len <= GSO_MAX_BYTES &&
			       u->q[k + n].len <= p->len && u->q[k + n - 1].len == p->len &&
			       addr_same(&u->q[k + n].peer, &p->peer)) {
				total += u->q[k + n].len;
				n++;
			}
		}
		for (unsigned m = 0; m < n; m++)
			iov[k + m] = (struct iovec){ u->q[k + m].buf, u->q[k + m].len };
		if (n > 1) {
			struct msghdr tmp = { .msg_control = ctl[nmsg] + clen,
					      .msg_controllen = CMSG_SPACE(sizeof(uint16_t)) };
			struct cmsghdr *c = CMSG_FIRSTHDR(&tmp);
			uint16_t seg = (uint16_t)p->len;

			memset(c, 0, CMSG_SPACE(sizeof(uint16_t)));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			clen += CMSG_SPACE(sizeof(uint16_t));
		}
		mm[nmsg].msg_hdr = (struct msghdr){
			.msg_name = (void *)&p->peer, .msg_namelen = p->peer_len,
			.msg_iov = &iov[k], .msg_iovlen = n,
			.msg_control = clen ? ctl[nmsg] : NULL, .msg_controllen = clen,
		};
		count[nmsg] = n;
		nmsg++;
		k += n;
	}
	while (done < nmsg) {
		int n = sendmmsg(u->fd, mm + done, nmsg - done, MSG_DONTWAIT);

		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ok = false;
			for (unsigned m = done; m < nmsg; m++)
				u->send_dropped += count[m];
			break;
		}
		if (n < 0 && errno == EIO && count[done] > 1) {
			/* the device cannot segment (checksum offload off, ...): never again */
			u->gso = false;
		}
		/* this message cannot go (no route, wrong family, ...): skip it, keep the rest */
		u->last_send_errno = n < 0 ? errno : EIO;
		u->send_errors += count[done];
		done++;
	}
	u->nq = 0;
	return ok;
}
