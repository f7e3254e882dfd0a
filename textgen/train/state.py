"""A run's state: where it stands (RunState) and its resume file (last.state.pt).

RunState is the one home of what a run counts over resumes (step, training seconds and
characters, the best evaluation, evaluations since it) and of why it stops. last.state.pt is a
torch.save of tensors and primitives only (model, optimizer and schedule state, the RunState, RNG
states, loader position, carried hidden state, configs), loaded with weights_only=True; read_state
raises CheckpointError when it is missing or damaged.

    run = RunState()
    run.advance(seconds=0.2, chars=4096)
    run.observe(4.1, {"kind": "val", "loss": 4.1})    # True: a new best; else one more bad eval
    RunState.from_dict(run.to_dict()) == run          # True (stop_reason is not saved)
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from textgen.errors import CheckpointError
from textgen.paths import atomic_write_bytes

STATE_FILE = "last.state.pt"
STATE_FORMAT = "textgen-train-state-1"


@dataclass
class RunState:
    """Where a run stands, summed over resumes."""

    step: int = 0
    elapsed: float = 0.0  # training seconds (evaluating and saving are not counted)
    chars_seen: float = 0.0  # training characters
    best_val: float = math.inf  # the best val loss so far ...
    best_metrics: dict = field(default_factory=dict)  # ... and the evaluation that gave it
    bad_evals: int = 0  # evaluations since the best: early stopping and the plateau schedule read it
    stop_reason: str = ""  # why the loop stops; not saved (a resumed run goes on)

    # What last.state.pt holds of it, under these names (files written before RunState resume too).
    SAVED = ("step", "elapsed", "chars_seen", "best_val", "best_metrics", "bad_evals")

    def advance(self, seconds: float, chars: float) -> None:
        """One training step done."""
        self.step += 1
        self.elapsed += seconds
        self.chars_seen += chars

    def observe(self, loss: float, event: dict) -> bool:
        """Record a validation loss (and its event): True when it is the best so far."""
        if loss < self.best_val:
            self.best_val, self.best_metrics, self.bad_evals = loss, event, 0
            return True
        self.bad_evals += 1
        return False

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.SAVED}

    @classmethod
    def from_dict(cls, d: dict) -> RunState:
        return cls(
            step=int(d["step"]),
            elapsed=float(d["elapsed"]),
            chars_seen=float(d["chars_seen"]),
            best_val=float(d["best_val"]),
            best_metrics=dict(d["best_metrics"]),
            bad_evals=int(d["bad_evals"]),
        )


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
