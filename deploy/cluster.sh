#!/usr/bin/env bash
# Starts, stops or shows the 3-node loopback cluster described by deploy/cluster-3/node{1,2,3}.yaml.
#   ./deploy/cluster.sh start|stop|status|restart <node>
# PIDs and logs live in run/cluster-3/. Build first (./deploy/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
CONF=${CHRONICLE_CLUSTER_CONF:-deploy/cluster-3}
RUN=${CHRONICLE_CLUSTER_RUN:-run/cluster-3}
BIN=${CHRONICLE_BIN:-build/bin}
mkdir -p "$RUN"

nodes() { for f in "$CONF"/node*.yaml; do basename "$f" .yaml; done; }
pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

start_one() {
  local n=$1
  if alive "$n"; then echo "$n already running (pid $(pid_of "$n"))"; return; fi
  "$BIN/chronicle-node" --config "$CONF/$n.yaml" >> "$RUN/$n.log" 2>&1 &
  echo $! > "$RUN/$n.pid"
  for _ in $(seq 1 100); do
    grep -q "chronicle-node $n listening" "$RUN/$n.log" 2>/dev/null && { echo "$n started (pid $!)"; return; }
    kill -0 "$!" 2>/dev/null || { echo "$n failed to start:"; tail -3 "$RUN/$n.log"; return 1; }
    sleep 0.05
  done
  echo "$n did not report listening; see $RUN/$n.log"; return 1
}

stop_one() {
  local n=$1 p
  p=$(pid_of "$n")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p"; for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
    echo "$n stopped"
  else
    echo "$n not running"
  fi
  rm -f "$RUN/$n.pid"
}

case "${1:-}" in
  start) for n in $(nodes); do start_one "$n"; done ;;
  stop) for n in $(nodes); do stop_one "$n"; done ;;
  status)
    for n in $(nodes); do
      if alive "$n"; then echo "$n running (pid $(pid_of "$n"))"; else echo "$n stopped"; fi
    done ;;
  restart) [ -n "${2:-}" ] || { echo "usage: $0 restart <node>"; exit 2; }; stop_one "$2"; start_one "$2" ;;
  *) echo "usage: $0 start|stop|status|restart <node>"; exit 2 ;;
esac
