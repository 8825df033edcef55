#!/bin/sh
# `npm test` in two lanes side by side, so both cores of a two-core machine stay busy and neither lane
# waits long for the other:
#   lane A: the CLI tests (tests/cli), the Python interop tests (scripts/test-python.sh), then the first
#           half of the other unit tests (vitest --shard=1/2);
#   lane B: the production build, the browser tests (Playwright + Chromium), the second half of the unit
#           tests, then lint and the type checks.
# Lane A's output is printed after lane B's. Every step runs even when an earlier one failed, and the
# script fails when any step failed, naming it.
#
# CLI runs started by the tests use one wasm thread (CLO_LAB_WASM_THREADS=1): with both lanes busy, a
# pool thread waiting for a busy core holds up every parallel op, and a threaded run was measured 2 to
# 8 times slower per step than a single-threaded one. tests/cli/wasm-threads-node.test.ts asks for its
# thread counts itself, so the threaded path stays tested.
cd "$(dirname "$0")/.." || exit 1
export CLO_LAB_WASM_THREADS="${CLO_LAB_WASM_THREADS:-1}"
A_LOG=$(mktemp -t clo-test-lane-a.XXXXXX)
A_RC=$(mktemp -t clo-test-lane-a-rc.XXXXXX)
{
  npx vitest run tests/cli || echo "unit tests (tests/cli)" >> "$A_RC"
  sh scripts/test-python.sh || echo "Python interop tests" >> "$A_RC"
  npx vitest run --exclude 'tests/cli/**' --shard=1/2 || echo "unit tests (shard 1/2)" >> "$A_RC"
} > "$A_LOG" 2>&1 &
LANE_A=$!
FAILED=""
{ npx vite build && npx playwright test; } || FAILED="$FAILED, build/browser tests"
npx vitest run --exclude 'tests/cli/**' --shard=2/2 || FAILED="$FAILED, unit tests (shard 2/2)"
{ npm run lint && npm run check; } || FAILED="$FAILED, lint/type checks"
wait "$LANE_A"
echo "---- lane A: vitest run tests/cli, npm run test:py, vitest --shard=1/2 (ran beside the above) ----"
cat "$A_LOG"
while read -r step; do FAILED="$FAILED, $step"; done < "$A_RC"
rm -f "$A_LOG" "$A_RC"
if [ -n "$FAILED" ]; then
  echo "npm test failed: ${FAILED#, }"
  exit 1
fi
