#!/usr/bin/env bash
# Set up (if needed) and run the test suite: `bash scripts/test.sh [pytest args]`.
# Fast tests by default; TEXTGEN_SLOW=1 also runs the slow real-data tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
. .venv/bin/activate
# TORCH_INDEX=URL (PyTorch's CPU wheel index URL), as in scripts/quickstart.sh: the small CPU wheel.
python -c "import torch" 2>/dev/null || pip install -q ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} torch==2.13.0
# Re-install when a dependency added since the venv was made is missing (the import list grows with them).
python -c "import textgen, pytest, fastapi_offline, schemathesis" 2>/dev/null || pip install -q -e '.[test]'
if ! command -v redis-server >/dev/null 2>&1; then
  echo "note: redis-server not found; Redis tests will fail (apt-get install -y redis-server)" >&2
fi
if [ "${TEXTGEN_SLOW:-0}" = "1" ]; then
  exec python -m pytest -m "" "$@"
fi
exec python -m pytest "$@"
