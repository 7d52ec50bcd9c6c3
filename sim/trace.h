/* trace: Mahimahi link traces. Each line is a millisecond timestamp at which one 1500-byte
 * packet may leave the bottleneck; the same value repeated means several opportunities in that
 * millisecond; the trace repeats after its last timestamp (its period). trace_load allocates,
 * trace_free frees; loading is for start-up, lookups are the link model's. Empty lines are
 * ignored; anything else that is not a non-decreasing non-negative integer is an error. */
#ifndef MPT_TRACE_H
#define MPT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_PACKET_BYTES 1500

struct trace {
	uint32_t *ms;		/* n timestamps, non-decreasing */
	size_t n;
	uint32_t period_ms;	/* the last timestamp, > 0 */
};

/* 0, or -errno with one line in err ("file:line: what" where there is a line). */
int trace_load(const char *path, struct trace **out, char *err, size_t errlen);
void trace_free(struct trace *t);
uint64_t trace_mean_rate_bps(const struct trace *t);

#endif
