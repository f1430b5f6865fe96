/* SPDX-License-Identifier: Apache-2.0 */
/* Big zeroed tables (learned.c, cache.c) straight from mmap: a page is resident only once a slot
 * on it is written. calloc() may carve such a table from freed heap memory and clear it, which
 * makes every page resident at once (issue 6: resident memory after start and under load). */
#ifndef CW_DNSD_ZMAP_H
#define CW_DNSD_ZMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* n elements of size bytes, zeroed; NULL when empty, on overflow or when the kernel refuses. */
static inline void *zmap(size_t n, size_t size)
{
	void *p;

	if (!n || !size || n > SIZE_MAX / size)
		return NULL;
	p = mmap(NULL, n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* What zmap(n, size) returned (NULL: nothing). */
static inline void zunmap(void *p, size_t n, size_t size)
{
	if (p)
		munmap(p, n * size);
}

#endif
