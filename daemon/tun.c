/* tun: create and configure the tun device with ioctls. */
#include "daemon/tun.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>		/* struct in6_ifreq, after netinet/in.h (tun.h) */
#include <net/route.h>		/* struct in6_rtmsg */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The pid of a process with an open tun fd attached to name (its fdinfo says "iff: name"). */
static long tun_holder(const char *name)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	long found = 0;

	if (!proc)
		return 0;
	while (!found && (p = readdir(proc))) {
		char path[600], line[128];
		DIR *fds;
		struct dirent *f;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!found && (f = readdir(fds))) {
			FILE *fp;

			if (f->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name, f->d_name);
			fp = fopen(path, "r");
			if (!fp)
				continue;
			while (fgets(line, sizeof(line), fp)) {
				char iff[IFNAMSIZ + 1];

				if (sscanf(line, "iff: %16s", iff) == 1 && !strcmp(iff, name)) {
					found = strtol(p->d_name, NULL, 10);
					break;
				}
			}
			fclose(fp);
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

int tun_open(const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, e;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open /dev/net/tun: %s%s", strerror(e),
			 e == EACCES || e == EPERM ? " (run as root or with CAP_NET_ADMIN)" :
			 e == ENOENT ? " (no tun support: modprobe tun)" : "");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		if (e == EPERM) {
			snprintf(err, errlen, "cannot create tun device %s: %s (run as root or with "
				 "CAP_NET_ADMIN)", name, strerror(e));
		} else if (e == EBUSY) {
			long pid = tun_holder(name);

			if (pid)
				snprintf(err, errlen, "tun device %s is in use by process %ld", name, pid);
			else
				snprintf(err, errlen, "tun device %s is in use", name);
		} else if (e == EINVAL) {
			snprintf(err, errlen, "cannot create tun device %s: an interface of that name "
				 "exists and is not a tun device", name);
		} else {
			snprintf(err, errlen, "cannot create tun device %s: %s", name, strerror(e));
		}
		return -1;
	}
	return fd;
}

static int set_addr(int s, unsigned long req, const char *name, struct in_addr a)
{
	struct ifreq ifr;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

/* The IPv6 pair, once the device is up (the kernel refuses a route through a device that is
 * down): the address as a /128 (no neighbour discovery on a tun: IFF_NOARP, hence no DAD
 * either) and a host route to the peer, so that the peer is reached only through the tunnel,
 * whatever /64 either address lies in. */
static int configure6(int ifindex, const struct tun_inner *in, const char **what)
{
	struct in6_ifreq ifr6 = { .ifr6_addr = in->addr6, .ifr6_prefixlen = 128,
				  .ifr6_ifindex = ifindex };
	struct in6_rtmsg rt = { .rtmsg_dst = in->peer6, .rtmsg_dst_len = 128,
				.rtmsg_ifindex = ifindex, .rtmsg_flags = RTF_UP | RTF_HOST };
	int s6, rc, e;

	*what = "IPv6 address";
	s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s6 < 0)
		return -1;
	rc = ioctl(s6, SIOCSIFADDR, &ifr6);
	if (rc == 0 && !in->no_peer) {
		*what = "IPv6 route to the peer";
		rc = ioctl(s6, SIOCADDRT, &rt);
	}
	e = errno;
	close(s6);
	errno = e;
	return rc;
}

int tun_configure(const char *name, const struct tun_inner *in, unsigned mtu, char *err,
		  size_t errlen)
{
	struct in_addr mask = { .s_addr = 0xffffffffu };
	struct ifreq ifr;
	const char *what;
	int s, rc = -1;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (in->v4) {
		what = "address";
		if (set_addr(s, SIOCSIFADDR, name, in->addr) < 0)
			goto out;
		what = "peer address";
		if (!in->no_peer && set_addr(s, SIOCSIFDSTADDR, name, in->peer) < 0)
			goto out;
		what = "netmask";
		if (set_addr(s, SIOCSIFNETMASK, name, mask) < 0)
			goto out;
	}
	what = "MTU";
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		goto out;
	what = "flags";
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto out;
	if (in->v6) {
		what = "index";
		if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
			goto out;
		if (configure6(ifr.ifr_ifindex, in, &what) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot set the %s of %s: %s%s", what, name, strerror(errno),
			 errno == EAFNOSUPPORT ? " (no IPv6 in this kernel)" :
			 errno == EACCES && !strcmp(what, "IPv6 address") ? " (IPv6 is disabled "
			 "there: sysctl net.ipv6.conf.all.disable_ipv6)" : "");
	close(s);
	return rc;
}

int tun_route(const char *name, int family, const uint8_t *addr, unsigned len, bool del,
	      char *err, size_t errlen)
{
	unsigned long req = del ? SIOCDELRT : SIOCADDRT;
	char a[INET6_ADDRSTRLEN];
	struct ifreq ifr;
	int s, rc = -1;

	s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto out;
	if (family == AF_INET) {
		struct rtentry rt;
		struct sockaddr_in dst = { .sin_family = AF_INET }, mask = { .sin_family = AF_INET };

		memcpy(&dst.sin_addr, addr, 4);
		mask.sin_addr.s_addr = len ? htonl(~0u << (32 - len)) : 0;
		memset(&rt, 0, sizeof(rt));
		memcpy(&rt.rt_dst, &dst, sizeof(dst));
		memcpy(&rt.rt_genmask, &mask, sizeof(mask));
		rt.rt_flags = RTF_UP | (len == 32 ? RTF_HOST : 0);
		rt.rt_dev = (char *)name;
		rc = ioctl(s, req, &rt);
	} else {
		struct in6_rtmsg rt = { .rtmsg_dst_len = (uint16_t)len, .rtmsg_metric = 1,
					.rtmsg_flags = RTF_UP | (len == 128 ? RTF_HOST : 0) };

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
		rc = ioctl(s, SIOCGIFINDEX, &ifr);
		if (rc == 0) {
			memcpy(&rt.rtmsg_dst, addr, 16);
			rt.rtmsg_ifindex = ifr.ifr_ifindex;
			rc = ioctl(s, req, &rt);
		}
	}
out:
	if (rc < 0) {
		inet_ntop(family, addr, a, sizeof(a));
		snprintf(err, errlen, "cannot %s the route to %s/%u through %s: %s",
			 del ? "delete" : "add", a, len, name, strerror(errno));
	}
	if (s >= 0)
		close(s);
	return rc;
}
