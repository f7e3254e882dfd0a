"""The trainer's run directory: checks before a run starts, the resume state taken from (and put back
into) a Trainer, and saving best/last checkpoints, meta.json, last.state.pt and loss.png together.

    check_writable(run_dir)                  # TextgenError now, not after an hour of training
    save(trainer, metrics, best=True)        # every rank calls it (the state is gathered); rank 0 writes
    restore_state(trainer, read_resume_state(run_dir, corpus, model_cfg))

The file format of last.state.pt itself is textgen.train.state; checkpoints are textgen.checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from textgen.checkpoint import save_checkpoint
from textgen.errors import CheckpointError, TextgenError
from textgen.model import ModelConfig
from textgen.paths import atomic_write_text
from textgen.train.runlog import plot_runs
from textgen.train.state import STATE_FILE, check_same_corpus, read_state, write_state

if TYPE_CHECKING:
    from textgen.train.trainer import Trainer


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


def capture_state(tr: Trainer) -> dict:
    """Everything an exact resume needs. Every rank must call it: it gathers hidden and RNG states."""
    hidden = tr.hidden
    if hidden is not None:
        hidden = tuple(hidden) if isinstance(hidden, tuple) else (hidden,)
        hidden = [tr.dist.gather_rows(h.float()).cpu() for h in hidden]
    rng = {"cpu": torch.get_rng_state()}
    if tr.device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(tr.device)
    rngs = tr.dist.gather_objects(rng)
    return {
        "model": {k: v.cpu() for k, v in tr.model.state_dict().items()},
        "optimizer": tr.opt.state_dict(),
        "schedule": tr.sched.state_dict(),
        "loader": tr.loader.state_dict(),
        "hidden": hidden,
        "rng": rngs,
        "step": tr.step,
        "elapsed": tr.elapsed,
        "chars_seen": tr.chars_seen,
        "best_val": tr.best_val,
        "best_metrics": tr.best_metrics,
        "bad_evals": tr.bad_evals,
        "world_size": tr.dist.world_size,
        "model_config": tr.model_cfg.to_dict(),
        "train_config": tr.cfg.to_dict(),
        "corpus": tr.corpus,
    }


def restore_state(tr: Trainer, s: dict) -> None:
    """Put a captured state back into a freshly built Trainer (this rank's share of it)."""
    tr.model.load_state_dict(s["model"])
    tr.opt.load_state_dict(s["optimizer"])
    tr.sched.load_state_dict(s["schedule"])
    tr.loader.load_state_dict(s["loader"])
    tr.step, tr.elapsed = int(s["step"]), float(s["elapsed"])
    tr.chars_seen, tr.best_val = float(s["chars_seen"]), float(s["best_val"])
    tr.best_metrics, tr.bad_evals = dict(s["best_metrics"]), int(s["bad_evals"])
    if s["hidden"] is not None:
        per = tr.cfg.batch_size // tr.dist.world_size
        rows = slice(tr.dist.rank * per, (tr.dist.rank + 1) * per)
        hs = [h[:, rows].to(tr.device) for h in s["hidden"]]
        tr.hidden = tuple(hs) if tr.model_cfg.cell == "lstm" else hs[0]
    rngs = s["rng"]
    if len(rngs) == tr.dist.world_size:  # same layout: every rank continues its own stream
        torch.set_rng_state(rngs[tr.dist.rank]["cpu"])
        if tr.device.type == "cuda" and "cuda" in rngs[tr.dist.rank]:
            torch.cuda.set_rng_state(rngs[tr.dist.rank]["cuda"], tr.device)
    if tr.main:
        tr.metrics.truncate_after(tr.step)


def run_meta(tr: Trainer, metrics: dict) -> dict:
    """meta.json, also stored in both checkpoints."""
    return {
        "corpus": tr.corpus,
        "train_config": tr.cfg.to_dict(),
        "metrics": metrics,
        "best": tr.best_metrics,
        "step": tr.step,
        "epoch": round(tr.loader.progress, 4),
        "chars_seen": tr.chars_seen,
        "elapsed_s": round(tr.elapsed, 1),
        "params": tr.model.num_params(),
        "git_commit": git_commit(),
        "world_size": tr.dist.world_size,
        "device": tr.device.type,
    }


def save(tr: Trainer, metrics: dict, best: bool, final: bool = False) -> None:
    """last (+ best) checkpoint, meta.json, resume state, picture. Rank 0 only, but every rank
    takes part in gathering the state."""
    state = capture_state(tr)
    if not tr.main:
        return
    meta = run_meta(tr, metrics)
    tok = tr.data.tokenizer
    try:
        if best:
            save_checkpoint(tr.run_dir / "best.safetensors", tr.model, tok, meta)
        save_checkpoint(tr.run_dir / "last.safetensors", tr.model, tok, meta)
        atomic_write_text(tr.run_dir / "meta.json", _json(meta))
        write_state(tr.run_dir, state)
    except OSError as e:
        raise TextgenError(f"{tr.run_dir}: cannot write checkpoint ({e.strerror or e})") from e
    # Redraw at most once a minute: drawing costs about half a second.
    if final or time.monotonic() - tr.last_plot > 60:
        plot(tr)


def plot(tr: Trainer) -> None:
    """Redraw loss.png from metrics.jsonl (rank 0); a failure is only a warning."""
    tr.last_plot = time.monotonic()
    try:
        plot_runs([tr.run_dir], tr.run_dir / "loss.png", labels=[tr.data.name])
    except (OSError, ValueError) as e:  # a picture is not worth stopping a run for
        tr.log(f"warning: could not draw loss.png ({e})")


def add_test_result(run_dir: Path, event: dict) -> None:
    """Record the test split's score (a "test" event) in meta.json."""
    meta_path = run_dir / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["test"] = event
    atomic_write_text(meta_path, _json(meta))


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"
