/* addr: every conversion of the daemon's addresses, text <-> struct sockaddr_storage <->
 * struct mpt_addr (the engine's opaque address, which here holds the sockaddr itself). Pure:
 * no allocation, no I/O, no state; buffers are the caller's. Callable per packet. */
#ifndef MPT_DAEMON_ADDR_H
#define MPT_DAEMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/engine.h"

/* Parse "1.2.3.4" or "2001:db8::1" (brackets allowed) into ss with port. 0 or -EINVAL. */
int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss);
/* "1.2.3.4:9469" or "[2001:db8::1]:9469" (the brackets required for IPv6) into ss; the port
 * 1-65535. 0 or -EINVAL. */
int addr_parse_port(const char *s, struct sockaddr_storage *ss);
/* "1.2.3.4:5000" or "[2001:db8::1]:5000" into buf ("?" for another family); returns buf. */
const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* The length of ss's sockaddr: sizeof(struct sockaddr_in6) for IPv6, else sockaddr_in's. */
socklen_t addr_len(const struct sockaddr_storage *ss);
/* ss is the any-address (0.0.0.0 or ::), whatever its port. */
bool addr_is_wildcard(const struct sockaddr_storage *ss);
/* a and b have the same family and IP address; ports are not compared. */
bool addr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* a and b are the same peer: family, address, port (the whole sockaddr) equal. */
bool addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* ss as the engine's address: its sockaddr, IPv6 flow info cleared. */
void addr_to_mpt(const struct sockaddr_storage *ss, struct mpt_addr *a);
/* The sockaddr an mpt_addr holds, the rest of ss zeroed. */
void addr_from_mpt(const struct mpt_addr *a, struct sockaddr_storage *ss);
/* addr_str of the sockaddr an mpt_addr holds. */
const char *addr_mpt_str(const struct mpt_addr *a, char *buf, size_t len);

#endif
