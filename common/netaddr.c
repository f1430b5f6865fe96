// SPDX-License-Identifier: Apache-2.0
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int netaddr_parse_upstream(const char *in, struct in_addr *addr, uint16_t *port, const char **why)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(in, ':');
	size_t hl = colon ? (size_t)(colon - in) : strlen(in);
	unsigned long v = 53;
	uint32_t a;

	*why = "must be IPV4[:PORT]";
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, in, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1)
		return -EINVAL;
	if (colon) {
		char *end;

		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end || errno || v < 1 || v > 65535) {
			*why = "port must be a number from 1 to 65535";
			return -EINVAL;
		}
	}
	a = ntohl(addr->s_addr);
	if ((a >> 24) == 0 || (a >> 24) == 127 || a == INADDR_BROADCAST || IN_MULTICAST(a)) {
		*why = "not a remote resolver's address (unspecified, loopback, broadcast or "
		       "multicast)";
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}
