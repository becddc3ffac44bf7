#!/usr/bin/env bash
# The README's test command: install what is missing, build twice (unit tests under ASan/UBSan,
# system tests and benchmarks-as-smoke in a release build), run every test with ctest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
jobs=$(nproc)

cmake -S . -B build-asan -DOPML_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

status=0
echo "== unit tests (ASan/UBSan) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs" || status=1
echo "== system tests (release build, real processes) =="
# Most system tests wait on anvil's 1 s blocks rather than compute, so one more at a time than
# there are cores keeps the machine busy (each test picks its own ports and temporary folder).
ctest --test-dir build -LE unit --output-on-failure -j"$((jobs + 1))" || status=1
exit $status
