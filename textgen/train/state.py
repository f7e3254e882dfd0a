"""The resume file of a run directory (last.state.pt) and checks that a run may be resumed.

last.state.pt is a torch.save of tensors and primitives only (model, optimizer and schedule state,
step, RNG states, loader position, carried hidden state, configs), loaded with weights_only=True.

    state = read_state("runs/tang")      # CheckpointError if missing or damaged
    check_same_corpus(state, data, "runs/tang")
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from textgen.errors import CheckpointError
from textgen.paths import atomic_write_bytes

STATE_FILE = "last.state.pt"
STATE_FORMAT = "textgen-train-state-1"


def write_state(run_dir: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save({"format": STATE_FORMAT, **state}, buf)
    atomic_write_bytes(Path(run_dir) / STATE_FILE, buf.getvalue())


def read_state(run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    path = run_dir / STATE_FILE
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: no such run directory to resume")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; this run directory cannot be resumed")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise CheckpointError(f"{path}: corrupt or truncated resume state ({str(e).splitlines()[0]})") from e
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not a textgen training state")
    return state


def check_same_corpus(state: dict, corpus: dict, run_dir: str | Path) -> None:
    """Refuse to resume a run on another corpus or tokenizer (corpus: TrainData.describe())."""
    saved = state["corpus"]
    if saved["manifest_sha256"] != corpus["manifest_sha256"]:
        raise CheckpointError(
            f"{run_dir}: was trained on corpus {saved['name']!r} (manifest sha256 {saved['manifest_sha256'][:12]}), "
            f"not {corpus['name']!r} ({corpus['manifest_sha256'][:12]}); give the same SOURCE or start a new "
            f"run with --out"
        )
    if saved["tokenizer_sha256"] != corpus["tokenizer_sha256"]:
        raise CheckpointError(
            f"{run_dir}: was trained with another tokenizer ({saved['tokenizer']}, vocabulary "
            f"{saved['vocab_size']}) than this one ({corpus['tokenizer']}, {corpus['vocab_size']}); use the "
            f"same --tokenizer/--vocab-size/--min-freq or start a new run with --out"
        )
