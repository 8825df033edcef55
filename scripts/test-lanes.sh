#!/bin/sh
# `npm test` in two lanes side by side, so both cores of a two-core machine stay busy and neither lane
# waits long for the other:
#   lane A: the CLI tests (tests/cli), the Python interop tests (scripts/test-python.sh), then the first
#           half of the other unit tests (vitest --shard=1/2);
#   lane B: the production build, the browser tests (Playwright + Chromium), the second half of the unit
#           tests, then lint and the type checks.
# Lane A's output is printed after lane B's. Every step runs even when an earlier one failed, and the
# script fails when any step failed, naming it; an excerpt of each failed step (vitest's list of failed
# tests, or the step's last lines) is printed again at the very end, so a log that keeps only its tail
# still shows what failed.
#
# CLI runs started by the tests use one wasm thread (CLO_LAB_WASM_THREADS=1): with both lanes busy, a
# pool thread waiting for a busy core holds up every parallel op, and a threaded run was measured 2 to
# 8 times slower per step than a single-threaded one. tests/cli/wasm-threads-node.test.ts asks for its
# thread counts itself, so the threaded path stays tested.
cd "$(dirname "$0")/.." || exit 1
export CLO_LAB_WASM_THREADS="${CLO_LAB_WASM_THREADS:-1}"
A_LOG=$(mktemp -t clo-test-lane-a.XXXXXX)
A_RC=$(mktemp -t clo-test-lane-a-rc.XXXXXX)
A_STEP=$(mktemp -t clo-test-lane-a-step.XXXXXX)
B_LOG=$(mktemp -t clo-test-lane-b.XXXXXX)
A_FAILED=$(mktemp -t clo-test-lane-a-failed.XXXXXX)
B_FAILED=$(mktemp -t clo-test-lane-b-failed.XXXXXX)
# excerpt NAME LOG: what the closing summary shows of a failed step, without colour codes: vitest's list
# of failed tests with their errors where the log has one, else the log's last lines.
excerpt() {
  echo "---- the failed step: $1 ----"
  sed 's/\x1b\[[0-9;]*m//g' "$2" > "$2.plain"
  if grep -q 'Failed Tests' "$2.plain"; then sed -n '/Failed Tests/,$p' "$2.plain" | head -n 90; else tail -n 90 "$2.plain"; fi
  rm -f "$2.plain"
}
# run_a NAME CMD...: one lane-A step, its output kept in lane A's log; on failure, named and excerpted.
run_a() {
  name=$1
  shift
  if ! "$@" > "$A_STEP" 2>&1; then
    echo "$name" >> "$A_RC"
    excerpt "$name" "$A_STEP" >> "$A_FAILED"
  fi
  cat "$A_STEP" >> "$A_LOG"
}
{
  run_a "unit tests (tests/cli)" npx vitest run tests/cli
  run_a "Python interop tests" sh scripts/test-python.sh
  run_a "unit tests (shard 1/2)" npx vitest run --exclude 'tests/cli/**' --shard=1/2
} &
LANE_A=$!
FAILED=""
# run_b NAME CMD...: one lane-B step, its output shown as it goes and kept; on failure, named and excerpted.
run_b() {
  name=$1
  shift
  : > "$B_LOG"
  { "$@"; echo $? > "$B_LOG.rc"; } 2>&1 | tee "$B_LOG"
  if [ "$(cat "$B_LOG.rc")" != 0 ]; then
    FAILED="$FAILED, $name"
    excerpt "$name" "$B_LOG" >> "$B_FAILED"
  fi
}
run_b "build/browser tests" sh -c 'npx vite build && npx playwright test'
run_b "unit tests (shard 2/2)" npx vitest run --exclude 'tests/cli/**' --shard=2/2
run_b "lint/type checks" sh -c 'npm run lint && npm run check'
wait "$LANE_A"
echo "---- lane A: vitest run tests/cli, npm run test:py, vitest --shard=1/2 (ran beside the above) ----"
cat "$A_LOG"
while read -r step; do FAILED="$FAILED, $step"; done < "$A_RC"
cat "$B_FAILED" "$A_FAILED"
rm -f "$A_LOG" "$A_RC" "$A_STEP" "$A_FAILED" "$B_LOG" "$B_LOG.rc" "$B_FAILED"
if [ -n "$FAILED" ]; then
  echo "npm test failed: ${FAILED#, }"
  exit 1
fi
