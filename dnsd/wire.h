/* SPDX-License-Identifier: Apache-2.0 */
/* Byte helpers shared by dnsd's wire-format files (dnsmsg.c, chain.c). */
#ifndef CW_DNSD_WIRE_H
#define CW_DNSD_WIRE_H

#include <stdint.h>

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint8_t wire_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

#endif
