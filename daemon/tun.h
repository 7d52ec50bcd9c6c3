/* tun: the tun device. tun_open creates it (IFF_TUN | IFF_NO_PI) and returns its fd, which the
 * caller owns and closes; tun_configure gives it its point-to-point IPv4 address, peer and MTU
 * and brings it up, with ioctls (no shell command). On failure both write one line into err. */
#ifndef MPT_DAEMON_TUN_H
#define MPT_DAEMON_TUN_H

#include <netinet/in.h>
#include <stddef.h>

/* The fd (non-blocking), or -1 with err filled: EPERM names the missing capability, EBUSY the
 * process holding the name when it can be found. */
int tun_open(const char *name, char *err, size_t errlen);
int tun_configure(const char *name, struct in_addr addr, struct in_addr peer, unsigned mtu,
		  char *err, size_t errlen);

#endif
