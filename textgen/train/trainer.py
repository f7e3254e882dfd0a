"""The training loop: truncated BPTT with AdamW, warm-up + decay, clipping, budgets, evaluation,
checkpoints and exact resume.

    result = train(data, model_cfg, train_cfg)                      # new run
    result = train(data, model_cfg, train_cfg, resume="runs/tang")

A run directory gets best.safetensors / last.safetensors (textgen.checkpoint), meta.json,
metrics.jsonl, loss.png and last.state.pt (the resume state). Only rank 0 writes. Saving and
resuming are in checkpointing, scoring during the run in validation, what it prints in progress.
Where the run stands (step, time, characters, best, evaluations since it, why it stops) is one
RunState (train.state); the trainer decides what each validation score means.
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
from tqdm import tqdm

from textgen.checkpoint import CheckpointMeta, CorpusRecord
from textgen.errors import TextgenError
from textgen.model import RNNLM, ModelConfig, detach_hidden
from textgen.train import checkpointing, distributed, progress
from textgen.train.checkpointing import check_writable
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.device import resolve_device
from textgen.train.evaluate import Score, autocast_for
from textgen.train.loader import StreamLoader
from textgen.train.parts import LossStep, check_data, make_optimizer, make_plan, warm_start
from textgen.train.progress import StepBar, TrainWindow
from textgen.train.runlog import MetricsLog
from textgen.train.schedule import LRSchedule
from textgen.train.state import RunState
from textgen.train.validation import score_best, score_split


class TrainingError(TextgenError):
    """Training cannot go on (divergence)."""


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
        check_data(data, model_cfg)
        if not resume and not overwrite:
            checkpointing.check_no_run(self.run_dir)
        if self.main:
            check_writable(self.run_dir)

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and on resume
        self.model = RNNLM(model_cfg).to(self.device)
        if cfg.init_from and state is None:
            self.init_stats = warm_start(self.model, data.tokenizer, cfg.init_from)
        torch.manual_seed(cfg.seed + 1 + self.dist.rank)  # per-rank dropout masks
        self.opt = make_optimizer(self.model, cfg, self.device)
        self.loader = StreamLoader(
            data.splits["train"], cfg.batch_size, cfg.seq_len, cfg.seed, self.dist.rank, self.dist.world_size
        )
        self.plan = make_plan(cfg, data, self.loader.steps_per_epoch)
        self.sched = LRSchedule(cfg, self.plan.total_steps)
        self.step_module = LossStep(self.model)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_module = DDP(self.step_module, device_ids=ids)

        self.state = RunState()
        self.hidden = None  # carried from step to step (truncated BPTT)
        self._last_plot = -math.inf  # when loss.png was last drawn (time.monotonic)
        self._commit = checkpointing.git_commit() if self.main else ""  # once: saves can be seconds apart
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")
        if state is not None:
            self.load_state_dict(state)
            if self.main:
                self.metrics.truncate_after(self.state.step)
        elif self.main and overwrite:
            checkpointing.clear_run(self.run_dir)

    def state_dict(self) -> dict:
        """Everything an exact resume needs (last.state.pt). Every rank must call it: it gathers the
        hidden and RNG states of all ranks."""
        return {
            "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.opt.state_dict(),
            "schedule": self.sched.state_dict(),
            "loader": self.loader.state_dict(),
            "hidden": checkpointing.gather_hidden(self.hidden, self.dist),
            "rng": checkpointing.gather_rng(self.dist, self.device),
            **self.state.to_dict(),
            "world_size": self.dist.world_size,
            "model_config": self.model_cfg.to_dict(),
            "train_config": self.cfg.to_dict(),
            "corpus": self.corpus,
        }

    def load_state_dict(self, s: dict) -> None:
        """Put a state_dict() back (this rank's share of it) into a freshly built trainer."""
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.sched.load_state_dict(s["schedule"])
        self.loader.load_state_dict(s["loader"])
        self.state = RunState.from_dict(s)
        lstm = self.model_cfg.cell == "lstm"
        self.hidden = checkpointing.scatter_hidden(
            s["hidden"], self.dist, self.cfg.batch_size, self.device, lstm
        )
        checkpointing.restore_rng(s["rng"], self.dist, self.device)

    # ---------------------------------------------------------------- output
    def log(self, msg: str) -> None:
        if self.main and not self.quiet:
            tqdm.write(msg, file=sys.stderr)

    # ---------------------------------------------------------------- eval
    def evaluate(self, split: str, max_tokens: int) -> Score:
        return score_split(self.model, self.data, split, max_tokens)

    def _validate(self) -> None:
        """Score the val split; then decide: a new best?, the schedule, save, early stop."""
        st = self.state
        s = self.evaluate("val", self.cfg.eval_tokens)
        event = {
            "kind": "val",
            "step": st.step,
            "chars_seen": st.chars_seen,
            **s.to_dict(),
            "elapsed": round(st.elapsed, 1),
        }
        best = st.observe(s.loss, event)
        self.sched.observe(st.bad_evals)
        if self.main:
            self.metrics.write(event)
        b = st.best_metrics
        note = "best" if best else f"best {b.get('bpc', math.nan):.3f} at step {b.get('step')}"
        self.log(f"step {st.step}: val loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char ({note})")
        self._save(event, best)
        if self.cfg.patience and st.bad_evals >= self.cfg.patience:
            st.stop_reason = f"early stop: no better val loss in {st.bad_evals} evaluations"

    def _test(self) -> dict:
        """Score the test split with the best weights (rank 0): the "test" event, also in meta.json."""
        if not self.main:
            return {}
        st, best = self.state, self.state.best_metrics
        s = score_best(self.model, self.data, self.run_dir / "best.safetensors")
        event = {
            "kind": "test",
            "step": best.get("step", st.step),
            "chars_seen": best.get("chars_seen", st.chars_seen),
            **s.to_dict(),
        }
        self.metrics.write(event)
        self.log(f"test (best checkpoint): loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char")
        checkpointing.add_test_result(self.run_dir, event)
        self._plot()
        return event

    # ---------------------------------------------------------------- saving
    def _meta(self, metrics: dict) -> CheckpointMeta:
        st = self.state
        return CheckpointMeta(
            corpus=CorpusRecord.from_dict(self.corpus),
            train_config=self.cfg.to_dict(),
            metrics=metrics,
            best=st.best_metrics,
            step=st.step,
            epoch=round(self.loader.progress, 4),
            chars_seen=st.chars_seen,
            elapsed_s=round(st.elapsed, 1),
            params=self.model.num_params(),
            git_commit=self._commit,
            world_size=self.dist.world_size,
            device=self.device.type,
        )

    def _save(self, metrics: dict, best: bool, final: bool = False) -> None:
        """Checkpoints, meta.json and the resume state; every rank takes part (the state is
        gathered), rank 0 writes."""
        state = self.state_dict()
        if not self.main:
            return
        checkpointing.save(self.run_dir, self.model, self.data.tokenizer, self._meta(metrics), state, best)
        # Redraw at most once a minute: drawing costs about half a second.
        if final or time.monotonic() - self._last_plot > 60:
            self._plot()

    def _plot(self) -> None:
        self._last_plot = time.monotonic()
        error = checkpointing.plot(self.run_dir, self.data.name)
        if error:
            self.log(f"warning: could not draw loss.png ({error})")

    # ---------------------------------------------------------------- loop
    def _budget_reached(self) -> str:
        st, plan = self.state, self.plan
        if plan.total_steps and st.step >= plan.total_steps:
            return f"reached {plan.total_steps} steps"
        if plan.time_budget_s and st.elapsed >= plan.time_budget_s:
            return f"time budget of {self.cfg.time_budget:g} min used"
        return ""

    def _should_stop(self) -> bool:
        st = self.state
        st.stop_reason = st.stop_reason or self._budget_reached()
        if self.dist.enabled:
            # Every rank must take the same exit path (they run collectives on the way out).
            if self.dist.any(st.stop_reason == "interrupted"):
                st.stop_reason = "interrupted"
            elif self.dist.any(bool(st.stop_reason)) and not st.stop_reason:
                st.stop_reason = "another process reached its budget"
        return bool(st.stop_reason)

    def _install_sigint(self):
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self.state.stop_reason == "interrupted":
                raise KeyboardInterrupt
            self.state.stop_reason = "interrupted"
            self.log("interrupt: finishing this step and saving (Ctrl-C again to abort)")

        return signal.signal(signal.SIGINT, handler)

    def _print_start(self) -> None:
        c, st, plan = self.cfg, self.state, self.plan
        self.log(progress.model_line(self.model_cfg, self.model.num_params()))
        threads = torch.get_num_threads() if self.device.type == "cpu" else 0
        streams = f"{c.batch_size} streams x {c.seq_len}"
        ws = self.dist.world_size
        self.log(
            progress.data_line(self.data.name, plan, streams, self.device.type, ws, threads, self.run_dir)
        )
        for line in progress.start_warnings(plan, c.patience, c.eval_interval):
            self.log(line)
        if st.step:
            self.log(f"resuming at step {st.step} (epoch {self.loader.progress:.2f})")

    def run(self) -> dict:
        c, st, plan = self.cfg, self.state, self.plan
        self._print_start()
        bar = StepBar(plan, st.step, enabled=self.main and not self.quiet)
        old_handler = self._install_sigint()
        window = TrainWindow()
        ema, best_ema = None, math.inf
        run_start = st.step
        try:
            while not self._should_stop():
                t0 = time.perf_counter()
                x, y, new_epoch = self.loader.next_batch()
                if new_epoch:
                    self.hidden = None  # a new layout: the carried state belongs to other text
                x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
                lr = self.sched.lr(st.step, st.elapsed)
                lval, gval = self.train_step(x, y, lr)
                dt = time.perf_counter() - t0
                st.advance(dt, plan.tokens_per_step * plan.chars_per_token)
                window.add(lval, plan.tokens_per_step, dt, gval)
                if st.step - run_start == 10:
                    for line in progress.estimate_lines(plan, st, window.time / window.n, c.patience):
                        self.log(line)
                    bar.estimate(st, window.time / window.n)
                bar.update(st.step)

                if st.step % c.log_interval == 0:
                    mean_loss = self.dist.mean(window.loss / window.n)
                    event = window.event(st, self.loader.progress, mean_loss, lr, plan.chars_per_token)
                    if self.main:
                        self.metrics.write(event)
                    bar.set_postfix(
                        loss=f"{mean_loss:.3f}", lr=f"{lr:.2e}", cps=f"{event['chars_per_s']:.0f}"
                    )
                    bar.estimate(st, window.time / window.n)
                    ema = mean_loss if ema is None else 0.9 * ema + 0.1 * mean_loss
                    if st.step > c.warmup_steps:
                        best_ema = min(best_ema, ema)
                        if ema > c.divergence_factor * best_ema:
                            raise TrainingError(
                                f"training diverged at step {st.step}: loss {ema:.3f} is over "
                                f"{c.divergence_factor:g}x its best ({best_ema:.3f}); lower --lr (now {c.lr:g})"
                            )
                    window.reset()
                if st.step % plan.eval_interval == 0:
                    self._validate()
                if self.on_step is not None and self.on_step(st.step, lval):
                    st.stop_reason = "interrupted"
        finally:
            bar.close()
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
        return self._finish(run_start)

    def _finish(self, run_start: int) -> dict:
        """After the loop: the last evaluation and save, the test score; the run's summary."""
        st, plan = self.state, self.plan
        if st.stop_reason == "interrupted":
            # Save exactly here without an extra evaluation, which would feed the plateau schedule
            # and early stopping an evaluation the uninterrupted run never made.
            if st.step % plan.eval_interval != 0:
                self._save(st.best_metrics, best=False, final=True)
        elif st.step % plan.eval_interval != 0 or st.step == run_start:
            self._validate()  # the final state is always evaluated and saved
        result = {
            "step": st.step,
            "stop_reason": st.stop_reason,
            "best": st.best_metrics,
            "chars_seen": st.chars_seen,
            "elapsed_s": st.elapsed,
            "run_dir": str(self.run_dir),
        }
        if st.stop_reason == "interrupted":
            self.log(f"stopped at step {st.step}; continue with --resume {self.run_dir}")
            return result
        if "test" in self.data.splits and len(self.data.splits["test"]) > 2:
            result["test"] = self._test()  # also redraws loss.png
        elif self.main:
            self._plot()
        best = st.best_metrics
        self.log(
            f"done: {st.stop_reason}; best checkpoint (step {best.get('step')}, "
            f"{best.get('bpc', math.nan):.3f} val bits/char; sample, eval and serve use it): "
            f"{self.run_dir / 'best.safetensors'}"
        )
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
                f"training diverged at step {self.state.step + 1}: loss {lval}, gradient norm {gval}; "
                f"lower --lr (now {self.cfg.lr:g}) or --grad-clip; the last good checkpoint is in {self.run_dir}"
            )
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return lval, gval


def train(data: TrainData, model_cfg: ModelConfig, cfg: TrainConfig, **kwargs) -> dict:
    """Train (or resume, with resume=RUN_DIR) and return a summary: step, stop_reason, best, test."""
    trainer = Trainer(data, model_cfg, cfg, **kwargs)
    try:
        return trainer.run()
    finally:
        distributed.teardown()
