/* The metrics document (daemon/metrics.c) and the metrics listener's request parser
 * (daemon/scrape.c's scrape_request): the text format's HELP and TYPE lines, label escaping,
 * the values from an engine with four paths, and what each kind of request is answered. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/capacity.h"
#include "core/engine.h"
#include "daemon/addr.h"
#include "daemon/metrics.h"
#include "daemon/scrape.h"
#include "sched/registry.h"

static void nosend(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *b,
		   size_t len)
{
	(void)ctx, (void)local, (void)to, (void)b, (void)len;
}

static void nodeliver(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx, (void)p, (void)len;
}

static void sevens(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 7, len);
}

struct fixture {
	struct mpt_engine *e;
	struct metrics_local local[2];
	struct metrics_peer peer;
	struct metrics_http http;
	struct metrics_info mi;
	char buf[256 * 1024];
};

/* A client with two uplinks and two server addresses (four paths) under sched. */
static struct fixture *fixture_new(const struct mpt_sched_ops *sched, const char *name,
				   const char *tun)
{
	struct engine_config ec = { .role = ENGINE_CLIENT, .nlocal = 2, .sched = sched, .mtu = 1428 };
	struct engine_io io = { .send = nosend, .deliver = nodeliver, .entropy = sevens };
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_storage r;
	struct mpt_addr ra;
	int err = 0;

	assert_non_null(f);
	f->e = engine_new(&ec, &io, 0, &err);
	assert_non_null(f->e);
	addr_parse("192.0.2.1", 4000, &f->local[0].addr);
	addr_parse("2001:db8::2", 4001, &f->local[1].addr);
	f->local[1].send_errors = 3;
	f->local[1].send_full = 18446744073709551615ull;
	addr_parse("198.51.100.7", 5000, &r);
	addr_to_mpt(&r, &ra);
	assert_int_equal(engine_add_remote(f->e, &ra, 0), 0);
	addr_parse("2001:db8::7", 5000, &r);
	addr_to_mpt(&r, &ra);
	assert_int_equal(engine_add_remote(f->e, &ra, 0), 1);
	engine_tick(f->e, 0);
	f->peer = (struct metrics_peer){ .name = name, .sched = sched->name, .engine = f->e };
	f->http.responses[0] = 5;
	f->http.responses[1] = 9;
	f->http.dropped_busy = 2;
	f->mi = (struct metrics_info){
		.version = "0.1.0", .role = "client", .tun = tun,
		.now_ns = 5000000000ull, .started_ns = 1000000000ull,
		.realtime_ns = 1764500000ull * 1000000000ull, .nlocal = 2, .local = f->local,
		.npeer = 1, .peer = &f->peer, .http = &f->http,
	};
	return f;
}

static void fixture_free(struct fixture *f)
{
	engine_free(f->e);
	free(f);
}

/* The line that starts with prefix (a sample's name and labels), or NULL. */
static const char *line_of(const char *doc, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = doc; *p; p = strchr(p, '\n') + 1) {
		if (!strncmp(p, prefix, n))
			return p;
		if (!strchr(p, '\n'))
			break;
	}
	return NULL;
}

static void assert_line(const char *doc, const char *line)
{
	const char *p = line_of(doc, line);

	if (!p || p[strlen(line)] != '\n')
		fail_msg("no line '%s'", line);
}

/* The text format's shape: every line a comment (# HELP name text, then # TYPE name
 * counter|gauge, once per name, both before its samples) or a sample of the family just
 * declared, whose samples all follow one another; counters end in _total; values parse. */
static void assert_exposition(const char *doc, int len)
{
	char fam[128] = "", seen[8192] = " ";
	int samples = 0;

	assert_int_equal((size_t)len, strlen(doc));
	assert_true(len > 0 && doc[len - 1] == '\n');
	for (const char *p = doc; *p; p = strchr(p, '\n') + 1) {
		const char *eol = strchr(p, '\n');
		char name[128], type[16], word[130];

		if (!strncmp(p, "# HELP ", 7)) {
			assert_int_equal(sscanf(p + 7, "%127s", name), 1);
			/* a new family: never one seen before (its samples would be split) */
			snprintf(word, sizeof(word), " %s ", name);
			if (strstr(seen, word))
				fail_msg("family %s declared twice", name);
			assert_true(strlen(seen) + strlen(word) < sizeof(seen));
			strcat(seen, word + 1);
			assert_true(eol - p > (long)(8 + strlen(name)));	/* a text */
			/* its TYPE line follows at once */
			p = eol + 1;
			eol = strchr(p, '\n');
			assert_int_equal(sscanf(p, "# TYPE %127s %15s", fam, type), 2);
			assert_string_equal(fam, name);
			if (strcmp(type, "counter") && strcmp(type, "gauge"))
				fail_msg("%s: type %s", name, type);
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			continue;
		}
		assert_true(p[0] != '#');
		/* a sample: NAME[{LABELS}] VALUE, NAME the family declared last */
		size_t n = strcspn(p, "{ ");

		if (strlen(fam) != n || strncmp(p, fam, n))
			fail_msg("sample '%.*s' outside its family (%s)", (int)(eol - p), p, fam);
		const char *sp = eol;

		while (sp > p && sp[-1] != ' ')
			sp--;
		char *end;

		if (strncmp(sp, "NaN", 3) && strncmp(sp, "+Inf", 4) && strncmp(sp, "-Inf", 4)) {
			strtod(sp, &end);
			if (end != eol)
				fail_msg("bad value in '%.*s'", (int)(eol - p), p);
		}
		samples++;
	}
	assert_true(samples > 20);
}

static void test_document(void **unused)
{
	struct fixture *f = fixture_new(&sched_ecf, "hq", "mt0");
	const struct mpt_path *p = engine_path(f->e, 1, 1);
	char want[256];
	int n;

	(void)unused;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	assert_exposition(f->buf, n);
	/* HELP and TYPE in the format's words */
	assert_non_null(strstr(f->buf, "\n# HELP mptun_path_up 1 while feedback arrives on the "
			       "path, 0 once it is down (700 ms without)\n# TYPE mptun_path_up "
			       "gauge\nmptun_path_up{"));
	assert_non_null(strstr(f->buf, "\n# TYPE mptun_path_sent_bytes_total counter\n"));
	assert_non_null(strstr(f->buf, "\n# TYPE mptun_datagrams_dropped_total counter\n"));
	/* the daemon */
	assert_line(f->buf, "mptun_info{version=\"0.1.0\",role=\"client\",tun=\"mt0\"} 1");
	assert_line(f->buf, "mptun_start_time_seconds 1764499996");
	assert_line(f->buf, "mptun_udp_send_failures_total{local=\"[2001:db8::2]:4001\","
		    "reason=\"error\"} 3");
	assert_line(f->buf, "mptun_udp_send_failures_total{local=\"[2001:db8::2]:4001\","
		    "reason=\"buffer_full\"} 18446744073709551615");
	/* the peer: no session yet, so no handshake time */
	assert_line(f->buf, "mptun_peer_info{peer=\"hq\",sched=\"ecf\"} 1");
	assert_line(f->buf, "mptun_peer_session_established{peer=\"hq\"} 0");
	assert_line(f->buf, "mptun_peer_last_handshake_seconds{peer=\"hq\"} 0");
	assert_line(f->buf, "mptun_datagrams_dropped_total{peer=\"hq\",reason=\"bad_auth\"} 0");
	assert_line(f->buf, "mptun_queue_packets{peer=\"hq\"} 0");
	snprintf(want, sizeof(want), "mptun_peer_handshake_datagrams_sent_total{peer=\"hq\"} %llu",
		 (unsigned long long)engine_stats(f->e)->handshakes_sent);
	assert_line(f->buf, want);
	assert_true(engine_stats(f->e)->handshakes_sent > 0);
	/* every path, each labelled by peer, local and remote */
	assert_line(f->buf, "mptun_path_up{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"198.51.100.7:5000\"} 1");
	assert_line(f->buf, "mptun_path_up{peer=\"hq\",local=\"[2001:db8::2]:4001\","
		    "remote=\"[2001:db8::7]:5000\"} 1");
	snprintf(want, sizeof(want), "mptun_path_sent_packets_total{peer=\"hq\",local="
		 "\"[2001:db8::2]:4001\",remote=\"[2001:db8::7]:5000\"} %llu",
		 (unsigned long long)p->tx_packets);
	assert_line(f->buf, want);
	snprintf(want, sizeof(want), "mptun_path_pacing_rate_bytes_per_second{peer=\"hq\",local="
		 "\"[2001:db8::2]:4001\",remote=\"[2001:db8::7]:5000\"} %.15g",
		 (double)p->pacer.rate_bps / 8);
	assert_line(f->buf, want);
	/* no RTT sample yet: no RTT series, rather than a false 0 */
	assert_null(strstr(f->buf, "mptun_path_rtt_seconds{"));
	assert_null(strstr(f->buf, "mptun_path_min_rtt_seconds{"));
	/* the listener's own counters */
	assert_line(f->buf, "mptun_metrics_responses_total{code=\"200\"} 5");
	assert_line(f->buf, "mptun_metrics_responses_total{code=\"400\"} 9");
	assert_line(f->buf, "mptun_metrics_connections_dropped_total{reason=\"busy\"} 2");
	/* too small a buffer is an error, never a cut document */
	assert_int_equal(metrics_render(&f->mi, f->buf, (size_t)n), -ENOSPC);
	assert_int_equal(metrics_render(&f->mi, f->buf, 0), -ENOSPC);
	assert_int_equal(metrics_render(&f->mi, f->buf, (size_t)n + 1), n);
	fixture_free(f);
}

/* Values with units: seconds from nanoseconds, a ratio from the EWMA, the unix time of the
 * session's key agreement from the monotonic clock. The engine's paths are written here
 * through its read-only view, as the estimators would. */
static void test_values(void **unused)
{
	struct fixture *f = fixture_new(&sched_lossaware, "hq", "mt0");
	struct mpt_path *p = (struct mpt_path *)engine_path(f->e, 0, 1);
	int n;

	(void)unused;
	/* a tun packet before any session: counted in (packets and bytes), then dropped */
	memset(f->buf, 0x45, 100);
	assert_int_equal(engine_send(f->e, (const uint8_t *)f->buf, 100, 0), -ENOTCONN);
	p->srtt_ns = 12500000;
	p->rttvar_ns = 250000;
	p->min_rtt_ns = 10000000;
	p->loss_ewma = 0.125;
	p->delivery_rate_bps = 48000000;
	p->up = false;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	assert_exposition(f->buf, n);
	assert_line(f->buf, "mptun_path_rtt_seconds{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} 0.0125");
	assert_line(f->buf, "mptun_path_rtt_variation_seconds{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} 0.00025");
	assert_line(f->buf, "mptun_path_min_rtt_seconds{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} 0.01");
	assert_line(f->buf, "mptun_path_loss_ratio{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} 0.125");
	assert_line(f->buf, "mptun_path_delivery_rate_bytes_per_second{peer=\"hq\",local="
		    "\"192.0.2.1:4000\",remote=\"[2001:db8::7]:5000\"} 6000000");
	assert_line(f->buf, "mptun_path_up{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} 0");
	assert_line(f->buf, "mptun_peer_tun_in_packets_total{peer=\"hq\"} 1");
	assert_line(f->buf, "mptun_peer_tun_in_bytes_total{peer=\"hq\"} 100");
	assert_line(f->buf, "mptun_peer_tun_out_bytes_total{peer=\"hq\"} 0");
	assert_line(f->buf, "mptun_tun_packets_dropped_total{peer=\"hq\",reason=\"no_session\"} 1");
	/* one RTT series: only that path has a sample */
	assert_non_null(line_of(f->buf, "mptun_path_rtt_seconds{"));
	assert_null(line_of(strstr(f->buf, "mptun_path_rtt_seconds{") + 1,
			    "mptun_path_rtt_seconds{"));
	/* a value C would print as "nan" or "inf" is written the format's way */
	p->loss_ewma = NAN;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_exposition(f->buf, n);
	assert_line(f->buf, "mptun_path_loss_ratio{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} NaN");
	p->loss_ewma = -INFINITY;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_line(f->buf, "mptun_path_loss_ratio{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} -Inf");
	p->loss_ewma = INFINITY;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_line(f->buf, "mptun_path_loss_ratio{peer=\"hq\",local=\"192.0.2.1:4000\","
		    "remote=\"[2001:db8::7]:5000\"} +Inf");
	/* lossaware paces nothing and has no queue: those families are left out whole */
	assert_null(strstr(f->buf, "mptun_path_pacing_rate_bytes_per_second"));
	assert_null(strstr(f->buf, "mptun_queue_"));
	/* no listener counters when there is no listener */
	f->mi.http = NULL;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	assert_null(strstr(f->buf, "mptun_metrics_"));
	fixture_free(f);
}

/* A label value holding \ " and a newline is escaped as the format says; a HELP text and the
 * other labels are untouched. */
static void test_escaping(void **unused)
{
	struct fixture *f = fixture_new(&sched_lossaware, "a\\b\"c\nd", "t\"un\\");
	char buf[16];
	int n;

	(void)unused;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	assert_exposition(f->buf, n);
	assert_line(f->buf, "mptun_info{version=\"0.1.0\",role=\"client\",tun=\"t\\\"un\\\\\"} 1");
	assert_line(f->buf, "mptun_peer_session_established{peer=\"a\\\\b\\\"c\\nd\"} 0");
	assert_line(f->buf, "mptun_path_up{peer=\"a\\\\b\\\"c\\nd\",local=\"192.0.2.1:4000\","
		    "remote=\"198.51.100.7:5000\"} 1");
	/* metrics_escape itself: the length it needs, truncation as snprintf */
	assert_int_equal(metrics_escape("plain", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "plain");
	assert_int_equal(metrics_escape("\\\"\n", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "\\\\\\\"\\n");
	assert_int_equal(metrics_escape("\"\"\"\"\"\"\"\"\"", buf, sizeof(buf)), 18);
	assert_int_equal(strlen(buf), 15);
	assert_int_equal(metrics_escape("x", buf, 0), 1);
	fixture_free(f);
}

/* Two peers (the hub to come): each family once, both peers' series inside it. */
static void test_two_peers(void **unused)
{
	struct fixture *f = fixture_new(&sched_ecf, "hq", "mt0");
	struct fixture *g = fixture_new(&sched_ecf, "branch", "mt0");
	struct metrics_peer peers[2];
	const char *a, *b, *c;
	int n;

	(void)unused;
	peers[0] = f->peer;
	peers[1] = g->peer;
	f->mi.peer = peers;
	f->mi.npeer = 2;
	n = metrics_render(&f->mi, f->buf, sizeof(f->buf));
	assert_true(n > 0);
	assert_exposition(f->buf, n);
	a = line_of(f->buf, "mptun_path_up{peer=\"hq\"");
	b = line_of(f->buf, "mptun_path_up{peer=\"branch\"");
	c = line_of(f->buf, "# HELP mptun_path_loss_ratio");
	assert_true(a && b && c && a < b && b < c);
	assert_non_null(line_of(f->buf, "mptun_peer_session_established{peer=\"branch\"} 0"));
	fixture_free(g);
	fixture_free(f);
}

static void test_request(void **unused)
{
	static const struct {
		const char *req;
		int code;
		bool head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", 200, false },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200, false },
		{ "GET /metrics HTTP/1.0\n\n", 200, false },
		{ "GET /metrics?x=1 HTTP/1.1\r\nA:\r\n\r\n", 200, false },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", 200, true },
		{ "GET / HTTP/1.1\r\n\r\n", 404, false },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", 404, false },
		{ "GET /metrics/ HTTP/1.1\r\n\r\n", 404, false },
		{ "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, false },
		{ "DELETE /metrics HTTP/1.1\r\n\r\n", 405, false },
		{ "get /metrics HTTP/1.1\r\n\r\n", 405, false },
		/* answered as soon as the request line ends */
		{ "junk\r\n", 400, false },
		{ "GET /metrics\r\n", 400, false },
		{ "GET /metrics HTTP/2.0\r\n", 400, false },
		{ "GET /metrics HTTP/1.1x\r\n", 400, false },
		{ "GET  /metrics HTTP/1.1\r\n", 400, false },
		{ "GET /metrics  HTTP/1.1\r\n", 400, false },
		{ " GET /metrics HTTP/1.1\r\n", 400, false },
		{ "\r\n", 400, false },
		{ "G(T /metrics HTTP/1.1\r\n", 400, false },
		/* a header line without a name and a colon */
		{ "GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400, false },
		{ "GET /metrics HTTP/1.1\r\n: x\r\n\r\n", 400, false },
		{ "GET /metrics HTTP/1.1\r\n folded: x\r\n\r\n", 400, false },
		/* a control byte anywhere, at once */
		{ "GET /met\x01rics", 400, false },
		{ "\x7f", 400, false },
		/* not whole yet */
		{ "", 0, false },
		{ "GET /metrics HTTP/1.1", 0, false },
		{ "GET /metrics HTTP/1.1\r\n", 0, false },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, false },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r", 0, false },
	};
	static char big[SCRAPE_REQUEST_MAX + 1];
	bool head;
	size_t n;

	(void)unused;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int code = scrape_request(cases[k].req, strlen(cases[k].req), &head);

		if (code != cases[k].code || head != cases[k].head)
			fail_msg("'%s': %d%s, want %d", cases[k].req, code, head ? " head" : "",
				 cases[k].code);
	}
	/* HEAD only with its 200: not while the header is incomplete, not with a bad one (found
	 * by fuzz_scrape) */
	head = true;
	assert_int_equal(scrape_request("HEAD /metrics HTTP/1.0\nJ", 24, &head), 0);
	assert_false(head);
	head = true;
	assert_int_equal(scrape_request("HEAD /metrics HTTP/1.0\nJ\n", 25, &head), 400);
	assert_false(head);
	/* the NUL byte is a control byte too */
	assert_int_equal(scrape_request("GET /\0metrics", 13, &head), 400);
	/* a header that does not end within the limit: 431, whether the request line did or not */
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\n");
	while (n < SCRAPE_REQUEST_MAX)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: %s\r\n", "aaaaaaaaaaaaaaaa");
	assert_int_equal(scrape_request(big, SCRAPE_REQUEST_MAX - 1, &head), 0);
	assert_int_equal(scrape_request(big, SCRAPE_REQUEST_MAX, &head), 431);
	memset(big, 'A', SCRAPE_REQUEST_MAX);
	assert_int_equal(scrape_request(big, SCRAPE_REQUEST_MAX - 1, &head), 0);
	assert_int_equal(scrape_request(big, SCRAPE_REQUEST_MAX, &head), 431);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_two_peers),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
