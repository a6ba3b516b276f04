#!/usr/bin/env bash
# Runs the benchmark matrix on one machine and prints markdown to stdout (progress and the raw
# JSON lines go to stderr):
#   1. fsync-limit: the disk's limit on synced RocksDB writes;
#   2. chronicle-bench --embedded for every shape x concurrency, one run at a time, each with a
#      fresh node (temp data_dir) started and stopped by the bench.
#
# Builds only what is missing (cmake --build for the bench targets and chronicle-node).
#
# Environment (defaults in brackets):
#   BUILD_DIR          build tree                                       [<repo>/build]
#   BENCH_SHAPES       shapes to run                  [one-activity ten-activities timer-100ms]
#   BENCH_CONCURRENCY  concurrency levels                               [1 16 64 256]
#   BENCH_DURABILITY   fsync | os                                       [fsync]
#   BENCH_MODES        driver[:process] per cell, run alternating at each C (process: the worker
#                      in its own process, bench-worker); drivers actor, threads, http, http-wait
#                                                [actor http http-wait http:process actor:process]
#   BENCH_SCALE_PCT    scales every W (100 = the defaults below, ~3-6 s per cell on 2 cores) [100]
#   BENCH_EXTRA_ARGS   more chronicle-bench arguments, e.g. "--num-shards 32"  []
#   FSYNC_SECONDS      seconds per fsync-limit measurement (0 skips it)  [3]
#   BENCH_CLUSTER      0 skips the 3-node cluster section (one-activity at every C)  [1]
#
# W per cell = clamp(C * per_client, min, max) with, per shape (scaled by BENCH_SCALE_PCT):
#   one-activity   min 1000  per_client 200  max 5000
#   ten-activities min  100  per_client  20  max  600
#   hundred-activities min 20 per_client   2  max  100   (not in the default shapes)
#   timer-100ms    min   30  per_client  30  max 4000
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
shapes="${BENCH_SHAPES:-one-activity ten-activities timer-100ms}"
concurrency="${BENCH_CONCURRENCY:-1 16 64 256}"
durability="${BENCH_DURABILITY:-fsync}"
scale="${BENCH_SCALE_PCT:-100}"
modes="${BENCH_MODES:-actor http http-wait http:process actor:process}"
extra="${BENCH_EXTRA_ARGS:-}"
fsync_seconds="${FSYNC_SECONDS:-3}"

bench="$build/bin/chronicle-bench"
fsync_limit="$build/bin/fsync-limit"
node="$build/bin/chronicle-node"

# --- build what is missing ----------------------------------------------------------------------
if [[ ! -x "$bench" || ! -x "$build/bin/bench-worker" || ! -x "$fsync_limit" || ! -x "$node" || ! -x "$build/bin/chronicle" ]]; then
  echo "run.sh: building chronicle-bench, fsync-limit and chronicle-node in $build" >&2
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
  fi
  cmake --build "$build" -j"$(nproc)" --target chronicle-bench bench-worker fsync-limit chronicle-node chronicle >&2
fi

# json_field LINE KEY: the value of "KEY": in a flat-enough JSON line (our own output).
json_field() {
  local v
  v="$(printf '%s' "$1" | grep -o "\"$2\":[^,}]*" | head -n1 | cut -d: -f2- | tr -d '"')"
  printf '%s' "${v:-?}"
}

# workflows SHAPE C: W for one cell.
workflows() {
  local min per max
  case "$1" in
    one-activity) min=1000 per=200 max=5000 ;;
    ten-activities) min=100 per=20 max=600 ;;
    hundred-activities) min=20 per=2 max=100 ;;
    timer-100ms) min=30 per=30 max=4000 ;;
    *) min=100 per=20 max=1000 ;;
  esac
  local w=$(($2 * per))
  ((w < min)) && w=$min
  ((w > max)) && w=$max
  w=$((w * scale / 100))
  ((w < 1)) && w=1
  echo "$w"
}

echo "# Chronicle benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r), commit" \
  "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "$( [[ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]] && echo '(with local changes)')"
echo

# --- 1. the disk's limit ------------------------------------------------------------------------
if [[ "$fsync_seconds" != 0 ]]; then
  echo "## Disk limit (fsync-limit: RocksDB WriteBatch of two small Puts)"
  echo
  echo "| sync | threads | writes/s | avg µs per write |"
  echo "|---|---:|---:|---:|"
  while IFS= read -r line; do
    echo "$line" >&2
    echo "| $(json_field "$line" sync) | $(json_field "$line" threads) |" \
      "$(json_field "$line" writes_per_s) | $(json_field "$line" avg_write_us) |"
  done < <("$fsync_limit" --seconds "$fsync_seconds" --dir "$build/fsync-tmp")
  echo
fi

# --- 2. the matrix ------------------------------------------------------------------------------
echo "## Workflows, 1 node (embedded, durability $durability)"
echo
echo "Modes: driver (actor: CAF client; http: start + long-poll result; http-wait: one"
echo "start-and-wait request) and where the worker runs (in the bench, or its own process)."
echo
echo "| shape | C | mode | workflows/s | events/s | p50 ms | p90 ms | p99 ms | max ms | node CPU s | node CPU ms/wf | node RSS MB |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
notes=()
for shape in $shapes; do
  for c in $concurrency; do
    w="$(workflows "$shape" "$c")"
    for mode in $modes; do
      driver="${mode%%:*}"
      wargs=()
      [[ "$mode" == *:process ]] && wargs=(--worker-process)
      echo "run.sh: $shape C=$c W=$w mode=$mode" >&2
      set +e
      # shellcheck disable=SC2086  # BENCH_EXTRA_ARGS is a list of words
      line="$("$bench" --embedded --shape "$shape" --workflows "$w" --concurrency "$c" \
        --durability "$durability" --driver "$driver" "${wargs[@]}" $extra)"
      rc=$?
      set -e
      echo "$line" >&2
      if [[ -z "$line" ]]; then
        echo "| $shape | $c | $mode | error (exit $rc, see stderr) | | | | | | | | |"
        notes+=("$shape C=$c $mode: chronicle-bench exited $rc without a result")
        continue
      fi
      echo "| $shape | $c | $mode | $(json_field "$line" workflows_per_s) | $(json_field "$line" events_per_s)" \
        "| $(json_field "$line" p50) | $(json_field "$line" p90) | $(json_field "$line" p99)" \
        "| $(json_field "$line" max) | $(json_field "$line" node_cpu_s)" \
        "| $(json_field "$line" node_cpu_ms_per_wf) | $(json_field "$line" node_rss_mb) |"
      failed="$(json_field "$line" failed)"
      if [[ "$failed" != 0 ]]; then
        errors="$(printf '%s' "$line" | grep -o '"errors":\[[^]]*\]' | cut -d: -f2-)"
        notes+=("$shape C=$c $mode: $failed of $w workflows failed: ${errors:-?}")
      fi
    done
  done
done
echo
# --- 3. a 3-node cluster on this machine (BENCH_CLUSTER=0 skips it) ---------------------------------
if [[ "${BENCH_CLUSTER:-1}" != 0 ]]; then
  cdir="$(mktemp -d "${TMPDIR:-/tmp}/chronicle-bench-cluster-XXXXXX")"
  base=$((20000 + RANDOM % 20000))
  for i in 1 2 3; do
    {
      echo "node:"
      echo "  name: node$i"
      echo "  host: 127.0.0.1"
      echo "  port: $((base + i))"
      echo "data_dir: $cdir/data/node$i"
      echo "num_shards: 16"
      echo "durability: $durability"
      echo "log_level: warn"
      echo "members:"
      for j in 1 2 3; do
        echo "  - name: node$j"
        echo "    address: 127.0.0.1:$((base + j))"
      done
    } > "$cdir/node$i.yaml"
  done
  export CHRONICLE_CLUSTER_CONF="$cdir" CHRONICLE_CLUSTER_RUN="$cdir/run" CHRONICLE_BIN="$build/bin"
  "$repo/deploy/cluster.sh" start >&2
  # Wait until node1 sees all three members up.
  for _ in $(seq 1 200); do
    "$build/bin/chronicle" --address "127.0.0.1:$((base + 1))" cluster status 2>/dev/null \
      | grep -c " up " | grep -q '^3$' && break
    sleep 0.1
  done
  echo "## Workflows, 3-node cluster on the same machine (durability $durability; clients and worker on node1)"
  echo
  echo "| shape | C | workflows/s | events/s | p50 ms | p90 ms | p99 ms | max ms | node1 CPU s | node1 RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in $concurrency; do
    w="$(workflows one-activity "$c")"
    echo "run.sh: 3 nodes one-activity C=$c W=$w" >&2
    set +e
    line="$("$bench" --address "127.0.0.1:$((base + 1))" --node-pid "$(cat "$cdir/run/node1.pid")" \
      --shape one-activity --workflows "$w" --concurrency "$c" --durability "$durability")"
    set -e
    echo "$line" >&2
    if [[ -z "$line" ]]; then
      echo "| one-activity | $c | error (see stderr) | | | | | | | |"
      continue
    fi
    echo "| one-activity | $c | $(json_field "$line" workflows_per_s) | $(json_field "$line" events_per_s)" \
      "| $(json_field "$line" p50) | $(json_field "$line" p90) | $(json_field "$line" p99)" \
      "| $(json_field "$line" max) | $(json_field "$line" node_cpu_s)" \
      "| $(json_field "$line" node_rss_mb) |"
  done
  "$repo/deploy/cluster.sh" stop >&2
  rm -rf "$cdir"
  echo
fi
for n in "${notes[@]}"; do echo "- $n"; done
