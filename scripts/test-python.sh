#!/bin/sh
# Python interop tests (tests/python): run when python3 has torch, transformers, peft, trl and pytest; else skip.
cd "$(dirname "$0")/.." || exit 1
PY=$(${PYTHON:-python3} -c "import sys, torch, transformers, peft, trl, tokenizers, pytest; print(sys.executable)" 2>/dev/null)
if [ -z "$PY" ]; then
  echo "test:py: SKIPPED: python3 with torch, transformers, peft, trl and pytest is not installed (see README, 'Interop tests (Python)')"
  exit 0
fi
"$PY" -c "import sys, torch, transformers, peft, trl, tokenizers; print('test:py: python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'trl', trl.__version__, 'tokenizers', tokenizers.__version__)"
exec "$PY" -m pytest -q -p no:cacheprovider --durations=8 tests/python "$@"
