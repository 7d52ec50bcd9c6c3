/* linkemu: a real-time link emulator for kernels without sch_netem. It runs the simulator's own
 * link model (sim/link.c: rate or Mahimahi trace, delay, jitter, loss, drop-tail queue,
 * outages) on the wall clock, forwarding Ethernet frames between two interfaces with AF_PACKET:
 * a frame arriving on A crosses the link's "up" direction and leaves on B, one arriving on B
 * crosses "down" and leaves on A. One process serves up to 8 such pairs.
 *
 *   linkemu [--seed N] --pair A,B,SPEC [--pair ...]
 *
 * SPEC is the simulator's --link syntax (rate=20M,delay=20ms,loss=1%,trace=FILE,down=5s-12s,
 * ...; README "Links"); outage times count from start-up. The interfaces must not segment or
 * offload checksums (ethtool -K IF tso off gso off gro off tx off): frames are forwarded as
 * they are. Runs until SIGINT/SIGTERM, then prints one line of counters per direction.
 * A frame enters the link at the time the kernel received it (SO_TIMESTAMPNS), not when this
 * process got to read it: a wire does not stop while the emulator waits for a CPU, so a frame
 * read late leaves as early as the link allows, not later by the wait.
 * Exit 2 for bad arguments (one line), 1 for a runtime error. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "sim/link.h"
#include "sim/scenario.h"

#define MAX_PAIRS 8
#define FRAME_MAX 1600
#define RING 8192		/* frames in flight per direction (the link's queue is the limit) */

struct frame {
	uint64_t release_ns;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

struct direction {
	struct link link;
	int in_fd, out_fd;
	struct frame *ring;
	unsigned head, len;
	uint64_t oversize, ring_full, send_errors;
	uint64_t last_t;		/* the model's time of the last frame taken */
	uint64_t late_ns_max;		/* the longest a frame waited for us to read it */
};

struct pair {
	char a[IFNAMSIZ], b[IFNAMSIZ];
	struct direction up, down;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* clock (CLOCK_MONOTONIC: the model's; CLOCK_REALTIME: the kernel's frame timestamps) in ns */
static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(const char *why)
{
	fprintf(stderr, "linkemu: %s (usage: linkemu [--seed N] --pair IF_A,IF_B,SPEC ...)\n", why);
	return 2;
}

static int open_if(const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd;

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "linkemu: no interface %s\n", name);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "linkemu: AF_PACKET on %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){ 1 }, sizeof(int)) < 0) {
		fprintf(stderr, "linkemu: SO_TIMESTAMPNS on %s: %s\n", name, strerror(errno));
		return -1;
	}
	mr.mr_ifindex = sll.sll_ifindex;
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
	return fd;
}

/* The model's time at which the kernel received the frame of mh (its SCM_TIMESTAMPNS, on the
 * real-time clock: moved to the monotonic one by real_off), within [d->last_t, t_now]: frames
 * enter a link in order, and never in the future. t_now without a timestamp. */
static uint64_t arrival_t(struct direction *d, struct msghdr *mh, uint64_t real_off,
			  uint64_t start, uint64_t t_now)
{
	uint64_t t = t_now;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct timespec ts;
		uint64_t real;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS ||
		    c->cmsg_len < CMSG_LEN(sizeof(ts)))
			continue;
		memcpy(&ts, CMSG_DATA(c), sizeof(ts));
		real = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		if (real > real_off + start && real - real_off - start < t_now)
			t = real - real_off - start;
	}
	if (t < d->last_t)
		t = d->last_t;
	if (t_now - t > d->late_ns_max)
		d->late_ns_max = t_now - t;
	d->last_t = t;
	return t;
}

/* Read what arrived on d's input and pass each frame through its link. */
static void take(struct direction *d, struct mpt_rng *rng, uint64_t start)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), t_now = mono - start;
	uint64_t real_off = clock_ns(CLOCK_REALTIME) - mono;

	for (int k = 0; k < 64; k++) {
		struct sockaddr_ll from;
		uint8_t buf[FRAME_MAX + 1];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct timespec))];
		} cbuf;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				     .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		uint64_t arrival, t;
		ssize_t n = recvmsg(d->in_fd, &mh, MSG_TRUNC);
		struct frame *f;

		if (n < 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;	/* our own sends on this interface */
		if (n > FRAME_MAX) {
			d->oversize++;	/* a GSO frame: offloads must be off (see above) */
			continue;
		}
		/* the model's time starts with us: outages count from it */
		t = arrival_t(d, &mh, real_off, start, t_now);
		/* the link carries IP packets: the model counts them without the Ethernet header */
		if (link_send(&d->link, t, n > ETH_HLEN ? (size_t)n - ETH_HLEN : (size_t)n, rng,
			      &arrival) != LINK_DELIVER)
			continue;
		if (d->len == RING) {
			d->ring_full++;
			continue;
		}
		f = &d->ring[(d->head + d->len) % RING];
		f->release_ns = arrival;
		f->len = (uint16_t)n;
		memcpy(f->data, buf, (size_t)n);
		d->len++;
	}
}

/* Send the frames whose time has come; returns the next release time or UINT64_MAX. */
static uint64_t release(struct direction *d, uint64_t t)
{
	while (d->len) {
		struct frame *f = &d->ring[d->head];

		if (f->release_ns > t)
			return f->release_ns;
		if (send(d->out_fd, f->data, f->len, MSG_DONTWAIT) != f->len)
			d->send_errors++;
		d->head = (d->head + 1) % RING;
		d->len--;
	}
	return UINT64_MAX;
}

static void report(const char *from, const char *to, const struct direction *d)
{
	const struct link_stats *s = &d->link.stats;

	printf("linkemu: %s -> %s: %llu in, %llu out, dropped %llu loss %llu queue %llu down, "
	       "%llu oversize, %llu ring full, %llu send errors, read up to %.1f ms late\n", from, to,
	       (unsigned long long)s->pkts_in, (unsigned long long)s->pkts_out,
	       (unsigned long long)s->drop_loss, (unsigned long long)s->drop_queue,
	       (unsigned long long)s->drop_down, (unsigned long long)d->oversize,
	       (unsigned long long)d->ring_full, (unsigned long long)d->send_errors,
	       (double)d->late_ns_max / 1e6);
}

int main(int argc, char **argv)
{
	static struct pair pairs[MAX_PAIRS];
	static struct scenario sc;
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd[2 * MAX_PAIRS];
	struct direction *dirs[2 * MAX_PAIRS];
	char err[SCENARIO_ERR_LEN];
	struct mpt_rng rng;
	unsigned npairs = 0;
	uint64_t seed = 1, start;

	scenario_init(&sc, "sim/traces");
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			printf("usage: linkemu [--seed N] --pair IF_A,IF_B,SPEC [--pair ...]\n\n"
			       "Forwards frames between IF_A and IF_B through the simulator's link model\n"
			       "on the wall clock (up: A to B, down: B to A), up to %d pairs. SPEC is sim's\n"
			       "--link syntax: rate=20M or trace=FILE, delay=20ms, jitter=2ms, loss=1%%,\n"
			       "ge=P:R[:H[:K]], queue=64k, down=5s-12s (from start-up). The interfaces must\n"
			       "not offload (ethtool -K IF tso off gso off gro off tx off). Runs until\n"
			       "SIGINT/SIGTERM, then prints its counters. --seed N seeds the loss draws (1).\n",
			       MAX_PAIRS);
			return 0;
		} else if (!strcmp(argv[k], "--seed") && k + 1 < argc) {
			char *end;

			seed = strtoull(argv[++k], &end, 10);
			if (*end || !*argv[k])
				return usage("--seed: not a number");
		} else if (!strcmp(argv[k], "--pair") && k + 1 < argc) {
			char buf[1024], *c1, *c2;
			struct uplink_spec u;

			if (npairs == MAX_PAIRS)
				return usage("more than 8 pairs");
			snprintf(buf, sizeof(buf), "%s", argv[++k]);
			c1 = strchr(buf, ',');
			c2 = c1 ? strchr(c1 + 1, ',') : NULL;
			if (!c2 || c1 == buf || c2 == c1 + 1 || c1 - buf >= IFNAMSIZ ||
			    c2 - c1 - 1 >= IFNAMSIZ)
				return usage("--pair needs IF_A,IF_B,SPEC");
			*c1 = *c2 = '\0';
			memset(&u, 0, sizeof(u));
			if (scenario_parse_link(&sc, &u, c2 + 1, "--pair", err, sizeof(err)) < 0) {
				fprintf(stderr, "linkemu: %s\n", err);
				return 2;
			}
			memcpy(pairs[npairs].a, buf, (size_t)(c1 - buf));
			memcpy(pairs[npairs].b, c1 + 1, (size_t)(c2 - c1 - 1));
			if (link_init(&pairs[npairs].up.link, &u.up) < 0 ||
			    link_init(&pairs[npairs].down.link, &u.down) < 0)
				return usage("bad link parameters");
			npairs++;
		} else {
			fprintf(stderr, "linkemu: unknown or incomplete option '%s' (usage: linkemu "
				"[--seed N] --pair IF_A,IF_B,SPEC ...)\n", argv[k]);
			return 2;
		}
	}
	if (!npairs)
		return usage("no --pair given");
	rng_seed(&rng, seed);
	prctl(PR_SET_TIMERSLACK, 1UL);	/* wake on time: a 20 Mbit/s packet lasts 600 us */
	for (unsigned i = 0; i < npairs; i++) {
		struct pair *p = &pairs[i];
		int fa = open_if(p->a), fb = fa < 0 ? -1 : open_if(p->b);	/* one line */

		if (fa < 0 || fb < 0)
			return 1;
		p->up = (struct direction){ .link = p->up.link, .in_fd = fa, .out_fd = fb };
		p->down = (struct direction){ .link = p->down.link, .in_fd = fb, .out_fd = fa };
		p->up.ring = malloc(RING * sizeof(struct frame));
		p->down.ring = malloc(RING * sizeof(struct frame));
		if (!p->up.ring || !p->down.ring)
			return 1;
		pfd[2 * i] = (struct pollfd){ .fd = fa, .events = POLLIN };
		pfd[2 * i + 1] = (struct pollfd){ .fd = fb, .events = POLLIN };
		dirs[2 * i] = &p->up;
		dirs[2 * i + 1] = &p->down;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("linkemu: %u link%s, the simulator's link model (sim/link.c) on the wall clock\n",
	       npairs, npairs == 1 ? "" : "s");
	fflush(stdout);
	start = clock_ns(CLOCK_MONOTONIC);
	while (!stop) {
		uint64_t t = clock_ns(CLOCK_MONOTONIC) - start, next = UINT64_MAX;
		struct timespec ts, *tsp = NULL;

		for (unsigned k = 0; k < 2 * npairs; k++) {
			uint64_t r = release(dirs[k], t);

			if (r < next)
				next = r;
		}
		if (next != UINT64_MAX) {
			uint64_t wait = next > t ? next - t : 0;

			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		if (ppoll(pfd, 2 * npairs, tsp, NULL) < 0 && errno != EINTR)
			return 1;
		for (unsigned k = 0; k < 2 * npairs; k++)
			if (pfd[k].revents & POLLIN)
				take(dirs[k], &rng, start);
	}
	for (unsigned i = 0; i < npairs; i++) {
		report(pairs[i].a, pairs[i].b, &pairs[i].up);
		report(pairs[i].b, pairs[i].a, &pairs[i].down);
	}
	return 0;
}
