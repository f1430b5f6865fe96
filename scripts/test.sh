#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Everything needed to run all tests on a fresh Debian 12 machine, as root:
# install the packages, build with warnings as errors, run the unit tests under
# ASan/UBSan, then every test (unit and network-namespace lab) on the normal build.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" -ne 0 ]; then
	echo "test.sh: run as root (packages, BPF and network namespaces need it)" >&2
	exit 1
fi
if [ "${CW_SKIP_DEPS:-0}" != 1 ]; then
	./scripts/install-deps.sh
fi
jobs=$(nproc)

echo "== build (sanitizers: ASan + UBSan) and unit tests"
cmake -S . -B build-asan -DCW_WERROR=ON -DCW_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest -L unit --output-on-failure)

echo "== build and all tests"
cmake -S . -B build -DCW_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
# Privileged lab tests must run, never skip, when we are root.
export CW_REQUIRE_PRIVILEGED=1
cd build && ctest --output-on-failure
