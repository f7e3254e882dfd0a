"""Scoring token ids with a model: loss (nats per token), perplexity and bits per character.

Bits per character divide the total nats by the characters the tokens stand for (chars per token
from the prepared corpus), so character and SentencePiece models compare on the same scale.

    s = score_ids(model, ids, chars_per_token=1.0)
    print(s.loss, s.ppl, s.bpc)
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from textgen.model import RNNLM, detach_hidden
from textgen.train.loader import eval_batches


@dataclass
class Score:
    loss: float  # nats per token
    tokens: int
    chars: float  # characters the scored tokens stand for
    nats: float  # total

    @property
    def ppl(self) -> float:
        return math.exp(min(self.loss, 700.0))

    @property
    def bpc(self) -> float:
        return self.nats / max(self.chars, 1e-9) / math.log(2)

    def to_dict(self) -> dict:
        return {**asdict(self), "ppl": self.ppl, "bpc": self.bpc}


def autocast_for(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def score_ids(
    model: RNNLM,
    ids: np.ndarray,
    *,
    chars_per_token: float = 1.0,
    batch_size: int = 16,
    seq_len: int = 256,
    max_tokens: int = 0,
    ignore_id: int | None = None,
) -> Score:
    """Score `ids` as `batch_size` streams with the state carried (the first token of each stream
    is context only). Targets equal to `ignore_id` (e.g. <unk> in text with unknown characters)
    are not scored."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    nats, tokens, hidden = 0.0, 0, None
    try:
        for x, y in eval_batches(ids, batch_size, seq_len, max_tokens):
            x, y = x.to(device), y.to(device)
            with autocast_for(device):
                nll, hidden = model.loss(x, y, hidden, reduction="none")
            hidden = detach_hidden(hidden)
            nll = nll.view(-1).double()
            if ignore_id is not None:
                nll = nll[y.reshape(-1) != ignore_id]
            nats += float(nll.sum())
            tokens += nll.numel()
    finally:
        model.train(was_training)
    loss = nats / max(tokens, 1)
    return Score(loss=loss, tokens=tokens, chars=tokens * chars_per_token, nats=nats)
