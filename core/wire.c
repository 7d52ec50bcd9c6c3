/* The wire layouts, written as structs of bytes so that the compiler can neither pad nor
 * reorder them; integers go through explicit big-endian helpers. Input is copied into these
 * structs with memcpy after the length check, so no decoder reads past its buffer and no
 * pointer is cast over untrusted bytes. */
#include "core/wire.h"

#include <errno.h>
#include <string.h>

struct hdr_bytes {
	uint8_t type;
	uint8_t key_phase;
	uint8_t index[2];
	uint8_t counter[8];
};

struct frame_bytes {
	uint8_t kind;
	uint8_t path_id;
	uint8_t flow_gap[2];
	uint8_t path_seq[4];
	uint8_t tx_us[4];
	uint8_t data_seq[4];
};

struct fb_hdr_bytes {
	uint8_t nblocks;
	uint8_t reserved[3];
};

struct fb_block_bytes {
	uint8_t path_id;
	uint8_t fwd_qdelay[3];
	uint8_t high_seq[4];
	uint8_t recv_count[4];
	uint8_t recv_bytes[4];
	uint8_t ts_echo_us[4];
	uint8_t echo_delay_us[4];
};

_Static_assert(sizeof(struct hdr_bytes) == WIRE_HDR_LEN, "outer header is 12 bytes");
_Static_assert(sizeof(struct frame_bytes) == WIRE_FRAME_LEN, "frame header is 16 bytes");
_Static_assert(sizeof(struct fb_hdr_bytes) == WIRE_FB_HDR_LEN, "feedback header is 4 bytes");
_Static_assert(sizeof(struct fb_block_bytes) == WIRE_FB_BLOCK_LEN, "feedback block is 24 bytes");
_Static_assert(WIRE_OVERHEAD == 44, "overhead is documented as 44 bytes");
_Static_assert(WIRE_HS_STALE_LEN >= WIRE_MIN_DGRAM && WIRE_HS_INIT_LEN <= WIRE_MAX_DGRAM,
	       "handshake datagrams pass the length bounds of every datagram");
_Static_assert(WIRE_FRAME_LEN + WIRE_FB_HDR_LEN + WIRE_FB_MAX_BLOCKS * WIRE_FB_BLOCK_LEN
	       <= WIRE_MAX_DGRAM - WIRE_HDR_LEN - WIRE_TAG_LEN, "full feedback fits a datagram");

static void put_be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t b[4])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put_be64(uint8_t b[8], uint64_t v)
{
	put_be32(b, (uint32_t)(v >> 32));
	put_be32(b + 4, (uint32_t)v);
}

static uint64_t get_be64(const uint8_t b[8])
{
	return (uint64_t)get_be32(b) << 32 | get_be32(b + 4);
}

void wire_put_be64(uint8_t b[8], uint64_t v)
{
	put_be64(b, v);
}

uint64_t wire_get_be64(const uint8_t b[8])
{
	return get_be64(b);
}

static int all_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

int wire_hdr_encode(const struct wire_hdr *h, uint8_t *out, size_t cap)
{
	struct hdr_bytes w = { 0 };

	if (!h || !out || cap < WIRE_HDR_LEN || h->type < WIRE_TYPE_DATA ||
	    h->type > WIRE_TYPE_HS_STALE)
		return -EINVAL;
	w.type = h->type;
	w.key_phase = h->key_phase;
	w.index[0] = (uint8_t)(h->index >> 8);
	w.index[1] = (uint8_t)h->index;
	put_be64(w.counter, h->counter);
	memcpy(out, &w, sizeof(w));
	return WIRE_HDR_LEN;
}

int wire_hdr_decode(struct wire_hdr *h, const uint8_t *dgram, size_t len)
{
	struct hdr_bytes w;

	if (!h || !dgram)
		return -EINVAL;
	if (len < WIRE_MIN_DGRAM || len > WIRE_MAX_DGRAM)
		return -EBADMSG;
	memcpy(&w, dgram, sizeof(w));
	switch (w.type) {
	case WIRE_TYPE_DATA:
		break;
	case WIRE_TYPE_HS_INIT:
		if (len != WIRE_HS_INIT_LEN || !all_zero(w.index, sizeof(w.index)))
			return -EBADMSG;
		break;
	case WIRE_TYPE_HS_RESP:
		if (len != WIRE_HS_RESP_LEN)
			return -EBADMSG;
		break;
	case WIRE_TYPE_HS_STALE:
		if (len != WIRE_HS_STALE_LEN || !all_zero(w.index, sizeof(w.index)))
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	h->type = w.type;
	h->key_phase = w.key_phase;
	h->index = (uint16_t)(w.index[0] << 8 | w.index[1]);
	h->counter = get_be64(w.counter);
	return 0;
}

static int kind_known(uint8_t kind)
{
	return kind == WIRE_KIND_DATA || kind == WIRE_KIND_PROBE || kind == WIRE_KIND_FEEDBACK;
}

int wire_frame_encode(const struct wire_frame *f, uint8_t *out, size_t cap)
{
	struct frame_bytes w = { 0 };

	if (!f || !out || cap < WIRE_FRAME_LEN || !kind_known(f->kind))
		return -EINVAL;
	w.kind = f->kind;
	w.path_id = f->path_id;
	if (f->kind != WIRE_KIND_DATA && f->flow_gap)
		return -EINVAL;
	w.flow_gap[0] = (uint8_t)(f->flow_gap >> 8);
	w.flow_gap[1] = (uint8_t)f->flow_gap;
	put_be32(w.path_seq, f->path_seq);
	put_be32(w.tx_us, f->tx_us);
	put_be32(w.data_seq, f->data_seq);
	memcpy(out, &w, sizeof(w));
	return WIRE_FRAME_LEN;
}

/* Validates the feedback header and the total length; returns nblocks or -EBADMSG. */
static int fb_check_hdr(const uint8_t *payload, size_t len)
{
	struct fb_hdr_bytes w;

	if (len < WIRE_FB_HDR_LEN)
		return -EBADMSG;
	memcpy(&w, payload, sizeof(w));
	if (w.nblocks == 0 || w.nblocks > WIRE_FB_MAX_BLOCKS ||
	    !all_zero(w.reserved, sizeof(w.reserved)) ||
	    len != WIRE_FB_HDR_LEN + (size_t)w.nblocks * WIRE_FB_BLOCK_LEN)
		return -EBADMSG;
	return w.nblocks;
}

/* Decodes block k of a payload already checked by fb_check_hdr. */
static int fb_block_decode(const uint8_t *payload, unsigned k, struct wire_fb_block *b)
{
	struct fb_block_bytes w;

	memcpy(&w, payload + WIRE_FB_HDR_LEN + (size_t)k * WIRE_FB_BLOCK_LEN, sizeof(w));
	b->path_id = w.path_id;
	b->fwd_qdelay_us = (uint32_t)w.fwd_qdelay[0] << 16 | (uint32_t)w.fwd_qdelay[1] << 8 |
			   w.fwd_qdelay[2];
	b->high_seq = get_be32(w.high_seq);
	b->recv_count = get_be32(w.recv_count);
	b->recv_bytes = get_be32(w.recv_bytes);
	b->ts_echo_us = get_be32(w.ts_echo_us);
	b->echo_delay_us = get_be32(w.echo_delay_us);
	return 0;
}

/* Full validation without output, so that wire_frame_decode rejects what wire_fb_decode would. */
static int fb_validate(const uint8_t *payload, size_t len)
{
	struct wire_fb_block b;
	int n = fb_check_hdr(payload, len);

	for (int k = 0; k < n; k++)
		if (fb_block_decode(payload, (unsigned)k, &b) < 0)
			return -EBADMSG;
	return n < 0 ? n : 0;
}

static int frame_check_payload(uint8_t kind, const uint8_t *payload, size_t plen)
{
	switch (kind) {
	case WIRE_KIND_DATA:
		return plen >= 1 && plen <= WIRE_MAX_PAYLOAD ? 0 : -EBADMSG;
	case WIRE_KIND_PROBE:
		return plen == 0 ? 0 : -EBADMSG;
	case WIRE_KIND_FEEDBACK:
		return fb_validate(payload, plen);
	}
	return -EBADMSG;
}

int wire_frame_decode(struct wire_frame *f, const uint8_t *frame, size_t len,
		      const uint8_t **payload, size_t *payload_len)
{
	struct frame_bytes w;
	const uint8_t *p;
	size_t plen;

	if (!f || !frame || !payload || !payload_len)
		return -EINVAL;
	if (len < WIRE_FRAME_LEN)
		return -EBADMSG;
	memcpy(&w, frame, sizeof(w));
	if (!kind_known(w.kind) ||
	    (w.kind != WIRE_KIND_DATA && !all_zero(w.flow_gap, sizeof(w.flow_gap))))
		return -EBADMSG;
	p = frame + WIRE_FRAME_LEN;
	plen = len - WIRE_FRAME_LEN;
	if (frame_check_payload(w.kind, p, plen) < 0)
		return -EBADMSG;
	f->kind = w.kind;
	f->path_id = w.path_id;
	f->flow_gap = (uint16_t)(w.flow_gap[0] << 8 | w.flow_gap[1]);
	f->path_seq = get_be32(w.path_seq);
	f->tx_us = get_be32(w.tx_us);
	f->data_seq = get_be32(w.data_seq);
	*payload = p;
	*payload_len = plen;
	return 0;
}

static void fb_block_encode(const struct wire_fb_block *b, uint8_t *out)
{
	struct fb_block_bytes w = { 0 };

	uint32_t q = b->fwd_qdelay_us > WIRE_FB_QDELAY_MAX ? WIRE_FB_QDELAY_MAX : b->fwd_qdelay_us;

	w.path_id = b->path_id;
	w.fwd_qdelay[0] = (uint8_t)(q >> 16);
	w.fwd_qdelay[1] = (uint8_t)(q >> 8);
	w.fwd_qdelay[2] = (uint8_t)q;
	put_be32(w.high_seq, b->high_seq);
	put_be32(w.recv_count, b->recv_count);
	put_be32(w.recv_bytes, b->recv_bytes);
	put_be32(w.ts_echo_us, b->ts_echo_us);
	put_be32(w.echo_delay_us, b->echo_delay_us);
	memcpy(out, &w, sizeof(w));
}

int wire_fb_encode(const struct wire_fb_block *blocks, unsigned n, uint8_t *out, size_t cap)
{
	struct fb_hdr_bytes w = { 0 };
	size_t len = WIRE_FB_HDR_LEN + (size_t)n * WIRE_FB_BLOCK_LEN;

	if (!blocks || !out || n == 0 || n > WIRE_FB_MAX_BLOCKS || cap < len)
		return -EINVAL;
	w.nblocks = (uint8_t)n;
	memcpy(out, &w, sizeof(w));
	for (unsigned k = 0; k < n; k++)
		fb_block_encode(&blocks[k], out + WIRE_FB_HDR_LEN + (size_t)k * WIRE_FB_BLOCK_LEN);
	return (int)len;
}

int wire_fb_decode(const uint8_t *payload, size_t len, struct wire_fb_block *blocks,
		   unsigned max, unsigned *n)
{
	int nblocks;

	if (!payload || !blocks || !n)
		return -EINVAL;
	nblocks = fb_check_hdr(payload, len);
	if (nblocks < 0)
		return nblocks;
	if ((unsigned)nblocks > max)
		return -ENOBUFS;
	if (fb_validate(payload, len) < 0)
		return -EBADMSG;
	for (int k = 0; k < nblocks; k++)
		fb_block_decode(payload, (unsigned)k, &blocks[k]);
	*n = (unsigned)nblocks;
	return 0;
}
