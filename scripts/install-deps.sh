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
# bench/dns (bench/README.md): dnsperf, the load generator, and nftables for the dnsmasq --nftset
# baseline it is compared with; bench/datapath: nftables again for its allowlist-set baseline.
apt-get install -y -qq --no-install-recommends dnsperf nftables >/dev/null
# The GitHub Action (action/): sudo and visudo for sudo-lockdown and its lab test; node for its
# scripts and `node --test` (Debian's nodejs, only when no node is installed: runners bring one).
apt-get install -y -qq --no-install-recommends sudo >/dev/null
if ! command -v node >/dev/null 2>&1; then
	apt-get install -y -qq --no-install-recommends nodejs >/dev/null
fi
