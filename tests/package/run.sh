#!/usr/bin/env bash
# Installs Chronicle from the build dir into a temp prefix, builds the sample worker out of tree
# against the installed package (find_package(Chronicle)), and runs it; and a test of workflow code
# in the time-skipping environment (Chronicle::testing).
#   tests/package/run.sh <build-dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(cd "${1:-build}" && pwd)
WORK=$(mktemp -d /tmp/chronicle-package.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
cmake -S tests/package/consumer -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCHRONICLE_SAMPLE="$WORK/prefix/share/chronicle/samples/greeting_worker.cpp" > "$WORK/configure.log"
cmake --build "$WORK/build" -j "${CHRONICLE_JOBS:-2}" > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
"$WORK/build/my-greeting-worker" --help | head -3
"$WORK/prefix/bin/chronicle" --help | head -2
"$WORK/build/my-workflow-test"
echo "package test: built and ran a worker against the installed Chronicle package"
