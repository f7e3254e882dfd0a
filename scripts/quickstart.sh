#!/usr/bin/env bash
# Fresh clone to poems, in one command:
#   1. set up a venv and install textgen (skipped when already done);
#   2. print a poem from the shipped Tang model, and the command that wrote it (seconds);
#   3. fetch + prepare 全唐诗 and train a Tang model of your own, with a progress bar and an
#      estimate of the time left (default preset: a 30-minute training budget; `--preset tiny` a
#      3-minute one: 3 min 37 s in all, measured on 2 busy cores). Extra arguments go to
#      `textgen train`. Ctrl-C saves the model and goes on to step 4. Run again, it resumes that
#      run (TEXTGEN_RUN=runs/other starts another);
#   4. print a poem from your model, and the commands to go on with it from your own shell.
#
#   bash scripts/quickstart.sh                  # or: bash scripts/quickstart.sh --preset tiny
#
# TORCH_INDEX=URL: PyTorch's CPU wheel index URL (the one PyTorch's install selector gives for
# "CPU"). On Linux x86_64 the default index serves a CUDA build of torch (gigabytes); from this
# index pip takes the small CPU-only wheel. scripts/test.sh reads it the same way.
# TEXTGEN_RUN (default runs/tang) and TEXTGEN_SOURCE (default: corpus tang) pick where and on what.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${TEXTGEN_RUN:-runs/tang}"
SOURCE="${TEXTGEN_SOURCE:-tang}"
step() { printf '\n== %s\n' "$*" >&2; }
note() { printf '   %s\n' "$*" >&2; }
show() { printf '$ %s\n' "$*" >&2; "$@"; }

step "1/4 set-up"
if [ ! -x .venv/bin/python ]; then
  note "creating the virtual environment .venv"
  python3 -m venv .venv
fi
. .venv/bin/activate
if ! python -c "import torch" 2>/dev/null; then
  note "installing torch 2.13.0 (CPU wheel ~200 MB with TORCH_INDEX, more without; a minute or two)"
  pip install --progress-bar on ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} torch==2.13.0 |
    grep --line-buffered -E '^(Collecting|Downloading|Installing|Successfully)' || true
  python -c "import torch" # stop here, with pip's error above, if that failed
fi
if ! python -c "import textgen.cli" 2>/dev/null; then
  note "installing textgen and its dependencies (pip install -e .)"
  pip install -e . | grep --line-buffered -E '^(Collecting|Installing|Successfully)' || true
  python -c "import textgen.cli"
fi
note "ready: .venv (activate it in your shell with: . .venv/bin/activate)"

step "2/4 a poem from the shipped Tang model (checkpoints/tang)"
show textgen sample tang --form wujue --rhyme --seed 7

if [ -f "$SOURCE" ] || [ -d "$SOURCE" ]; then
  TRAIN_SOURCE="$SOURCE"
else
  TRAIN_SOURCE="corpora/$SOURCE"
fi
step "3/4 your own model: fetch + prepare $SOURCE, then train into $RUN (Ctrl-C saves and goes on)"
if [ ! -f "$SOURCE" ]; then
  show textgen corpus prepare "$SOURCE"
fi
# Ctrl-C reaches `textgen train` too, which saves and exits 130; this script goes on to step 4.
trap 'interrupted=1' INT
interrupted=0
rc=0
if [ -e "$RUN/last.state.pt" ]; then
  note "$RUN holds your run from before: resuming it (TEXTGEN_RUN=runs/another starts a new one)"
  show textgen train --resume "$RUN" "$@" || rc=$?
else
  if [ -e "$RUN/last.safetensors" ]; then  # a run that cannot be resumed: never replaced
    base="$RUN"
    i=2
    while [ -e "$base-$i" ]; do i=$((i + 1)); done
    RUN="$base-$i"
    note "$base holds a run without resume state: training into $RUN instead"
  fi
  show textgen train "$TRAIN_SOURCE" --out "$RUN" "$@" || rc=$?
fi
trap - INT
if [ "$rc" = 130 ] || [ "$interrupted" = 1 ]; then
  note "interrupted: the model trained so far is saved in $RUN"
elif [ "$rc" != 0 ]; then
  exit "$rc"
fi

step "4/4 a poem from your model ($RUN)"
if [ -e "$RUN/best.safetensors" ] || [ -e "$RUN/last.safetensors" ]; then
  show textgen sample "$RUN" --form wujue --rhyme --seed 7
else
  note "no checkpoint saved in $RUN yet (stopped before the first save)"
fi
cat >&2 <<EOF

Next, from this folder in your own shell (or run \`. .venv/bin/activate\` once and drop the .venv/bin/):
  .venv/bin/textgen train --resume $RUN       # train on: to the saved budget, or give a new one
  .venv/bin/textgen sample $RUN --prompt 床前明月光 --seed 1
  .venv/bin/textgen eval $RUN                 # bits per character on the test split, all and body only
  .venv/bin/textgen serve tang mine=$RUN      # the shipped model and yours over HTTP on :8000, then:
  curl -s localhost:8000/generate -H 'content-type: application/json' \\
       -d '{"model": "mine", "form": "wujue", "seed": 7}'
EOF
