/* registry: the one const table of path schedulers. Read-only, no allocation; the engine
 * allocates a scheduler's state_size bytes and calls its init. Adding a scheduler is a new file
 * plus one line in registry.c. */
#ifndef MPT_REGISTRY_H
#define MPT_REGISTRY_H

#include <stddef.h>

#include "core/sched.h"

extern const struct mpt_sched_ops sched_weighted;
extern const struct mpt_sched_ops sched_lossaware;
extern const struct mpt_sched_ops sched_roundrobin;
extern const struct mpt_sched_ops sched_arrival;
extern const struct mpt_sched_ops sched_ecf;

/* The daemon's scheduler when none is named (`--sched list` marks it). */
#define SCHED_DEFAULT "ecf"

extern const struct mpt_sched_ops *const sched_registry[];
extern const size_t sched_registry_len;

/* Find "NAME" or "NAME:ARGS"; *args points into spec after the colon (NULL without one).
 * Returns NULL for an unknown name. */
const struct mpt_sched_ops *sched_lookup(const char *spec, const char **args);
/* The next path in turn after *cursor: live writable paths first, any writable one when none
 * is live (so traffic can find one that works); advances *cursor. -1 when nothing is writable.
 * roundrobin is this; other schedulers use it as their last resort. */
int roundrobin_next(const struct sched_view *v, unsigned *cursor);
/* 0 when ops has a name, summary, init and pick; -EINVAL otherwise. */
int sched_ops_check(const struct mpt_sched_ops *ops);

#endif
