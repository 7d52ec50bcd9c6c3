/* Tests of core/wire.c: round trips of every kind, the exact byte layout against hand-written
 * bytes, and every way a decoder can refuse its input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire.h"

static const struct wire_fb_block sample_block = {
	.path_id = 0x21, .high_seq = 0x01020304, .recv_count = 0x0a0b0c0d,
	.recv_bytes = 0xfffffffe, .ts_echo_us = 0x80000001, .echo_delay_us = 1234,
};

static void assert_block_equal(const struct wire_fb_block *a, const struct wire_fb_block *b)
{
	assert_int_equal(a->path_id, b->path_id);
	assert_int_equal(a->high_seq, b->high_seq);
	assert_int_equal(a->recv_count, b->recv_count);
	assert_int_equal(a->recv_bytes, b->recv_bytes);
	assert_int_equal(a->ts_echo_us, b->ts_echo_us);
	assert_int_equal(a->echo_delay_us, b->echo_delay_us);
}

/* A valid frame of the given kind in buf; returns its length. */
static size_t build_frame(uint8_t *buf, size_t cap, uint8_t kind, size_t plen)
{
	struct wire_frame f = { .kind = kind, .path_id = 0x13, .path_seq = 7, .tx_us = 9,
				.data_seq = 11 };

	assert_int_equal(wire_frame_encode(&f, buf, cap), WIRE_FRAME_LEN);
	memset(buf + WIRE_FRAME_LEN, 0xab, plen);
	return WIRE_FRAME_LEN + plen;
}

/* A valid feedback frame with n blocks; returns its length. */
static size_t build_fb_frame(uint8_t *buf, size_t cap, unsigned n)
{
	struct wire_fb_block blocks[WIRE_FB_MAX_BLOCKS];
	int len;

	for (unsigned k = 0; k < n; k++) {
		blocks[k] = sample_block;
		blocks[k].path_id = (uint8_t)k;
	}
	build_frame(buf, cap, WIRE_KIND_FEEDBACK, 0);
	len = wire_fb_encode(blocks, n, buf + WIRE_FRAME_LEN, cap - WIRE_FRAME_LEN);
	assert_int_equal(len, WIRE_FB_HDR_LEN + n * WIRE_FB_BLOCK_LEN);
	return WIRE_FRAME_LEN + (size_t)len;
}

/* Decoders get a heap copy of exactly len bytes, so that ASan catches any read past the end. */
static uint8_t *dup_exact(const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, buf, len);
	return copy;
}

static int frame_decode(const uint8_t *buf, size_t len)
{
	uint8_t *copy = dup_exact(buf, len);
	struct wire_frame f;
	const uint8_t *p;
	size_t plen;
	int rc = wire_frame_decode(&f, copy, len, &p, &plen);

	free(copy);
	return rc;
}

static int hdr_decode(const uint8_t *dg, size_t len)
{
	uint8_t *copy = dup_exact(dg, len);
	struct wire_hdr h;
	int rc = wire_hdr_decode(&h, copy, len);

	free(copy);
	return rc;
}

static void test_hdr_layout(void **unused)
{
	static const uint8_t expect[WIRE_HDR_LEN] = {
		0x01, 0x7f, 0x00, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	};
	struct wire_hdr h = { .type = WIRE_TYPE_DATA, .key_phase = 0x7f,
			      .counter = 0x0123456789abcdefull };
	uint8_t dg[WIRE_MIN_DGRAM] = { 0 };
	struct wire_hdr d;

	(void)unused;
	assert_int_equal(wire_hdr_encode(&h, dg, sizeof(dg)), WIRE_HDR_LEN);
	assert_memory_equal(dg, expect, sizeof(expect));
	assert_int_equal(wire_hdr_decode(&d, dg, sizeof(dg)), 0);
	assert_int_equal(d.type, WIRE_TYPE_DATA);
	assert_int_equal(d.key_phase, 0x7f);
	assert_true(d.counter == 0x0123456789abcdefull);
	assert_int_equal(WIRE_OVERHEAD, 44);
}

static void test_frame_layout(void **unused)
{
	static const uint8_t expect[WIRE_FRAME_LEN] = {
		0x02, 0x31, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef,
		0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff,
	};
	struct wire_frame f = { .kind = WIRE_KIND_PROBE, .path_id = 0x31, .path_seq = 0xdeadbeef,
				.tx_us = 256, .data_seq = 0xffffffff };
	uint8_t buf[WIRE_FRAME_LEN];

	(void)unused;
	assert_int_equal(wire_frame_encode(&f, buf, sizeof(buf)), WIRE_FRAME_LEN);
	assert_memory_equal(buf, expect, sizeof(expect));
}

static void test_fb_layout(void **unused)
{
	static const uint8_t expect[WIRE_FB_HDR_LEN + WIRE_FB_BLOCK_LEN] = {
		0x01, 0x00, 0x00, 0x00,
		0x21, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d,
		0xff, 0xff, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x01, 0x00, 0x00, 0x04, 0xd2,
	};
	uint8_t buf[sizeof(expect)];

	(void)unused;
	assert_int_equal(wire_fb_encode(&sample_block, 1, buf, sizeof(buf)), sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
}

static void test_hdr_round_trip(void **unused)
{
	static const uint64_t counters[] = { 0, 1, 0xffffffffull, 0x100000000ull, UINT64_MAX };
	uint8_t dg[WIRE_MAX_DGRAM] = { 0 };
	struct wire_hdr d;

	(void)unused;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		struct wire_hdr h = { .type = WIRE_TYPE_DATA, .key_phase = (uint8_t)(i * 51),
				      .counter = counters[i] };

		assert_int_equal(wire_hdr_encode(&h, dg, WIRE_HDR_LEN), WIRE_HDR_LEN);
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_MAX_DGRAM), 0);
		assert_int_equal(d.type, h.type);
		assert_int_equal(d.key_phase, h.key_phase);
		assert_true(d.counter == h.counter);
	}
}

static void test_data_round_trip(void **unused)
{
	uint8_t buf[WIRE_MAX_DGRAM];
	struct wire_frame f = { .kind = WIRE_KIND_DATA, .path_id = 0xf0, .path_seq = 0x80000000,
				.tx_us = 0x12345678, .data_seq = 42 };
	struct wire_frame d;
	const uint8_t *p;
	size_t plen;

	(void)unused;
	for (size_t n = 1; n <= WIRE_MAX_PAYLOAD; n += n < 4 ? 1 : 997) {
		assert_int_equal(wire_frame_encode(&f, buf, sizeof(buf)), WIRE_FRAME_LEN);
		memset(buf + WIRE_FRAME_LEN, 0x5a, n);
		assert_int_equal(wire_frame_decode(&d, buf, WIRE_FRAME_LEN + n, &p, &plen), 0);
		assert_int_equal(d.kind, WIRE_KIND_DATA);
		assert_int_equal(d.path_id, 0xf0);
		assert_int_equal(d.path_seq, 0x80000000);
		assert_int_equal(d.tx_us, 0x12345678);
		assert_int_equal(d.data_seq, 42);
		assert_ptr_equal(p, buf + WIRE_FRAME_LEN);
		assert_int_equal(plen, n);
	}
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN + WIRE_MAX_PAYLOAD), 0);
}

static void test_probe_round_trip(void **unused)
{
	uint8_t buf[WIRE_FRAME_LEN];
	struct wire_frame f = { .kind = WIRE_KIND_PROBE, .path_id = 0x0f, .path_seq = 1,
				.tx_us = UINT32_MAX, .data_seq = 3 };
	struct wire_frame d;
	const uint8_t *p;
	size_t plen = 99;

	(void)unused;
	assert_int_equal(wire_frame_encode(&f, buf, sizeof(buf)), WIRE_FRAME_LEN);
	assert_int_equal(wire_frame_decode(&d, buf, sizeof(buf), &p, &plen), 0);
	assert_int_equal(d.kind, WIRE_KIND_PROBE);
	assert_int_equal(d.path_id, 0x0f);
	assert_int_equal(d.path_seq, 1);
	assert_int_equal(d.tx_us, UINT32_MAX);
	assert_int_equal(d.data_seq, 3);
	assert_int_equal(plen, 0);
}

static void test_feedback_round_trip(void **unused)
{
	uint8_t buf[WIRE_MAX_DGRAM];
	struct wire_fb_block out[WIRE_FB_MAX_BLOCKS];
	struct wire_frame d;
	const uint8_t *p;
	size_t plen, len;
	unsigned n;

	(void)unused;
	for (unsigned nb = 1; nb <= WIRE_FB_MAX_BLOCKS; nb++) {
		len = build_fb_frame(buf, sizeof(buf), nb);
		assert_int_equal(wire_frame_decode(&d, buf, len, &p, &plen), 0);
		assert_int_equal(d.kind, WIRE_KIND_FEEDBACK);
		assert_ptr_equal(p, buf + WIRE_FRAME_LEN);
		assert_int_equal(plen, WIRE_FB_HDR_LEN + nb * WIRE_FB_BLOCK_LEN);
		assert_int_equal(wire_fb_decode(p, plen, out, WIRE_FB_MAX_BLOCKS, &n), 0);
		assert_int_equal(n, nb);
		for (unsigned k = 0; k < n; k++) {
			struct wire_fb_block want = sample_block;

			want.path_id = (uint8_t)k;
			assert_block_equal(&out[k], &want);
		}
	}
}

static void test_encode_rejects(void **unused)
{
	struct wire_hdr h = { .type = WIRE_TYPE_DATA };
	struct wire_frame f = { .kind = WIRE_KIND_DATA };
	struct wire_fb_block b[WIRE_FB_MAX_BLOCKS + 1] = { { 0 } };
	uint8_t buf[WIRE_MAX_DGRAM];

	(void)unused;
	assert_int_equal(wire_hdr_encode(&h, buf, WIRE_HDR_LEN - 1), -EINVAL);
	h.type = 0;
	assert_int_equal(wire_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
	h.type = WIRE_TYPE_HS_STALE + 1;
	assert_int_equal(wire_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wire_frame_encode(&f, buf, WIRE_FRAME_LEN - 1), -EINVAL);
	f.kind = 4;
	assert_int_equal(wire_frame_encode(&f, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wire_fb_encode(b, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wire_fb_encode(b, WIRE_FB_MAX_BLOCKS + 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wire_fb_encode(b, 2, buf, WIRE_FB_HDR_LEN + 2 * WIRE_FB_BLOCK_LEN - 1),
			 -EINVAL);
}

static void test_hdr_decode_rejects(void **unused)
{
	uint8_t dg[WIRE_MAX_DGRAM + 1] = { 0 };
	struct wire_hdr h = { .type = WIRE_TYPE_DATA, .counter = 5 };
	struct wire_hdr d;

	(void)unused;
	wire_hdr_encode(&h, dg, sizeof(dg));
	assert_int_equal(wire_hdr_decode(&d, dg, WIRE_MIN_DGRAM), 0);
	assert_int_equal(wire_hdr_decode(&d, dg, WIRE_MAX_DGRAM), 0);
	/* Too short: for the header itself, and for the smallest whole datagram. */
	for (size_t n = 0; n < WIRE_MIN_DGRAM; n++)
		assert_int_equal(hdr_decode(dg, n), -EBADMSG);
	assert_int_equal(hdr_decode(dg, WIRE_MIN_DGRAM), 0);
	assert_int_equal(hdr_decode(dg, WIRE_MAX_DGRAM + 1), -EBADMSG);

	for (unsigned t = 0; t < 256; t++) {
		dg[0] = (uint8_t)t;
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_MIN_DGRAM),
				 t == WIRE_TYPE_DATA ? 0 : -EBADMSG);
	}
	/* the handshake's types: their one exact length each, and their header decoded */
	{
		const struct { uint8_t type; size_t len; } hs[] = {
			{ WIRE_TYPE_HS_INIT, WIRE_HS_INIT_LEN }, { WIRE_TYPE_HS_RESP, WIRE_HS_RESP_LEN },
			{ WIRE_TYPE_HS_STALE, WIRE_HS_STALE_LEN },
		};

		for (size_t k = 0; k < sizeof(hs) / sizeof(hs[0]); k++) {
			h.type = hs[k].type;
			assert_int_equal(wire_hdr_encode(&h, dg, sizeof(dg)), WIRE_HDR_LEN);
			for (size_t n = 0; n <= WIRE_MAX_DGRAM; n++)
				assert_int_equal(wire_hdr_decode(&d, dg, n), n == hs[k].len ? 0 : -EBADMSG);
			assert_int_equal(d.type, hs[k].type);
			assert_true(d.counter == 5);
		}
		h.type = WIRE_TYPE_DATA;
		wire_hdr_encode(&h, dg, sizeof(dg));
	}

	/* the index: any in DATA (and RESP), none in INIT and STALE */
	for (int i = 2; i <= 3; i++) {
		dg[i] = 0x80;
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_MIN_DGRAM), 0);
		assert_int_equal(d.index, i == 2 ? 0x8000 : 0x80);
		dg[0] = WIRE_TYPE_HS_INIT;
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_HS_INIT_LEN), -EBADMSG);
		dg[0] = WIRE_TYPE_HS_STALE;
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_HS_STALE_LEN), -EBADMSG);
		dg[0] = WIRE_TYPE_HS_RESP;
		assert_int_equal(wire_hdr_decode(&d, dg, WIRE_HS_RESP_LEN), 0);
		dg[0] = WIRE_TYPE_DATA;
		dg[i] = 0;
	}
	assert_int_equal(wire_hdr_decode(NULL, dg, WIRE_MIN_DGRAM), -EINVAL);
	assert_int_equal(wire_hdr_decode(&d, NULL, WIRE_MIN_DGRAM), -EINVAL);
}

static void test_frame_decode_rejects(void **unused)
{
	uint8_t buf[WIRE_MAX_DGRAM + WIRE_FRAME_LEN];
	size_t len;

	(void)unused;
	len = build_frame(buf, sizeof(buf), WIRE_KIND_DATA, 10);
	for (size_t n = 0; n < WIRE_FRAME_LEN; n++)
		assert_int_equal(frame_decode(buf, n), -EBADMSG);
	assert_int_equal(frame_decode(buf, len), 0);

	for (unsigned k = 0; k < 256; k++) {
		buf[0] = (uint8_t)k;
		if (k != WIRE_KIND_DATA && k != WIRE_KIND_PROBE && k != WIRE_KIND_FEEDBACK)
			assert_int_equal(frame_decode(buf, len), -EBADMSG);
	}
	/* flow_gap: any value in DATA (it names the flow's previous packet), zero elsewhere */
	buf[0] = WIRE_KIND_DATA;
	for (int i = 2; i <= 3; i++) {
		struct wire_frame f;
		const uint8_t *pl;
		size_t plen;

		buf[i] = 0x01;
		assert_int_equal(wire_frame_decode(&f, buf, len, &pl, &plen), 0);
		assert_int_equal(f.flow_gap, i == 2 ? 0x100 : 1);
		buf[i] = 0;
	}
	assert_int_equal(frame_decode(buf, len), 0);
	build_frame(buf, sizeof(buf), WIRE_KIND_PROBE, 0);
	for (int i = 2; i <= 3; i++) {
		buf[i] = 0x01;
		assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN), -EBADMSG);
		buf[i] = 0;
	}
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN), 0);
	len = build_frame(buf, sizeof(buf), WIRE_KIND_DATA, 10);

	/* DATA: empty payload, and one byte over the largest. */
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN), -EBADMSG);
	build_frame(buf, sizeof(buf), WIRE_KIND_DATA, WIRE_MAX_PAYLOAD + 1);
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN + WIRE_MAX_PAYLOAD + 1), -EBADMSG);

	/* PROBE: anything after the frame header. */
	build_frame(buf, sizeof(buf), WIRE_KIND_PROBE, 1);
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN), 0);
	assert_int_equal(frame_decode(buf, WIRE_FRAME_LEN + 1), -EBADMSG);
}

/* A feedback frame that fails wire_frame_decode must fail wire_fb_decode too, and vice versa. */
static void assert_fb_bad(const uint8_t *frame, size_t len)
{
	struct wire_fb_block out[WIRE_FB_MAX_BLOCKS];
	uint8_t *fb = dup_exact(frame + WIRE_FRAME_LEN, len - WIRE_FRAME_LEN);
	unsigned n = 77;

	assert_int_equal(frame_decode(frame, len), -EBADMSG);
	assert_int_equal(wire_fb_decode(fb, len - WIRE_FRAME_LEN, out, WIRE_FB_MAX_BLOCKS, &n),
			 -EBADMSG);
	assert_int_equal(n, 77);
	free(fb);
}

static void test_fb_decode_rejects(void **unused)
{
	uint8_t buf[WIRE_MAX_DGRAM];
	uint8_t *fb = buf + WIRE_FRAME_LEN;
	size_t len;

	(void)unused;
	len = build_fb_frame(buf, sizeof(buf), 3);
	assert_int_equal(frame_decode(buf, len), 0);

	/* No feedback header at all, or a partial one. */
	for (size_t n = WIRE_FRAME_LEN; n < WIRE_FRAME_LEN + WIRE_FB_HDR_LEN; n++)
		assert_fb_bad(buf, n);

	/* nblocks 0, and nblocks over the maximum with a length that would match it. */
	fb[0] = 0;
	assert_fb_bad(buf, WIRE_FRAME_LEN + WIRE_FB_HDR_LEN);
	assert_fb_bad(buf, len);
	build_fb_frame(buf, sizeof(buf), WIRE_FB_MAX_BLOCKS);
	fb[0] = WIRE_FB_MAX_BLOCKS + 1;
	assert_fb_bad(buf, WIRE_FRAME_LEN + WIRE_FB_HDR_LEN +
			   (WIRE_FB_MAX_BLOCKS + 1) * WIRE_FB_BLOCK_LEN);
	fb[0] = 0xff;
	assert_fb_bad(buf, WIRE_FRAME_LEN + WIRE_FB_HDR_LEN + WIRE_FB_MAX_BLOCKS * WIRE_FB_BLOCK_LEN);

	/* Length mismatch: every truncation (inside the last block, or a whole block short),
	 * and trailing bytes. */
	len = build_fb_frame(buf, sizeof(buf), 3);
	for (size_t n = WIRE_FRAME_LEN + WIRE_FB_HDR_LEN; n < len; n++)
		assert_fb_bad(buf, n);
	assert_fb_bad(buf, len + 1);
	assert_fb_bad(buf, len + WIRE_FB_BLOCK_LEN);

	/* Reserved bytes of the feedback header. */
	for (int i = 1; i < WIRE_FB_HDR_LEN; i++) {
		fb[i] = 0x10;
		assert_fb_bad(buf, len);
		fb[i] = 0;
	}
	/* Every block's bytes 1-3 are its fwd_qdelay (u24, big-endian): any value decodes. */
	for (unsigned k = 0; k < 3; k++) {
		for (int i = 1; i <= 3; i++) {
			uint8_t *b = fb + WIRE_FB_HDR_LEN + k * WIRE_FB_BLOCK_LEN + i;
			struct wire_fb_block out[WIRE_FB_MAX_BLOCKS];
			unsigned n = 0;

			*b = 0x01;
			assert_int_equal(frame_decode(buf, len), 0);
			assert_int_equal(wire_fb_decode(fb, len - WIRE_FRAME_LEN, out,
							WIRE_FB_MAX_BLOCKS, &n), 0);
			assert_int_equal(out[k].fwd_qdelay_us, 1u << (8 * (3 - i)));
			*b = 0;
		}
	}
	assert_int_equal(frame_decode(buf, len), 0);
}

static void test_fb_decode_small_array(void **unused)
{
	uint8_t buf[WIRE_MAX_DGRAM];
	struct wire_fb_block out[2];
	size_t len = build_fb_frame(buf, sizeof(buf), 3);
	unsigned n = 0;

	(void)unused;
	assert_int_equal(wire_fb_decode(buf + WIRE_FRAME_LEN, len - WIRE_FRAME_LEN, out, 2, &n),
			 -ENOBUFS);
	assert_int_equal(n, 0);
	assert_int_equal(wire_fb_decode(NULL, 0, out, 2, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_frame_layout),
		cmocka_unit_test(test_fb_layout),
		cmocka_unit_test(test_hdr_round_trip),
		cmocka_unit_test(test_data_round_trip),
		cmocka_unit_test(test_probe_round_trip),
		cmocka_unit_test(test_feedback_round_trip),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_hdr_decode_rejects),
		cmocka_unit_test(test_frame_decode_rejects),
		cmocka_unit_test(test_fb_decode_rejects),
		cmocka_unit_test(test_fb_decode_small_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
