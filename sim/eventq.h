/* eventq: the simulator's event queue, a binary heap ordered by (time, insertion sequence), so
 * that events at the same time run in the order they were scheduled and every run is
 * deterministic. eventq_new allocates, eventq_free frees; the heap grows by doubling, so a push
 * allocates only when the queue reaches a new high-water mark. Push and pop run per event. */
#ifndef MPT_EVENTQ_H
#define MPT_EVENTQ_H

#include <stddef.h>
#include <stdint.h>

struct event {
	uint64_t time_ns;
	uint64_t seq;
	int type;		/* opaque to the queue */
	void *ptr;
	uint64_t arg;
};

struct eventq;

struct eventq *eventq_new(void);
void eventq_free(struct eventq *q);
/* 0 or -ENOMEM. */
int eventq_push(struct eventq *q, uint64_t time_ns, int type, void *ptr, uint64_t arg);
/* 1 with the earliest event in *out, 0 when empty. */
int eventq_pop(struct eventq *q, struct event *out);
/* 1 with the earliest time in *t, 0 when empty. */
int eventq_peek_time(const struct eventq *q, uint64_t *t);
size_t eventq_len(const struct eventq *q);

#endif
