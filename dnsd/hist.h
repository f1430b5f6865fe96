/* SPDX-License-Identifier: Apache-2.0 */
/* A fixed-bucket latency histogram in microseconds (log-linear: exact below 64 µs, then 16
 * buckets per power of two, so a quantile is off by at most 1/16). Pure, unit-tested. */
#ifndef CW_DNSD_HIST_H
#define CW_DNSD_HIST_H

#include <stdint.h>

#define HIST_LINEAR 64
#define HIST_SUB 16
/* Powers of two above the linear part: up to 2^32 µs (71 minutes); larger values are clamped
 * into the last bucket (max keeps the exact value). */
#define HIST_OCTAVES 26
#define HIST_BUCKETS (HIST_LINEAR + HIST_OCTAVES * HIST_SUB)

struct hist {
	uint64_t n;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t us);
/* The smallest bucket upper bound v such that at least q_permille/1000 of the values are <= v,
 * capped at the maximum seen; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, unsigned int q_permille);

#endif
