#!/usr/bin/env bash
# A/B of replication_factor 1 vs 3 on a 3-node cluster on this machine (issue 16 throughput
# figures). Both clusters run side by side (idle one waits), cells alternate RF=1, RF=3 in the same
# minutes: one-activity, durability fsync, C in $AB_CONCURRENCY, $AB_ROUNDS rounds. Clients and the
# bench's worker on node1, as in run.sh's 3-node cell. Prints one JSON line per cell to stdout and a
# summary (median per RF and C, ratio RF3/RF1) at the end.
#   BUILD_DIR [<repo>/build]  AB_ROUNDS [4]  AB_CONCURRENCY ["64 1"]  AB_W64 [2000]  AB_W1 [300]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
rounds="${AB_ROUNDS:-4}"
concurrency="${AB_CONCURRENCY:-64 1}"
bench="$build/bin/chronicle-bench"
root="$(mktemp -d "${TMPDIR:-/tmp}/chronicle-rf-ab-XXXXXX")"
declare -A base
base[1]=$((20000 + RANDOM % 10000)); base[3]=$((base[1] + 10))
for rf in 1 3; do
  mkdir -p "$root/rf$rf/conf"
  for i in 1 2 3; do
    {
      echo "node:"; echo "  name: node$i"; echo "  host: 127.0.0.1"; echo "  port: $((base[$rf] + i))"
      echo "data_dir: $root/rf$rf/data/node$i"; echo "num_shards: 16"; echo "durability: fsync"
      echo "replication_factor: $rf"; echo "log_level: warn"; echo "members:"
      for j in 1 2 3; do echo "  - name: node$j"; echo "    address: 127.0.0.1:$((base[$rf] + j))"; done
    } > "$root/rf$rf/conf/node$i.yaml"
  done
  CHRONICLE_CLUSTER_CONF="$root/rf$rf/conf" CHRONICLE_CLUSTER_RUN="$root/rf$rf/run" \
    CHRONICLE_BIN="$build/bin" "$repo/deploy/cluster.sh" start >&2
done
cleanup() {
  for rf in 1 3; do
    CHRONICLE_CLUSTER_CONF="$root/rf$rf/conf" CHRONICLE_CLUSTER_RUN="$root/rf$rf/run" \
      CHRONICLE_BIN="$build/bin" "$repo/deploy/cluster.sh" stop >&2 || true
  done
  [[ -n "${AB_KEEP:-}" ]] || rm -rf "$root"
}
trap cleanup EXIT
sleep 5  # members connect, RF=3 groups elect their leaders
# CPU ticks (user + system) of one cluster's three nodes, to print the whole cluster's CPU per
# workflow beside the bench's node1-only figure: on one machine RF=3's ceiling is set by it.
cluster_ticks() {
  local t=0 i f
  for i in 1 2 3; do
    f=($(sed 's/.*) //' "/proc/$(cat "$root/rf$1/run/node$i.pid")/stat"))
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)
results="$root/results"
for r in $(seq 1 "$rounds"); do
  for c in $concurrency; do
    w=${AB_W64:-2000}; [[ $c == 1 ]] && w=${AB_W1:-300}
    order="1 3"; (( r % 2 == 0 )) && order="3 1"   # alternate who goes first
    for rf in $order; do
      t0=$(cluster_ticks "$rf")
      line="$("$bench" --address "127.0.0.1:$((base[$rf] + 1))" \
        --node-pid "$(cat "$root/rf$rf/run/node1.pid")" --shape one-activity --workflows "$w" \
        --concurrency "$c" --durability fsync --warmup 20 2>/dev/null || true)"
      t1=$(cluster_ticks "$rf")
      cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$w" 'BEGIN {printf "%.3f", d * 1000 / hz / w}')
      echo "{\"round\":$r,\"rf\":$rf,\"c\":$c,\"cluster_cpu_ms_per_wf\":$cpu,\"result\":${line:-null}}"
      echo "$rf $c {\"cluster_cpu_ms_per_wf\":$cpu,${line#\{}" >> "$results"
    done
  done
done
echo "--- summary (median over rounds) ---"
for c in $concurrency; do
  for rf in 1 3; do
    for k in workflows_per_s p50 p99 cluster_cpu_ms_per_wf; do
      v=$(grep "^$rf $c " "$results" | grep -o "\"$k\":[^,}]*" | cut -d: -f2 | sort -g \
        | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}')
      printf 'RF=%s C=%s %s=%s  ' "$rf" "$c" "$k" "$v"
    done
    echo
  done
done
