"""Learning-rate schedule: linear warm-up, then cosine decay, decay on plateau, or constant.

Cosine decays over the run's progress after warm-up, the larger of steps/max_steps (when steps are bounded) and
elapsed/time_budget (when time is), so a run bounded only by `--time-budget` still anneals. Under a time
budget, warm-up also ends once 3% of the budget is used, however few steps that was: the schedule
follows the share of the budget used, whatever the machine's speed.

    sched = LRSchedule(cfg, total_steps=10_000)
    lr = sched.lr(step, elapsed_s)          # set it on the optimizer each step
    sched.observe(bad_evals=2)              # after each evaluation: evaluations since the best

The run counts evaluations without improvement once (RunState.bad_evals); early stopping and the
plateau schedule both read that count.
"""

from __future__ import annotations

import math

from textgen.train.config import TrainConfig

WARMUP_SHARE = 0.03  # the most of a --time-budget that warm-up may take


class LRSchedule:
    def __init__(self, cfg: TrainConfig, total_steps: int = 0):
        self.cfg = cfg
        self.total_steps = total_steps  # 0 = unbounded in steps
        self.scale = 1.0  # plateau multiplier

    def progress(self, step: int, elapsed_s: float) -> float:
        p = 0.0
        if self.total_steps:
            w = min(self.cfg.warmup_steps, self.total_steps - 1)
            p = max(p, (step - w) / (self.total_steps - w))
        if self.cfg.time_budget:
            p = max(p, elapsed_s / (self.cfg.time_budget * 60))
        return min(p, 1.0)

    def lr(self, step: int, elapsed_s: float = 0.0) -> float:
        c = self.cfg
        if c.warmup_steps and step < c.warmup_steps:
            warm = (step + 1) / c.warmup_steps
            if c.time_budget:
                # On a slow or busy machine a warm-up counted in steps could eat most of a time
                # budget; it never takes more than WARMUP_SHARE of it.
                warm = max(warm, elapsed_s / (WARMUP_SHARE * c.time_budget * 60))
            if warm < 1.0:
                return c.lr * warm
        if c.lr_schedule == "cosine":
            if not (self.total_steps or c.time_budget):
                return c.lr  # nothing to decay over
            p = self.progress(step, elapsed_s)
            return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1 + math.cos(math.pi * p))
        if c.lr_schedule == "plateau":
            return max(c.lr * self.scale, c.min_lr)
        return c.lr

    def observe(self, bad_evals: int) -> None:
        """After an evaluation, given the run's evaluations since its best: on plateau, shrink the lr
        after every `plateau_patience` of them."""
        every = max(self.cfg.plateau_patience, 1)
        if self.cfg.lr_schedule == "plateau" and bad_evals and bad_evals % every == 0:
            self.scale *= self.cfg.plateau_factor

    def state_dict(self) -> dict:
        return {"scale": self.scale}

    def load_state_dict(self, state: dict) -> None:
        self.scale = float(state["scale"])  # older files also hold a best and count of their own
