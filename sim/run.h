/* run: one simulation of a scenario with one scheduler: two real engines (client with N
 * uplinks, server with M), the link models between them, traffic and measurement. run_sim
 * allocates everything it needs and frees it before returning; the result's arrays are owned
 * by the result and freed by run_result_free. */
#ifndef MPT_RUN_H
#define MPT_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/aead.h"
#include "core/sched.h"
#include "sim/scenario.h"

#define RUN_BIN_NS (500ull * 1000000)	/* time-series resolution */
#define RUN_MAX_LINKS (SCENARIO_MAX_SITES * MPT_MAX_LOCAL)	/* client uplinks of every site */

struct run_options {
	const struct mpt_sched_ops *sched;
	const char *sched_args;
	uint8_t key[AEAD_KEY_LEN];
	bool cipher_none;
};

struct run_result {
	const char *sched;
	double goodput_bps, capacity_bps;
	uint64_t app_sent, app_recv;		/* application packets towards the client */
	uint64_t app_reordered;
	double *rtt_ms;				/* sorted ping RTTs */
	uint64_t nrtt, pings_sent;
	/* client uplinks, numbered site by site (one site when the scenario has none) */
	unsigned nlinks, nsites, nbins;
	uint64_t link_bytes[RUN_MAX_LINKS];	/* datagram bytes towards the client, per uplink */
	double site_goodput_bps[SCENARIO_MAX_SITES];
	/* per bin: goodput; per site and bin: its goodput; per link and bin: bytes towards the
	 * client, data datagrams sent on that uplink (both ends), datagrams lost to an outage */
	double *bin_goodput_bps, *bin_site_goodput_bps;
	uint64_t *bin_link_bytes, *bin_link_data, *bin_link_outage;
	/* costs, for make bench */
	uint64_t events, datagrams;
	uint64_t tcp_retransmits, tcp_timeouts;
};

int run_sim(const struct scenario *s, const struct run_options *o, struct run_result *r);
void run_result_free(struct run_result *r);

#endif
