#!/bin/sh
# `npm test` in two lanes side by side, so both cores stay busy on a two-core machine:
#   lane A (mostly one core: child processes, Python): the CLI tests (tests/cli), then the Python
#          interop tests (scripts/test-python.sh);
#   lane B: the other unit tests, then lint, the type checks and the production build, then the
#          browser tests (Playwright + Chromium).
# Lane A's output is printed after lane B's. Every step runs even when an earlier one failed, and
# the script fails when any step failed, naming it.
cd "$(dirname "$0")/.." || exit 1
A_LOG=$(mktemp -t clo-test-lane-a.XXXXXX)
A_RC=$(mktemp -t clo-test-lane-a-rc.XXXXXX)
{
  npx vitest run tests/cli || echo "unit tests (tests/cli)" >> "$A_RC"
  sh scripts/test-python.sh || echo "Python interop tests" >> "$A_RC"
} > "$A_LOG" 2>&1 &
LANE_A=$!
FAILED=""
npx vitest run --exclude 'tests/cli/**' || FAILED="$FAILED, unit tests"
{ npm run lint && npm run check && npx vite build; } || FAILED="$FAILED, lint/type checks/build"
npx playwright test || FAILED="$FAILED, browser tests"
wait "$LANE_A"
echo "---- lane A: vitest run tests/cli, then npm run test:py (ran beside the above) ----"
cat "$A_LOG"
while read -r step; do FAILED="$FAILED, $step"; done < "$A_RC"
rm -f "$A_LOG" "$A_RC"
if [ -n "$FAILED" ]; then
  echo "npm test failed: ${FAILED#, }"
  exit 1
fi
