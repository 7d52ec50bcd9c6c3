#include "sched/registry.h"

#include <errno.h>
#include <string.h>

const struct mpt_sched_ops *const sched_registry[] = {
	&sched_weighted,
	&sched_lossaware,
	&sched_roundrobin,
	&sched_arrival,
	&sched_ecf,
};
const size_t sched_registry_len = sizeof(sched_registry) / sizeof(sched_registry[0]);

const struct mpt_sched_ops *sched_lookup(const char *spec, const char **args)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);

	for (size_t i = 0; i < sched_registry_len; i++) {
		const char *name = sched_registry[i]->name;

		if (strlen(name) == n && !strncmp(name, spec, n)) {
			if (args)
				*args = colon ? colon + 1 : NULL;
			return sched_registry[i];
		}
	}
	return NULL;
}

int sched_ops_check(const struct mpt_sched_ops *ops)
{
	if (!ops || !ops->name || !*ops->name || !ops->summary || !ops->init || !ops->pick)
		return -EINVAL;
	return 0;
}
