/* Scenario parsing. Everything is validated before anything runs, so that bad input gives one
 * line and exit 2 with no output files written. */
#include "sim/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Drop-tail queue when a link spec names none: 100 ms at its rate, at least 10 packets. */
#define DEFAULT_QUEUE_NS (100ull * 1000000)
#define MIN_QUEUE_BYTES 15000
#define DEFAULT_DURATION_NS (30ull * 1000000000)

static const char *const default_mix[] = {
	"name=fibre,rate=50M,delay=10ms",
	"name=cable,rate=30M,delay=20ms",
	"name=dsl,rate=10M,delay=30ms,loss=0.5%",
	"name=lte,trace=sim/traces/TMobile-LTE-short,delay=40ms",
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void scenario_init(struct scenario *s, const char *trace_dir)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "custom");
	s->duration_ns = DEFAULT_DURATION_NS;
	s->warmup_ns = SCENARIO_DEFAULT_WARMUP_NS;
	s->seed = 1;
	snprintf(s->sched, sizeof(s->sched), "all");
	if (trace_dir)
		snprintf(s->trace_dir, sizeof(s->trace_dir), "%s", trace_dir);
}

void scenario_free(struct scenario *s)
{
	for (unsigned i = 0; i < s->ntraces; i++)
		trace_free(s->traces[i]);
	s->ntraces = 0;
}

/* A decimal number followed by a suffix; returns the suffix or NULL when there is no number. */
static const char *parse_number(const char *text, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(text, &end);
	if (end == text || errno || !isfinite(*v) || isspace((unsigned char)*text))
		return NULL;
	return end;
}

int scenario_parse_rate(const char *text, uint64_t *bps)
{
	double v, mult = 1;
	const char *suffix = parse_number(text, &v);

	if (!suffix)
		return -EINVAL;
	if (*suffix == 'k' || *suffix == 'K')
		mult = 1e3;
	else if (*suffix == 'm' || *suffix == 'M')
		mult = 1e6;
	else if (*suffix == 'g' || *suffix == 'G')
		mult = 1e9;
	if (mult != 1)
		suffix++;
	if (!strcmp(suffix, "bit") || !strcmp(suffix, "bps"))
		suffix += strlen(suffix);
	if (*suffix || v <= 0 || v * mult > 1e12 || v * mult < 1)
		return -EINVAL;
	*bps = (uint64_t)llround(v * mult);
	return 0;
}

int scenario_parse_time(const char *text, const char *default_unit, uint64_t *ns)
{
	double v, mult;
	const char *unit = parse_number(text, &v);

	if (!unit)
		return -EINVAL;
	if (!*unit)
		unit = default_unit;
	if (!strcmp(unit, "s"))
		mult = 1e9;
	else if (!strcmp(unit, "ms"))
		mult = 1e6;
	else if (!strcmp(unit, "us"))
		mult = 1e3;
	else if (!strcmp(unit, "ns"))
		mult = 1;
	else
		return -EINVAL;
	if (v < 0 || v * mult > 1e15)
		return -EINVAL;
	*ns = (uint64_t)llround(v * mult);
	return 0;
}

/* A time in seconds by default, lo..hi; *ns untouched otherwise. */
static int parse_seconds(const char *text, uint64_t lo, uint64_t hi, uint64_t *ns)
{
	uint64_t v;

	if (scenario_parse_time(text, "s", &v) < 0 || v < lo || v > hi)
		return -EINVAL;
	*ns = v;
	return 0;
}

int scenario_parse_warmup(const char *text, uint64_t *ns)
{
	return parse_seconds(text, 0, SCENARIO_MAX_WARMUP_NS, ns);
}

int scenario_parse_duration(const char *text, uint64_t *ns)
{
	return parse_seconds(text, SCENARIO_MIN_DURATION_NS, SCENARIO_MAX_DURATION_NS, ns);
}

/* A percentage, "%" optional: "0.5%" and "0.5" both mean 0.005. */
static int parse_percent(const char *text, double *p)
{
	double v;
	const char *suffix = parse_number(text, &v);

	if (!suffix || (*suffix && strcmp(suffix, "%")) || v < 0 || v > 100)
		return -EINVAL;
	*p = v / 100;
	return 0;
}

static int parse_bytes(const char *text, uint64_t *bytes)
{
	double v, mult = 1;
	const char *suffix = parse_number(text, &v);

	if (!suffix)
		return -EINVAL;
	if (*suffix == 'k' || *suffix == 'K')
		mult = 1024;
	else if (*suffix == 'm' || *suffix == 'M')
		mult = 1024 * 1024;
	if (mult != 1)
		suffix++;
	if (*suffix == 'b' || *suffix == 'B')
		suffix++;
	if (*suffix || v * mult < 1500 || v * mult > 1e10)
		return -EINVAL;
	*bytes = (uint64_t)llround(v * mult);
	return 0;
}

static int file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

static int load_trace(struct scenario *s, const char *path, struct trace **t,
		      char *err, size_t errlen)
{
	int rc;

	if (s->ntraces == SCENARIO_MAX_TRACES)
		return fail(err, errlen, "%s: too many trace files", path);
	rc = trace_load(path, t, err, errlen);
	if (rc < 0)
		return rc;
	s->traces[s->ntraces++] = *t;
	return 0;
}

/* trace=NAME: NAME.up and NAME.down when both exist (the Mahimahi pair), else NAME both ways.
 * A relative NAME is tried as given, then under the directory the program was installed in. */
static int resolve_trace(struct scenario *s, struct uplink_spec *u, const char *name,
			 const char *where, char *err, size_t errlen)
{
	char base[512], up[560], down[560];
	struct trace *tu, *td;
	int rc;

	snprintf(base, sizeof(base), "%s", name);
	for (int attempt = 0; attempt < 2; attempt++) {
		snprintf(up, sizeof(up), "%s.up", base);
		snprintf(down, sizeof(down), "%s.down", base);
		if ((file_exists(up) && file_exists(down)) || file_exists(base))
			break;
		if (name[0] == '/' || !s->trace_dir[0])
			break;
		snprintf(base, sizeof(base), "%s/%s", s->trace_dir, name);
	}
	if (file_exists(up) && file_exists(down)) {
		rc = load_trace(s, up, &tu, err, errlen);
		if (!rc)
			rc = load_trace(s, down, &td, err, errlen);
	} else if (file_exists(base)) {
		rc = load_trace(s, base, &tu, err, errlen);
		td = tu;
	} else {
		return fail(err, errlen, "%s: trace %s: no such file (nor %s.up and %s.down)",
			    where, name, name, name);
	}
	if (rc < 0)
		return rc;
	u->up.trace = tu;
	u->down.trace = td;
	u->up.rate_bps = u->down.rate_bps = 0;
	return 0;
}

int scenario_parse_link(struct scenario *s, struct uplink_spec *u, const char *spec,
			const char *where, char *err, size_t errlen)
{
	char buf[512], *save = NULL, *item;
	bool have_rate = false, have_trace = false, have_queue = false;
	struct link_params p;
	uint64_t queue = 0;
	int rc;

	memset(u, 0, sizeof(*u));
	memset(&p, 0, sizeof(p));
	if (strlen(spec) >= sizeof(buf))
		return fail(err, errlen, "%s: link spec too long", where);
	snprintf(u->desc, sizeof(u->desc), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');

		if (!val)
			return fail(err, errlen, "%s: '%s' is not key=value", where, item);
		*val++ = '\0';
		if (!strcmp(item, "name")) {
			if (!*val || strlen(val) >= sizeof(u->name) || strpbrk(val, " \t/"))
				return fail(err, errlen, "%s: bad link name '%s'", where, val);
			snprintf(u->name, sizeof(u->name), "%s", val);
		} else if (!strcmp(item, "rate")) {
			if (scenario_parse_rate(val, &p.rate_bps) < 0)
				return fail(err, errlen, "%s: bad rate '%s' (a positive bit/s with K, M or G, e.g. 20M)", where, val);
			have_rate = true;
		} else if (!strcmp(item, "delay")) {
			if (scenario_parse_time(val, "ms", &p.delay_ns) < 0)
				return fail(err, errlen, "%s: bad delay '%s' (e.g. 20ms)", where, val);
		} else if (!strcmp(item, "jitter")) {
			if (scenario_parse_time(val, "ms", &p.jitter_ns) < 0)
				return fail(err, errlen, "%s: bad jitter '%s' (e.g. 2ms)", where, val);
		} else if (!strcmp(item, "loss")) {
			if (parse_percent(val, &p.loss) < 0)
				return fail(err, errlen, "%s: bad loss '%s' (a percentage 0..100, e.g. 1%%)", where, val);
		} else if (!strcmp(item, "ge")) {
			double v[4] = { 0, 0, 1, 0 };
			char *f, *fsave = NULL;
			int n = 0;

			for (f = strtok_r(val, ":", &fsave); f; f = strtok_r(NULL, ":", &fsave)) {
				if (n == 4 || parse_percent(f, &v[n]) < 0)
					return fail(err, errlen, "%s: bad ge '%s' (P:R[:H[:K]] in %%)", where, f);
				n++;
			}
			if (n < 2)
				return fail(err, errlen, "%s: ge needs at least P:R", where);
			p.ge = 1;
			p.ge_p = v[0];
			p.ge_r = v[1];
			p.ge_h = v[2];
			p.ge_k = v[3];
		} else if (!strcmp(item, "queue")) {
			if (parse_bytes(val, &queue) < 0)
				return fail(err, errlen, "%s: bad queue '%s' (bytes, k or m suffix, at least 1500)", where, val);
			have_queue = true;
		} else if (!strcmp(item, "trace")) {
			if (have_trace)
				return fail(err, errlen, "%s: trace given twice", where);
			rc = resolve_trace(s, u, val, where, err, errlen);
			if (rc < 0)
				return rc;
			have_trace = true;
		} else if (!strcmp(item, "down")) {
			char *dash = strchr(val, '-');
			uint64_t a, b;

			if (!dash)
				return fail(err, errlen, "%s: bad down '%s' (START-END, e.g. 10s-20s)", where, val);
			*dash = '\0';
			if (scenario_parse_time(val, "s", &a) < 0 || scenario_parse_time(dash + 1, "s", &b) < 0 || b <= a)
				return fail(err, errlen, "%s: bad down '%s-%s' (START-END with END after START)", where, val, dash + 1);
			if (p.ndown == sizeof(p.down) / sizeof(p.down[0]))
				return fail(err, errlen, "%s: too many down= outages", where);
			p.down[p.ndown].start_ns = a;
			p.down[p.ndown].end_ns = b;
			p.ndown++;
		} else {
			return fail(err, errlen, "%s: unknown link key '%s' (name rate delay jitter loss ge queue trace down)", where, item);
		}
	}
	if (have_rate && have_trace)
		return fail(err, errlen, "%s: give rate= or trace=, not both", where);
	if (!have_rate && !have_trace)
		return fail(err, errlen, "%s: link needs rate= or trace=", where);
	if (p.jitter_ns > p.delay_ns)
		return fail(err, errlen, "%s: jitter larger than delay", where);
	if (!have_queue) {
		uint64_t rate = have_rate ? p.rate_bps : trace_mean_rate_bps(u->down.trace);

		queue = rate / 8 * (DEFAULT_QUEUE_NS / 1000000) / 1000;
		if (queue < MIN_QUEUE_BYTES)
			queue = MIN_QUEUE_BYTES;
	}
	p.queue_bytes = queue;
	{
		const struct trace *tu = u->up.trace, *td = u->down.trace;

		u->up = p;
		u->down = p;
		u->up.trace = tu;
		u->down.trace = td;
	}
	return 0;
}

int scenario_parse_traffic(struct traffic_spec *t, const char *spec, const char *where,
			   char *err, size_t errlen)
{
	char buf[128], *colon, *opt;

	memset(t, 0, sizeof(*t));
	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (!strcmp(buf, "tcp")) {
		char *end;
		long n = 1;

		t->kind = TRAFFIC_TCP;
		if (colon) {
			n = strtol(colon, &end, 10);
			if (*end || n < 1 || n > 64)
				return fail(err, errlen, "%s: bad TCP flow count '%s' (1..64)", where, colon);
		}
		t->flows = (unsigned)n;
		return 0;
	}
	if (!strcmp(buf, "udp")) {
		t->kind = TRAFFIC_UDP;
		if (!colon)
			return fail(err, errlen, "%s: udp needs a rate, e.g. udp:50M", where);
		opt = strchr(colon, ':');
		if (opt) {
			*opt++ = '\0';
			if (strcmp(opt, "poisson"))
				return fail(err, errlen, "%s: unknown udp option '%s' (poisson)", where, opt);
			t->poisson = true;
		}
		if (scenario_parse_rate(colon, &t->rate_bps) < 0)
			return fail(err, errlen, "%s: bad udp rate '%s' (a positive bit/s, e.g. 50M)", where, colon);
		return 0;
	}
	return fail(err, errlen, "%s: unknown traffic '%s' (tcp[:FLOWS] or udp:RATE[:poisson])", where, spec);
}

int scenario_default(struct scenario *s, char *err, size_t errlen)
{
	snprintf(s->name, sizeof(s->name), "default four-link mix");
	s->nlinks = 0;
	for (size_t i = 0; i < sizeof(default_mix) / sizeof(default_mix[0]); i++) {
		int rc = scenario_parse_link(s, &s->links[s->nlinks], default_mix[i],
					     "default mix", err, errlen);

		if (rc < 0)
			return rc;
		s->nlinks++;
	}
	return 0;
}

static char *trim(char *t)
{
	char *end;

	while (isspace((unsigned char)*t))
		t++;
	end = t + strlen(t);
	while (end > t && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return t;
}

/* "site NAME" opens a site block: the link and traffic lines up to the next site line are the
 * site's. Top-level link lines and sites do not mix: a link outside every site would belong to
 * no engine of the hub. */
static int begin_site(struct scenario *s, struct site_spec **site, unsigned *site_line,
		      unsigned lineno, unsigned first_link_line, const char *path, const char *name,
		      const char *where, char *err, size_t errlen)
{
	struct site_spec *n;

	if (first_link_line)
		return fail(err, errlen, "%s:%u: link outside any site (the file has site blocks, from line %u): put it under a site",
			    path, first_link_line, lineno);
	if (*site && (*site)->nlinks == 0)
		return fail(err, errlen, "%s:%u: site '%s' has no link lines", path,
			    site_line[s->nsites - 1], (*site)->name);
	if (s->nsites == SCENARIO_MAX_SITES)
		return fail(err, errlen, "%s: more than %d sites", where, SCENARIO_MAX_SITES);
	if (strlen(name) >= sizeof(n->name) || strpbrk(name, " \t/"))
		return fail(err, errlen, "%s: bad site name '%s' (one word, at most %zu characters, no '/')",
			    where, name, sizeof(n->name) - 1);
	for (unsigned k = 0; k < s->nsites; k++)
		if (!strcmp(s->sites[k].name, name))
			return fail(err, errlen, "%s: duplicate site name '%s' (first at line %u)", where,
				    name, site_line[k]);
	n = &s->sites[s->nsites];
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	site_line[s->nsites++] = lineno;
	*site = n;
	return 0;
}

int scenario_load(struct scenario *s, const char *path, char *err, size_t errlen)
{
	char line[1024], where[600];
	unsigned lineno = 0;
	FILE *f = fopen(path, "r");
	int rc = 0;
	bool named = false;
	/* the site block being read (it runs to the next site line), and where things began */
	struct site_spec *site = NULL;
	unsigned site_line[SCENARIO_MAX_SITES], first_link_line = 0;

	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	s->nlinks = 0;
	s->nsites = 0;
	while (fgets(line, sizeof(line), f)) {
		char *t, *arg;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			rc = fail(err, errlen, "%s: line too long", where);
			break;
		}
		t = strchr(line, '#');
		if (t)
			*t = '\0';
		t = trim(line);
		if (!*t)
			continue;
		arg = t + strcspn(t, " \t");
		if (*arg)
			*arg++ = '\0';
		arg = trim(arg);
		if (!*arg) {
			rc = fail(err, errlen, "%s: '%s' needs a value", where, t);
			break;
		}
		if (!strcmp(t, "site")) {
			rc = begin_site(s, &site, site_line, lineno, first_link_line, path, arg,
					where, err, errlen);
			if (rc < 0)
				break;
		} else if (!strcmp(t, "link") || !strcmp(t, "server")) {
			/* server lines are the hub's, shared by every site, wherever they stand */
			bool server = t[0] == 's';
			unsigned *n = server ? &s->nserver : site ? &site->nlinks : &s->nlinks;
			struct uplink_spec *links = server ? s->server : site ? site->links : s->links;
			unsigned max = server ? MPT_MAX_REMOTE : MPT_MAX_LOCAL;

			if (*n == max) {
				if (site && !server)
					rc = fail(err, errlen, "%s: more than %u link lines in site '%s'", where, max, site->name);
				else
					rc = fail(err, errlen, "%s: more than %u %s lines", where, max, t);
				break;
			}
			if (!server && !site && !first_link_line)
				first_link_line = lineno;
			rc = scenario_parse_link(s, &links[*n], arg, where, err, errlen);
			if (rc < 0)
				break;
			(*n)++;
		} else if (!strcmp(t, "traffic")) {
			unsigned *n = site ? &site->ntraffic : &s->ntraffic;
			struct traffic_spec *traffic = site ? site->traffic : s->traffic;

			if (*n == SCENARIO_MAX_TRAFFIC) {
				rc = fail(err, errlen, "%s: more than %d traffic lines", where, SCENARIO_MAX_TRAFFIC);
				break;
			}
			rc = scenario_parse_traffic(&traffic[*n], arg, where, err, errlen);
			if (rc < 0)
				break;
			(*n)++;
		} else if (!strcmp(t, "duration")) {
			if (scenario_parse_duration(arg, &s->duration_ns) < 0) {
				rc = fail(err, errlen, "%s: bad duration '%s' (seconds, 1 to 3600)", where, arg);
				break;
			}
		} else if (!strcmp(t, "warmup")) {
			if (scenario_parse_warmup(arg, &s->warmup_ns) < 0) {
				rc = fail(err, errlen, "%s: bad warmup '%s' (seconds, 0 to 60)", where, arg);
				break;
			}
		} else if (!strcmp(t, "seed")) {
			char *end;

			errno = 0;
			s->seed = strtoull(arg, &end, 10);
			if (*end || errno || arg[0] == '-') {
				rc = fail(err, errlen, "%s: bad seed '%s'", where, arg);
				break;
			}
		} else if (!strcmp(t, "sched")) {
			snprintf(s->sched, sizeof(s->sched), "%s", arg);
		} else if (!strcmp(t, "name")) {
			snprintf(s->name, sizeof(s->name), "%s", arg);
			named = true;
		} else {
			rc = fail(err, errlen, "%s: unknown directive '%s' (name site link server traffic duration warmup seed sched)", where, t);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = fail(err, errlen, "%s: read error", path);
	fclose(f);
	if (!rc && site && site->nlinks == 0)
		rc = fail(err, errlen, "%s:%u: site '%s' has no link lines", path,
			  site_line[s->nsites - 1], site->name);
	if (!rc && s->nlinks == 0 && s->nsites == 0)
		rc = fail(err, errlen, "%s: no link lines", path);
	if (!rc && !named) {
		const char *base = strrchr(path, '/');

		snprintf(s->name, sizeof(s->name), "%s", base ? base + 1 : path);
	}
	return rc;
}
