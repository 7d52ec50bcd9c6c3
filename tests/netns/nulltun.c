/* nulltun: make bench's floor for a userspace tunnel. It carries a tun device's packets over
 * UDP as they are: no header, no crypto, no scheduler, one path, one packet per syscall. It
 * sleeps in poll() between packets, as mptun does in epoll, so its idle RTT over a plain veth
 * is what the wakeups and the copies alone cost on this machine; mptun's overhead beyond it is
 * mptun's own work.
 *
 *   nulltun TUN TUN_ADDR PEER_TUN_ADDR LOCAL_ADDR REMOTE_ADDR PORT
 *
 * Creates TUN with TUN_ADDR peer PEER_TUN_ADDR (IPv4, via ip(8)), binds LOCAL_ADDR:PORT and sends
 * to REMOTE_ADDR:PORT. Runs until killed. Exit 2 for bad arguments, 1 for a runtime error. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "nulltun: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in local = { .sin_family = AF_INET }, remote = { .sin_family = AF_INET };
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	unsigned char buf[65536];
	char cmd[256];
	long port;
	int tun, sock;

	if (argc != 7 || strlen(argv[1]) >= IFNAMSIZ || (port = strtol(argv[6], NULL, 10)) < 1 ||
	    port > 65535 || inet_pton(AF_INET, argv[4], &local.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[5], &remote.sin_addr) != 1) {
		fprintf(stderr, "usage: nulltun TUN TUN_ADDR PEER_TUN_ADDR LOCAL_ADDR REMOTE_ADDR "
			"PORT (IPv4)\n");
		return 2;
	}
	local.sin_port = remote.sin_port = htons((unsigned short)port);
	tun = open("/dev/net/tun", O_RDWR);
	if (tun < 0)
		return die("/dev/net/tun");
	memcpy(ifr.ifr_name, argv[1], strlen(argv[1]) + 1);
	if (ioctl(tun, TUNSETIFF, &ifr) < 0)
		return die("TUNSETIFF");
	snprintf(cmd, sizeof(cmd), "ip addr add %s peer %s dev %s && ip link set %s mtu 1472 up",
		 argv[2], argv[3], argv[1], argv[1]);
	if (system(cmd) != 0) {
		fprintf(stderr, "nulltun: %s failed\n", cmd);
		return 1;
	}
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(sock, (struct sockaddr *)&remote, sizeof(remote)) < 0)
		return die("UDP socket");
	for (;;) {
		struct pollfd p[2] = { { .fd = tun, .events = POLLIN },
				       { .fd = sock, .events = POLLIN } };

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return die("poll");
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(tun, buf, sizeof(buf));

			if (n > 0 && send(sock, buf, (size_t)n, 0) < 0 && errno != ECONNREFUSED)
				return die("send");
		}
		if (p[1].revents & POLLIN) {
			ssize_t n = recv(sock, buf, sizeof(buf), 0);

			if (n > 0 && write(tun, buf, (size_t)n) < 0)
				return die("write to tun");
		}
	}
}
