/* tun: create and configure the tun device with ioctls. */
#include "daemon/tun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
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

int tun_configure(const char *name, struct in_addr addr, struct in_addr peer, unsigned mtu,
		  char *err, size_t errlen)
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
	what = "address";
	if (set_addr(s, SIOCSIFADDR, name, addr) < 0)
		goto out;
	what = "peer address";
	if (set_addr(s, SIOCSIFDSTADDR, name, peer) < 0)
		goto out;
	what = "netmask";
	if (set_addr(s, SIOCSIFNETMASK, name, mask) < 0)
		goto out;
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
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot set the %s of %s: %s", what, name, strerror(errno));
	close(s);
	return rc;
}
