/* log: the daemon's lines on stderr. A struct log is the caller's (embedded in the loop's
 * state); log_open prepares it and may open a descriptor of its own, log_close closes that.
 * log_say never blocks the caller: a line that stderr cannot take at once (a pipe nobody
 * reads, a stopped terminal) is dropped and counted, and the next line that gets through
 * says how many were lost. Callable per packet, though callers rate-limit what they say. */
#ifndef MPT_DAEMON_LOG_H
#define MPT_DAEMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

struct log {
	int fd;			/* where lines go */
	bool own_fd;		/* opened by log_open, non-blocking: close it */
	int verbosity;		/* lines of a higher level are not said */
	uint64_t dropped;	/* lines stderr could not take */
	uint64_t dropped_said;	/* of those, how many a later line reported */
};

/* Lines go to fd (stderr): through a non-blocking descriptor of its own where fd is a pipe
 * or a terminal (so that the flag never leaks to the processes sharing fd), else to fd
 * itself, each line only when poll says it fits. */
void log_open(struct log *lg, int fd, int verbosity);
void log_close(struct log *lg);
/* "mptun: " + the formatted text + "\n" in one write, if level <= verbosity. */
void log_say(struct log *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
