/* loop: the daemon's one event loop. loop_new sets everything up from a parsed config (tun,
 * sockets, engine, status socket, metrics listener) and returns NULL with one line in err
 * when anything fails, leaving nothing behind; loop_run waits on epoll with the engine's next
 * deadline as timeout until *stop is set (by a signal handler in main.c); loop_free closes and
 * wipes it all. */
#ifndef MPT_DAEMON_LOOP_H
#define MPT_DAEMON_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/aead.h"
#include "daemon/config.h"

struct loop;

/* key: the master key (from -K or from -k through Argon2id); the loop copies it. */
struct loop *loop_new(const struct config *c, const uint8_t key[AEAD_KEY_LEN], char *err,
		      size_t errlen);
/* 0 on a clean stop, -1 with err on a fatal error. *reload set (SIGHUP): a hub reads its
 * file again (daemon/peers.c), and the flag is cleared. */
int loop_run(struct loop *l, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
	     char *err, size_t errlen);
void loop_free(struct loop *l);

/* The longest wait when the engine wants no tick: the loop looks at the world once a second. */
#define LOOP_MAX_WAIT_NS 1000000000ull

/* How long loop_run waits for events before the engine's next tick at deadline: *ts to the
 * nanosecond (for epoll_pwait2), 0 when the deadline is now or past, at most LOOP_MAX_WAIT_NS
 * (deadline UINT64_MAX: no tick wanted); returned in whole milliseconds rounded up, for
 * epoll_pwait where epoll_pwait2 is missing. Pure: unit-tested. */
int loop_timeout(uint64_t now, uint64_t deadline, struct timespec *ts);

#endif
