/* udp: the daemon's UDP sockets, one per local address, and batched I/O on them. A struct
 * udp_sock is the caller's (embedded in the loop's state); udp_open fills it, udp_close
 * closes it. Datagrams to send are queued with udp_queue and leave in one sendmmsg per
 * udp_flush (runs of equal-length datagrams to one peer as one UDP GSO send); udp_recv
 * reads a batch with recvmmsg. On a socket bound to a wildcard address each received datagram
 * carries its destination (IP_PKTINFO / IPV6_PKTINFO); the caller hands a datagram back with
 * udp_learn_dst once it proved authentic, and the socket then answers that peer from that
 * address. Nothing is allocated after udp_open; udp_cmsg_dst is pure (a fuzz target). */
#ifndef MPT_DAEMON_UDP_H
#define MPT_DAEMON_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/wire.h"

#define UDP_BATCH 32
#define UDP_PEERS 32

/* Where a datagram arrived: family AF_INET (v4 valid), AF_INET6 (v6 valid) or 0 (unknown). */
struct udp_dst {
	sa_family_t family;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	};
};

struct udp_pkt {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t len;
	struct udp_dst dst;		/* received on a wildcard socket: its destination */
	uint64_t rx_real_ns;		/* received: the kernel's CLOCK_REALTIME stamp, 0 if none */
	uint8_t buf[WIRE_MAX_DGRAM];
};

/* A wildcard socket's memory of which local address each authenticated peer talks to. */
struct udp_peer_dst {
	struct sockaddr_storage peer;
	struct udp_dst dst;
	bool used;
};

struct udp_sock {
	int fd;
	int family;
	bool wildcard;
	bool gso;			/* UDP_SEGMENT works on this socket */
	struct sockaddr_storage bound;
	/* send queue */
	unsigned nq;
	struct udp_pkt q[UDP_BATCH];
	uint64_t send_errors, send_dropped;
	int last_send_errno;
	/* wildcard: where each peer's datagrams arrived */
	struct udp_peer_dst dst[UDP_PEERS];
	unsigned dst_next;
};

/* Bind to addr (its port included). 0, or -1 with one line in err (port in use, address not
 * on this host, ...). */
int udp_open(struct udp_sock *u, const struct sockaddr_storage *addr, char *err, size_t errlen);
void udp_close(struct udp_sock *u);
/* Read up to UDP_BATCH datagrams into pkts; returns how many (0 when none waits). On a
 * wildcard socket each one's dst is filled; nothing about the peer is remembered yet. */
int udp_recv(struct udp_sock *u, struct udp_pkt *pkts, unsigned max);
/* p (from udp_recv on u) was authenticated: answer p's peer from the address p came to. Only
 * authenticated datagrams may call this, or junk from many ports could move a peer's answers
 * to another source address. A no-op on a socket bound to one address. */
void udp_learn_dst(struct udp_sock *u, const struct udp_pkt *p);
/* The destination in a received message's control data: the first IP_PKTINFO or IPV6_PKTINFO
 * whose length holds it. 0, -ENOENT (none) or -EBADMSG (a control header out of bounds).
 * Reads only within msg_control[0, msg_controllen), at any alignment. */
int udp_cmsg_dst(const struct msghdr *mh, struct udp_dst *dst);
/* The kernel's receive time in a message's control data (SO_TIMESTAMPNS, CLOCK_REALTIME ns), or
 * 0 when there is none; reads as udp_cmsg_dst does. */
uint64_t udp_cmsg_stamp(const struct msghdr *mh);
/* Queue one datagram (flushing first when the queue is full). */
void udp_queue(struct udp_sock *u, const struct sockaddr_storage *to, socklen_t tolen,
	       const uint8_t *buf, size_t len);
/* Send everything queued. Returns false when the socket would block (the rest is dropped and
 * counted: UDP may lose, and a full socket buffer is a full queue). */
bool udp_flush(struct udp_sock *u);

#endif
