#!/usr/bin/env bash
# A/B of replication_factor 1 vs 3 on a 3-node cluster on this machine (issue 16 throughput
# figures). Both clusters run side by side (idle one waits), cells alternate RF=1, RF=3 in the same
# minutes: one-activity, durability fsync, C in $AB_CONCURRENCY, $AB_ROUNDS rounds. Clients and the
# bench's worker on node1, as in run.sh's 3-node cell. Prints one JSON line per cell to stdout and a
# summary (median per RF and C, ratio RF3/RF1) at the end.
#   BUILD_DIR [<repo>/build]  AB_ROUNDS [4]  AB_CONCURRENCY ["64 1"]  AB_W64 [2000]  AB_W1 [300]
#   AB_CLUSTERS ["1 3"]: the clusters, each LABEL or LABEL=RF[,VAR=VALUE...] (a label alone is its
#   RF); VAR=VALUE go to that cluster's nodes' environment when VAR is upper case, into their
#   config files as "var: value" when it is lower case; e.g. A/B of replica settings:
#   AB_CLUSTERS="1 3 3j=3,CHRONICLE_RAFT_JOIN_BYTES=0 3s=3,raft_snapshot_entries=1024".
#   CHRONICLE_BIN=DIR runs that cluster's nodes from another build's binaries (A/B of code).
#   Cells run in a rotating order each round.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
rounds="${AB_ROUNDS:-4}"
concurrency="${AB_CONCURRENCY:-64 1}"
bench="$build/bin/chronicle-bench"
root="$(mktemp -d "${TMPDIR:-/tmp}/chronicle-rf-ab-XXXXXX")"
clusters=()
declare -A base rf_of env_of
port=$((20000 + RANDOM % 10000))
for spec in ${AB_CLUSTERS:-1 3}; do
  label=${spec%%=*}; rest=${spec#*=}; [[ $rest == "$spec" ]] && rest=$label
  clusters+=("$label"); rf_of[$label]=${rest%%,*}; env_of[$label]=""
  [[ $rest == *,* ]] && env_of[$label]=${rest#*,}
  base[$label]=$port; port=$((port + 10))
done
for c in "${clusters[@]}"; do
  rf=${rf_of[$c]}
  mkdir -p "$root/rf$c/conf"
  for i in 1 2 3; do
    {
      echo "node:"; echo "  name: node$i"; echo "  host: 127.0.0.1"; echo "  port: $((base[$c] + i))"
      echo "data_dir: $root/rf$c/data/node$i"; echo "num_shards: 16"; echo "durability: fsync"
      echo "replication_factor: $rf"; echo "log_level: warn"; echo "http_port: $((base[$c] + 3 + i))"
      echo "members:"
      for j in 1 2 3; do echo "  - name: node$j"; echo "    address: 127.0.0.1:$((base[$c] + j))"; done
      IFS=, read -ra kvs <<< "${env_of[$c]}"
      for kv in "${kvs[@]}"; do [[ ${kv%%=*} =~ ^[a-z_]+$ ]] && echo "${kv%%=*}: ${kv#*=}" || true; done
    } > "$root/rf$c/conf/node$i.yaml"
  done
  ( IFS=,; for kv in ${env_of[$c]}; do [[ ${kv%%=*} =~ ^[A-Z_]+$ ]] && export "$kv"; done
    CHRONICLE_CLUSTER_CONF="$root/rf$c/conf" CHRONICLE_CLUSTER_RUN="$root/rf$c/run" \
      CHRONICLE_BIN="${CHRONICLE_BIN:-$build/bin}" "$repo/deploy/cluster.sh" start >&2 )
done
cleanup() {
  for rf in "${clusters[@]}"; do
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
    n=${#clusters[@]}; order=()
    for ((k = 0; k < n; k++)); do order+=("${clusters[$(((k + r - 1) % n))]}"); done
    for rf in "${order[@]}"; do
      t0=$(cluster_ticks "$rf")
      line="$("$bench" --address "127.0.0.1:$((base[$rf] + 1))" \
        --node-pid "$(cat "$root/rf$rf/run/node1.pid")" --shape one-activity --workflows "$w" \
        --concurrency "$c" --durability fsync --warmup 20 2>/dev/null || true)"
      t1=$(cluster_ticks "$rf")
      cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$w" 'BEGIN {printf "%.3f", d * 1000 / hz / w}')
      echo "{\"round\":$r,\"rf\":\"$rf\",\"c\":$c,\"cluster_cpu_ms_per_wf\":$cpu,\"result\":${line:-null}}"
      echo "$rf $c {\"cluster_cpu_ms_per_wf\":$cpu,${line#\{}" >> "$results"
    done
  done
done
echo "--- summary (median over rounds) ---"
for c in $concurrency; do
  for rf in "${clusters[@]}"; do
    for k in workflows_per_s p50 p99 cluster_cpu_ms_per_wf; do
      v=$(grep "^$rf $c " "$results" | grep -o "\"$k\":[^,}]*" | cut -d: -f2 | sort -g \
        | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}')
      printf 'RF=%s C=%s %s=%s  ' "$rf" "$c" "$k" "$v"
    done
    echo
  done
done
# Transitions per raft entry (queued transitions are proposed as one entry), and Raft messages
# per CAF message (the raft outbox joins the messages to one peer), from /metrics.
if command -v curl > /dev/null; then
  for c in "${clusters[@]}"; do
    total=$(grep "^$c " "$results" | grep -o '"completed":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s + 0}')
    w=0; y=0
    for i in 1 2 3; do
      m="$(curl -s "http://127.0.0.1:$((base[$c] + 3 + i))/metrics" || true)"
      w=$((w + $(awk '/^chronicle_rocksdb_writes_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      y=$((y + $(awk '/^chronicle_rocksdb_synced_writes_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
    done
    awk -v c="$c" -v w="$w" -v y="$y" -v n="$total" 'BEGIN {printf "RF=%s cluster RocksDB writes %d, synced %d (%.2f synced per workflow)\n", c, w, y, n ? y / n : 0}'
    [[ ${rf_of[$c]} == 1 ]] && continue
    e=0; t=0; rm=0; rs=0; ao=0; aw=0
    for i in 1 2 3; do
      m="$(curl -s "http://127.0.0.1:$((base[$c] + 3 + i))/metrics" || true)"
      ao=$((ao + $(awk '/^chronicle_raft_apply_ops_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      aw=$((aw + $(awk '/^chronicle_raft_apply_ops_written_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      e=$((e + $(awk '/^chronicle_raft_entries_proposed_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      t=$((t + $(awk '/^chronicle_raft_transitions_proposed_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      rm=$((rm + $(awk '/^chronicle_raft_messages_sent_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
      rs=$((rs + $(awk '/^chronicle_raft_sends_total/ {s += $2} END {printf "%d", s}' <<< "$m")))
    done
    awk -v c="$c" -v e="$e" -v t="$t" 'BEGIN {printf "RF=%s raft entries %d, transitions %d (%.2f per entry)\n", c, e, t, e ? t / e : 0}'
    awk -v c="$c" -v m="$rm" -v s="$rs" 'BEGIN {printf "RF=%s raft messages %d in %d sends (%.2f per send)\n", c, m, s, s ? m / s : 0}'
    awk -v c="$c" -v o="$ao" -v w="$aw" -v n="$total" 'BEGIN {printf "RF=%s applies: %d operations in the entries, %d written (%.2f; %.1f written per workflow, all replicas)\n", c, o, w, o ? w / o : 0, n ? w / n : 0}'
  done
fi
