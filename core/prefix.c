/* prefix: longest-prefix match of inner addresses to peers (see prefix.h). One open-addressing
 * hash table keyed by (family, length, masked address), and per family the lengths present,
 * longest first: a lookup masks the address to each of those lengths in turn and probes once
 * for each. The table is at most half full, so a probe sequence stays short. */
#include "core/prefix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct prefix_entry {
	uint8_t used, family, len;
	uint16_t peer;
	uint8_t addr[16];		/* masked to len bits, the rest zero */
};

struct prefix_table {
	unsigned max, count, mask;	/* mask: slots - 1 */
	/* the lengths present, longest first: [0] IPv4, [1] IPv6 */
	uint8_t lens[2][129];
	unsigned nlens[2];
	struct prefix_entry slot[];
};

static unsigned addr_bytes(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static unsigned max_len(uint8_t family)
{
	return family == 4 ? 32 : 128;
}

static void mask_to(uint8_t out[16], const uint8_t *addr, uint8_t family, unsigned len)
{
	unsigned n = addr_bytes(family);

	memset(out, 0, 16);
	memcpy(out, addr, n);
	for (unsigned b = 0; b < n; b++) {
		if (len >= 8 * (b + 1))
			continue;
		out[b] &= len > 8 * b ? (uint8_t)(0xff << (8 - (len - 8 * b))) : 0;
	}
}

/* FNV-1a over the key: the table's content is configuration, not an attacker's choice, and
 * a lookup probes at most the chain its key lands on. */
static unsigned hash(uint8_t family, unsigned len, const uint8_t addr[16])
{
	uint32_t h = 2166136261u;

	h = (h ^ family) * 16777619u;
	h = (h ^ len) * 16777619u;
	for (unsigned b = 0; b < addr_bytes(family); b++)
		h = (h ^ addr[b]) * 16777619u;
	return h ^ (h >> 16);
}

struct prefix_table *prefix_table_new(unsigned max)
{
	struct prefix_table *t;
	unsigned slots = 2;

	if (max < 1 || max > PREFIX_MAX)
		return NULL;
	while (slots < 2 * max)
		slots *= 2;
	t = calloc(1, sizeof(*t) + (size_t)slots * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	t->max = max;
	t->mask = slots - 1;
	return t;
}

void prefix_table_free(struct prefix_table *t)
{
	free(t);
}

unsigned prefix_table_count(const struct prefix_table *t)
{
	return t->count;
}

/* The slot holding the key, or the empty slot where it would go. */
static struct prefix_entry *find(const struct prefix_table *t, uint8_t family, unsigned len,
				 const uint8_t key[16])
{
	unsigned i = hash(family, len, key) & t->mask;

	for (;;) {
		const struct prefix_entry *s = &t->slot[i];

		if (!s->used || (s->family == family && s->len == len &&
				 !memcmp(s->addr, key, addr_bytes(family))))
			return (struct prefix_entry *)s;
		i = (i + 1) & t->mask;
	}
}

int prefix_table_add(struct prefix_table *t, uint8_t family, const uint8_t *addr, unsigned len,
		     uint16_t peer)
{
	uint8_t key[16];
	struct prefix_entry *s;
	unsigned f = family == 6, k;

	if ((family != 4 && family != 6) || len > max_len(family))
		return -EINVAL;
	mask_to(key, addr, family, len);
	if (memcmp(key, addr, addr_bytes(family)))
		return -EINVAL;			/* host bits set: a typo, not a prefix */
	s = find(t, family, len, key);
	if (s->used)
		return -EEXIST;
	if (t->count == t->max)
		return -ENOSPC;
	s->used = 1;
	s->family = family;
	s->len = (uint8_t)len;
	s->peer = peer;
	memcpy(s->addr, key, sizeof(s->addr));
	t->count++;
	for (k = 0; k < t->nlens[f] && t->lens[f][k] > len; k++)
		;
	if (k == t->nlens[f] || t->lens[f][k] != len) {
		memmove(&t->lens[f][k + 1], &t->lens[f][k], t->nlens[f] - k);
		t->lens[f][k] = (uint8_t)len;
		t->nlens[f]++;
	}
	return 0;
}

int prefix_lookup(const struct prefix_table *t, uint8_t family, const uint8_t *addr)
{
	unsigned f = family == 6;
	uint8_t key[16];

	if (family != 4 && family != 6)
		return -ENOENT;
	for (unsigned k = 0; k < t->nlens[f]; k++) {
		const struct prefix_entry *s;

		mask_to(key, addr, family, t->lens[f][k]);
		s = find(t, family, t->lens[f][k], key);
		if (s->used)
			return s->peer;
	}
	return -ENOENT;
}

int prefix_route(const struct prefix_table *t, const uint8_t *pkt, size_t len, bool source)
{
	if (len >= 20 && pkt[0] >> 4 == 4)
		return prefix_lookup(t, 4, pkt + (source ? 12 : 16));
	if (len >= 40 && pkt[0] >> 4 == 6)
		return prefix_lookup(t, 6, pkt + (source ? 8 : 24));
	return -EBADMSG;
}
