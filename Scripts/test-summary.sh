#!/usr/bin/env bash
# Prints the XCTest totals of a `swift test` log as one plain closing line:
#   tests: P passed, F failed[, S skipped]
# (`swift test` ends with Swift Testing's own "0 tests" line, since the suite is XCTest.)
set -euo pipefail
log=${1:-.build/test.log}
line=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -1)
[ -n "$line" ] || { echo "test-summary: no XCTest totals in $log" >&2; exit 1; }
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line")
failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$line")
skipped=0
if grep -q "skipped" <<<"$line"; then skipped=$(sed -E 's/.*with ([0-9]+) tests? skipped.*/\1/' <<<"$line"); fi
passed=$((executed - failed - skipped))
if [ "$skipped" -gt 0 ]; then
  echo "tests: $passed passed, $failed failed, $skipped skipped"
else
  echo "tests: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
