"""What a run reports while it trains: the opening lines (model, data, device), the progress bar, the
speed and time estimate after the first steps (with a warning when the plan is many epochs of a
small text), and the window of steps behind each "train" event of metrics.jsonl. These take
numbers (a Plan, a RunState), never the trainer; the trainer prints what they return.

    plan = Plan(total_steps=5000, time_budget_s=0, steps_per_epoch=80, train_tokens=330_000,
                tokens_per_step=4096, chars_per_token=1.0, eval_interval=250, eval_tokens=50_000)
    estimate_lines(plan, RunState(step=3000), s_per_step=0.2, patience=5)
    # ['speed: 20,480 characters/s (200 ms/step); about 7 min more: 2,000 steps, to step 5,000 (62 epochs)',
    #  'warning: the plan is 62 epochs of a small text (330,000 characters): ...']
    window = TrainWindow()
    window.add(4.2, 4096, 0.2, 1.0)     # loss, tokens, seconds, gradient norm of one step
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from textgen.model import ModelConfig
from textgen.train.state import RunState

MANY_EPOCHS = 50  # a plan past this many epochs is warned about: the text will be learned by heart


@dataclass
class Plan:
    """A run's plan in numbers."""

    total_steps: int  # the step budget (0: not bounded in steps)
    time_budget_s: float  # the training-time budget (0: not bounded in time)
    steps_per_epoch: int
    train_tokens: int  # the train split
    tokens_per_step: int  # over all ranks
    chars_per_token: float  # of the train split
    eval_interval: int  # steps between evaluations
    eval_tokens: int  # tokens scored per evaluation

    def steps_left(self, run: RunState, s_per_step: float = 0.0) -> int | None:
        """Training steps until the first budget is reached (a time budget at s_per_step seconds of
        training a step); None when nothing bounds the run, or only time does and the speed is unknown."""
        left = []
        if self.total_steps:
            left.append(max(self.total_steps - run.step, 0))
        if self.time_budget_s and s_per_step > 0:
            left.append(int(max(self.time_budget_s - run.elapsed, 0.0) / s_per_step))
        return min(left) if left else None

    def wall_per_step(self, s_per_step: float) -> float:
        """Seconds per step on the clock: evaluations add roughly eval_tokens at 3x the training rate
        every eval_interval steps (they are not counted in the time budget)."""
        eval_s = self.eval_tokens / (3 * self.tokens_per_step / s_per_step)
        return s_per_step + eval_s / self.eval_interval


def fmt_minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def model_line(cfg: ModelConfig, params: int) -> str:
    return (
        f"model: {cfg.cell} {cfg.n_layer}x{cfg.hidden_size}, embedding {cfg.n_embd}, "
        f"vocabulary {cfg.vocab_size:,}, {params / 1e6:.2f}M parameters"
        + (f", adaptive softmax {cfg.adaptive_cutoffs}" if cfg.adaptive_cutoffs else "")
    )


def data_line(
    name: str,
    plan: Plan,
    streams: str,
    device: str,
    world_size: int,
    threads: int,
    run_dir: Path,
) -> str:
    """streams: "64 streams x 64"; threads: CPU threads (0 off the CPU)."""
    return (
        f"data: {name}, {plan.train_tokens:,} train tokens, {plan.steps_per_epoch:,} steps per epoch "
        f"({streams}); device {device}"
        + (f" x {world_size} processes" if world_size > 1 else "")
        + (f", {threads} thread" + "s" * (threads != 1) if threads else "")
        + f"; run dir {run_dir}"
    )


def start_warnings(plan: Plan, patience: int, configured_eval_interval: int) -> list[str]:
    lines = []
    if not (plan.total_steps or plan.time_budget_s or patience):
        lines.append("warning: no --epochs, --max-steps, --time-budget or --patience: runs until Ctrl-C")
    if plan.eval_interval < configured_eval_interval:
        lines.append(
            f"evaluating every epoch ({plan.eval_interval} steps) rather than every {configured_eval_interval}: "
            "a small text is learned by heart in a few epochs"
        )
    return lines


def estimate_lines(plan: Plan, run: RunState, s_per_step: float, patience: int) -> list[str]:
    """Characters per second and how long the rest of the run will take, evaluations included; a
    warning when that is many epochs of a small text."""
    cps = plan.tokens_per_step * plan.chars_per_token / s_per_step
    per_step = plan.wall_per_step(s_per_step)
    left = plan.steps_left(run, s_per_step)
    if left is None:
        return [
            f"speed: {cps:,.0f} characters/s; one epoch takes about {fmt_minutes(plan.steps_per_epoch * per_step)}"
        ]
    end = run.step + left
    epochs = end / plan.steps_per_epoch
    about = "~" if plan.time_budget_s else ""  # a time budget's steps are an estimate
    lines = [
        f"speed: {cps:,.0f} characters/s ({s_per_step * 1000:.0f} ms/step); about {fmt_minutes(left * per_step)} more: "
        f"{about}{left:,} steps, to step {about}{end:,} ({about}{epochs:,.{2 if epochs < 10 else 0}f} epochs)"
    ]
    if epochs > MANY_EPOCHS:
        lines.append(
            f"warning: the plan is {about}{epochs:,.0f} epochs of a small text "
            f"({plan.train_tokens * plan.chars_per_token:,.0f} characters): seen that often, it is learned by heart and the validation loss rises. "
            + (
                f"The run stops after {patience} evaluations without a better one (--patience); "
                if patience
                else "--patience 0: nothing stops the run early; "
            )
            + "sample, eval and serve use the best checkpoint. For fewer epochs give --epochs or --max-steps."
        )
    return lines


class StepBar:
    """A tqdm bar over training steps. Its total is the step the run should end at: the step budget
    or, under a time budget, the step the budget is expected to reach at the speed measured so far."""

    def __init__(self, plan: Plan, step: int, enabled: bool):
        self.plan = plan
        self.bar = tqdm(
            total=plan.total_steps or None,
            initial=step,
            unit="step",
            disable=not enabled,
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def update(self, step: int) -> None:
        if self.bar.total is not None and step > self.bar.total:  # past an estimate: tqdm would drop the bar
            self.bar.total = step
        self.bar.update(step - self.bar.n)

    def estimate(self, run: RunState, s_per_step: float) -> None:
        """Re-aim the total under a time budget, from the measured seconds per step."""
        left = self.plan.steps_left(run, s_per_step)
        if self.plan.time_budget_s and left is not None:
            self.bar.total = run.step + left
            self.bar.refresh()

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(**values)

    def close(self) -> None:
        self.bar.close()


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

    def event(self, run: RunState, epoch: float, mean_loss: float, lr: float, chars_per_token: float) -> dict:
        """The "train" event; mean_loss is the window's mean loss averaged over the ranks."""
        tps = self.tokens / max(self.time, 1e-9)
        return {
            "kind": "train",
            "step": run.step,
            "epoch": round(epoch, 4),
            "chars_seen": run.chars_seen,
            "loss": mean_loss,
            "bpc": mean_loss / chars_per_token / math.log(2),
            "lr": lr,
            "grad_norm": self.grad_norm / self.n,
            "tokens_per_s": tps,
            "chars_per_s": tps * chars_per_token,
            "elapsed": round(run.elapsed, 1),
        }
