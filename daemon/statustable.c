/* statustable: see statustable.h. */
#include "daemon/statustable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "daemon/outbuf.h"

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

/* "12.3 MB" style, for byte counts */
static const char *bytes(double b, char *buf, size_t len)
{
	static const char *unit[] = { "B", "kB", "MB", "GB", "TB" };
	unsigned u = 0;

	while (b >= 1000 && u < 4) {
		b /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

static void paths(struct outbuf *o, const json_t *list)
{
	size_t k;
	json_t *p;
	char tx[32], rx[32];

	outbuf_put(o, "\n  %-44s %-5s %8s %7s %7s %6s %9s %9s\n", "path (local -> remote)",
		   "state", "rtt ms", "loss %", "Mbit/s", "share", "sent", "received");
	json_array_foreach(list, k, p) {
		char name[128];
		json_t *pace = json_object_get(p, "pacing_bps");
		double rate = pace ? json_number_value(pace) : num(p, "delivery_rate_bps");
		double share = num(p, "weight");

		snprintf(name, sizeof(name), "%s -> %s", str(p, "local"), str(p, "remote"));
		outbuf_put(o, "  %-44s %-5s %8.1f %7.2f %7.1f %5.0f%% %9s %9s\n", name,
			   json_is_true(json_object_get(p, "up")) ? "up" : "down",
			   num(p, "srtt_ms"), num(p, "loss_pct"), rate / 1e6,
			   share < 0 ? 0 : share * 100, bytes(num(p, "tx_bytes"), tx, sizeof(tx)),
			   bytes(num(p, "rx_bytes"), rx, sizeof(rx)));
	}
}

/* Only the drops that happened, by name: a clean tunnel says "none". */
static void drops(struct outbuf *o, const json_t *d)
{
	const char *key;
	json_t *v;
	bool any = false;

	outbuf_put(o, "  drops:");
	json_object_foreach((json_t *)d, key, v) {
		if (json_number_value(v) > 0) {
			outbuf_put(o, " %s %.0f", key, json_number_value(v));
			any = true;
		}
	}
	outbuf_put(o, "%s\n", any ? "" : " none");
}

/* One peer's block: its session, paths, queue and drops (o holds the peer's members: the
 * document itself for one peer, an element of "peers" for a hub). */
static int peer_block(struct outbuf *o, const json_t *p, const char *name)
{
	json_t *sess = json_object_get(p, "session"), *list = json_object_get(p, "paths"), *q;

	if (!json_is_object(sess) || !json_is_array(list))
		return -EBADMSG;
	outbuf_put(o, "peer %s: ", name);
	if (json_is_true(json_object_get(sess, "established")))
		outbuf_put(o, "session up, last handshake %.0f s ago (%.0f so far)",
			   num(sess, "age_s"), num(sess, "sessions"));
	else
		outbuf_put(o, "no session (%.0f handshakes sent)", num(sess, "handshakes_sent"));
	outbuf_put(o, "; packets from tun %.0f, to tun %.0f\n", num(p, "tun_in"),
		   num(p, "tun_out"));
	paths(o, list);
	q = json_object_get(p, "queue");
	outbuf_put(o, "\n");
	if (json_is_object(q))
		outbuf_put(o, "  queue: %.0f packets held, CoDel target %.1f ms, %.0f dropped by "
			   "CoDel, %.0f by overflow\n", num(q, "backlog"), num(q, "target_ms"),
			   num(q, "drop_codel"), num(q, "drop_overflow"));
	if (json_is_object(json_object_get(p, "drops")))
		drops(o, json_object_get(p, "drops"));
	return 0;
}

int status_table(const char *doc, size_t len, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	struct outbuf o = { out, outlen, 0, false };
	json_error_t je;
	json_t *root, *peers, *p, *hub;
	size_t k;
	int rc = 0;

	root = json_loadb(doc, len, 0, &je);
	if (!root || !json_is_object(root)) {
		snprintf(err, errlen, "status: not a status document (%s)", root ? "not an object" :
			 je.text);
		json_decref(root);
		return -EBADMSG;
	}
	peers = json_object_get(root, "peers");
	outbuf_put(&o, "mptun %s on %s, scheduler %s, up %.0f s", str(root, "role"),
		   str(root, "tun"), str(root, "sched"), num(root, "uptime_s"));
	if (json_is_array(peers))
		outbuf_put(&o, ", hub of %zu peers", json_array_size(peers));
	outbuf_put(&o, "\n");
	hub = json_object_get(root, "hub");
	if (json_is_object(hub) && json_is_array(peers)) {
		outbuf_put(&o, "hub:");
		drops(&o, hub);
	}
	if (json_is_array(peers)) {
		json_array_foreach(peers, k, p) {
			outbuf_put(&o, "\n");
			if (rc == 0)
				rc = peer_block(&o, p, str(p, "name"));
		}
	} else {
		rc = peer_block(&o, root, str(root, "peer"));
	}
	json_decref(root);
	if (rc < 0) {
		snprintf(err, errlen, "status: not a status document (no session or paths)");
		return rc;
	}
	return o.full ? -ENOSPC : (int)o.off;
}
