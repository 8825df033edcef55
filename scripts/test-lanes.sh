#!/bin/sh
# `npm test` in two lanes side by side, so both cores of a two-core machine stay busy and neither lane
# waits long for the other:
#   lane A: the CLI tests (tests/cli), the Python interop tests (scripts/test-python.sh), then the first
#           half of the other unit tests (vitest --shard=1/2);
#   lane B: the production build, the browser tests (Playwright + Chromium), the second half of the unit
#           tests, then lint and the type checks.
# Lane A's output is printed after lane B's. Every step runs even when an earlier one failed, and the
# script fails when any step failed, naming it; the last lines of a failed lane-B step are printed again
# at the very end, so a log that keeps only its tail still shows what failed.
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
B_LOG=$(mktemp -t clo-test-lane-b.XXXXXX)
B_FAILED_LOG=$(mktemp -t clo-test-lane-b-failed.XXXXXX)
# run_b NAME CMD...: runs one lane-B step, its output shown as it goes and kept; on failure, names the step
# and keeps its last 150 lines for the closing summary.
run_b() {
  name=$1
  shift
  : > "$B_LOG"
  { "$@"; echo $? > "$B_LOG.rc"; } 2>&1 | tee "$B_LOG"
  if [ "$(cat "$B_LOG.rc")" != 0 ]; then
    FAILED="$FAILED, $name"
    { echo "---- last lines of the failed step: $name ----"; tail -n 150 "$B_LOG"; } >> "$B_FAILED_LOG"
  fi
}
run_b "build/browser tests" sh -c 'npx vite build && npx playwright test'
run_b "unit tests (shard 2/2)" npx vitest run --exclude 'tests/cli/**' --shard=2/2
run_b "lint/type checks" sh -c 'npm run lint && npm run check'
wait "$LANE_A"
echo "---- lane A: vitest run tests/cli, npm run test:py, vitest --shard=1/2 (ran beside the above) ----"
cat "$A_LOG"
while read -r step; do FAILED="$FAILED, $step"; done < "$A_RC"
cat "$B_FAILED_LOG"
rm -f "$A_LOG" "$A_RC" "$B_LOG" "$B_LOG.rc" "$B_FAILED_LOG"
if [ -n "$FAILED" ]; then
  echo "npm test failed: ${FAILED#, }"
  exit 1
fi
