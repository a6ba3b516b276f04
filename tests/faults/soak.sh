#!/usr/bin/env bash
# A longer crash-under-load soak than CI runs. Parameters via env:
#   WORKFLOWS (2000) DURATION_S (600) KILL_INTERVAL_MS (3000) NODES (3) WORKERS (3) SEED (random)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${CHRONICLE_BIN:-build/bin}
exec "$BIN/chronicle-chaos" --workflows "${WORKFLOWS:-2000}" --duration-s "${DURATION_S:-600}" \
  --kill-interval-ms "${KILL_INTERVAL_MS:-3000}" --nodes "${NODES:-3}" --workers "${WORKERS:-3}" \
  --seed "${SEED:-$RANDOM}"
