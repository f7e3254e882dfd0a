"""Continuous batching: rows that generate together, their settings as tensors, and choose(), which
draws every row's next token. A batch needs a ModelRunner (the model's steps) and the tokenizer.

batch = gen.new_batch()                  # Batch(gen.runner, gen.tokenizer); rows join and leave between steps
batch.add(gen.new_sequence("春", SamplingParams(form="wujue"), seed=7))
while len(batch):
    events = batch.step()                # [(row, newly released text)], one forward step for all
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from textgen.model import cat_rows, select_rows
from textgen.sampling.processors import (
    apply_allowed,
    apply_repetition_penalty,
    sample_next_token,
    sampling_flags,
)
from textgen.sampling.runner import ModelRunner
from textgen.sampling.sequence import Sequence

if TYPE_CHECKING:
    from textgen.tokenizer import Tokenizer


class SamplingPlan:
    """What choose() needs to know about a batch's rows that only changes when rows join or leave:
    their settings as tensors and which rows need penalties or masks (built once, not every step)."""

    def __init__(self, seqs: list[Sequence], device: torch.device):
        ps = [s.params for s in seqs]
        self.temperature = torch.tensor([p.temperature for p in ps], device=device)
        self.top_k = torch.tensor([p.top_k for p in ps], device=device)
        self.top_p = torch.tensor([p.top_p for p in ps], device=device)
        self.flags = sampling_flags(ps)
        self.sampled = [p.temperature > 0 for p in ps]
        self.pen = [r for r, s in enumerate(seqs) if s.presence is not None]
        self.pen_rows = torch.tensor(self.pen, device=device)
        self.penalty = torch.tensor([ps[r].repetition_penalty for r in self.pen], device=device)
        self.masked = [
            r for r, s in enumerate(seqs) if s.constraint is not None or s.params.no_repeat_ngram_size
        ]
        self.masked_rows = torch.tensor(self.masked, device=device)
        self.min_new = [r for r, p in enumerate(ps) if p.min_new_tokens]  # rows that may hold <eos> back


class Batch:
    """Rows generating together: add() joins a row, step() advances every row by one token."""

    def __init__(self, runner: ModelRunner, tokenizer: Tokenizer):
        self.runner, self.tokenizer = runner, tokenizer
        self.seqs: list[Sequence] = []
        self.inputs: list[int] = []  # each row's next input token
        self.hidden = None
        self.plan: SamplingPlan | None = None  # the rows' settings as tensors; rebuilt when rows change

    def __len__(self) -> int:
        return len(self.seqs)

    def add(self, seq: Sequence) -> None:
        """Prime the row on <eos> + prompt (one forward pass) and join the batch."""
        if seq.finished or seq.in_batch or seq.ids:
            raise ValueError("a sequence joins a batch once, before it has generated anything")
        ids = [self.tokenizer.eos_id, *seq.prompt_ids]
        hidden = self.runner.prime(ids)
        self.hidden = hidden if not self.seqs else cat_rows([self.hidden, hidden])
        self.seqs.append(seq)
        self.inputs.append(ids[-1])
        self.plan = None
        seq.in_batch = True

    def remove(self, seq: Sequence) -> None:
        """Drop a row (e.g. its client went away); unknown rows are ignored."""
        if seq in self.seqs:
            self._keep([r for r, s in enumerate(self.seqs) if s is not seq])
        seq.in_batch = False

    def step(self) -> list[tuple[Sequence, str]]:
        """One forward step for all rows; returns (row, newly released text) for every row.
        Rows that finished are removed and have seq.finished and seq.finish_reason set."""
        if not self.seqs:
            return []
        device, eos = self.runner.device, self.tokenizer.eos_id
        with torch.inference_mode():
            idx = torch.tensor(self.inputs, device=device)
            forced = [s.constraint is not None and s.constraint.forced() for s in self.seqs]
            rows = None
            if any(forced):
                rows = torch.tensor(
                    [r for r, f in enumerate(forced) if not f], dtype=torch.long, device=device
                )
            logits, self.hidden = self.runner.forward_step(idx, self.hidden, rows)
            if self.plan is None:
                self.plan = SamplingPlan(self.seqs, device)
            tokens = choose(logits, self.seqs, self.plan, self.tokenizer).tolist()
        events, keep = [], []
        for r, (seq, tok) in enumerate(zip(self.seqs, tokens, strict=True)):
            events.append((seq, seq.accept(tok, eos)))
            if not seq.finished:
                keep.append(r)
        self.inputs = tokens
        if len(keep) < len(self.seqs):
            for seq in self.seqs:
                seq.in_batch = not seq.finished
            self._keep(keep)
        return events

    def _keep(self, rows: list[int]) -> None:
        self.plan = None
        self.seqs = [self.seqs[r] for r in rows]
        self.inputs = [self.inputs[r] for r in rows]
        if rows:
            self.hidden = select_rows(self.hidden, torch.tensor(rows, device=self.runner.device))
        else:
            self.hidden = None


def choose(
    logits: torch.Tensor, seqs: list[Sequence], plan: SamplingPlan, tokenizer: Tokenizer
) -> torch.Tensor:
    """Apply every row's processors and constraints to (B, V) logits and draw one token per row."""
    logits = logits.float()
    logits[:, tokenizer.unk_id] = float("-inf")  # never emit <unk>: it decodes to U+FFFD
    if plan.pen:
        presence = torch.stack([seqs[r].presence for r in plan.pen])
        apply_repetition_penalty(logits, plan.pen_rows, presence, plan.penalty)
    if plan.masked:
        allowed = torch.stack([_allowed(seqs[r], tokenizer.vocab_size, logits.device) for r in plan.masked])
        apply_allowed(logits, plan.masked_rows, allowed)
    for r in plan.min_new:
        if seqs[r].tokens < seqs[r].params.min_new_tokens:
            _hold_eos(logits[r], tokenizer.eos_id)
    # One uniform per generated token per sampling row, from the row's own generator.
    u = [
        float(torch.rand((), generator=s.rng)) if sampled else 0.0
        for s, sampled in zip(seqs, plan.sampled, strict=True)
    ]
    return sample_next_token(
        logits, torch.tensor(u, device=logits.device), plan.temperature, plan.top_k, plan.top_p, plan.flags
    )


def _hold_eos(row: torch.Tensor, eos: int) -> None:
    """min_new_tokens: no <eos> yet, unless it is all the row may write (a finished form)."""
    was = row[eos].item()
    row[eos] = float("-inf")
    if not bool(torch.isfinite(row).any()):
        row[eos] = was


def _allowed(seq: Sequence, vocab_size: int, device: torch.device) -> torch.Tensor:
    """A row's mask: its constraint's, less the tokens that would repeat an n-gram."""
    mask = seq.constraint.allowed() if seq.constraint is not None else None
    banned = seq.banned_ngram_tokens()
    if not banned:
        return mask if mask is not None else torch.ones(vocab_size, dtype=torch.bool, device=device)
    base = mask.clone() if mask is not None else torch.ones(vocab_size, dtype=torch.bool, device=device)
    trial = base.clone()
    trial[banned] = False
    # The n-gram rule yields to the form: it never leaves a row without an allowed token.
    return trial if bool(trial.any()) else base
