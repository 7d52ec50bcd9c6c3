/* tun: the tun device. tun_open creates it (IFF_TUN | IFF_NO_PI) and returns its fd, which the
 * caller owns and closes; tun_configure gives it its MTU and inner addresses and brings it up,
 * with ioctls (no shell command): IPv4 point-to-point (address, peer, netmask /32), IPv6 the
 * address as a /128 and a host route to the peer through the device. On failure both write one
 * line into err. */
#ifndef MPT_DAEMON_TUN_H
#define MPT_DAEMON_TUN_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

/* The tunnel's inner addresses: an IPv4 pair, an IPv6 pair, or both. */
struct tun_inner {
	bool v4, v6;
	struct in_addr addr, peer;
	struct in6_addr addr6, peer6;
	bool no_peer;		/* a hub: its own addresses only, each peer's prefixes routed */
};

/* The fd (non-blocking), or -1 with err filled: EPERM names the missing capability, EBUSY the
 * process holding the name when it can be found. */
int tun_open(const char *name, char *err, size_t errlen);
int tun_configure(const char *name, const struct tun_inner *in, unsigned mtu, char *err,
		  size_t errlen);
/* A route to family (AF_INET, AF_INET6) addr/len through the device (up already): added, or
 * deleted (del). */
int tun_route(const char *name, int family, const uint8_t *addr, unsigned len, bool del,
	      char *err, size_t errlen);

#endif
