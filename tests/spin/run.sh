#!/usr/bin/env bash
# Verifies tests/spin/replication.pml (docs/replication.md "Spin model"): the correct model must
# satisfy both properties; each broken variant must produce a counterexample (its steps printed).
# Exit status non-zero if a correct run finds an error or a broken variant passes.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v spin >/dev/null || { echo "spin not installed (deploy/setup.sh installs it)"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# build NAME PAN_FLAGS [spin -D flags...]: one pan per variant, shared by its claims
build() {
  local name=$1 panflags=$2; shift 2
  mkdir -p "$work/$name" && cp "$here/replication.pml" "$work/$name/" && cd "$work/$name" || return 1
  echo "$@" >spinflags
  spin "$@" -a replication.pml >spin.out 2>&1 || { cat spin.out; echo "FAIL $name: spin -a"; return 1; }
  # shellcheck disable=SC2086
  gcc -O2 -w -DSAFETY $panflags -DMEMLIM=2048 -o pan pan.c || { echo "FAIL $name: gcc"; return 1; }
}

# verify NAME CLAIM EXPECT(pass|fail)
verify() {
  local name=$1 claim=$2 expect=$3
  cd "$work/$name" || return 1
  local start=$SECONDS
  ./pan -m10000 -N "$claim" >"pan-$claim.out" 2>&1
  local errors stored
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "pan-$claim.out")
  stored=$(awk '/states, stored/ {print $1}' "pan-$claim.out")
  if grep -q "max search depth too small" "pan-$claim.out"; then
    echo "FAIL $name $claim: search depth too small"; return 1
  fi
  local what="$name $claim: $stored states, $((SECONDS - start)) s, errors: ${errors:-?}"
  if [ "$expect" = pass ]; then
    if [ "$errors" = 0 ]; then echo "ok   $what"; return 0; fi
    echo "FAIL $what (the correct model must hold)"
  else
    if [ -n "$errors" ] && [ "$errors" != 0 ]; then echo "ok   $what (counterexample, as expected):"
    else echo "FAIL $what (this broken variant must produce a counterexample)"; return 1; fi
  fi
  # shellcheck disable=SC2046
  spin $(cat spinflags) -t replication.pml 2>&1 | grep -E "MSC:" | sed 's/^ *MSC:/       /'
  [ "$expect" = fail ]
}

status=0
build correct "-DCOLLAPSE" || exit 1
# the correct model, both properties (two independent searches, in parallel)
verify correct ack_in_every_later_leader pass >"$work/a.log" 2>&1 &
pa=$!
verify correct one_leader_per_term pass >"$work/b.log" 2>&1 &
pb=$!
# broken variants meanwhile: each must be caught (BFS where it is cheap: the shortest trail)
{
  build no-cap-results "-DCOLLAPSE" -DNO_CAP &&
    verify no-cap-results ack_in_every_later_leader fail
  build wiped-votes-as-old-id "-DBFS" -DWIPE_OLD_ID -DBFS &&
    verify wiped-votes-as-old-id ack_in_every_later_leader fail &&
    verify wiped-votes-as-old-id one_leader_per_term fail
  build vote-not-persisted "-DCOLLAPSE" -DVOLATILE_VOTE &&
    verify vote-not-persisted one_leader_per_term fail
} >"$work/c.log" 2>&1
wait $pa || status=1
wait $pb || status=1
cat "$work/a.log" "$work/b.log" "$work/c.log"
grep -q "^FAIL" "$work/c.log" && status=1
if [ $status = 0 ]; then echo "spin: all runs as expected"; else echo "spin: FAILED"; fi
exit $status
