#!/usr/bin/env bash
# Builds the libFuzzer target with clang (-fsanitize=fuzzer,address) against the
# protobuf code generated in the CMake build dir, then runs it for FUZZ_SECONDS (default 20).
#   tests/fuzz/run.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
OUT=$BUILD/fuzz
mkdir -p "$OUT/corpus"
CXX=${FUZZ_CXX:-clang++}
# UBSan is left out: clang 14 fails on coroutines with it ("Cannot represent a difference across
# sections").
FLAGS="-std=c++20 -O1 -g -fsanitize=fuzzer,address"
INCLUDES="-I. -I$BUILD/protocol"
if [ ! -x "$OUT/fuzz_decode_replay" ] || [ -n "$(find protocol worker/sdk tests/fuzz -newer "$OUT/fuzz_decode_replay" -name '*.*pp' | head -1)" ]; then
  objs=()
  for src in "$BUILD"/protocol/chronicle/v1/*.pb.cc protocol/codec.cpp protocol/task_token.cpp protocol/messages.cpp worker/sdk/*.cpp; do
    obj="$OUT/$(echo "$src" | tr '/' '_').o"
    $CXX ${FLAGS/fuzzer,/fuzzer-no-link,} $INCLUDES -c "$src" -o "$obj" &
    objs+=("$obj")
    if [ "$(jobs -r | wc -l)" -ge "${FUZZ_JOBS:-2}" ]; then wait -n; fi
  done
  wait
  $CXX $FLAGS $INCLUDES tests/fuzz/fuzz_decode_replay.cpp "${objs[@]}" -lprotobuf -lcaf_core -o "$OUT/fuzz_decode_replay"
fi
# Seed corpus: a real Greeting-like workflow task, so the fuzzer starts from valid histories; and
# histories exported by the CLI and the HTTP API (the replayer's loaders).
cp tests/unit/sdk/fixtures/*.json "$OUT/corpus/"
"$OUT/fuzz_decode_replay" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 "$OUT/corpus" 2>&1 | tail -15
