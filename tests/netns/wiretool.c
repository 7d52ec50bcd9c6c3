/* wiretool: the netns tests' attacker. It records mptun's datagrams as they cross a link and
 * sends the very same frames again later (a replay), and it throws junk at a daemon.
 *
 *   wiretool capture IFACE PORT COUNT SECONDS FILE   frames leaving IFACE for UDP port PORT
 *   wiretool replay IFACE FILE                       send the recorded frames again, as they were
 *   wiretool resend ADDR PORT FILE TYPE              the recorded UDP payloads to PORT that open
 *                                                    with the type byte TYPE, sent again from
 *                                                    this host's own address (another sender)
 *   wiretool junk ADDR PORT COUNT [FILE]             COUNT datagrams: random bytes, random lengths,
 *                                                    and truncated or bit-flipped recorded ones
 *   wiretool spray ADDR PORT COUNT NPORTS [TYPE LEN] COUNT random datagrams from NPORTS source
 *                                                    ports in turn; with TYPE and LEN, each is
 *                                                    LEN bytes opening with the type byte TYPE
 *
 * Exit 0 and one summary line on stdout; 2 for bad arguments, 1 for a runtime error. */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 2048
#define MAX_FRAMES 20000

static int usage(const char *why)
{
	fprintf(stderr, "wiretool: %s\nusage: wiretool capture IFACE PORT COUNT SECONDS FILE | "
		"replay IFACE FILE | resend ADDR PORT FILE TYPE | junk ADDR PORT COUNT [FILE] | "
		"spray ADDR PORT COUNT NPORTS [TYPE LEN]\n", why);
	return 2;
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= lo && v <= hi ? v : -1;
}

static int packet_socket(const char *iface, int *ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	*ifindex = (int)if_nametoindex(iface);
	if (!*ifindex) {
		fprintf(stderr, "wiretool: no interface %s\n", iface);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	sll.sll_ifindex = *ifindex;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "wiretool: AF_PACKET on %s: %s\n", iface, strerror(errno));
		return -1;
	}
	return fd;
}

/* An IPv4 UDP frame (Ethernet) to port? Returns the UDP payload offset, or 0. */
static size_t udp_to_port(const uint8_t *f, size_t len, uint16_t port)
{
	const struct iphdr *ip = (const void *)(f + ETH_HLEN);
	const struct udphdr *udp;
	size_t ihl;

	if (len < ETH_HLEN + sizeof(*ip) || ((f[12] << 8) | f[13]) != ETH_P_IP || ip->protocol != 17)
		return 0;
	ihl = (size_t)ip->ihl * 4;
	if (len < ETH_HLEN + ihl + sizeof(*udp))
		return 0;
	udp = (const void *)(f + ETH_HLEN + ihl);
	return ntohs(udp->dest) == port ? ETH_HLEN + ihl + sizeof(*udp) : 0;
}

static int capture(int argc, char **argv)
{
	long port, count, secs, got = 0;
	struct timespec t0, t;
	uint8_t f[MAX_FRAME];
	int fd, ifindex;
	FILE *out;

	if (argc != 7)
		return usage("capture needs IFACE PORT COUNT SECONDS FILE");
	port = num(argv[3], 1, 65535);
	count = num(argv[4], 1, MAX_FRAMES);
	secs = num(argv[5], 1, 3600);
	if (port < 0 || count < 0 || secs < 0)
		return usage("bad PORT, COUNT or SECONDS");
	fd = packet_socket(argv[2], &ifindex);
	if (fd < 0)
		return 1;
	out = fopen(argv[6], "wb");
	if (!out) {
		fprintf(stderr, "wiretool: %s: %s\n", argv[6], strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= secs)
			break;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(fd, f, sizeof(f), 0, (struct sockaddr *)&from, &flen);
		if (n <= 0 || from.sll_pkttype != PACKET_OUTGOING || !udp_to_port(f, (size_t)n, (uint16_t)port))
			continue;
		uint16_t len = (uint16_t)n;

		fwrite(&len, sizeof(len), 1, out);
		fwrite(f, 1, (size_t)n, out);
		got++;
	}
	fclose(out);
	printf("captured %ld frames to port %ld on %s\n", got, port, argv[2]);
	return 0;
}

static long load(const char *path, uint8_t (*frames)[MAX_FRAME], uint16_t *lens)
{
	FILE *in = fopen(path, "rb");
	long n = 0;

	if (!in) {
		fprintf(stderr, "wiretool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (n < MAX_FRAMES && fread(&lens[n], sizeof(lens[n]), 1, in) == 1) {
		if (lens[n] > MAX_FRAME || fread(frames[n], 1, lens[n], in) != lens[n])
			break;
		n++;
	}
	fclose(in);
	return n;
}

/* A frame captured as it left a veth carries the partial UDP checksum that offload would
 * have completed; the same bytes sent again would be dropped for it. IPv4 lets UDP go without
 * a checksum (0): the payload, what mptun sees, stays exactly as recorded. */
static void clear_udp_checksum(uint8_t *f, size_t len)
{
	const struct iphdr *ip = (const void *)(f + ETH_HLEN);
	size_t ihl;

	if (len < ETH_HLEN + sizeof(*ip) || ((f[12] << 8) | f[13]) != ETH_P_IP || ip->protocol != 17)
		return;
	ihl = (size_t)ip->ihl * 4;
	if (len >= ETH_HLEN + ihl + sizeof(struct udphdr))
		((struct udphdr *)(void *)(f + ETH_HLEN + ihl))->check = 0;
}

static int replay(int argc, char **argv)
{
	static uint8_t frames[MAX_FRAMES][MAX_FRAME];
	static uint16_t lens[MAX_FRAMES];
	long n, sent = 0;
	int fd, ifindex;

	if (argc != 4)
		return usage("replay needs IFACE FILE");
	n = load(argv[3], frames, lens);
	if (n < 0)
		return 1;
	fd = packet_socket(argv[2], &ifindex);
	if (fd < 0)
		return 1;
	for (long k = 0; k < n; k++) {
		clear_udp_checksum(frames[k], lens[k]);
		if (send(fd, frames[k], lens[k], 0) == lens[k])
			sent++;
		if (k % 64 == 63)
			usleep(1000);	/* a replay at line rate would only measure the queue */
	}
	printf("replayed %ld of %ld frames on %s\n", sent, n, argv[2]);
	return sent == n ? 0 : 1;
}

static int resend(int argc, char **argv)
{
	static uint8_t frames[MAX_FRAMES][MAX_FRAME];
	static uint16_t lens[MAX_FRAMES];
	struct sockaddr_in to = { .sin_family = AF_INET };
	long port, type, n, sent = 0, found = 0;
	int fd;

	if (argc != 6)
		return usage("resend needs ADDR PORT FILE TYPE");
	port = num(argv[3], 1, 65535);
	type = num(argv[5], 0, 255);
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || port < 0 || type < 0)
		return usage("bad ADDR, PORT or TYPE");
	to.sin_port = htons((uint16_t)port);
	n = load(argv[4], frames, lens);
	if (n < 0)
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	for (long k = 0; k < n; k++) {
		size_t off = udp_to_port(frames[k], lens[k], (uint16_t)port);

		if (!off || off >= lens[k] || frames[k][off] != type)
			continue;
		found++;
		if (sendto(fd, frames[k] + off, lens[k] - off, 0, (struct sockaddr *)&to,
			   sizeof(to)) >= 0)
			sent++;
	}
	printf("resent %ld of %ld recorded datagrams of type %ld to %s:%ld\n", sent, found, type,
	       argv[2], port);
	return found && sent == found ? 0 : 1;
}

static int junk(int argc, char **argv)
{
	static uint8_t frames[MAX_FRAMES][MAX_FRAME];
	static uint16_t lens[MAX_FRAMES];
	struct sockaddr_in to = { .sin_family = AF_INET };
	long port, count, nrec = 0, sent = 0;
	uint8_t buf[MAX_FRAME];
	int fd;

	if (argc != 5 && argc != 6)
		return usage("junk needs ADDR PORT COUNT [FILE]");
	port = num(argv[3], 1, 65535);
	count = num(argv[4], 1, 100000000);
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || port < 0 || count < 0)
		return usage("bad ADDR, PORT or COUNT");
	to.sin_port = htons((uint16_t)port);
	if (argc == 6 && (nrec = load(argv[5], frames, lens)) < 0)
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	for (long k = 0; k < count; k++) {
		uint16_t r;
		size_t len;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return 1;
		if (nrec && k % 2) {
			/* a recorded datagram, truncated or with one bit flipped */
			long i = k / 2 % nrec;
			size_t off = udp_to_port(frames[i], lens[i], (uint16_t)port);
			size_t plen = off ? lens[i] - off : 0;

			if (!plen)
				continue;
			memcpy(buf, frames[i] + off, plen);
			if (k % 4 == 1)
				len = r % plen;
			else {
				len = plen;
				buf[r % plen] ^= (uint8_t)(1u << (r % 8));
			}
		} else {
			len = r % 1600;
			if (getrandom(buf, len, 0) != (ssize_t)len)
				return 1;
			if (len)
				buf[0] = (uint8_t)(1 + k % 3);	/* data, INIT, RESP: past the type check */
		}
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			sent++;
		if (k % 256 == 255)
			usleep(2000);	/* ~100k datagrams/s: a flood, yet not just a full queue */
	}
	printf("sent %ld junk datagrams to %s:%ld\n", sent, argv[2], port);
	return 0;
}

/* Many senders at once: each socket has its own source port, so that a daemon that keys any
 * per-sender state by address sees NPORTS strangers. */
static int spray(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	long port, count, nports, type = -1, flen = -1, sent = 0;
	uint8_t buf[MAX_FRAME];
	int fds[256];

	if (argc != 6 && argc != 8)
		return usage("spray needs ADDR PORT COUNT NPORTS [TYPE LEN]");
	port = num(argv[3], 1, 65535);
	count = num(argv[4], 1, 100000000);
	nports = num(argv[5], 1, 256);
	if (argc == 8) {
		type = num(argv[6], 0, 255);
		flen = num(argv[7], 1, 1600);
	}
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || port < 0 || count < 0 ||
	    nports < 0 || (argc == 8 && (type < 0 || flen < 0)))
		return usage("bad ADDR, PORT, COUNT, NPORTS, TYPE or LEN");
	to.sin_port = htons((uint16_t)port);
	for (long i = 0; i < nports; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0) {
			fprintf(stderr, "wiretool: socket: %s\n", strerror(errno));
			return 1;
		}
	}
	for (long k = 0; k < count; k++) {
		uint16_t r;
		size_t len;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return 1;
		len = flen > 0 ? (size_t)flen : (size_t)(1 + r % 1600);
		if (getrandom(buf, len, 0) != (ssize_t)len)
			return 1;
		buf[0] = type >= 0 ? (uint8_t)type : (uint8_t)(1 + k % 3);
		if (type >= 0 && len >= 4)
			buf[2] = buf[3] = 0;	/* the header's reserved bytes: forgeries reach the MAC */
		if (sendto(fds[k % nports], buf, len, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
			sent++;
		if (k % 256 == 255)
			usleep(2000);	/* as junk: a flood, yet not just a full queue */
	}
	printf("sent %ld datagrams from %ld ports to %s:%ld\n", sent, nports, argv[2], port);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("missing command");
	if (!strcmp(argv[1], "capture"))
		return capture(argc, argv);
	if (!strcmp(argv[1], "replay"))
		return replay(argc, argv);
	if (!strcmp(argv[1], "resend"))
		return resend(argc, argv);
	if (!strcmp(argv[1], "junk"))
		return junk(argc, argv);
	if (!strcmp(argv[1], "spray"))
		return spray(argc, argv);
	return usage("unknown command");
}
