#include "sim/eventq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct eventq {
	struct event *heap;
	size_t len, cap;
	uint64_t next_seq;
};

struct eventq *eventq_new(void)
{
	return calloc(1, sizeof(struct eventq));
}

void eventq_free(struct eventq *q)
{
	if (!q)
		return;
	free(q->heap);
	free(q);
}

static bool before(const struct event *a, const struct event *b)
{
	return a->time_ns < b->time_ns || (a->time_ns == b->time_ns && a->seq < b->seq);
}

int eventq_push(struct eventq *q, uint64_t time_ns, int type, void *ptr, uint64_t arg)
{
	struct event e = { .time_ns = time_ns, .seq = q->next_seq++, .type = type,
			   .ptr = ptr, .arg = arg };
	size_t i;

	if (q->len == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 1024;
		struct event *h = realloc(q->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		q->heap = h;
		q->cap = cap;
	}
	/* Sift up, moving parents down into the hole rather than swapping. */
	for (i = q->len++; i > 0; ) {
		size_t parent = (i - 1) / 2;

		if (!before(&e, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = e;
	return 0;
}

int eventq_pop(struct eventq *q, struct event *out)
{
	struct event last;
	size_t i = 0;

	if (q->len == 0)
		return 0;
	*out = q->heap[0];
	last = q->heap[--q->len];
	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= q->len)
			break;
		if (child + 1 < q->len && before(&q->heap[child + 1], &q->heap[child]))
			child++;
		if (!before(&q->heap[child], &last))
			break;
		q->heap[i] = q->heap[child];
		i = child;
	}
	q->heap[i] = last;
	return 1;
}

int eventq_peek_time(const struct eventq *q, uint64_t *t)
{
	if (q->len == 0)
		return 0;
	*t = q->heap[0].time_ns;
	return 1;
}

size_t eventq_len(const struct eventq *q)
{
	return q->len;
}
