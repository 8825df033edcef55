#!/bin/sh
# Python interop tests (tests/python): run when python3 has torch, transformers, peft and trl; else skip.
cd "$(dirname "$0")/.." || exit 1
PY=${PYTHON:-python3}
if ! "$PY" -c "import torch, transformers, peft, trl, pytest" >/dev/null 2>&1; then
  echo "test:py: SKIPPED: python3 with torch, transformers, peft, trl and pytest is not installed (see README, 'Interop tests')"
  exit 0
fi
"$PY" -c "import sys, torch, transformers, peft, trl, tokenizers; print('test:py: python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'trl', trl.__version__, 'tokenizers', tokenizers.__version__)"
exec "$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
