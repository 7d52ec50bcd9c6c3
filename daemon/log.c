/* log: one write per line, never a blocking one. */
#include "daemon/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* under PIPE_BUF: a pipe takes such a write whole or not at all */
#define LOG_LINE_MAX 1024

void log_open(struct log *lg, int fd, int verbosity)
{
	struct stat sb;
	char path[64];
	int own = -1;

	*lg = (struct log){ .fd = fd, .verbosity = verbosity };
	/* O_NONBLOCK on fd itself would be shared with whoever else holds its open file (the
	 * shell's terminal, a supervisor's pipe): open the same pipe or terminal anew instead */
	if (fstat(fd, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	}
	if (own >= 0) {
		lg->fd = own;
		lg->own_fd = true;
	}
}

void log_close(struct log *lg)
{
	if (lg->own_fd)
		close(lg->fd);
	lg->own_fd = false;
	lg->fd = -1;
}

/* Without a non-blocking descriptor (a socket, or /proc unavailable), ask first: poll says
 * writable when a line fits. Regular files always are. */
static bool fits(const struct log *lg)
{
	struct pollfd p = { .fd = lg->fd, .events = POLLOUT };

	return lg->own_fd || (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT));
}

void log_say(struct log *lg, int level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t n = 0, room = sizeof(line) - 1;	/* the last byte is for the newline */
	va_list ap;
	int w;

	if (lg->verbosity < level || lg->fd < 0)
		return;
	if (lg->dropped != lg->dropped_said) {
		w = snprintf(line, room, "mptun: %llu log lines dropped: stderr could not "
			     "take them\n", (unsigned long long)(lg->dropped - lg->dropped_said));
		n = w > 0 && (size_t)w < room ? (size_t)w : 0;
	}
	w = snprintf(line + n, room - n, "mptun: ");
	n += w > 0 && (size_t)w < room - n ? (size_t)w : 0;
	va_start(ap, fmt);
	w = vsnprintf(line + n, room - n, fmt, ap);
	va_end(ap);
	/* a line too long is cut to what fits */
	if (w > 0)
		n += (size_t)w < room - n ? (size_t)w : room - n - 1;
	line[n++] = '\n';
	if (fits(lg) && write(lg->fd, line, n) == (ssize_t)n) {
		lg->dropped_said = lg->dropped;
		return;
	}
	lg->dropped++;
}
