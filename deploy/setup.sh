#!/usr/bin/env bash
# Installs the Debian packages Chronicle needs (only those missing) and builds it with CMake
# (Release, out of tree in build/). Safe to run again.
#   CHRONICLE_TARGETS="chronicle-node chronicle"  build only these targets (default: everything)
#   CHRONICLE_SKIP_BUILD=1                         packages only
#   CHRONICLE_JOBS=N                               parallel compile jobs (default: nproc)
# Compiles go through ccache when it is installed (a second build of the same sources is quick).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  ccache                     # compiler cache (CMAKE_CXX_COMPILER_LAUNCHER below)
  libcaf-dev libssl-dev librocksdb-dev libraft-dev   # libraft: consensus (storage/raft)
  libgoogle-perftools-dev    # tcmalloc for the node and the workers (CMakeLists.txt)
  libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler
  doctest-dev libyaml-cpp-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  clang libclang-rt-14-dev   # the libFuzzer target (tests/fuzz)
  openssl                    # certificates in the TLS test
  spin                       # the replication model (tests/spin)
  chromium                   # the web UI test renders the pages headless (tests/http)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ "${CHRONICLE_SKIP_BUILD:-0}" != "1" ]; then
  jobs="${CHRONICLE_JOBS:-$(nproc)}"
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # Paths relative to the source tree in the cache keys: another clone of the repository hits too.
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  fi
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
  targets=()
  for t in ${CHRONICLE_TARGETS:-}; do targets+=(--target "$t"); done
  cmake --build build -j "$jobs" "${targets[@]}"
fi
