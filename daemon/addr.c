/* addr: the daemon's address conversions, each written once (see addr.h). */
#include "daemon/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct sockaddr_in6) <= sizeof(((struct mpt_addr *)0)->bytes),
	       "an mpt_addr holds an IPv6 sockaddr");

int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

int addr_parse_port(const char *s, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned long port = 0;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s)
		return -EINVAL;
	n = (size_t)(colon - s);
	/* an IPv6 address holds colons itself: only its bracketed form says where it ends */
	if (s[0] == '[' ? s[n - 1] != ']' : memchr(s, ':', n) != NULL)
		return -EINVAL;
	if (n >= sizeof(buf) || !colon[1] || strlen(colon + 1) > 5)
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return addr_parse(buf, (uint16_t)port, ss);
}

const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

socklen_t addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

bool addr_same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

bool addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return a->ss_family == b->ss_family && !memcmp(a, b, addr_len(a));
}

/* Flow info cleared so that one peer always compares equal to itself. Cleared by offset:
 * mpt_addr.bytes follows a one-byte len, so a struct sockaddr_in6 there is misaligned. */
void addr_to_mpt(const struct sockaddr_storage *ss, struct mpt_addr *a)
{
	socklen_t len = addr_len(ss);

	memset(a, 0, sizeof(*a));
	memcpy(a->bytes, ss, len);
	if (ss->ss_family == AF_INET6)
		memset(a->bytes + offsetof(struct sockaddr_in6, sin6_flowinfo), 0,
		       sizeof(((struct sockaddr_in6 *)0)->sin6_flowinfo));
	a->len = (uint8_t)len;
}

/* len is clamped to the bytes an mpt_addr has: one built elsewhere cannot over-read. */
void addr_from_mpt(const struct mpt_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, a->bytes, a->len < sizeof(a->bytes) ? a->len : sizeof(a->bytes));
}

const char *addr_mpt_str(const struct mpt_addr *a, char *buf, size_t len)
{
	struct sockaddr_storage ss;

	addr_from_mpt(a, &ss);
	return addr_str(&ss, buf, len);
}
