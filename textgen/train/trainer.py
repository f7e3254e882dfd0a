"""The training loop: truncated BPTT with AdamW, warm-up + decay, clipping, budgets, evaluation,
checkpoints and exact resume.

    result = train(data, model_cfg, train_cfg)                      # new run
    result = train(data, model_cfg, train_cfg, resume="runs/tang")

A run directory gets best.safetensors / last.safetensors (textgen.checkpoint), meta.json,
metrics.jsonl, loss.png and last.state.pt (the resume state). Only rank 0 writes. Saving and
resuming are in checkpointing, evaluation during the run in validation, what it prints in progress.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from textgen.errors import ConfigError, TextgenError
from textgen.model import RNNLM, ModelConfig, detach_hidden
from textgen.train import checkpointing, distributed
from textgen.train.checkpointing import check_writable
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.device import resolve_device
from textgen.train.evaluate import Score, autocast_for, score_documents, score_ids
from textgen.train.loader import StreamLoader
from textgen.train.progress import TrainWindow, print_estimate, print_start, progress_bar
from textgen.train.runlog import MetricsLog
from textgen.train.schedule import LRSchedule
from textgen.train.validation import score_test, validate_and_save


class TrainingError(TextgenError):
    """Training cannot go on (divergence)."""


class _LossStep(nn.Module):
    """model.loss as a module forward, so DDP sees (and synchronises) the training call."""

    def __init__(self, model: RNNLM):
        super().__init__()
        self.model = model

    def forward(self, x, y, hidden):
        return self.model.loss(x, y, hidden)


class Trainer:
    def __init__(
        self,
        data: TrainData,
        model_cfg: ModelConfig,
        cfg: TrainConfig,
        *,
        resume: str | Path | None = None,
        overwrite: bool = False,
        on_step: Callable[[int, float], bool] | None = None,
        quiet: bool = False,
    ):
        cfg.validate()
        model_cfg.validate()
        self.data, self.model_cfg, self.cfg = data, model_cfg, cfg
        self.on_step, self.quiet = on_step, quiet
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.dist = distributed.setup(cfg.device)
        self.device = resolve_device(cfg.device)
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        self.main = self.dist.is_main
        self.run_dir = Path(resume or cfg.out or Path("runs") / data.name)
        self.corpus = data.describe()

        state = checkpointing.read_resume_state(self.run_dir, self.corpus, model_cfg) if resume else None
        if model_cfg.vocab_size != data.tokenizer.vocab_size:
            raise ConfigError(
                f"model vocab_size {model_cfg.vocab_size} != tokenizer vocabulary {data.tokenizer.vocab_size}"
            )
        for split in ("train", "val"):
            if split not in data.splits or len(data.splits[split]) < 3:
                raise TextgenError(f"corpus {data.name!r} has no usable {split} split")
        if not resume and not overwrite:
            checkpointing.check_no_run(self.run_dir)
        if self.main:
            check_writable(self.run_dir)

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and on resume
        self.model = RNNLM(model_cfg).to(self.device)
        if cfg.init_from and state is None:
            self.init_stats = _init_from(self.model, data.tokenizer, cfg.init_from)
        torch.manual_seed(cfg.seed + 1 + self.dist.rank)  # per-rank dropout masks
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.lr,
            betas=(0.9, cfg.beta2),
            fused=self.device.type == "cuda" or None,
        )
        self.loader = StreamLoader(
            data.splits["train"], cfg.batch_size, cfg.seq_len, cfg.seed, self.dist.rank, self.dist.world_size
        )
        spe = self.loader.steps_per_epoch
        bounds = [b for b in (cfg.max_steps, math.ceil(cfg.epochs * spe) if cfg.epochs else 0) if b]
        self.total_steps = min(bounds) if bounds else 0
        self.sched = LRSchedule(cfg, self.total_steps)
        step_module = _LossStep(self.model)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            step_module = DDP(step_module, device_ids=ids)
        self.step_module = step_module

        self.step = 0
        self.elapsed = 0.0  # training seconds, summed over resumes
        self.hidden = None
        self.best_val = math.inf
        self.best_metrics: dict = {}
        self.bad_evals = 0
        self.chars_seen = 0.0
        self.stop_reason = ""
        self.last_plot = -math.inf  # when loss.png was last drawn (time.monotonic)
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")
        if state is not None:
            checkpointing.restore_state(self, state)
        elif self.main and overwrite:
            checkpointing.clear_run(self.run_dir)

    # ---------------------------------------------------------------- output
    def log(self, msg: str) -> None:
        if self.main and not self.quiet:
            tqdm.write(msg, file=sys.stderr)

    # ---------------------------------------------------------------- eval
    def evaluate(self, split: str, max_tokens: int) -> Score:
        if split == "test" and not max_tokens:  # the whole split, scored as `textgen eval` scores it
            tok = self.data.tokenizer
            return score_documents(
                self.model, self.data.splits[split], eos_id=tok.eos_id, chars_per_token=self.data.cpt(split)
            ).all
        return score_ids(
            self.model,
            self.data.splits[split],
            chars_per_token=self.data.cpt(split),
            batch_size=16,
            seq_len=256,
            max_tokens=max_tokens,
        )

    # ---------------------------------------------------------------- loop
    def _budget_reached(self) -> str:
        c = self.cfg
        if self.total_steps and self.step >= self.total_steps:
            return f"reached {self.total_steps} steps"
        if c.time_budget and self.elapsed >= c.time_budget * 60:
            return f"time budget of {c.time_budget:g} min used"
        return ""

    def _install_sigint(self):
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self.stop_reason == "interrupted":
                raise KeyboardInterrupt
            self.stop_reason = "interrupted"
            self.log("interrupt: finishing this step and saving (Ctrl-C again to abort)")

        return signal.signal(signal.SIGINT, handler)

    def run(self) -> dict:
        c = self.cfg
        tokens_per_step = c.batch_size * c.seq_len
        print_start(self)
        bar, by_time = progress_bar(self)
        old_handler = self._install_sigint()
        window = TrainWindow()
        ema, best_ema, estimated = None, math.inf, False
        run_start = self.step
        try:
            while True:
                self.stop_reason = self.stop_reason or self._budget_reached()
                if self.dist.enabled:
                    # Every rank must take the same exit path (they run collectives on the way out).
                    interrupted = self.dist.any(self.stop_reason == "interrupted")
                    if interrupted:
                        self.stop_reason = "interrupted"
                    elif self.dist.any(bool(self.stop_reason)) and not self.stop_reason:
                        self.stop_reason = "another process reached its budget"
                if self.stop_reason:
                    break
                t0 = time.perf_counter()
                x, y, new_epoch = self.loader.next_batch()
                if new_epoch:
                    self.hidden = None  # a new layout: the carried state belongs to other text
                x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
                lr = self.sched.lr(self.step, self.elapsed)
                lval, gval = self.train_step(x, y, lr)
                dt = time.perf_counter() - t0
                self.step += 1
                self.elapsed += dt
                self.chars_seen += tokens_per_step * self.data.cpt("train")
                window.add(lval, tokens_per_step, dt, gval)
                bar.update(1 if not by_time else int(self.elapsed) - bar.n)

                if not estimated and self.step - run_start == 10:
                    estimated = True
                    print_estimate(self, window.time / window.n)
                if self.step % c.log_interval == 0:
                    mean_loss = self.dist.mean(window.loss / window.n)
                    event = window.event(self, mean_loss, lr)
                    if self.main:
                        self.metrics.write(event)
                    bar.set_postfix(
                        loss=f"{mean_loss:.3f}", lr=f"{lr:.2e}", cps=f"{event['chars_per_s']:.0f}"
                    )
                    ema = mean_loss if ema is None else 0.9 * ema + 0.1 * mean_loss
                    if self.step > c.warmup_steps:
                        best_ema = min(best_ema, ema)
                        if ema > c.divergence_factor * best_ema:
                            raise TrainingError(
                                f"training diverged at step {self.step}: loss {ema:.3f} is over "
                                f"{c.divergence_factor:g}x its best ({best_ema:.3f}); lower --lr (now {c.lr:g})"
                            )
                    window.reset()
                if self.step % c.eval_interval == 0:
                    validate_and_save(self)
                if self.on_step is not None and self.on_step(self.step, lval):
                    self.stop_reason = "interrupted"
        finally:
            bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)

        if self.stop_reason == "interrupted":
            # Save exactly here without an extra evaluation, which would feed the plateau schedule
            # and early stopping an evaluation the uninterrupted run never made.
            if self.step % c.eval_interval != 0:
                checkpointing.save(self, self.best_metrics, best=False, final=True)
        elif self.step % c.eval_interval != 0 or self.step == run_start:
            validate_and_save(self)  # the final state is always evaluated and saved
        result = {
            "step": self.step,
            "stop_reason": self.stop_reason,
            "best": self.best_metrics,
            "chars_seen": self.chars_seen,
            "elapsed_s": self.elapsed,
            "run_dir": str(self.run_dir),
        }
        if self.stop_reason == "interrupted":
            self.log(f"stopped at step {self.step}; continue with --resume {self.run_dir}")
            return result
        if "test" in self.data.splits and len(self.data.splits["test"]) > 2:
            result["test"] = score_test(self)  # also redraws loss.png
        elif self.main:
            checkpointing.plot(self)
        self.log(f"done: {self.stop_reason}; best checkpoint {self.run_dir / 'best.safetensors'}")
        return result

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[float, float]:
        """One optimizer step on a batch, carrying the hidden state: (loss, gradient norm)."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        with autocast_for(self.device):
            loss, hidden = self.step_module(x, y, self.hidden)
        self.hidden = detach_hidden(hidden)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip or math.inf)
        lval, gval = loss.item(), gn.item()
        if not (math.isfinite(gval) and math.isfinite(lval)):
            raise TrainingError(
                f"training diverged at step {self.step + 1}: loss {lval}, gradient norm {gval}; "
                f"lower --lr (now {self.cfg.lr:g}) or --grad-clip; the last good checkpoint is in {self.run_dir}"
            )
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return lval, gval


def _init_from(model: RNNLM, tokenizer, path: str) -> dict:
    from textgen.checkpoint import load_checkpoint
    from textgen.train.init import transfer_weights

    src = load_checkpoint(path)
    return transfer_weights(model, tokenizer, src.model.to(next(model.parameters()).device), src.tokenizer)


def train(data: TrainData, model_cfg: ModelConfig, cfg: TrainConfig, **kwargs) -> dict:
    """Train (or resume, with resume=RUN_DIR) and return a summary: step, stop_reason, best, test."""
    trainer = Trainer(data, model_cfg, cfg, **kwargs)
    try:
        return trainer.run()
    finally:
        distributed.teardown()
