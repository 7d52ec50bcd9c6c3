/* roundrobin: every live, writable path in turn. When none is live (at start, or every path
 * down at once) it cycles over all writable paths, so traffic itself can find one that works. */
#include <errno.h>
#include <string.h>

#include "sched/registry.h"

struct roundrobin_state {
	unsigned next;
};

static int roundrobin_init(void *state, const char *args)
{
	if (args && *args)
		return -EINVAL;
	memset(state, 0, sizeof(struct roundrobin_state));
	return 0;
}

int roundrobin_next(const struct sched_view *v, unsigned *cursor)
{
	unsigned n = v->nlocal * v->nremote;

	for (int want_up = 1; want_up >= 0; want_up--) {
		for (unsigned k = 0; k < n; k++) {
			unsigned slot = (*cursor + k) % n;
			unsigned local = slot / v->nremote, remote = slot % v->nremote;
			unsigned pidx = path_index(local, remote);

			if (!sched_writable(v, local) || (want_up && !v->paths[pidx].up))
				continue;
			*cursor = slot + 1;
			return (int)pidx;
		}
	}
	return -1;
}

static int roundrobin_pick(void *state, const struct sched_view *v, uint16_t *out, int max)
{
	struct roundrobin_state *rr = state;
	int pidx;

	if (max < 1 || (pidx = roundrobin_next(v, &rr->next)) < 0)
		return 0;
	out[0] = (uint16_t)pidx;
	return 1;
}

static double roundrobin_weight(const void *state, const struct sched_view *v, unsigned path)
{
	(void)state;
	return v->paths[path].up && sched_writable(v, v->paths[path].local) ? 1.0 : 0.0;
}

const struct mpt_sched_ops sched_roundrobin = {
	.name = "roundrobin",
	.summary = "every live path in turn, one packet each",
	.state_size = sizeof(struct roundrobin_state),
	.init = roundrobin_init,
	.pick = roundrobin_pick,
	.weight = roundrobin_weight,
};
