"""The parts a Trainer is built from: data checks, the optimizer, the plan in numbers, the loss as a
module (for DDP) and a warm start from another checkpoint. make_plan(cfg, data, steps_per_epoch)
turns the configuration into the numbers progress lines and the loop's budgets are computed from.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from textgen.errors import ConfigError, TextgenError
from textgen.model import RNNLM, ModelConfig
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.progress import Plan


class LossStep(nn.Module):
    """model.loss as a module forward, so DDP sees (and synchronises) the training call."""

    def __init__(self, model: RNNLM):
        super().__init__()
        self.model = model

    def forward(self, x, y, hidden):
        return self.model.loss(x, y, hidden)


def check_data(data: TrainData, model_cfg: ModelConfig) -> None:
    if model_cfg.vocab_size != data.tokenizer.vocab_size:
        raise ConfigError(
            f"model vocab_size {model_cfg.vocab_size} != tokenizer vocabulary {data.tokenizer.vocab_size}"
        )
    for split in ("train", "val"):
        if split not in data.splits or len(data.splits[split]) < 3:
            raise TextgenError(f"corpus {data.name!r} has no usable {split} split")


def make_optimizer(model: RNNLM, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, cfg.beta2),
        fused=device.type == "cuda" or None,
    )


def make_plan(cfg: TrainConfig, data: TrainData, steps_per_epoch: int) -> Plan:
    """The run's budgets and rates in numbers: the first of --epochs and --max-steps bounds the steps."""
    spe = steps_per_epoch
    bounds = [b for b in (cfg.max_steps, math.ceil(cfg.epochs * spe) if cfg.epochs else 0) if b]
    return Plan(
        total_steps=min(bounds) if bounds else 0,
        time_budget_s=cfg.time_budget * 60,
        steps_per_epoch=spe,
        train_tokens=len(data.splits["train"]),
        tokens_per_step=cfg.batch_size * cfg.seq_len,
        chars_per_token=data.cpt("train"),
        # At least once an epoch: a small text is learned by heart within a few epochs, and early
        # stopping and the best checkpoint can only act on what is evaluated.
        eval_interval=min(cfg.eval_interval, spe),
        eval_tokens=cfg.eval_tokens or len(data.splits["val"]),
    )


def warm_start(model: RNNLM, tokenizer, path: str) -> dict:
    from textgen.checkpoint import load_checkpoint
    from textgen.train.init import transfer_weights

    src = load_checkpoint(path)
    return transfer_weights(model, tokenizer, src.model.to(next(model.parameters()).device), src.tokenizer)
