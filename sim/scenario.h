/* scenario: what one simulation runs: client uplinks (one client, or the sites of a hub),
 * server uplinks, traffic, duration, seed. Parsed from --link specs, a scenario file or the embedded default mix. scenario_free frees the
 * traces it loaded; parse errors are one line in err ("file:line: what"), never printed here. */
#ifndef MPT_SCENARIO_H
#define MPT_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/path.h"
#include "sim/link.h"
#include "sim/trace.h"

#define SCENARIO_MAX_TRAFFIC 8
#define SCENARIO_MAX_SITES 16
/* a trace pair per uplink: every site's, and the server's */
#define SCENARIO_MAX_TRACES (2 * (SCENARIO_MAX_SITES * MPT_MAX_LOCAL + MPT_MAX_REMOTE))
#define SCENARIO_ERR_LEN 512

struct uplink_spec {
	char name[32];
	char desc[512];			/* the spec as given, for titles and tables */
	struct link_params up, down;	/* up: away from its host; down: towards it */
};

enum traffic_kind { TRAFFIC_TCP, TRAFFIC_UDP };

struct traffic_spec {
	enum traffic_kind kind;
	unsigned flows;			/* tcp */
	uint64_t rate_bps;		/* udp: application payload bits per second */
	bool poisson;			/* udp: Poisson instead of constant spacing */
};

/* One client site of a hub: its own uplinks and, optionally, its own traffic. */
struct site_spec {
	char name[32];
	unsigned nlinks;
	struct uplink_spec links[MPT_MAX_LOCAL];
	unsigned ntraffic;		/* 0: the scenario's traffic */
	struct traffic_spec traffic[SCENARIO_MAX_TRAFFIC];
};

struct scenario {
	char name[64];
	unsigned nlinks, nserver;
	struct uplink_spec links[MPT_MAX_LOCAL];	/* one client; unused when nsites > 0 */
	struct uplink_spec server[MPT_MAX_REMOTE];	/* nserver == 0: one ideal server uplink */
	unsigned ntraffic;
	struct traffic_spec traffic[SCENARIO_MAX_TRAFFIC];
	/* a hub: nsites clients, each with its own engines, sharing the server uplinks */
	unsigned nsites;
	struct site_spec sites[SCENARIO_MAX_SITES];
	uint64_t duration_ns;
	/* the tunnel runs this long, probing its paths, before the traffic and every time of the
	 * scenario (outages, traces, the plots' axes) start */
	uint64_t warmup_ns;
	uint64_t seed;
	char sched[128];		/* "all" or NAME[,NAME...] */
	/* traces loaded while parsing, owned here */
	unsigned ntraces;
	struct trace *traces[SCENARIO_MAX_TRACES];
	char trace_dir[256];		/* where relative trace names are also looked up */
};

void scenario_init(struct scenario *s, const char *trace_dir);
void scenario_free(struct scenario *s);

/* The embedded default: four heterogeneous uplinks (README, "Default mix"). */
int scenario_default(struct scenario *s, char *err, size_t errlen);
/* One uplink from "rate=20M,delay=20ms,...". where: "--link" or "file:line" for messages. */
int scenario_parse_link(struct scenario *s, struct uplink_spec *u, const char *spec,
			const char *where, char *err, size_t errlen);
int scenario_parse_traffic(struct traffic_spec *t, const char *spec, const char *where,
			   char *err, size_t errlen);
/* Plain-text scenario file, one directive per line (README, "Scenario files"). */
int scenario_load(struct scenario *s, const char *path, char *err, size_t errlen);

/* --warmup and the warmup directive: 0..SCENARIO_MAX_WARMUP_NS */
#define SCENARIO_DEFAULT_WARMUP_NS 1000000000ull
#define SCENARIO_MAX_WARMUP_NS (60ull * 1000000000)
/* Seconds (or a time with its unit) within those bounds into *ns; -EINVAL, *ns untouched,
 * otherwise. */
int scenario_parse_warmup(const char *text, uint64_t *ns);
/* --duration and the duration directive: SCENARIO_MIN_DURATION_NS..SCENARIO_MAX_DURATION_NS */
#define SCENARIO_MIN_DURATION_NS (1ull * 1000000000)
#define SCENARIO_MAX_DURATION_NS (3600ull * 1000000000)
int scenario_parse_duration(const char *text, uint64_t *ns);

/* Number parsers shared with the command line: 0 or -EINVAL. */
int scenario_parse_rate(const char *text, uint64_t *bps);
int scenario_parse_time(const char *text, const char *default_unit, uint64_t *ns);

#endif
