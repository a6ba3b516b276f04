#!/usr/bin/env bash
# Sets up (Debian packages, a Release build in build/ of the node, the CLI and the sample worker),
# then runs the main job: a node from deploy/single-node.yaml, the sample worker, and a Greeting
# workflow started through the CLI whose result, history and description are printed; then child
# workflows, continue-as-new and the list of runs. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# Only what the demo runs: the node, the CLI and the sample worker (deploy/test.sh builds the rest).
CHRONICLE_TARGETS="chronicle-node chronicle greeting-worker" ./deploy/setup.sh

BIN=build/bin
WORK=$(mktemp -d /tmp/chronicle-demo.XXXXXX)
PORT=${CHRONICLE_DEMO_PORT:-7233}
ADDR=127.0.0.1:$PORT
sed -e "s|^data_dir:.*|data_dir: $WORK/data|" -e "s|port: 7233|port: $PORT|" \
  deploy/single-node.yaml > "$WORK/node.yaml"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() {  # file text
  for _ in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

echo "== starting node ($ADDR)"
$BIN/chronicle-node --config "$WORK/node.yaml" > "$WORK/node.log" 2>&1 &
pids+=($!)
wait_for "$WORK/node.log" "listening on"
echo "== starting the sample worker"
$BIN/greeting-worker --address "$ADDR" --task-queue greetings > "$WORK/worker.log" 2>&1 &
pids+=($!)
wait_for "$WORK/worker.log" "serving task queue"

echo "== chronicle workflow start --type Greeting --task-queue greetings --workflow-id g1 --input '{\"name\":\"Ada\"}'"
$BIN/chronicle --address "$ADDR" workflow start --type Greeting --task-queue greetings \
  --workflow-id g1 --input '{"name":"Ada"}'
echo "== chronicle workflow result -w g1"
$BIN/chronicle --address "$ADDR" workflow result -w g1
echo "== chronicle workflow show -w g1"
$BIN/chronicle --address "$ADDR" workflow show -w g1
echo "== chronicle workflow describe -w g1"
$BIN/chronicle --address "$ADDR" workflow describe -w g1

echo "== child workflows: ParentGreeting starts a Greeting child per name"
$BIN/chronicle --address "$ADDR" workflow start --type ParentGreeting --task-queue greetings \
  --workflow-id family --input '{"names":["Ada","Grace"]}'
$BIN/chronicle --address "$ADDR" workflow result -w family
echo "== continue-as-new: Counter runs 3 times under one ID (--follow streams the events)"
$BIN/chronicle --address "$ADDR" workflow start --type Counter --task-queue greetings \
  --workflow-id counter --input '{"n":0,"upto":2}'
$BIN/chronicle --address "$ADDR" workflow result -w counter --follow
echo "== chronicle workflow list"
$BIN/chronicle --address "$ADDR" workflow list
echo "== done"
