#include "sim/report.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

static const char *const columns[] = {
	"sched", "goodput_mbps", "capacity_mbps", "efficiency_pct", "app_loss_pct",
	"rtt_p50_ms", "rtt_p99_ms", "reorder_pct",
};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

#define NAME_LEN 80

/* Uplink i of the run's numbering; with sites, SITE_LINK (site by site, as run numbers them). */
static void link_name(const struct scenario *s, unsigned i, char *out, size_t len)
{
	const struct uplink_spec *links = s->links;
	const char *site = NULL;

	for (unsigned k = 0; k < s->nsites; k++) {
		if (i < s->sites[k].nlinks) {
			links = s->sites[k].links;
			site = s->sites[k].name;
			break;
		}
		i -= s->sites[k].nlinks;
	}
	if (links[i].name[0])
		snprintf(out, len, "%s%s%s", site ? site : "", site ? "_" : "", links[i].name);
	else
		snprintf(out, len, "%s%slink%u", site ? site : "", site ? "_" : "", i + 1);
}

double report_jain(const double *x, unsigned n)
{
	double sum = 0, sq = 0;

	for (unsigned k = 0; k < n; k++) {
		sum += x[k];
		sq += x[k] * x[k];
	}
	return n && sq > 0 ? sum * sum / (n * sq) : NAN;
}

void report_describe(const struct scenario *s, char *out, size_t len)
{
	size_t used;
	bool traffic = true;

	if (s->nsites) {
		unsigned nlinks = 0, own = 0;

		for (unsigned k = 0; k < s->nsites; k++) {
			nlinks += s->sites[k].nlinks;
			own += s->sites[k].ntraffic > 0;
		}
		/* one description of the traffic when every site runs the scenario's */
		traffic = own == 0;
		used = (size_t)snprintf(out, len, "%s: %u sites (%u uplinks) behind %u server uplink%s, %s",
					s->name, s->nsites, nlinks, s->nserver ? s->nserver : 1,
					s->nserver > 1 ? "s" : "", traffic ? "per site " : "traffic per site");
	} else {
		used = (size_t)snprintf(out, len, "%s: %u uplink%s, ", s->name, s->nlinks,
					s->nlinks == 1 ? "" : "s");
	}
	for (unsigned t = 0; traffic && t < s->ntraffic && used < len; t++) {
		const struct traffic_spec *ts = &s->traffic[t];

		if (ts->kind == TRAFFIC_TCP)
			used += (size_t)snprintf(out + used, len - used, "%stcp x%u", t ? " + " : "", ts->flows);
		else
			used += (size_t)snprintf(out + used, len - used, "%sudp %.1f Mbit/s%s", t ? " + " : "",
						 ts->rate_bps / 1e6, ts->poisson ? " poisson" : "");
	}
	if (used < len)
		snprintf(out + used, len - used, ", %.0f s (after %.3g s of warm-up), seed %llu",
			 s->duration_ns / 1e9, s->warmup_ns / 1e9, (unsigned long long)s->seed);
}

/* Nearest-rank percentile of sorted samples; NAN without any. */
static double percentile(const double *v, uint64_t n, double q)
{
	uint64_t k;

	if (n == 0)
		return NAN;
	k = (uint64_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void values(const struct run_result *r, double v[NCOLUMNS - 1])
{
	v[0] = r->goodput_bps / 1e6;
	v[1] = r->capacity_bps / 1e6;
	v[2] = r->capacity_bps > 0 ? 100.0 * r->goodput_bps / r->capacity_bps : 0.0;
	v[3] = r->app_sent ? 100.0 * (double)(r->app_sent - (r->app_recv < r->app_sent ? r->app_recv : r->app_sent)) / (double)r->app_sent : 0.0;
	v[4] = percentile(r->rtt_ms, r->nrtt, 0.50);
	v[5] = percentile(r->rtt_ms, r->nrtt, 0.99);
	v[6] = pct(r->app_reordered, r->app_recv);
}

static uint64_t total_link_bytes(const struct run_result *r)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < r->nlinks; i++)
		t += r->link_bytes[i];
	return t;
}

void report_table(FILE *f, const struct scenario *s, const struct run_result *r, unsigned n,
		  int tsv)
{
	char name[NAME_LEN], head[NAME_LEN + 16];
	double v[NCOLUMNS - 1];

	for (size_t c = 0; c < NCOLUMNS; c++) {
		if (tsv)
			fprintf(f, "%s%s", c ? "\t" : "", columns[c]);
		else
			fprintf(f, c ? " %14s" : "%-11s", columns[c]);
	}
	/* one client: each uplink's share; a hub: each site's goodput and their fairness (the
	 * uplinks' shares are in share.tsv under --out) */
	for (unsigned i = 0; !s->nsites && i < s->nlinks; i++) {
		link_name(s, i, name, sizeof(name));
		snprintf(head, sizeof(head), "%s_share_pct", name);
		fprintf(f, tsv ? "\t%s" : " %14s", head);
	}
	for (unsigned k = 0; k < s->nsites; k++) {
		snprintf(head, sizeof(head), "%s_mbps", s->sites[k].name);
		fprintf(f, tsv ? "\t%s" : " %14s", head);
	}
	if (s->nsites)
		fprintf(f, tsv ? "\t%s" : " %6s", "jain");
	fprintf(f, tsv ? "\t%s\t%s\n" : " %8s %8s\n", "tcp_retx", "tcp_rto");
	for (unsigned k = 0; k < n; k++) {
		uint64_t total = total_link_bytes(&r[k]);

		values(&r[k], v);
		fprintf(f, tsv ? "%s" : "%-11s", r[k].sched);
		for (size_t c = 0; c < NCOLUMNS - 1; c++)
			fprintf(f, tsv ? "\t%.2f" : " %14.2f", v[c]);
		for (unsigned i = 0; !s->nsites && i < s->nlinks; i++)
			fprintf(f, tsv ? "\t%.1f" : " %14.1f", pct(r[k].link_bytes[i], total));
		for (unsigned m = 0; m < s->nsites; m++)
			fprintf(f, tsv ? "\t%.2f" : " %14.2f", r[k].site_goodput_bps[m] / 1e6);
		if (s->nsites)
			fprintf(f, tsv ? "\t%.3f" : " %6.3f", report_jain(r[k].site_goodput_bps, s->nsites));
		fprintf(f, tsv ? "\t%llu\t%llu\n" : " %8llu %8llu\n",
			(unsigned long long)r[k].tcp_retransmits, (unsigned long long)r[k].tcp_timeouts);
	}
}

static FILE *open_out(const char *dir, const char *file, char *err, size_t errlen)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *dir, const char *file, char *err, size_t errlen)
{
	if (ferror(f) | fclose(f)) {
		snprintf(err, errlen, "%s/%s: write error", dir, file);
		return -EIO;
	}
	return 0;
}

static int write_goodput(const char *dir, const struct run_result *r, unsigned n,
			 char *err, size_t errlen)
{
	FILE *f = open_out(dir, "goodput.tsv", err, errlen);

	if (!f)
		return -errno;
	fprintf(f, "time_s");
	for (unsigned k = 0; k < n; k++)
		fprintf(f, "\t%s", r[k].sched);
	fprintf(f, "\n");
	for (unsigned b = 0; b < r[0].nbins; b++) {
		fprintf(f, "%.2f", (b + 0.5) * RUN_BIN_NS / 1e9);
		for (unsigned k = 0; k < n; k++)
			fprintf(f, "\t%.3f", r[k].bin_goodput_bps[b] / 1e6);
		fprintf(f, "\n");
	}
	return close_out(f, dir, "goodput.tsv", err, errlen);
}

static int write_share(const char *dir, const struct scenario *s, const struct run_result *r,
		       unsigned n, char *err, size_t errlen)
{
	FILE *f = open_out(dir, "share.tsv", err, errlen);
	char name[NAME_LEN];

	if (!f)
		return -errno;
	fprintf(f, "sched");
	for (unsigned i = 0; i < r[0].nlinks; i++) {
		link_name(s, i, name, sizeof(name));
		fprintf(f, "\t%s", name);
	}
	fprintf(f, "\n");
	for (unsigned k = 0; k < n; k++) {
		uint64_t total = total_link_bytes(&r[k]);

		fprintf(f, "%s", r[k].sched);
		for (unsigned i = 0; i < r[k].nlinks; i++)
			fprintf(f, "\t%.2f", pct(r[k].link_bytes[i], total));
		fprintf(f, "\n");
	}
	return close_out(f, dir, "share.tsv", err, errlen);
}

static int write_per_sched(const char *dir, const struct scenario *s, const struct run_result *r,
			   char *err, size_t errlen)
{
	char file[128], name[NAME_LEN];
	FILE *f;
	int rc;

	snprintf(file, sizeof(file), "rtt_%s.tsv", r->sched);
	f = open_out(dir, file, err, errlen);
	if (!f)
		return -errno;
	fprintf(f, "rtt_ms\tcdf\n");
	for (uint64_t k = 0; k < r->nrtt; k++)
		fprintf(f, "%.3f\t%.5f\n", r->rtt_ms[k], (double)(k + 1) / (double)r->nrtt);
	rc = close_out(f, dir, file, err, errlen);
	if (rc)
		return rc;

	snprintf(file, sizeof(file), "links_%s.tsv", r->sched);
	f = open_out(dir, file, err, errlen);
	if (!f)
		return -errno;
	fprintf(f, "time_s");
	for (const char *what = "mbps"; what; what = !strcmp(what, "mbps") ? "data_pkts" :
					      !strcmp(what, "data_pkts") ? "outage_drops" : NULL) {
		for (unsigned i = 0; i < r->nlinks; i++) {
			link_name(s, i, name, sizeof(name));
			fprintf(f, "\t%s_%s", name, what);
		}
	}
	fprintf(f, "\n");
	for (unsigned b = 0; b < r->nbins; b++) {
		fprintf(f, "%.2f", (b + 0.5) * RUN_BIN_NS / 1e9);
		for (unsigned i = 0; i < r->nlinks; i++)
			fprintf(f, "\t%.3f", r->bin_link_bytes[(size_t)i * r->nbins + b] * 8e3 / RUN_BIN_NS);
		for (unsigned i = 0; i < r->nlinks; i++)
			fprintf(f, "\t%llu", (unsigned long long)r->bin_link_data[(size_t)i * r->nbins + b]);
		for (unsigned i = 0; i < r->nlinks; i++)
			fprintf(f, "\t%llu", (unsigned long long)r->bin_link_outage[(size_t)i * r->nbins + b]);
		fprintf(f, "\n");
	}
	rc = close_out(f, dir, file, err, errlen);
	if (rc || !s->nsites)
		return rc;

	snprintf(file, sizeof(file), "sites_%s.tsv", r->sched);
	f = open_out(dir, file, err, errlen);
	if (!f)
		return -errno;
	fprintf(f, "time_s");
	for (unsigned k = 0; k < s->nsites; k++)
		fprintf(f, "\t%s", s->sites[k].name);
	fprintf(f, "\n");
	for (unsigned b = 0; b < r->nbins; b++) {
		fprintf(f, "%.2f", (b + 0.5) * RUN_BIN_NS / 1e9);
		for (unsigned k = 0; k < s->nsites; k++)
			fprintf(f, "\t%.3f", r->bin_site_goodput_bps[(size_t)k * r->nbins + b] / 1e6);
		fprintf(f, "\n");
	}
	return close_out(f, dir, file, err, errlen);
}

static int write_meta(const char *dir, const struct scenario *s, const struct run_result *r,
		      unsigned n, char *err, size_t errlen)
{
	FILE *f = open_out(dir, "meta.gp", err, errlen);
	char desc[512], name[NAME_LEN];

	if (!f)
		return -errno;
	report_describe(s, desc, sizeof(desc));
	for (char *c = desc; *c; c++)
		if (*c == '"' || *c == '\\')
			*c = '\'';
	fprintf(f, "scenario = \"%s\"\nscheds = \"", desc);
	for (unsigned k = 0; k < n; k++)
		fprintf(f, "%s%s", k ? " " : "", r[k].sched);
	fprintf(f, "\"\nnlinks = %u\nlinks = \"", r[0].nlinks);
	for (unsigned i = 0; i < r[0].nlinks; i++) {
		link_name(s, i, name, sizeof(name));
		fprintf(f, "%s%s", i ? " " : "", name);
	}
	fprintf(f, "\"\n");
	/* only a hub's: plots/sites.gp draws nothing without it */
	if (s->nsites) {
		fprintf(f, "nsites = %u\nsites = \"", s->nsites);
		for (unsigned k = 0; k < s->nsites; k++)
			fprintf(f, "%s%s", k ? " " : "", s->sites[k].name);
		fprintf(f, "\"\n");
	}
	return close_out(f, dir, "meta.gp", err, errlen);
}

int report_write_dir(const char *dir, const struct scenario *s, const struct run_result *r,
		     unsigned n, char *err, size_t errlen)
{
	FILE *f = open_out(dir, "summary.tsv", err, errlen);
	int rc;

	if (!f)
		return -errno;
	report_table(f, s, r, n, 1);
	rc = close_out(f, dir, "summary.tsv", err, errlen);
	if (!rc)
		rc = write_goodput(dir, r, n, err, errlen);
	if (!rc)
		rc = write_share(dir, s, r, n, err, errlen);
	for (unsigned k = 0; k < n && !rc; k++)
		rc = write_per_sched(dir, s, &r[k], err, errlen);
	if (!rc)
		rc = write_meta(dir, s, r, n, err, errlen);
	return rc;
}
