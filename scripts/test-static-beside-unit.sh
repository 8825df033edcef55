#!/bin/sh
# The first stages of `npm test`, side by side: lint, the type checks and the production build (each
# mostly one core) run while Vitest runs the unit tests, instead of before it. Their output is printed
# after Vitest's; the script fails when any of them failed.
cd "$(dirname "$0")/.." || exit 1
LOG=$(mktemp -t clo-test-static.XXXXXX)
{ npm run lint && npm run check && npx vite build; } > "$LOG" 2>&1 &
STATIC=$!
npx vitest run
UNIT=$?
wait "$STATIC"
STATICRC=$?
echo "---- npm run lint, npm run check, vite build (ran beside the unit tests) ----"
cat "$LOG"
rm -f "$LOG"
[ "$UNIT" -eq 0 ] && [ "$STATICRC" -eq 0 ]
