/* wire: the byte layout of every mptun datagram: the clear outer header, the inner frame
 * header and the feedback blocks. Pure encode/decode over caller buffers; no allocation, no
 * state. Callable per packet. Decoders never read outside [buf, buf + len).
 *
 * A datagram is  hdr (12, clear, the AEAD's associated data) || seal(frame) || tag (16).
 * Multi-byte integers are big-endian on the wire. */
#ifndef MPT_WIRE_H
#define MPT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_HDR_LEN		12
#define WIRE_TAG_LEN		16
#define WIRE_FRAME_LEN		16
#define WIRE_FB_HDR_LEN		4
#define WIRE_FB_BLOCK_LEN	24
#define WIRE_FB_MAX_BLOCKS	16
#define WIRE_MAX_DGRAM		2048
/* Bytes added to each tunnelled IP packet. */
#define WIRE_OVERHEAD		(WIRE_HDR_LEN + WIRE_FRAME_LEN + WIRE_TAG_LEN)
/* The smallest valid datagram is a probe: header, bare frame header, tag. */
#define WIRE_MIN_DGRAM		WIRE_OVERHEAD
#define WIRE_MAX_PAYLOAD	(WIRE_MAX_DGRAM - WIRE_OVERHEAD)

/* Outer header types. Every datagram opens with the same 12-byte header; the handshake's
 * (core/session.h) follow it with a public key and a MAC instead of a sealed frame. */
#define WIRE_TYPE_DATA		1
#define WIRE_TYPE_HS_INIT	2	/* initiator's key share */
#define WIRE_TYPE_HS_RESP	3	/* responder's key share, answering one INIT */
#define WIRE_TYPE_HS_STALE	4	/* "your INIT's counter is stale: go above this floor" */
/* Whole-datagram lengths of the handshake types: the header, then a 32-byte key share (INIT,
 * RESP) or an 8-byte floor (STALE), then a 32-byte MAC; an INIT also carries its sender's
 * sealed identity (48) before the MAC and a 16-byte hub MAC after it (core/session.h). */
#define WIRE_HS_INIT_LEN	(WIRE_HDR_LEN + 128)
#define WIRE_HS_RESP_LEN	(WIRE_HDR_LEN + 64)
#define WIRE_HS_STALE_LEN	(WIRE_HDR_LEN + 40)

/* Inner frame kinds. */
#define WIRE_KIND_DATA		1	/* payload: one IP packet, 1..WIRE_MAX_PAYLOAD bytes */
#define WIRE_KIND_PROBE		2	/* no payload */
#define WIRE_KIND_FEEDBACK	3	/* payload: fb header + nblocks blocks */

/* Outer header: type, key_phase, index (u16), counter (u64, the AEAD nonce). */
struct wire_hdr {
	uint8_t type;
	uint8_t key_phase;	/* which session key; opaque here */
	/* The receiver's index of the session (core/hub.h): a server names it in its RESP, and
	 * the client sends it in every DATA datagram of that session, so that a server with many
	 * peers finds the peer without trying keys. A fresh value per session, never a peer's
	 * constant (an observer must not link two sessions of a site). 0 in INIT and STALE
	 * (checked) and in a server's DATA. */
	uint16_t index;
	uint64_t counter;
};

/* Inner frame header: kind, path_id, flow_gap (u16), then three u32. */
struct wire_frame {
	uint8_t kind;
	uint8_t path_id;	/* sender's local index << 4 | sender's remote index */
	/* DATA: data_seq minus the data_seq of the previous packet of the same inner flow, the one
	 * the receiver must deliver first; 0 when none is known (a new flow, or one 65536 packets
	 * back). PROBE/FEEDBACK: 0. */
	uint16_t flow_gap;
	uint32_t path_seq;	/* per-path sequence number */
	uint32_t tx_us;		/* sender's clock in microseconds, truncated; echoed for RTT */
	uint32_t data_seq;	/* DATA: this packet's; PROBE/FEEDBACK: sender's next (a floor) */
};

/* One path's receive report. Feedback payload: nblocks (u8, 1..WIRE_FB_MAX_BLOCKS), 3 reserved
 * zero bytes, then the blocks: path_id, fwd_qdelay (u24), five u32. */
#define WIRE_FB_QDELAY_MAX ((1u << 24) - 1)
struct wire_fb_block {
	uint8_t path_id;	/* the peer's path id being reported on */
	/* how far the latest packet's one-way delay on it is above the least seen lately, in us
	 * (saturating at WIRE_FB_QDELAY_MAX): the queue in this direction alone, where an RTT
	 * also holds the other direction's (a loaded upload under a download's ACKs) */
	uint32_t fwd_qdelay_us;
	uint32_t high_seq;	/* highest path_seq received on it */
	uint32_t recv_count;	/* packets received on it, cumulative mod 2^32 */
	uint32_t recv_bytes;	/* whole datagram bytes received on it (what the link carried, less IP/UDP), cumulative mod 2^32 */
	uint32_t ts_echo_us;	/* tx_us of the packet that carried high_seq */
	uint32_t echo_delay_us;	/* from receiving that packet to sending this report */
};

/* Encoders return the bytes written (> 0), or -EINVAL for a short buffer or a value that the
 * peer's decoder would reject. Decoders return 0, -EBADMSG for malformed input, or -EINVAL
 * for NULL arguments. */

/* Big-endian 64-bit fields of the handshake's bodies. */
void wire_put_be64(uint8_t b[8], uint64_t v);
uint64_t wire_get_be64(const uint8_t b[8]);

int wire_hdr_encode(const struct wire_hdr *h, uint8_t *out, size_t cap);
/* Checks the type, the index (0 in INIT and STALE) and the whole datagram's length for that type
 * (WIRE_MIN_DGRAM..WIRE_MAX_DGRAM for data, exactly WIRE_HS_*_LEN for the handshake's);
 * reads only the first WIRE_HDR_LEN bytes. */
int wire_hdr_decode(struct wire_hdr *h, const uint8_t *dgram, size_t len);

int wire_frame_encode(const struct wire_frame *f, uint8_t *out, size_t cap);
/* frame/len: the decrypted frame (frame header and what follows). Validates kind, flags and the
 * kind's length rule; a FEEDBACK payload is checked as wire_fb_decode would. On success
 * *payload points into frame just after the frame header (for FEEDBACK, at the feedback
 * header) and *payload_len is what remains (0 for PROBE). */
int wire_frame_decode(struct wire_frame *f, const uint8_t *frame, size_t len,
		      const uint8_t **payload, size_t *payload_len);

/* Writes the feedback header and n blocks (1..WIRE_FB_MAX_BLOCKS). */
int wire_fb_encode(const struct wire_fb_block *blocks, unsigned n, uint8_t *out, size_t cap);
/* payload/len: exactly the feedback header and its blocks. Returns -ENOBUFS (and writes
 * nothing) when the message holds more blocks than max; WIRE_FB_MAX_BLOCKS always suffices. */
int wire_fb_decode(const uint8_t *payload, size_t len, struct wire_fb_block *blocks,
		   unsigned max, unsigned *n);

#endif
