#!/usr/bin/env bash
# Fresh machine to a poem: set up a venv, fetch + prepare the Tang corpus, train the default model
# (about 30 minutes on a 2-core CPU; pass e.g. `--preset tiny` for a 2-minute smoke run), then
# sample a 五言绝句. Extra arguments go to `textgen train`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
. .venv/bin/activate
# The CPU wheel of torch first: an unpinned torch would pull a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || pip install -q torch==2.13.0
python -c "import textgen.cli" 2>/dev/null || pip install -q -e .
textgen corpus prepare corpora/tang
textgen train corpora/tang --out runs/tang --overwrite "$@"
textgen sample runs/tang --form wujue --seed 1
