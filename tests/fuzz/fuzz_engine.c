/* libFuzzer harness: the engine's whole receive path (header, replay window, AEAD, frame,
 * feedback, reorder) on arbitrary datagrams from arbitrary addresses, at either end. A client
 * and a server open a session with each other first and both are kept; with cipher none the
 * fuzzer can reach past authentication, so the decoders behind it are explored too.
 * The first input byte: bit 7 the local address it arrives on, bit 6 the end (0 the server,
 * 1 the client), bits 0-4 the sender: at the server one of 32 addresses (more than the 16
 * slots), at the client its server (0) or one of 31 strangers. The rest is the datagram.
 * Nothing may crash, and nothing may be sent to the tun side that no datagram carried. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/wire.h"
#include "sched/registry.h"

static struct mpt_engine *engine, *client;
static uint64_t now;
/* the handshake in flight between the two engines at start-up */
static uint8_t hs_buf[256];
static size_t hs_len;

static void on_send(void *ctx, unsigned local, const struct mpt_addr *to, const uint8_t *b, size_t n)
{
	(void)local; (void)to;
	if (ctx && !hs_len && n <= sizeof(hs_buf) && (b[0] == 2 || b[0] == 3)) {
		memcpy(hs_buf, b, n);
		hs_len = n;
	}
}

static void on_random(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0x42, n);
}

/* A held packet is at most the MTU (a reorder slot); a DATA payload over it, which a peer with
 * a larger MTU sends, passes straight through the reorder buffer (core/reorder.c, counted as
 * late): at most what one datagram carries. */
static void on_deliver(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	if (n == 0 || n > WIRE_MAX_PAYLOAD || !p)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mpt_addr from;
	struct mpt_engine *e;

	if (!engine) {
		struct engine_config cfg = {
			.role = ENGINE_SERVER, .cipher_none = true, .nlocal = 2,
			.sched = &sched_lossaware, .mtu = 1428, .reorder_ns = ENGINE_REORDER_AUTO,
		};
		struct engine_io io = { .ctx = &hs_len, .send = on_send, .deliver = on_deliver,
					.entropy = on_random };
		struct mpt_addr server = { .len = 1, .bytes = { 0x80 } };

		aead_global_init();
		engine = engine_new(&cfg, &io, 0, NULL);
		cfg.role = ENGINE_CLIENT;
		client = engine_new(&cfg, &io, 0, NULL);
		if (!engine || !client)
			abort();
		/* a session first (INIT, RESP), so that with cipher none the fuzzer reaches the
		 * frame decoders behind authentication: data with key phase 1 and growing counters */
		engine_add_remote(client, &server, 0);
		engine_tick(client, 0);
		if (!hs_len)
			abort();
		memset(&from, 0, sizeof(from));
		from.len = 1;
		size_t n = hs_len;
		hs_len = 0;
		engine_recv(engine, 0, &from, hs_buf, n, 0);
		if (!hs_len || !engine_has_session(engine))
			abort();
		engine_recv(client, 0, &server, hs_buf, hs_len, 0);
		if (!engine_has_session(client))
			abort();
	}
	if (len < 1)
		return 0;
	memset(&from, 0, sizeof(from));
	from.len = 1;
	if (data[0] & 0x40) {
		e = client;
		from.bytes[0] = 0x80 | (data[0] & 31);	/* 0x80 is the server */
	} else {
		e = engine;
		from.bytes[0] = data[0] & 31;
	}
	now += 1000000;
	engine_recv(e, data[0] >> 7, &from, data + 1, len - 1, now);
	if (engine_deadline(e) <= now)
		engine_tick(e, now);
	return 0;
}
