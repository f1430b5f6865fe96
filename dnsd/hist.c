// SPDX-License-Identifier: Apache-2.0
#include "hist.h"

static unsigned int bucket_of(uint64_t us)
{
	unsigned int e, idx;

	if (us < HIST_LINEAR)
		return (unsigned int)us;
	e = 63 - (unsigned int)__builtin_clzll(us); /* >= 6 */
	idx = HIST_LINEAR + (e - 6) * HIST_SUB + (unsigned int)((us >> (e - 4)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The largest value that falls into bucket i. */
static uint64_t bucket_top(unsigned int i)
{
	unsigned int e, sub;

	if (i < HIST_LINEAR)
		return i;
	e = (i - HIST_LINEAR) / HIST_SUB + 6;
	sub = (i - HIST_LINEAR) % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub + 1) << (e - 4)) - 1;
}

void hist_add(struct hist *h, uint64_t us)
{
	h->b[bucket_of(us)]++;
	h->n++;
	if (us > h->max)
		h->max = us;
}

uint64_t hist_quantile(const struct hist *h, unsigned int q_permille)
{
	uint64_t want, seen = 0;
	unsigned int i;

	if (!h->n)
		return 0;
	/* ceil(n * q / 1000), at least 1 */
	want = (h->n * q_permille + 999) / 1000;
	if (!want)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			/* the last bucket also holds the clamped values: its bound is the max */
			uint64_t top = i < HIST_BUCKETS - 1 ? bucket_top(i) : h->max;

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
