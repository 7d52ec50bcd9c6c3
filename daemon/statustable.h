/* statustable: `mptun status` for people. Renders the daemon's status document (status.c's
 * JSON, read with jansson) as a short text table: the tunnel, the peer and its session, one
 * line per path (state, RTT, loss, rate, share, bytes), the tunnel's queue and the drops that
 * happened. Pure: text in, text out, into the caller's buffer; nothing is kept. */
#ifndef MPT_DAEMON_STATUSTABLE_H
#define MPT_DAEMON_STATUSTABLE_H

#include <stddef.h>

/* doc: len bytes of JSON. Writes a NUL-terminated table into out; returns its length, -EBADMSG
 * when doc is not a status document (err says why), or -ENOSPC. */
int status_table(const char *doc, size_t len, char *out, size_t outlen, char *err,
		 size_t errlen);

#endif
