#!/usr/bin/env bash
# ctest runs each doctest case through --test-case=<name>; a ',' splits that filter and a ';' splits
# the CMake list, so such a case would silently run nothing. Refuse those names.
set -euo pipefail
cd "$(dirname "$0")"
bad=$(grep -rnE 'TEST_CASE\("[^"]*[;,*?]' --include='*.cpp' . || true)
if [ -n "$bad" ]; then
  echo "test case names must not contain , ; * or ? (ctest would run nothing for them):"
  echo "$bad"
  exit 1
fi
echo "test case names are safe for ctest filters"
