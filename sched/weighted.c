/* Two deliberate differences from the 2015 code: only authenticated datagrams count (it
 * counted any arrival on a local socket), and its remote-side halving loop, which never ended,
 * is the same halving as the local side here. */
#include "sched/weighted.h"

#include <errno.h>
#include <string.h>

#include "core/rng.h"
#include "sched/registry.h"

static int weighted_init(void *state, const char *args)
{
	if (args && *args)
		return -EINVAL;
	memset(state, 0, sizeof(struct weighted_state));
	return 0;
}

/* Halve the whole side so that old history fades but the relative order is kept. */
static void bump(uint32_t *count, unsigned n, unsigned i)
{
	if (++count[i] > WEIGHTED_MAX)
		for (unsigned k = 0; k < n; k++)
			count[k] /= 2;
}

static void weighted_on_recv(void *state, const struct sched_view *v, unsigned local,
			     unsigned remote)
{
	struct weighted_state *w = state;

	bump(w->local_count, v->nlocal, local);
	bump(w->remote_count, v->nremote, remote);
}

static void weighted_on_remote_new(void *state, const struct sched_view *v, unsigned remote)
{
	struct weighted_state *w = state;

	(void)v;
	w->remote_count[remote] = 0;
}

/* Draw an index below n with probability proportional to BASE + count, among mask's bits. */
static int draw(const uint32_t *count, unsigned n, uint32_t mask, struct mpt_rng *rng)
{
	uint64_t total = 0, r;

	for (unsigned i = 0; i < n; i++)
		if (mask >> i & 1)
			total += WEIGHTED_BASE + count[i];
	if (total == 0)
		return -1;
	r = rng_below(rng, total);
	for (unsigned i = 0; i < n; i++) {
		if (!(mask >> i & 1))
			continue;
		if (r < WEIGHTED_BASE + count[i])
			return (int)i;
		r -= WEIGHTED_BASE + count[i];
	}
	return -1;
}

/* The remote addresses that have answered on some path (or, configured, may still): a learnt
 * address carries data only once it has (the engine's path validation). All of them when none
 * has, as the 2015 tool drew among all. */
static uint32_t answered_remotes(const struct sched_view *v)
{
	uint32_t mask = 0;

	for (unsigned j = 0; j < v->nremote; j++)
		for (unsigned i = 0; i < v->nlocal; i++) {
			const struct mpt_path *p = &v->paths[path_index(i, j)];

			if (p->up || p->fb_count) {
				mask |= 1u << j;
				break;
			}
		}
	return mask ? mask : (uint32_t)((1ull << v->nremote) - 1);
}

static int weighted_pick(void *state, const struct sched_view *v, uint16_t *out, int max)
{
	struct weighted_state *w = state;
	int local, remote;

	if (max < 1 || v->nremote == 0)
		return 0;
	local = draw(w->local_count, v->nlocal, v->writable_mask, v->rng);
	if (local < 0)
		return 0;
	remote = v->nremote == 1 ? 0 :
		 draw(w->remote_count, v->nremote, answered_remotes(v), v->rng);
	out[0] = (uint16_t)path_index((unsigned)local, (unsigned)remote);
	return 1;
}

/* Local and remote are drawn independently: a path's weight is the product of theirs. */
static double weighted_weight(const void *state, const struct sched_view *v, unsigned path)
{
	const struct weighted_state *w = state;
	const struct mpt_path *p = &v->paths[path];

	if (!sched_writable(v, p->local))
		return 0.0;
	return (double)(WEIGHTED_BASE + w->local_count[p->local]) *
	       (double)(WEIGHTED_BASE + w->remote_count[p->remote]);
}

const struct mpt_sched_ops sched_weighted = {
	.name = "weighted",
	.summary = "the 2015 original: random draw weighted by datagrams received per address",
	.state_size = sizeof(struct weighted_state),
	.init = weighted_init,
	.pick = weighted_pick,
	.weight = weighted_weight,
	.on_recv = weighted_on_recv,
	.on_remote_new = weighted_on_remote_new,
};
