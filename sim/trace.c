#include "sim/trace.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add(struct trace *t, size_t *cap, uint32_t ms)
{
	if (t->n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 4096;
		uint32_t *m = realloc(t->ms, ncap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		t->ms = m;
		*cap = ncap;
	}
	t->ms[t->n++] = ms;
	return 0;
}

/* One line: optional surrounding whitespace around a decimal integer. 1 = value, 0 = blank,
 * -1 = malformed. */
static int parse_line(char *line, uint32_t *v)
{
	char *p = line, *end;
	unsigned long x;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	x = strtoul(p, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (*end || errno || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 1;
}

int trace_load(const char *path, struct trace **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct trace *t;
	char line[128];
	size_t cap = 0, lineno = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		uint32_t v;
		int r;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%zu: line too long", path, lineno);
			rc = -EINVAL;
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		r = parse_line(line, &v);
		if (r == 0)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s:%zu: not a non-negative integer: '%.40s'", path, lineno, line);
			rc = -EINVAL;
			break;
		}
		if (t->n && v < t->ms[t->n - 1]) {
			snprintf(err, errlen, "%s:%zu: timestamp decreases (%u after %u)", path, lineno,
				 v, t->ms[t->n - 1]);
			rc = -EINVAL;
			break;
		}
		rc = add(t, &cap, v);
		if (rc) {
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	if (!rc && t->n == 0) {
		snprintf(err, errlen, "%s: empty trace", path);
		rc = -EINVAL;
	}
	if (!rc && t->ms[t->n - 1] == 0) {
		snprintf(err, errlen, "%s: period is 0 ms (the last timestamp must be positive)", path);
		rc = -EINVAL;
	}
	if (rc) {
		trace_free(t);
		return rc;
	}
	t->period_ms = t->ms[t->n - 1];
	*out = t;
	return 0;
}

void trace_free(struct trace *t)
{
	if (!t)
		return;
	free(t->ms);
	free(t);
}

uint64_t trace_mean_rate_bps(const struct trace *t)
{
	return (uint64_t)t->n * TRACE_PACKET_BYTES * 8 * 1000 / t->period_ms;
}
