#!/usr/bin/env bash
# Smoke test of the benchmark tools (not a timing test: figures are printed, never checked):
# chronicle-bench runs every shape with both load drivers against an embedded node and reports
# every workflow completed; fsync-limit prints its three measurements.
set -euo pipefail
bin="$1/bin"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() {  # check LINE KEY VALUE: the JSON field KEY of LINE equals VALUE
  local got
  got="$(printf '%s' "$1" | grep -o "\"$2\":[^,}]*" | head -n1 | cut -d: -f2- | tr -d '"')"
  if [[ "$got" != "$3" ]]; then
    echo "FAIL: $2 is '$got', expected '$3' in: $1" >&2
    exit 1
  fi
}

for driver in actor threads; do
  for shape in one-activity ten-activities timer-100ms signal-roundtrip; do
    line="$("$bin/chronicle-bench" --embedded --tmp-dir "$tmp" --shape "$shape" -c 4 -w 20 \
              --driver "$driver" 2>"$tmp/err")" || { cat "$tmp/err" >&2; exit 1; }
    echo "$line"
    check "$line" completed 20
    check "$line" failed 0
    check "$line" driver "$driver"
    check "$line" node_log_problems 0
  done
done

# Bad arguments are refused with exit code 2 and a message.
if "$bin/chronicle-bench" --embedded --driver bogus >"$tmp/out" 2>&1; then
  echo "FAIL: --driver bogus was accepted" >&2
  exit 1
fi
grep -q "driver" "$tmp/out" || { echo "FAIL: no message naming --driver" >&2; cat "$tmp/out"; exit 1; }

out="$("$bin/fsync-limit" --dir "$tmp" --seconds 0.2 --threads 4)"
echo "$out"
[[ "$(printf '%s\n' "$out" | grep -c '"writes_per_s"')" == 3 ]] || { echo "FAIL: fsync-limit" >&2; exit 1; }
echo "bench smoke: ok"
