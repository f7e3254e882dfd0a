"""Evaluation during a run: the val split every eval_interval steps (best checkpoint, plateau schedule,
early stopping) and, when the run is done, the test split scored with the best weights.

    validate_and_save(trainer)     # every rank; rank 0 writes metrics.jsonl and the checkpoints
    event = score_test(trainer)    # {"kind": "test", "loss", "ppl", "bpc", ...}; {} off rank 0

Scoring itself is textgen.train.evaluate; saving is textgen.train.checkpointing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from textgen.train import checkpointing

if TYPE_CHECKING:
    from textgen.train.trainer import Trainer


def validate_and_save(tr: Trainer) -> None:
    """Score the val split, note a new best, feed the schedule, save, and stop when patience runs out."""
    s = tr.evaluate("val", tr.cfg.eval_tokens)
    event = {
        "kind": "val",
        "step": tr.step,
        "chars_seen": tr.chars_seen,
        **s.to_dict(),
        "elapsed": round(tr.elapsed, 1),
    }
    best = s.loss < tr.best_val
    if best:
        tr.best_val, tr.best_metrics, tr.bad_evals = s.loss, event, 0
    else:
        tr.bad_evals += 1
    tr.sched.observe(s.loss)
    if tr.main:
        tr.metrics.write(event)
    tr.log(
        f"step {tr.step}: val loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char"
        + (" (best)" if best else f" (best {tr.best_metrics.get('bpc', math.nan):.3f})")
    )
    checkpointing.save(tr, event, best)
    if tr.cfg.patience and tr.bad_evals >= tr.cfg.patience:
        tr.stop_reason = f"early stop: no better val loss in {tr.bad_evals} evaluations"


def score_test(tr: Trainer) -> dict:
    """Score the test split with the best weights (then put the last ones back)."""
    from textgen.checkpoint import load_checkpoint

    if not tr.main:
        return {}
    last = {k: v.clone() for k, v in tr.model.state_dict().items()}
    best = load_checkpoint(tr.run_dir / "best.safetensors", device=tr.device).model
    tr.model.load_state_dict(best.state_dict())
    s = tr.evaluate("test", 0)
    tr.model.load_state_dict(last)
    event = {
        "kind": "test",
        "step": tr.best_metrics.get("step", tr.step),
        "chars_seen": tr.best_metrics.get("chars_seen", tr.chars_seen),
        **s.to_dict(),
    }
    tr.metrics.write(event)
    tr.log(f"test (best checkpoint): loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char")
    checkpointing.add_test_result(tr.run_dir, event)
    checkpointing.plot(tr)
    return event
