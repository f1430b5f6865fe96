// SPDX-License-Identifier: Apache-2.0
/* libbpf's messages through our log: only processes that link libbpf include this file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	const char *msg;
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	/* libbpf's own lines mostly start with "libbpf: " already. */
	msg = strncmp(buf, "libbpf: ", 8) ? buf : buf + 8;
	if (level == LIBBPF_DEBUG)
		log_debug("libbpf: %s", msg);
	else
		log_warnx("libbpf: %s", msg);
	return 0;
}

void log_libbpf_init(void)
{
	libbpf_set_print(libbpf_print);
}
