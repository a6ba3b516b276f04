#!/usr/bin/env bash
# A/B of node-to-node TLS on a 3-node replication_factor 3 cluster on this machine (issue 16
# item 7, docs/security.md). Two clusters run side by side (the idle one waits), one plain and one
# with `tls` (certificates made here with the openssl CLI); cells alternate plain / TLS (order
# swapped each round) in the same minutes: one-activity, durability fsync, C in $AB_CONCURRENCY,
# $AB_ROUNDS rounds. The bench (client and worker) talks to node1, over TLS for the TLS cluster.
# Prints one JSON line per cell and a summary (median per cluster and C) at the end.
#   BUILD_DIR [<repo>/build]  AB_ROUNDS [4]  AB_CONCURRENCY ["64 1"]  AB_W64 [2000]  AB_W1 [300]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
rounds="${AB_ROUNDS:-4}"
concurrency="${AB_CONCURRENCY:-64 1}"
bench="$build/bin/chronicle-bench"
root="$(mktemp -d "${TMPDIR:-/tmp}/chronicle-tls-ab-XXXXXX")"
pki="$root/pki"; mkdir -p "$pki"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj /CN=ab-ca 2>/dev/null
for n in node1 node2 node3 bench; do
  openssl req "${ec[@]}" -keyout "$pki/$n.key" -out "$pki/$n.csr" -subj "/CN=$n" 2>/dev/null
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
    -out "$pki/$n.pem" -days 2 2>/dev/null
done
declare -A base
base[plain]=$((20000 + RANDOM % 10000)); base[tls]=$((base[plain] + 10))
for kind in plain tls; do
  mkdir -p "$root/$kind/conf"
  for i in 1 2 3; do
    {
      echo "node:"; echo "  name: node$i"; echo "  host: 127.0.0.1"; echo "  port: $((base[$kind] + i))"
      echo "data_dir: $root/$kind/data/node$i"; echo "num_shards: 16"; echo "durability: fsync"
      echo "replication_factor: 3"; echo "log_level: warn"; echo "members:"
      for j in 1 2 3; do echo "  - name: node$j"; echo "    address: 127.0.0.1:$((base[$kind] + j))"; done
      if [[ $kind == tls ]]; then
        echo "tls:"; echo "  certificate: $pki/node$i.pem"; echo "  key: $pki/node$i.key"
        echo "  ca: $pki/ca.pem"
      fi
    } > "$root/$kind/conf/node$i.yaml"
  done
  CHRONICLE_CLUSTER_CONF="$root/$kind/conf" CHRONICLE_CLUSTER_RUN="$root/$kind/run" \
    CHRONICLE_BIN="$build/bin" "$repo/deploy/cluster.sh" start >&2
done
cleanup() {
  for kind in plain tls; do
    CHRONICLE_CLUSTER_CONF="$root/$kind/conf" CHRONICLE_CLUSTER_RUN="$root/$kind/run" \
      CHRONICLE_BIN="$build/bin" "$repo/deploy/cluster.sh" stop >&2 || true
  done
  [[ -n "${AB_KEEP:-}" ]] || rm -rf "$root"
}
trap cleanup EXIT
sleep 5  # members connect, the groups elect their leaders
results="$root/results"
for r in $(seq 1 "$rounds"); do
  for c in $concurrency; do
    w=${AB_W64:-2000}; [[ $c == 1 ]] && w=${AB_W1:-300}
    order="plain tls"; (( r % 2 == 0 )) && order="tls plain"   # alternate who goes first
    for kind in $order; do
      tls_env=()
      [[ $kind == tls ]] && tls_env=(CHRONICLE_TLS_CERT="$pki/bench.pem"
                                     CHRONICLE_TLS_KEY="$pki/bench.key" CHRONICLE_TLS_CA="$pki/ca.pem")
      line="$(env "${tls_env[@]}" "$bench" --address "127.0.0.1:$((base[$kind] + 1))" \
        --node-pid "$(cat "$root/$kind/run/node1.pid")" --shape one-activity --workflows "$w" \
        --concurrency "$c" --durability fsync --warmup 20 2>/dev/null || true)"
      echo "{\"round\":$r,\"cluster\":\"$kind\",\"c\":$c,\"result\":${line:-null}}"
      echo "$kind $c $line" >> "$results"
    done
  done
done
echo "--- summary (median over rounds) ---"
for c in $concurrency; do
  for kind in plain tls; do
    for k in workflows_per_s p50 p99; do
      v=$(grep "^$kind $c " "$results" | grep -o "\"$k\":[^,}]*" | cut -d: -f2 | sort -g \
        | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "?"}')
      printf '%s C=%s %s=%s  ' "$kind" "$c" "$k" "$v"
    done
    echo
  done
done
