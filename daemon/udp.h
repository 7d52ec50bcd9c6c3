/* udp: the daemon's UDP sockets, one per local address, and batched I/O on them. A struct
 * udp_sock is the caller's (embedded in the loop's state); udp_open fills it, udp_close
 * closes it. Datagrams to send are queued with udp_queue and leave in one sendmmsg per
 * udp_flush (runs of equal-length datagrams to one peer as one UDP GSO send); udp_recv
 * reads a batch with recvmmsg. A socket bound to a wildcard address
 * records each datagram's destination (IP_PKTINFO / IPV6_RECVPKTINFO) and sends to a peer
 * from the address that peer last reached. Nothing is allocated after udp_open. */
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

struct udp_pkt {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t len;
	uint8_t buf[WIRE_MAX_DGRAM];
};

/* A wildcard socket's memory of which local address each peer talks to. */
struct udp_peer_dst {
	struct sockaddr_storage peer;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} dst;
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
/* Read up to UDP_BATCH datagrams into pkts; returns how many (0 when none waits). */
int udp_recv(struct udp_sock *u, struct udp_pkt *pkts, unsigned max);
/* Queue one datagram (flushing first when the queue is full). */
void udp_queue(struct udp_sock *u, const struct sockaddr_storage *to, socklen_t tolen,
	       const uint8_t *buf, size_t len);
/* Send everything queued. Returns false when the socket would block (the rest is dropped and
 * counted: UDP may lose, and a full socket buffer is a full queue). */
bool udp_flush(struct udp_sock *u);
socklen_t udp_addr_len(const struct sockaddr_storage *ss);

#endif
