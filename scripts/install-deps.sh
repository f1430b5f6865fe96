#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package that the build, the tests, the lab and the demo need.
# Services are not started: dnsmasq-base ships the binary without a system service.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	build-essential cmake pkg-config clang llvm \
	libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev \
	libunbound-dev libevent-dev libjansson-dev liburcu-dev check libsubunit-dev \
	libcap-dev libseccomp-dev \
	iproute2 dnsmasq-base curl python3 dnsutils tcpdump procps passwd \
	>/dev/null
