/* The status document: what `mptun status` prints, from an engine with two paths. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/capacity.h"
#include "core/engine.h"
#include "daemon/addr.h"
#include "daemon/status.h"
#include "daemon/statustable.h"
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

static void zeros(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 7, len);
}

/* Braces and brackets balance: the document is one object. */
static void assert_balanced(const char *buf, int n)
{
	int depth = 0;

	for (int k = 0; k < n; k++) {
		depth += buf[k] == '{' || buf[k] == '[';
		depth -= buf[k] == '}' || buf[k] == ']';
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
}

static void test_document(void **unused)
{
	struct engine_config ec = {
		.role = ENGINE_CLIENT, .nlocal = 2, .sched = &sched_lossaware, .mtu = 1428,
	};
	struct engine_io io = { .send = nosend, .deliver = nodeliver, .entropy = zeros };
	struct sockaddr_storage local[2], remote;
	struct mpt_addr ra;
	struct mpt_engine *e;
	static char buf[65536];
	int n, err = 0;

	(void)unused;
	e = engine_new(&ec, &io, 0, &err);
	assert_non_null(e);
	addr_parse("192.0.2.1", 4000, &local[0]);
	addr_parse("192.0.2.2", 4001, &local[1]);
	addr_parse("198.51.100.7", 5000, &remote);
	addr_to_mpt(&remote, &ra);
	assert_int_equal(engine_add_remote(e, &ra, 0), 0);
	engine_tick(e, 0);

	struct status_peer sp = { .engine = e, .name = "peer" };
	struct status_info si = {
		.role = "client", .tun = "tun0", .sched = "lossaware", .npeers = 1, .peers = &sp,
		.now_ns = 2000000000ull, .started_ns = 0, .nlocal = 2, .local = local,
	};
	n = status_json(&si, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_int_equal(buf[n - 1], '\n');
	assert_non_null(strstr(buf, "\"role\":\"client\""));
	assert_non_null(strstr(buf, "\"established\":false"));
	assert_non_null(strstr(buf, "\"local\":\"192.0.2.2:4001\",\"remote\":\"198.51.100.7:5000\""));
	assert_non_null(strstr(buf, "\"bad_auth\":0"));
	assert_non_null(strstr(buf, "\"uptime_s\":2.0"));
	/* lossaware paces nothing and has no queue of its own: neither is shown */
	assert_null(strstr(buf, "\"pacing_bps\""));
	assert_null(strstr(buf, "\"capacity_bps\""));
	assert_null(strstr(buf, "\"queue\""));
	assert_balanced(buf, n);
	/* too small a buffer is an error, never a cut document */
	assert_int_equal(status_json(&si, buf, 100), -ENOSPC);
	engine_free(e);
}

/* `mptun status` without --json: the same document as a table, a line per path, only the
 * drops that happened; not a status document: an error, never a half table. */
static void test_table(void **unused)
{
	static const char doc[] =
		"{\"role\":\"client\",\"tun\":\"mt0\",\"sched\":\"ecf\",\"peer\":\"hq\","
		"\"uptime_s\":61.2,\"session\":{\"established\":true,\"age_s\":12.4,"
		"\"sessions\":3,\"handshakes_sent\":8},\"drops\":{\"bad_auth\":0,\"replay\":7,"
		"\"no_route\":2},\"tun_in\":100,\"tun_out\":90,\"paths\":["
		"{\"local\":\"10.30.1.2:4000\",\"remote\":\"10.40.0.2:5000\",\"up\":true,"
		"\"srtt_ms\":22.26,\"loss_pct\":0.5,\"delivery_rate_bps\":45240499,"
		"\"tx_bytes\":31979450,\"rx_bytes\":1683101,\"weight\":0.504,"
		"\"pacing_bps\":51866056},"
		"{\"local\":\"10.30.2.2:4001\",\"remote\":\"10.40.0.2:5000\",\"up\":false,"
		"\"srtt_ms\":0,\"loss_pct\":0,\"delivery_rate_bps\":0,\"tx_bytes\":512,"
		"\"rx_bytes\":0,\"weight\":0}],"
		"\"queue\":{\"backlog\":3,\"target_ms\":21.5,\"drop_codel\":15,"
		"\"drop_overflow\":0}}\n";
	static char out[8192];
	char err[256];
	int n;

	(void)unused;
	n = status_table(doc, sizeof(doc) - 1, out, sizeof(out), err, sizeof(err));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(out));
	assert_non_null(strstr(out, "mptun client on mt0, scheduler ecf, up 61 s\n"));
	assert_non_null(strstr(out, "peer hq: session up, last handshake 12 s ago (3 so far)"));
	/* the paced rate, the share, the bytes in units */
	assert_non_null(strstr(out, "10.30.1.2:4000 -> 10.40.0.2:5000"));
	assert_non_null(strstr(out, " up        22.3    0.50    51.9    50%   32.0 MB    1.7 MB\n"));
	assert_non_null(strstr(out, " down       0.0    0.00     0.0     0%     512 B       0 B\n"));
	assert_non_null(strstr(out, "queue: 3 packets held, CoDel target 21.5 ms, 15 dropped"));
	assert_non_null(strstr(out, "drops: replay 7 no_route 2\n"));
	assert_null(strstr(out, "bad_auth"));
	/* too small: an error */
	assert_int_equal(status_table(doc, sizeof(doc) - 1, out, 64, err, sizeof(err)), -ENOSPC);
	/* not JSON, or JSON of something else */
	assert_int_equal(status_table("{\"role\":", 9, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "not a status document"));
	assert_int_equal(status_table("[1,2]", 5, out, sizeof(out), err, sizeof(err)), -EBADMSG);
	assert_int_equal(status_table("{\"paths\":[]}", 12, out, sizeof(out), err, sizeof(err)),
			 -EBADMSG);
}

/* Issue 11: under a paced scheduler every path shows its capacity estimate, the estimator's
 * mode and its pacing rate, and the document shows the tunnel's queue. */
static void test_paced(void **unused)
{
	struct engine_config ec = {
		.role = ENGINE_CLIENT, .nlocal = 2, .sched = &sched_ecf, .mtu = 1428,
	};
	struct engine_io io = { .send = nosend, .deliver = nodeliver, .entropy = zeros };
	struct sockaddr_storage local[2], remote;
	const struct mpt_path *p;
	const struct fq_stats *q;
	struct mpt_addr ra;
	struct mpt_engine *e;
	static char buf[65536];
	char want[256];
	int n, err = 0;

	(void)unused;
	assert_true(sched_ecf.paced);
	e = engine_new(&ec, &io, 0, &err);
	assert_non_null(e);
	addr_parse("192.0.2.1", 4000, &local[0]);
	addr_parse("192.0.2.2", 4001, &local[1]);
	addr_parse("198.51.100.7", 5000, &remote);
	addr_to_mpt(&remote, &ra);
	assert_int_equal(engine_add_remote(e, &ra, 0), 0);
	engine_tick(e, 0);
	q = engine_queue_stats(e);
	assert_non_null(q);
	p = engine_path(e, 1, 0);
	assert_true(p->paced);

	struct status_peer sp = { .engine = e, .name = "peer" };
	struct status_info si = {
		.role = "client", .tun = "tun0", .sched = "ecf", .npeers = 1, .peers = &sp,
		.now_ns = 2000000000ull, .started_ns = 0, .nlocal = 2, .local = local,
	};
	n = status_json(&si, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_balanced(buf, n);
	/* the fields follow the weight inside each path's object, with the engine's values */
	snprintf(want, sizeof(want), "\"capacity_bps\":%llu,\"capacity_mode\":\"%s\","
		 "\"pacing_bps\":%llu,\"startup_end\":\"none\",\"startup_end_bps\":0,"
		 "\"capacity_drops\":0}",
		 (unsigned long long)capacity_estimate_bps(&p->cap),
		 p->cap.mode == CAP_STARTUP ? "startup" : "probe",
		 (unsigned long long)p->pacer.rate_bps);
	assert_non_null(strstr(buf, want));
	assert_true(p->pacer.rate_bps > 0);
	/* both paths are paced: the fields appear twice */
	assert_non_null(strstr(strstr(buf, "\"pacing_bps\"") + 1, "\"pacing_bps\""));
	snprintf(want, sizeof(want), "],\"queue\":{\"backlog\":%llu,\"enqueued\":%llu,"
		 "\"dequeued\":%llu,\"drop_codel\":%llu,\"drop_overflow\":%llu,"
		 "\"new_flows\":%llu,\"target_ms\":10.00}}\n",
		 (unsigned long long)(q->enqueued - q->dequeued - q->drop_codel - q->drop_overflow),
		 (unsigned long long)q->enqueued, (unsigned long long)q->dequeued,
		 (unsigned long long)q->drop_codel, (unsigned long long)q->drop_overflow,
		 (unsigned long long)q->new_flows);
	assert_non_null(strstr(buf, want));
	assert_int_equal(status_json(&si, buf, (size_t)n), -ENOSPC);
	engine_free(e);
}

/* Issue 10: the status socket is created 0660 in the group asked for (gid 0 by default), owned
 * by its creator, whatever the umask; an unknown group is one line. */
static void test_socket_mode(void **unused)
{
	char dir[] = "/tmp/mptun-status.XXXXXX", path[64], err[256];
	mode_t mask = umask(0);
	struct stat sb;
	int fd;

	(void)unused;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	fd = status_listen(path, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	assert_int_equal(sb.st_uid, geteuid());
	assert_int_equal(sb.st_gid, geteuid() == 0 ? 0 : getegid());
	close(fd);
	if (geteuid() == 0) {
		fd = status_listen(path, "4", err, sizeof(err));	/* the stale file is replaced */
		assert_true(fd >= 0);
		assert_int_equal(lstat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0660);
		assert_int_equal(sb.st_gid, 4);
		assert_int_equal(getegid(), 0);		/* the process's own group is back */
		close(fd);
	}
	assert_int_equal(status_listen(path, "nosuchgroup-mptun", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--status-group nosuchgroup-mptun: no such group"));
	assert_null(strchr(err, '\n'));
	umask(mask);
	unlink(path);
	rmdir(dir);
}

/* A hub's document: the peers as a list, each with its own paths, and the hub's drops; its
 * table shows every peer. */
static void test_hub(void **unused)
{
	struct engine_config ec = {
		.role = ENGINE_SERVER, .nlocal = 1, .sched = &sched_lossaware, .mtu = 1428,
	};
	struct engine_io io = { .send = nosend, .deliver = nodeliver, .entropy = zeros };
	struct sockaddr_storage local[1];
	struct mpt_engine *e[2];
	struct hub_stats hs = { .drop_mac1 = 7 };
	static char buf[65536], out[65536];
	char errs[200];
	int n, err = 0;

	(void)unused;
	for (int k = 0; k < 2; k++) {
		e[k] = engine_new(&ec, &io, 0, &err);
		assert_non_null(e[k]);
	}
	addr_parse("192.0.2.1", 5000, &local[0]);
	struct status_peer sp[2] = { { .engine = e[0], .name = "site1", .drop_source = 3 },
				     { .engine = e[1], .name = "site2" } };
	struct status_info si = {
		.role = "server", .tun = "hub0", .sched = "lossaware", .npeers = 2, .peers = sp,
		.hub_mode = true, .hub = &hs, .now_ns = 1000000000ull, .nlocal = 1, .local = local,
	};
	n = status_json(&si, buf, sizeof(buf));
	assert_true(n > 0);
	assert_balanced(buf, n);
	assert_null(strstr(buf, "\"peer\":"));
	assert_non_null(strstr(buf, "\"hub\":{\"malformed\":0,\"mac1\":7,"));
	assert_non_null(strstr(buf, "\"peers\":[{\"name\":\"site1\",\"session\":{"));
	assert_non_null(strstr(buf, "\"source_outside\":3"));
	assert_non_null(strstr(buf, "},{\"name\":\"site2\",\"session\":{"));
	n = status_table(buf, (size_t)n, out, sizeof(out), errs, sizeof(errs));
	assert_true(n > 0);
	assert_non_null(strstr(out, "hub of 2 peers"));
	assert_non_null(strstr(out, "mac1 7"));
	assert_non_null(strstr(out, "peer site1: no session"));
	assert_non_null(strstr(out, "peer site2: no session"));
	for (int k = 0; k < 2; k++)
		engine_free(e[k]);
}

/* A document larger than the reader's socket takes at once (a big hub's): what fits goes
 * now, the rest as the socket drains, whole and in order; a second reader meanwhile is
 * served on its own. */
static void test_large_document(void **unused)
{
	char dir[] = "/tmp/mptun-status.XXXXXX", path[64], err[256];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct status_conn c = { .fd = -1 };
	size_t len = 3u << 20, got = 0;
	char *doc = malloc(len), *back = malloc(len);
	int lfd, fd, rounds = 0;

	(void)unused;
	assert_non_null(doc);
	assert_non_null(back);
	for (size_t k = 0; k < len; k++)
		doc[k] = (char)('a' + k % 23);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	lfd = status_listen(path, NULL, err, sizeof(err));
	assert_true(lfd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(status_serve(lfd, doc, len, &c, 0), 1);
	assert_true(c.fd >= 0 && c.len > 0 && c.len < len);
	while (got < len) {
		ssize_t n = read(fd, back + got, len - got);

		assert_true(n > 0);
		got += (size_t)n;
		if (c.fd >= 0)
			status_conn_write(&c);
		rounds++;
	}
	assert_memory_equal(doc, back, len);
	assert_true(c.fd < 0 && !c.buf);	/* done: closed and freed */
	assert_int_equal(read(fd, back, 1), 0);	/* and the reader sees the end */
	assert_true(rounds > 1);
	close(fd);
	/* without a slot to keep it, a reader gets what fitted, and the end */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(status_serve(lfd, doc, len, NULL, 0), 0);
	got = 0;
	for (ssize_t n; (n = read(fd, back, len)) > 0;)
		got += (size_t)n;
	assert_true(got > 0 && got < len);
	close(fd);
	close(lfd);
	unlink(path);
	rmdir(dir);
	free(doc);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_paced),
		cmocka_unit_test(test_hub),
		cmocka_unit_test(test_socket_mode),
		cmocka_unit_test(test_large_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
