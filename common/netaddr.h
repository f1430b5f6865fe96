/* SPDX-License-Identifier: Apache-2.0 */
/* Address options shared by the launcher and its children. */
#ifndef CW_COMMON_NETADDR_H
#define CW_COMMON_NETADDR_H

#include <netinet/in.h>
#include <stdint.h>

/* The DNS upstream, "a.b.c.d" or "a.b.c.d:port" (port 1-65535, 53 when absent). Refused: not
 * IPv4, the unspecified, loopback (dnsd itself listens there), broadcast and multicast
 * addresses. 0 and *addr, *port (host order), or -EINVAL with *why set to a static reason. */
int netaddr_parse_upstream(const char *in, struct in_addr *addr, uint16_t *port, const char **why);

#endif
