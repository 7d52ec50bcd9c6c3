/* sim: the command line around run_sim. Parses and validates everything first (bad input: one
 * line on stderr, exit 2, no file written), then runs each scheduler and prints the table. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/aead.h"
#include "sched/registry.h"
#include "sim/report.h"
#include "sim/run.h"
#include "sim/scenario.h"

/* The simulator's key is public: a hash of this string, not Argon2id, whose 128 MiB would
 * be most of the simulator's peak RSS and a quarter second of every run. */
#define SIM_SECRET "mptun simulator"

static const char usage_text[] =
"usage: sim [--links N] [--link SPEC]... [--scenario FILE] [--sched NAME[,NAME...]|all|list]\n"
"           [--traffic tcp[:FLOWS]|udp:RATE[:poisson]]... [--duration SECONDS] [--seed N]\n"
"           [--warmup SECONDS] [--cipher aead|none] [--tsv] [--out DIR] [--perf] [--help]\n"
"\n"
"Runs the mptun engines and schedulers over modelled uplinks and compares the schedulers.\n"
"Without --link or --scenario it runs the default four-link mix (fibre, cable, DSL, LTE).\n"
"\n"
"  --links N         use only the first N uplinks\n"
"  --link SPEC       one client uplink, repeatable; replaces the default mix. SPEC is\n"
"                    key=value,... with rate=20M (bit/s, K/M/G) or trace=FILE (Mahimahi;\n"
"                    FILE.up/FILE.down when both exist), delay=20ms, jitter=2ms, loss=1%%,\n"
"                    ge=P:R[:H[:K]] (Gilbert-Elliott, %%), queue=64k (bytes), down=10s-20s\n"
"                    (an outage, repeatable), name=NAME\n"
"  --scenario FILE   a scenario file (see README); command-line options override it.\n"
"                    With client sites (a hub: 'site NAME' blocks) the table gives each\n"
"                    site's goodput and Jain's fairness index over them\n"
"  --sched LIST      schedulers to compare (default: all); 'list' prints them\n"
"  --traffic SPEC    application traffic from server to client, repeatable (default tcp)\n"
"  --duration S      simulated seconds of traffic (default 30)\n"
"  --seed N          seed of every random draw (default 1)\n"
"  --warmup S        seconds the tunnel runs (probing its paths) before the traffic starts\n"
"                    (default 1, as a tunnel that is up before it is used; 0 to 60)\n"
"  --cipher none     same framing and sizes without encryption, for long sweeps\n"
"  --tsv             tab-separated output instead of the aligned table\n"
"  --out DIR         also write time series for plots/ into DIR\n"
"  --perf            print each run's cost (wall time, events/s) on stderr\n";

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "sim: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

static void list_scheds(void)
{
	for (size_t i = 0; i < sched_registry_len; i++)
		printf("%-12s %s%s\n", sched_registry[i]->name, sched_registry[i]->summary,
		       strcmp(sched_registry[i]->name, SCHED_DEFAULT) ? "" : " (default)");
}

/* The directory holding the shipped traces: the one the binary was built under. */
static void install_dir(const char *argv0, char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		snprintf(exe, sizeof(exe), "%s", argv0);
		n = (ssize_t)strlen(exe);
	}
	exe[n] = '\0';
	/* build/sim -> the source tree above build/ */
	snprintf(out, len, "%s/..", dirname(exe));
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct cli {
	long links;
	unsigned nlink_specs;
	const char *link_specs[MPT_MAX_LOCAL];
	const char *scenario, *sched, *out;
	unsigned ntraffic;
	const char *traffic[SCENARIO_MAX_TRAFFIC];
	const char *duration, *seed, *warmup;
	int tsv, perf, cipher_none;
};

static int parse_cli(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "links", required_argument, NULL, 'n' },
		{ "link", required_argument, NULL, 'L' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "sched", required_argument, NULL, 's' },
		{ "traffic", required_argument, NULL, 'T' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "tsv", no_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "perf", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	char *end;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			c->links = strtol(optarg, &end, 10);
			if (*end || c->links < 1 || c->links > MPT_MAX_LOCAL)
				return bad("--links: '%s' is not a number of uplinks (1..16)", optarg);
			break;
		case 'L':
			if (c->nlink_specs == MPT_MAX_LOCAL)
				return bad("--link: at most %s uplinks", "16");
			c->link_specs[c->nlink_specs++] = optarg;
			break;
		case 'S': c->scenario = optarg; break;
		case 's': c->sched = optarg; break;
		case 'T':
			if (c->ntraffic == SCENARIO_MAX_TRAFFIC)
				return bad("--traffic: at most %s traffic specs", "8");
			c->traffic[c->ntraffic++] = optarg;
			break;
		case 'd': c->duration = optarg; break;
		case 'r': c->seed = optarg; break;
		case 'w': c->warmup = optarg; break;
		case 'c':
			if (!strcmp(optarg, "none"))
				c->cipher_none = 1;
			else if (strcmp(optarg, "aead"))
				return bad("--cipher: '%s' is neither aead nor none", optarg);
			break;
		case 't': c->tsv = 1; break;
		case 'o': c->out = optarg; break;
		case 'p': c->perf = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		default:
			if (optopt)
				return bad("option '-%c' needs no such use; see sim --help", (char[]){ (char)optopt, 0 });
			return bad("unknown or incomplete option '%s' (see sim --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s' (see sim --help)", argv[optind]);
	return 0;
}

/* Fill s from the command line over the scenario file or the default mix. */
static int build_scenario(const struct cli *c, struct scenario *s)
{
	char err[SCENARIO_ERR_LEN], where[32];
	int rc;

	if (c->scenario)
		rc = scenario_load(s, c->scenario, err, sizeof(err));
	else if (!c->nlink_specs)
		rc = scenario_default(s, err, sizeof(err));
	else
		rc = 0;
	if (rc < 0)
		return bad("%s", err);
	/* a hub's uplinks belong to its sites: edit the file rather than guess which site's */
	if (s->nsites && c->nlink_specs)
		return bad("--link: %s has client sites; give each site's uplinks in the file", c->scenario);
	if (s->nsites && c->links)
		return bad("--links: %s has client sites; give each site's uplinks in the file", c->scenario);
	if (c->nlink_specs) {
		s->nlinks = 0;
		snprintf(s->name, sizeof(s->name), "custom links");
		for (unsigned i = 0; i < c->nlink_specs; i++) {
			snprintf(where, sizeof(where), "--link #%u", i + 1);
			if (scenario_parse_link(s, &s->links[i], c->link_specs[i], where, err, sizeof(err)) < 0)
				return bad("%s", err);
			s->nlinks++;
		}
	}
	if (c->links) {
		if ((unsigned)c->links > s->nlinks) {
			snprintf(err, sizeof(err), "--links %ld: the scenario has only %u uplinks", c->links, s->nlinks);
			return bad("%s", err);
		}
		s->nlinks = (unsigned)c->links;
	}
	if (c->ntraffic) {
		/* the command line's traffic replaces the file's, every site's included */
		for (unsigned k = 0; k < s->nsites; k++)
			s->sites[k].ntraffic = 0;
		s->ntraffic = 0;
		for (unsigned t = 0; t < c->ntraffic; t++)
			if (scenario_parse_traffic(&s->traffic[s->ntraffic++], c->traffic[t], "--traffic", err, sizeof(err)) < 0)
				return bad("%s", err);
	}
	if (!s->ntraffic) {
		s->ntraffic = 1;
		s->traffic[0] = (struct traffic_spec){ .kind = TRAFFIC_TCP, .flows = 1 };
	}
	if (c->duration && scenario_parse_duration(c->duration, &s->duration_ns) < 0)
		return bad("--duration: '%s' is not a number of seconds between 1 and 3600", c->duration);
	if (c->warmup && scenario_parse_warmup(c->warmup, &s->warmup_ns) < 0)
		return bad("--warmup: '%s' is not a number of seconds between 0 and 60", c->warmup);
	if (c->seed) {
		char *end;

		errno = 0;
		s->seed = strtoull(c->seed, &end, 10);
		if (*end || errno || c->seed[0] == '-' || !c->seed[0])
			return bad("--seed: '%s' is not a non-negative integer", c->seed);
	}
	if (c->sched)
		snprintf(s->sched, sizeof(s->sched), "%s", c->sched);
	return 0;
}

/* Resolve "all" or a comma list into ops and their argument strings. */
static int resolve_scheds(const char *list, const struct mpt_sched_ops **ops, const char **args,
			  char argbuf[][64], unsigned *n)
{
	char buf[128], *save = NULL;

	*n = 0;
	if (!strcmp(list, "all")) {
		for (size_t i = 0; i < sched_registry_len; i++) {
			ops[*n] = sched_registry[i];
			args[(*n)++] = NULL;
		}
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		const char *a;
		const struct mpt_sched_ops *o = sched_lookup(name, &a);

		if (!o)
			return bad("--sched: unknown scheduler '%s' (sim --sched list shows them)", name);
		if (*n == 16)
			return bad("--sched: too many schedulers in '%s'", list);
		snprintf(argbuf[*n], 64, "%s", a ? a : "");
		ops[*n] = o;
		args[*n] = a ? argbuf[*n] : NULL;
		(*n)++;
	}
	if (*n == 0)
		return bad("--sched: empty list '%s'", list);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	static struct scenario s;
	const struct mpt_sched_ops *ops[16];
	const char *args[16];
	char argbuf[16][64], dir[PATH_MAX], err[SCENARIO_ERR_LEN];
	struct run_result results[16];
	struct run_options o = { 0 };
	unsigned n = 0;
	int rc;

	rc = parse_cli(argc, argv, &c);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (c.sched && !strcmp(c.sched, "list")) {
		list_scheds();
		return 0;
	}
	install_dir(argv[0], dir, sizeof(dir));
	scenario_init(&s, dir);
	rc = build_scenario(&c, &s);
	if (!rc)
		rc = resolve_scheds(s.sched, ops, args, argbuf, &n);
	/* Probe that every scheduler accepts its arguments before anything runs. */
	for (unsigned k = 0; k < n && !rc; k++) {
		void *state = calloc(1, ops[k]->state_size ? ops[k]->state_size : 1);

		if (!state || ops[k]->init(state, args[k]) < 0)
			rc = bad("--sched: bad arguments for '%s'", ops[k]->name);
		else if (ops[k]->release)
			ops[k]->release(state);
		free(state);
	}
	if (rc) {
		scenario_free(&s);
		return rc;
	}
	if (aead_global_init() < 0 ||
	    crypto_generichash(o.key, sizeof(o.key), (const uint8_t *)SIM_SECRET,
			       strlen(SIM_SECRET), NULL, 0) != 0) {
		fprintf(stderr, "sim: cannot initialise libsodium\n");
		scenario_free(&s);
		return 1;
	}
	o.cipher_none = c.cipher_none;
	for (unsigned k = 0; k < n; k++) {
		double t0 = wall_now(), wall;

		o.sched = ops[k];
		o.sched_args = args[k];
		rc = run_sim(&s, &o, &results[k]);
		if (rc < 0) {
			fprintf(stderr, "sim: run with %s failed: %s\n", ops[k]->name, strerror(-rc));
			n = k + 1;
			goto out;
		}
		wall = wall_now() - t0;
		if (c.perf) {
			struct rusage ru;

			getrusage(RUSAGE_SELF, &ru);
			fprintf(stderr, "perf: sched=%s cipher=%s wall_s=%.3f events=%llu events_per_s=%.0f "
				"datagrams=%llu datagrams_per_s=%.0f sim_s_per_wall_s=%.2f max_rss_mb=%.1f\n",
				ops[k]->name, c.cipher_none ? "none" : "aead", wall,
				(unsigned long long)results[k].events, results[k].events / wall,
				(unsigned long long)results[k].datagrams, results[k].datagrams / wall,
				(s.duration_ns / 1e9) / wall, ru.ru_maxrss / 1024.0);
		}
	}
	if (!c.tsv) {
		char desc[512];

		report_describe(&s, desc, sizeof(desc));
		printf("scenario: %s\n", desc);
		for (unsigned i = 0; !s.nsites && i < s.nlinks; i++)
			printf("  uplink %u: %s\n", i + 1, s.links[i].desc);
		for (unsigned k = 0; k < s.nsites; k++)
			for (unsigned i = 0; i < s.sites[k].nlinks; i++)
				printf("  site %s uplink %u: %s\n", s.sites[k].name, i + 1, s.sites[k].links[i].desc);
		for (unsigned j = 0; s.nsites && j < s.nserver; j++)
			printf("  server uplink %u: %s\n", j + 1, s.server[j].desc);
	}
	report_table(stdout, &s, results, n, c.tsv);
	if (c.out) {
		rc = mkdir_p(c.out);
		if (rc < 0) {
			fprintf(stderr, "sim: %s: %s\n", c.out, strerror(-rc));
			rc = 1;
			goto out;
		}
		if (report_write_dir(c.out, &s, results, n, err, sizeof(err)) < 0) {
			fprintf(stderr, "sim: %s\n", err);
			rc = 1;
			goto out;
		}
	}
	rc = 0;
out:
	for (unsigned k = 0; k < n; k++)
		run_result_free(&results[k]);
	sodium_memzero(o.key, sizeof(o.key));
	scenario_free(&s);
	return rc < 0 ? 1 : rc;
}
