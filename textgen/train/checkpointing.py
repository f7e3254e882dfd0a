"""A run directory: checks before a run starts, saving best/last checkpoints, meta.json and
last.state.pt together, loss.png, and the pieces of a resume state that span ranks (the carried
hidden state and the RNG streams). Everything here takes plain values; the trainer assembles them.

    check_writable(run_dir)                  # TextgenError now, not after an hour of training
    save(run_dir, model, tokenizer, meta, state, best=True)      # rank 0
    state = read_resume_state(run_dir, corpus, model_cfg)

The file format of last.state.pt itself is textgen.train.state; checkpoints are textgen.checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import torch

from textgen.checkpoint import CheckpointMeta, save_checkpoint
from textgen.errors import CheckpointError, TextgenError
from textgen.model import RNNLM, ModelConfig
from textgen.paths import atomic_write_text
from textgen.tokenizer import Tokenizer
from textgen.train.distributed import Dist
from textgen.train.runlog import plot_runs
from textgen.train.state import STATE_FILE, check_same_corpus, read_state, write_state


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def check_writable(run_dir: Path) -> None:
    """Fail before training, not after an hour, if the run directory cannot be written."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise TextgenError(f"{run_dir}: cannot write the run directory ({e.strerror or e})") from e


def read_resume_state(run_dir: Path, corpus: dict, model_cfg: ModelConfig) -> dict:
    """The state of the run being resumed, after checking it is the same corpus and model."""
    state = read_state(run_dir)
    check_same_corpus(state, corpus, run_dir)
    if state["model_config"] != model_cfg.to_dict():
        raise CheckpointError(
            f"{run_dir}: the model options differ from the run being resumed (saved {state['model_config']})"
        )
    return state


def check_no_run(run_dir: Path) -> None:
    """Refuse to start a new run over an existing one (without --resume or --overwrite)."""
    if any((run_dir / f).exists() for f in (STATE_FILE, "last.safetensors")):
        raise TextgenError(
            f"{run_dir} already holds a run; continue it with --resume {run_dir}, "
            f"choose another --out, or pass --overwrite"
        )


def clear_run(run_dir: Path) -> None:
    """--overwrite: drop what the old run leaves that the new one would not replace first."""
    for f in ("metrics.jsonl", "best.safetensors", STATE_FILE):
        (run_dir / f).unlink(missing_ok=True)


def gather_hidden(hidden, dist: Dist) -> list[torch.Tensor] | None:
    """The carried hidden state of every rank, rows in global order, on the CPU. Every rank calls it."""
    if hidden is None:
        return None
    hidden = tuple(hidden) if isinstance(hidden, tuple) else (hidden,)
    return [dist.gather_rows(h.float()).cpu() for h in hidden]


def scatter_hidden(saved: list[torch.Tensor] | None, dist: Dist, batch_size: int, device, lstm: bool):
    """This rank's rows of a gathered hidden state: (h, c) for an LSTM, else h."""
    if saved is None:
        return None
    per = batch_size // dist.world_size
    hs = [h[:, dist.rank * per : (dist.rank + 1) * per].to(device) for h in saved]
    return tuple(hs) if lstm else hs[0]


def gather_rng(dist: Dist, device: torch.device) -> list[dict]:
    """Every rank's RNG states (dropout masks). Every rank calls it."""
    rng = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return dist.gather_objects(rng)


def restore_rng(rngs: list[dict], dist: Dist, device: torch.device) -> None:
    if len(rngs) == dist.world_size:  # same layout: every rank continues its own stream
        torch.set_rng_state(rngs[dist.rank]["cpu"])
        if device.type == "cuda" and "cuda" in rngs[dist.rank]:
            torch.cuda.set_rng_state(rngs[dist.rank]["cuda"], device)


def save(
    run_dir: Path, model: RNNLM, tokenizer: Tokenizer, meta: CheckpointMeta, state: dict, best: bool
) -> None:
    """last (+ best) checkpoint, meta.json and the resume state, each written atomically."""
    try:
        if best:
            save_checkpoint(run_dir / "best.safetensors", model, tokenizer, meta)
        save_checkpoint(run_dir / "last.safetensors", model, tokenizer, meta)
        atomic_write_text(run_dir / "meta.json", _json(meta.to_dict()))
        write_state(run_dir, state)
    except OSError as e:
        raise TextgenError(f"{run_dir}: cannot write checkpoint ({e.strerror or e})") from e


def plot(run_dir: Path, label: str) -> str:
    """Redraw loss.png from metrics.jsonl: "" or, when it failed, why (a picture is not worth
    stopping a run for)."""
    try:
        plot_runs([run_dir], run_dir / "loss.png", labels=[label])
    except (OSError, ValueError) as e:
        return str(e)
    return ""


def add_test_result(run_dir: Path, event: dict) -> None:
    """Record the test split's score (a "test" event) in meta.json."""
    meta_path = run_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["test"] = event
    atomic_write_text(meta_path, _json(meta))


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"
