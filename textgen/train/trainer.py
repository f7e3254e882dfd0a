"""The training loop: truncated BPTT with AdamW, warm-up + decay, clipping, budgets, evaluation,
checkpoints and exact resume.

    result = train(data, model_cfg, train_cfg)                      # new run
    result = train(data, model_cfg, train_cfg, resume="runs/tang")

A run directory gets best.safetensors / last.safetensors (textgen.checkpoint), meta.json,
metrics.jsonl, loss.png and last.state.pt (the resume state). Only rank 0 writes.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from textgen.checkpoint import save_checkpoint
from textgen.errors import CheckpointError, ConfigError, TextgenError
from textgen.model import RNNLM, ModelConfig, detach_hidden
from textgen.paths import atomic_write_text
from textgen.train import distributed
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.evaluate import Score, autocast_for, score_ids
from textgen.train.loader import StreamLoader
from textgen.train.runlog import MetricsLog, plot_runs
from textgen.train.schedule import LRSchedule
from textgen.train.state import STATE_FILE, check_same_corpus, read_state, write_state


class TrainingError(TextgenError):
    """Training cannot go on (divergence)."""


class _LossStep(nn.Module):
    """model.loss as a module forward, so DDP sees (and synchronises) the training call."""

    def __init__(self, model: RNNLM):
        super().__init__()
        self.model = model

    def forward(self, x, y, hidden):
        return self.model.loss(x, y, hidden)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available here")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps: Apple MPS is not available here")
    return torch.device(name)


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


def _fmt_minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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

        state = None
        if resume:
            state = read_state(self.run_dir)
            check_same_corpus(state, self.corpus, self.run_dir)
            if state["model_config"] != model_cfg.to_dict():
                raise CheckpointError(
                    f"{self.run_dir}: the model options differ from the run being resumed "
                    f"(saved {state['model_config']})"
                )
        if model_cfg.vocab_size != data.tokenizer.vocab_size:
            raise ConfigError(
                f"model vocab_size {model_cfg.vocab_size} != tokenizer vocabulary {data.tokenizer.vocab_size}"
            )
        for split in ("train", "val"):
            if split not in data.splits or len(data.splits[split]) < 3:
                raise TextgenError(f"corpus {data.name!r} has no usable {split} split")
        if (
            not resume
            and not overwrite
            and any((self.run_dir / f).exists() for f in (STATE_FILE, "last.safetensors"))
        ):
            raise TextgenError(
                f"{self.run_dir} already holds a run; continue it with --resume {self.run_dir}, "
                f"choose another --out, or pass --overwrite"
            )
        if self.main:
            check_writable(self.run_dir)

        torch.manual_seed(cfg.seed)  # the same initial weights on every rank and on resume
        self.model = RNNLM(model_cfg).to(self.device)
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
        self._last_plot = -math.inf
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")
        if state is not None:
            self._load_state(state)
        elif self.main and overwrite:
            for f in ("metrics.jsonl", "best.safetensors", STATE_FILE):
                (self.run_dir / f).unlink(missing_ok=True)

    # ---------------------------------------------------------------- state
    def _state(self) -> dict:
        hidden = self.hidden
        if hidden is not None:
            hidden = tuple(hidden) if isinstance(hidden, tuple) else (hidden,)
            hidden = [self.dist.gather_rows(h.float()).cpu() for h in hidden]
        rng = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        rngs = self.dist.gather_objects(rng)
        return {
            "model": {k: v.cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.opt.state_dict(),
            "schedule": self.sched.state_dict(),
            "loader": self.loader.state_dict(),
            "hidden": hidden,
            "rng": rngs,
            "step": self.step,
            "elapsed": self.elapsed,
            "chars_seen": self.chars_seen,
            "best_val": self.best_val,
            "best_metrics": self.best_metrics,
            "bad_evals": self.bad_evals,
            "world_size": self.dist.world_size,
            "model_config": self.model_cfg.to_dict(),
            "train_config": self.cfg.to_dict(),
            "corpus": self.corpus,
        }

    def _load_state(self, s: dict) -> None:
        self.model.load_state_dict(s["model"])
        self.opt.load_state_dict(s["optimizer"])
        self.sched.load_state_dict(s["schedule"])
        self.loader.load_state_dict(s["loader"])
        self.step, self.elapsed = int(s["step"]), float(s["elapsed"])
        self.chars_seen, self.best_val = float(s["chars_seen"]), float(s["best_val"])
        self.best_metrics, self.bad_evals = dict(s["best_metrics"]), int(s["bad_evals"])
        if s["hidden"] is not None:
            per = self.cfg.batch_size // self.dist.world_size
            rows = slice(self.dist.rank * per, (self.dist.rank + 1) * per)
            hs = [h[:, rows].to(self.device) for h in s["hidden"]]
            self.hidden = tuple(hs) if self.model_cfg.cell == "lstm" else hs[0]
        rngs = s["rng"]
        if len(rngs) == self.dist.world_size:  # same layout: every rank continues its own stream
            torch.set_rng_state(rngs[self.dist.rank]["cpu"])
            if self.device.type == "cuda" and "cuda" in rngs[self.dist.rank]:
                torch.cuda.set_rng_state(rngs[self.dist.rank]["cuda"], self.device)
        if self.main:
            self.metrics.truncate_after(self.step)

    # ---------------------------------------------------------------- output
    def log(self, msg: str) -> None:
        if self.main and not self.quiet:
            tqdm.write(msg, file=sys.stderr)

    def _meta(self, metrics: dict) -> dict:
        return {
            "corpus": self.corpus,
            "train_config": self.cfg.to_dict(),
            "metrics": metrics,
            "best": self.best_metrics,
            "step": self.step,
            "epoch": round(self.loader.progress, 4),
            "chars_seen": self.chars_seen,
            "elapsed_s": round(self.elapsed, 1),
            "params": self.model.num_params(),
            "git_commit": git_commit(),
            "world_size": self.dist.world_size,
            "device": self.device.type,
        }

    def _save(self, metrics: dict, best: bool, final: bool = False) -> None:
        """last (+ best) checkpoint, meta.json, resume state, picture. Rank 0 only, but every rank
        takes part in gathering the state."""
        state = self._state()
        if not self.main:
            return
        meta = self._meta(metrics)
        tok = self.data.tokenizer
        try:
            if best:
                save_checkpoint(self.run_dir / "best.safetensors", self.model, tok, meta)
            save_checkpoint(self.run_dir / "last.safetensors", self.model, tok, meta)
            atomic_write_text(self.run_dir / "meta.json", _json(meta))
            write_state(self.run_dir, state)
        except OSError as e:
            raise TextgenError(f"{self.run_dir}: cannot write checkpoint ({e.strerror or e})") from e
        # Redraw at most once a minute: drawing costs about half a second.
        if final or time.monotonic() - self._last_plot > 60:
            self._plot()

    def _plot(self) -> None:
        self._last_plot = time.monotonic()
        try:
            plot_runs([self.run_dir], self.run_dir / "loss.png", labels=[self.data.name])
        except (OSError, ValueError) as e:  # a picture is not worth stopping a run for
            self.log(f"warning: could not draw loss.png ({e})")

    # ---------------------------------------------------------------- eval
    def evaluate(self, split: str, max_tokens: int) -> Score:
        return score_ids(
            self.model,
            self.data.splits[split],
            chars_per_token=self.data.cpt(split),
            batch_size=16,
            seq_len=256,
            max_tokens=max_tokens,
        )

    def _eval_and_save(self) -> None:
        s = self.evaluate("val", self.cfg.eval_tokens)
        event = {
            "kind": "val",
            "step": self.step,
            "chars_seen": self.chars_seen,
            **s.to_dict(),
            "elapsed": round(self.elapsed, 1),
        }
        best = s.loss < self.best_val
        if best:
            self.best_val, self.best_metrics, self.bad_evals = s.loss, event, 0
        else:
            self.bad_evals += 1
        self.sched.observe(s.loss)
        if self.main:
            self.metrics.write(event)
        self.log(
            f"step {self.step}: val loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char"
            + (" (best)" if best else f" (best {self.best_metrics.get('bpc', math.nan):.3f})")
        )
        self._save(event, best)
        if self.cfg.patience and self.bad_evals >= self.cfg.patience:
            self.stop_reason = f"early stop: no better val loss in {self.bad_evals} evaluations"

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
        c, m = self.cfg, self.model
        spe = self.loader.steps_per_epoch
        tokens_per_step = c.batch_size * c.seq_len
        self.log(
            f"model: {m.config.cell} {m.config.n_layer}x{m.config.hidden_size}, embedding {m.config.n_embd}, "
            f"vocabulary {m.config.vocab_size:,}, {m.num_params() / 1e6:.2f}M parameters"
            + (f", adaptive softmax {m.config.adaptive_cutoffs}" if m.config.adaptive_cutoffs else "")
        )
        self.log(
            f"data: {self.data.name}, {len(self.data.splits['train']):,} train tokens, {spe:,} steps per epoch "
            f"({c.batch_size} streams x {c.seq_len}); device {self.device.type}"
            + (f" x {self.dist.world_size} processes" if self.dist.enabled else "")
            + f"; run dir {self.run_dir}"
        )
        if not (self.total_steps or c.time_budget or c.patience):
            self.log("warning: no --epochs, --max-steps, --time-budget or --patience: runs until Ctrl-C")
        if self.step:
            self.log(f"resuming at step {self.step} (epoch {self.loader.progress:.2f})")

        bar_total = self.total_steps or (int(c.time_budget * 60) if c.time_budget else None)
        by_time = not self.total_steps and bool(c.time_budget)
        bar = tqdm(
            total=bar_total,
            initial=int(self.elapsed) if by_time else self.step,
            unit="s" if by_time else "step",
            disable=not self.main or self.quiet,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        old_handler = self._install_sigint()
        win_loss, win_n, win_tokens, win_time, win_gn = 0.0, 0, 0, 0.0, 0.0
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
                win_loss, win_n, win_tokens, win_time, win_gn = (
                    win_loss + lval,
                    win_n + 1,
                    win_tokens + tokens_per_step,
                    win_time + dt,
                    win_gn + gval,
                )
                bar.update(1 if not by_time else int(self.elapsed) - bar.n)

                if not estimated and self.step - run_start == 10:
                    estimated = True
                    self._print_estimate(win_time / win_n)
                if self.step % c.log_interval == 0:
                    mean_loss = self.dist.mean(win_loss / win_n)
                    tps = win_tokens / max(win_time, 1e-9)
                    event = {
                        "kind": "train",
                        "step": self.step,
                        "epoch": round(self.loader.progress, 4),
                        "chars_seen": self.chars_seen,
                        "loss": mean_loss,
                        "bpc": mean_loss / self.data.cpt("train") / math.log(2),
                        "lr": lr,
                        "grad_norm": win_gn / win_n,
                        "tokens_per_s": tps,
                        "chars_per_s": tps * self.data.cpt("train"),
                        "elapsed": round(self.elapsed, 1),
                    }
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
                    win_loss, win_n, win_tokens, win_time, win_gn = 0.0, 0, 0, 0.0, 0.0
                if self.step % c.eval_interval == 0:
                    self._eval_and_save()
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
                self._save(self.best_metrics, best=False, final=True)
        elif self.step % c.eval_interval != 0 or self.step == run_start:
            self._eval_and_save()  # the final state is always evaluated and saved
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
            result["test"] = self._test()  # also redraws loss.png
        elif self.main:
            self._plot()
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

    def _test(self) -> dict:
        """Score the test split with the best weights (then put the last ones back)."""
        from textgen.checkpoint import load_checkpoint

        if not self.main:
            return {}
        last = {k: v.clone() for k, v in self.model.state_dict().items()}
        best = load_checkpoint(self.run_dir / "best.safetensors", device=self.device).model
        self.model.load_state_dict(best.state_dict())
        s = self.evaluate("test", 0)
        self.model.load_state_dict(last)
        event = {
            "kind": "test",
            "step": self.best_metrics.get("step", self.step),
            "chars_seen": self.best_metrics.get("chars_seen", self.chars_seen),
            **s.to_dict(),
        }
        self.metrics.write(event)
        self.log(f"test (best checkpoint): loss {s.loss:.4f}, ppl {s.ppl:.1f}, {s.bpc:.3f} bits/char")
        meta_path = self.run_dir / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["test"] = event
        atomic_write_text(meta_path, _json(meta))
        self._plot()
        return event

    def _print_estimate(self, s_per_step: float) -> None:
        c = self.cfg
        cps = c.batch_size * c.seq_len * self.data.cpt("train") / s_per_step
        # Evaluations add roughly eval_tokens / (3x the training rate) per eval_interval steps.
        eval_tokens = c.eval_tokens or len(self.data.splits["val"])
        eval_s = eval_tokens / (3 * c.batch_size * c.seq_len / s_per_step)
        per_step = s_per_step + eval_s / c.eval_interval
        remaining = []
        if self.total_steps:
            remaining.append((self.total_steps - self.step) * per_step)
        if c.time_budget:
            remaining.append(max(c.time_budget * 60 - self.elapsed, 0.0))
        spe = self.loader.steps_per_epoch
        if remaining:
            left = min(remaining)
            steps = self.step + int(left / per_step)
            self.log(
                f"speed: {cps:,.0f} characters/s ({s_per_step * 1000:.0f} ms/step); this run will take about "
                f"{_fmt_minutes(left)} more: ~{steps:,} steps, ~{steps / spe:.2f} epochs"
            )
        else:
            self.log(f"speed: {cps:,.0f} characters/s; one epoch takes about {_fmt_minutes(spe * per_step)}")


def _json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n"


def train(data: TrainData, model_cfg: ModelConfig, cfg: TrainConfig, **kwargs) -> dict:
    """Train (or resume, with resume=RUN_DIR) and return a summary: step, stop_reason, best, test."""
    trainer = Trainer(data, model_cfg, cfg, **kwargs)
    try:
        return trainer.run()
    finally:
        distributed.teardown()
