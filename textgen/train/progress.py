"""What a run reports while it trains: the opening lines (model, data, device), the progress bar, the
speed and time estimate after the first steps, and the window of steps behind each "train" event of
metrics.jsonl. Everything prints through Trainer.log (rank 0, not --quiet) to stderr.

    print_start(trainer)
    bar, by_time = progress_bar(trainer)     # over steps, or seconds when only --time-budget bounds it
    window = TrainWindow(); window.add(loss, tokens, seconds, grad_norm)
    event = window.event(trainer, mean_loss, lr)
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

if TYPE_CHECKING:
    from textgen.train.trainer import Trainer


def fmt_minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _threads(n: int) -> str:
    return f"{n} thread" + "s" * (n != 1)


def print_start(tr: Trainer) -> None:
    """The model, the data and where the run goes, before the first step."""
    c, m = tr.cfg, tr.model
    spe = tr.loader.steps_per_epoch
    tr.log(
        f"model: {m.config.cell} {m.config.n_layer}x{m.config.hidden_size}, embedding {m.config.n_embd}, "
        f"vocabulary {m.config.vocab_size:,}, {m.num_params() / 1e6:.2f}M parameters"
        + (f", adaptive softmax {m.config.adaptive_cutoffs}" if m.config.adaptive_cutoffs else "")
    )
    tr.log(
        f"data: {tr.data.name}, {len(tr.data.splits['train']):,} train tokens, {spe:,} steps per epoch "
        f"({c.batch_size} streams x {c.seq_len}); device {tr.device.type}"
        + (f" x {tr.dist.world_size} processes" if tr.dist.enabled else "")
        + (f", {_threads(torch.get_num_threads())}" if tr.device.type == "cpu" else "")
        + f"; run dir {tr.run_dir}"
    )
    if not (tr.total_steps or c.time_budget or c.patience):
        tr.log("warning: no --epochs, --max-steps, --time-budget or --patience: runs until Ctrl-C")
    if tr.step:
        tr.log(f"resuming at step {tr.step} (epoch {tr.loader.progress:.2f})")


def progress_bar(tr: Trainer) -> tuple[tqdm, bool]:
    """(bar, by_time): a tqdm bar over steps, or over seconds when only a time budget bounds the run."""
    c = tr.cfg
    bar_total = tr.total_steps or (int(c.time_budget * 60) if c.time_budget else None)
    by_time = not tr.total_steps and bool(c.time_budget)
    bar = tqdm(
        total=bar_total,
        initial=int(tr.elapsed) if by_time else tr.step,
        unit="s" if by_time else "step",
        disable=not tr.main or tr.quiet,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    return bar, by_time


def print_estimate(tr: Trainer, s_per_step: float) -> None:
    """Characters per second and how long the rest of the run will take, evaluations included."""
    c = tr.cfg
    cps = c.batch_size * c.seq_len * tr.data.cpt("train") / s_per_step
    # Evaluations add roughly eval_tokens / (3x the training rate) per eval_interval steps.
    eval_tokens = c.eval_tokens or len(tr.data.splits["val"])
    eval_s = eval_tokens / (3 * c.batch_size * c.seq_len / s_per_step)
    per_step = s_per_step + eval_s / c.eval_interval
    remaining = []
    if tr.total_steps:
        remaining.append((tr.total_steps - tr.step) * per_step)
    if c.time_budget:
        remaining.append(max(c.time_budget * 60 - tr.elapsed, 0.0))
    spe = tr.loader.steps_per_epoch
    if remaining:
        left = min(remaining)
        steps = tr.step + int(left / per_step)
        tr.log(
            f"speed: {cps:,.0f} characters/s ({s_per_step * 1000:.0f} ms/step); this run will take about "
            f"{fmt_minutes(left)} more: ~{steps:,} steps, ~{steps / spe:.2f} epochs"
        )
    else:
        tr.log(f"speed: {cps:,.0f} characters/s; one epoch takes about {fmt_minutes(spe * per_step)}")


class TrainWindow:
    """Sums over the training steps since the last "train" event (this rank's steps)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loss, self.n, self.tokens, self.time, self.grad_norm = 0.0, 0, 0, 0.0, 0.0

    def add(self, loss: float, tokens: int, seconds: float, grad_norm: float) -> None:
        self.loss, self.n, self.tokens, self.time, self.grad_norm = (
            self.loss + loss,
            self.n + 1,
            self.tokens + tokens,
            self.time + seconds,
            self.grad_norm + grad_norm,
        )

    def event(self, tr: Trainer, mean_loss: float, lr: float) -> dict:
        """The "train" event; mean_loss is the window's mean loss averaged over the ranks."""
        tps = self.tokens / max(self.time, 1e-9)
        return {
            "kind": "train",
            "step": tr.step,
            "epoch": round(tr.loader.progress, 4),
            "chars_seen": tr.chars_seen,
            "loss": mean_loss,
            "bpc": mean_loss / tr.data.cpt("train") / math.log(2),
            "lr": lr,
            "grad_norm": self.grad_norm / self.n,
            "tokens_per_s": tps,
            "chars_per_s": tps * tr.data.cpt("train"),
            "elapsed": round(tr.elapsed, 1),
        }
