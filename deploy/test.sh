#!/usr/bin/env bash
# Sets up (Debian packages, Release build in build/) and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
cd build
ctest --output-on-failure -j "${CHRONICLE_TEST_JOBS:-2}" "$@"
