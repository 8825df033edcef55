#!/bin/sh
# The last two stages of `npm test`, side by side: the Python interop tests (mostly one core) run
# while Playwright drives Chromium, instead of one after the other. The Python output is printed
# after Playwright's; the script fails when either failed.
cd "$(dirname "$0")/.." || exit 1
LOG=$(mktemp -t clo-test-py.XXXXXX)
sh scripts/test-python.sh > "$LOG" 2>&1 &
PY=$!
npx playwright test
E2E=$?
wait "$PY"
PYRC=$?
echo "---- npm run test:py (ran beside the browser tests) ----"
cat "$LOG"
rm -f "$LOG"
[ "$E2E" -eq 0 ] && [ "$PYRC" -eq 0 ]
