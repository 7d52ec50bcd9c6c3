/* outbuf: a bounded text buffer that printf-style appends fill until it is full, for the
 * status document and the metrics page. The caller owns the memory (buf, len) and reads off,
 * and full once done; nothing is allocated. */
#ifndef MPT_DAEMON_OUTBUF_H
#define MPT_DAEMON_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	char *buf;
	size_t len, off;
	bool full;		/* an append did not fit: the text is cut, off is where it ends */
};

/* Append, or set full (and append nothing more from then on). */
void outbuf_put(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
