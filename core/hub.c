/* The hub's tables: peers by slot, their identities in an open-addressed table rebuilt on
 * removal (rare), the owner of each of the 65536 indexes, and a ring of recently opened INITs. */
#include "core/hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/bucket.h"
#include "core/rng.h"
#include "core/session.h"
#include "core/wire.h"

#define ID_SLOTS (2 * HUB_MAX_PEERS)	/* a power of two, at most half full */
#define NO_PEER 0xffff

struct hub_peer {
	struct mpt_engine *engine;	/* NULL: a free slot */
	uint8_t id[SESSION_ID_LEN];
};

struct id_cached {
	uint8_t mac1[SESSION_MAC1_LEN];
	uint16_t slot;			/* NO_PEER: empty */
};

struct mpt_hub {
	uint8_t sk[32], pk[SESSION_PUB_LEN];
	uint8_t mac1_key[32];
	struct mpt_rng rng;
	struct bucket dh;
	struct hub_stats stats;
	struct hub_peer peers[HUB_MAX_PEERS];
	uint16_t by_id[ID_SLOTS];	/* slots by identity, NO_PEER where empty */
	uint16_t owner[65536];		/* the slot an index was last handed to, NO_PEER: none */
	struct id_cached cache[HUB_ID_CACHE];
	unsigned cache_next;
};

static unsigned id_home(const uint8_t id[SESSION_ID_LEN])
{
	/* the identity is a keyed hash already: its first bytes are as good as any hash */
	return ((unsigned)id[0] | (unsigned)id[1] << 8) & (ID_SLOTS - 1);
}

static void id_insert(struct mpt_hub *h, unsigned slot)
{
	unsigned k = id_home(h->peers[slot].id);

	while (h->by_id[k] != NO_PEER)
		k = (k + 1) & (ID_SLOTS - 1);
	h->by_id[k] = (uint16_t)slot;
}

static int id_lookup(const struct mpt_hub *h, const uint8_t id[SESSION_ID_LEN])
{
	for (unsigned k = id_home(id); h->by_id[k] != NO_PEER; k = (k + 1) & (ID_SLOTS - 1)) {
		const struct hub_peer *p = &h->peers[h->by_id[k]];

		if (sodium_memcmp(p->id, id, SESSION_ID_LEN) == 0)
			return h->by_id[k];
	}
	return -ENOENT;
}

struct mpt_hub *hub_new(const uint8_t sk[32], uint64_t seed, int *err)
{
	struct mpt_hub *h = calloc(1, sizeof(*h));

	if (!h) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(h->sk, sk, sizeof(h->sk));
	if (session_hub_public(h->sk, h->pk) < 0) {
		hub_free(h);
		*err = -EINVAL;
		return NULL;
	}
	session_mac1_key(h->pk, h->mac1_key);
	rng_seed(&h->rng, seed);
	h->dh.tokens = HUB_DH_BURST;
	memset(h->by_id, 0xff, sizeof(h->by_id));
	memset(h->owner, 0xff, sizeof(h->owner));
	for (unsigned i = 0; i < HUB_ID_CACHE; i++)
		h->cache[i].slot = NO_PEER;
	return h;
}

void hub_free(struct mpt_hub *h)
{
	if (!h)
		return;
	sodium_memzero(h, sizeof(*h));
	free(h);
}

const uint8_t *hub_public(const struct mpt_hub *h)
{
	return h->pk;
}

int hub_add_peer(struct mpt_hub *h, const uint8_t master[AEAD_KEY_LEN], struct mpt_engine *e)
{
	uint8_t id[SESSION_ID_LEN];
	int slot = -ENOSPC;

	session_peer_id(master, id);
	if (id_lookup(h, id) >= 0)
		return -EEXIST;
	for (unsigned i = 0; i < HUB_MAX_PEERS; i++)
		if (!h->peers[i].engine) {
			slot = (int)i;
			break;
		}
	if (slot < 0)
		return slot;
	h->peers[slot].engine = e;
	memcpy(h->peers[slot].id, id, sizeof(id));
	id_insert(h, (unsigned)slot);
	return slot;
}

void hub_remove_peer(struct mpt_hub *h, unsigned slot)
{
	if (slot >= HUB_MAX_PEERS || !h->peers[slot].engine)
		return;
	sodium_memzero(&h->peers[slot], sizeof(h->peers[slot]));
	memset(h->by_id, 0xff, sizeof(h->by_id));
	for (unsigned i = 0; i < HUB_MAX_PEERS; i++)
		if (h->peers[i].engine)
			id_insert(h, i);
	for (unsigned i = 0; i < 65536; i++)
		if (h->owner[i] == slot)
			h->owner[i] = NO_PEER;
	for (unsigned i = 0; i < HUB_ID_CACHE; i++)
		if (h->cache[i].slot == slot)
			h->cache[i].slot = NO_PEER;
}

struct mpt_engine *hub_engine(const struct mpt_hub *h, unsigned slot)
{
	return slot < HUB_MAX_PEERS ? h->peers[slot].engine : NULL;
}

uint16_t hub_new_index(struct mpt_hub *h, unsigned slot)
{
	for (;;) {
		uint16_t i = (uint16_t)rng_next(&h->rng);
		uint16_t o = h->owner[i];

		/* an index is free when no live session of its last owner still holds it */
		if (i == 0 || (o != NO_PEER && h->peers[o].engine &&
			       engine_has_index(h->peers[o].engine, i)))
			continue;
		h->owner[i] = (uint16_t)slot;
		return i;
	}
}

/* An INIT's peer: from the cache by its mac1, or by opening its identity (rationed). */
static int route_init(struct mpt_hub *h, const uint8_t *dgram, size_t len, uint64_t now)
{
	const uint8_t *m1 = dgram + SESSION_INIT_MAC1_OFF;
	uint8_t id[SESSION_ID_LEN];
	struct id_cached *c;
	int slot;

	if (!session_init_mac1_ok(h->mac1_key, dgram, len)) {
		h->stats.drop_mac1++;
		return -EBADMSG;
	}
	for (unsigned i = 0; i < HUB_ID_CACHE; i++)
		if (h->cache[i].slot != NO_PEER &&
		    !memcmp(h->cache[i].mac1, m1, SESSION_MAC1_LEN)) {
			h->stats.id_cached++;
			return h->cache[i].slot;
		}
	if (!bucket_take(&h->dh, now, HUB_DH_REFILL_NS, HUB_DH_BURST)) {
		h->stats.drop_rate_limited++;
		return -EBUSY;
	}
	h->stats.id_opened++;
	if (session_init_open_id(h->sk, h->pk, dgram, len, id) < 0) {
		h->stats.drop_bad_id++;
		return -EBADMSG;
	}
	slot = id_lookup(h, id);
	sodium_memzero(id, sizeof(id));
	if (slot < 0) {
		h->stats.drop_unknown_peer++;
		return slot;
	}
	c = &h->cache[h->cache_next];
	h->cache_next = (h->cache_next + 1) % HUB_ID_CACHE;
	memcpy(c->mac1, m1, SESSION_MAC1_LEN);
	c->slot = (uint16_t)slot;
	return slot;
}

int hub_route(struct mpt_hub *h, const uint8_t *dgram, size_t len, uint64_t now)
{
	struct wire_hdr hdr;

	if (wire_hdr_decode(&hdr, dgram, len) < 0) {
		h->stats.drop_malformed++;
		return -EBADMSG;
	}
	switch (hdr.type) {
	case WIRE_TYPE_DATA:
		if (h->owner[hdr.index] == NO_PEER) {
			h->stats.drop_unknown_index++;
			return -ENOENT;
		}
		return h->owner[hdr.index];
	case WIRE_TYPE_HS_INIT:
		return route_init(h, dgram, len, now);
	default:
		h->stats.drop_malformed++;	/* RESP and STALE go to clients */
		return -EBADMSG;
	}
}

const struct hub_stats *hub_stats(const struct mpt_hub *h)
{
	return &h->stats;
}
