"""Scoring token ids with a model: loss (nats per token), perplexity and bits per character.

Bits per character divide the total nats by the characters the tokens stand for (chars per token
from the prepared corpus), so character and SentencePiece models compare on the same scale.

    s = score_ids(model, ids, chars_per_token=1.0)              # training: a prefix, 16 streams
    print(s.loss, s.ppl, s.bpc)
    r = score_documents(model, ids, eos_id=1, newline_id=2, header_lines=2)   # `textgen eval`
    print(r.all.bpc, r.body.bpc)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
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


@dataclass
class DocumentScore:
    all: Score  # every scored token
    body: Score  # only tokens after each document's header lines (== all when there are none)
    pieces: int  # streams the documents were cut into


def cut_points(seq: np.ndarray, eos_id: int, n_pieces: int) -> np.ndarray:
    """Start positions of up to `n_pieces` runs of whole documents: each starts at an <eos> (the
    end of the document before it), as close as possible to an equal share of `seq`."""
    ends = np.flatnonzero(seq[:-1] == eos_id)
    want = (np.arange(n_pieces) * len(seq)) // n_pieces
    starts = ends[np.minimum(np.searchsorted(ends, want), len(ends) - 1)]
    return np.unique(np.concatenate([[0], starts]))


def body_mask(seq: np.ndarray, eos_id: int, newline_id: int, header_lines: int) -> np.ndarray:
    """For each target seq[1:], whether it lies in a document body: after the first
    `header_lines` lines of its document (the newlines ending body lines and the <eos> count)."""
    pos = np.arange(len(seq))
    nl = np.cumsum(seq == newline_id)  # newlines in seq[: p + 1]
    last_eos = np.maximum.accumulate(np.where(seq == eos_id, pos, 0))  # seq[0] is <eos>
    # target p (1 <= p < n): newlines between its document's start and p, exclusive
    lines_before = nl[:-1] - nl[last_eos[:-1]]
    return lines_before >= header_lines


@torch.no_grad()
def score_documents(
    model: RNNLM,
    ids: np.ndarray,
    *,
    eos_id: int,
    newline_id: int | None = None,
    header_lines: int = 0,
    chars_per_token: float = 1.0,
    n_streams: int = 64,
    seq_len: int = 128,
    warmup: int = 128,
    ignore_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DocumentScore:
    """Score every token of a run of documents (each ending in <eos>), the first one included:
    the ids are read after an <eos>, cut at document ends into up to `n_streams` pieces that run
    side by side, each after `warmup` tokens of context, so the forward passes are batched.
    Header lines are read as context and left out of `body`.
    `progress(tokens_done, tokens_total)` is called after each window of `seq_len` steps."""
    seq = np.concatenate([[eos_id], np.asarray(ids, dtype=np.int64)])
    weight = np.ones(len(seq) - 1, dtype=bool) if ignore_id is None else seq[1:] != ignore_id
    body = weight
    if header_lines > 0 and newline_id is not None:
        body = weight & body_mask(seq, eos_id, newline_id, header_lines)
    x, y, w, lengths = _pieces(seq, np.stack([weight, body]), eos_id, n_streams, warmup)
    B, L = x.shape
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    nats, tokens, total = np.zeros(2), np.zeros(2, dtype=np.int64), int(w[0].sum())
    hidden = None
    try:
        for i in range(0, L, seq_len):
            rows = int(np.count_nonzero(lengths > i))  # rows still reading
            if hidden is not None and rows < _rows(hidden):
                hidden = _first_rows(hidden, rows)
            xb, yb = x[:rows, i : i + seq_len].to(device), y[:rows, i : i + seq_len].to(device)
            with autocast_for(device):
                nll, hidden = model.loss(xb, yb, hidden, reduction="none")
            nll = nll.view(rows, -1).double().cpu()
            for j in range(2):
                wj = w[j, :rows, i : i + seq_len]
                nats[j] += float(nll[wj].sum())
                tokens[j] += int(wj.sum())
            if progress is not None:
                progress(int(tokens[0]), total)
    finally:
        model.train(was_training)

    def score(j):
        t = int(tokens[j])
        return Score(loss=nats[j] / max(t, 1), tokens=t, chars=t * chars_per_token, nats=float(nats[j]))

    return DocumentScore(all=score(0), body=score(1), pieces=B)


def _pieces(seq: np.ndarray, weights: np.ndarray, eos_id: int, n_streams: int, warmup: int):
    """seq cut at document ends into rows, longest first: inputs x, targets y (B, L), weights
    (2, B, L) for the all and body figures (0 on warm-up and padding), and each row's length."""
    n = len(seq)
    starts = cut_points(seq, eos_id, max(1, n_streams))
    ends = np.append(starts[1:], n - 1)  # piece k scores targets seq[s+1 : e+1]
    # The model was trained with the state carried across documents: a piece first reads up to
    # `warmup` tokens before its start (not scored), so it does not start from an unseen zero state.
    ctx = np.maximum(starts - warmup, 0)
    order = np.argsort(ctx - ends, kind="stable")  # longest first: finished rows leave the batch
    lengths = (ends - ctx)[order]
    B, L = len(starts), int(lengths[0])
    x = np.full((B, L), eos_id, dtype=np.int64)
    y = np.zeros((B, L), dtype=np.int64)
    w = np.zeros((2, B, L), dtype=bool)
    for k, (c, s, e) in enumerate(zip(ctx[order], starts[order], ends[order], strict=True)):
        x[k, : e - c], y[k, : e - c] = seq[c:e], seq[c + 1 : e + 1]
        w[:, k, s - c : e - c] = weights[:, s:e]
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w), lengths


def _rows(hidden) -> int:
    return (hidden[0] if isinstance(hidden, tuple) else hidden).shape[1]


def _first_rows(hidden, rows: int):
    if isinstance(hidden, tuple):
        return tuple(h[:, :rows].contiguous() for h in hidden)
    return hidden[:, :rows].contiguous()
