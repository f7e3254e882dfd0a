"""Continuous batching: rows that generate together, and their settings as tensors for choose().

batch = gen.new_batch()                  # gen: a Generator; rows may join and leave between steps
batch.add(gen.new_sequence("春", SamplingParams(form="wujue"), seed=7))
while len(batch):
    events = batch.step()                # [(row, newly released text)], one forward step for all
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from textgen.model import cat_rows, select_rows
from textgen.sampling.processors import sampling_flags
from textgen.sampling.sequence import Sequence

if TYPE_CHECKING:
    from textgen.sampling.generator import Generator


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

    def __init__(self, gen: Generator):
        self.gen = gen
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
        gen = self.gen
        ids = [gen.tokenizer.eos_id, *seq.prompt_ids]
        with torch.inference_mode():
            hidden = gen.model.init_hidden(1, gen.device)
            if len(ids) > 1:
                _, hidden = gen.forward(torch.tensor([ids[:-1]], device=gen.device), hidden)
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
        gen = self.gen
        with torch.inference_mode():
            idx = torch.tensor(self.inputs, device=gen.device)
            forced = [s.constraint is not None and s.constraint.forced() for s in self.seqs]
            rows = None
            if any(forced):
                rows = torch.tensor(
                    [r for r, f in enumerate(forced) if not f], dtype=torch.long, device=gen.device
                )
            logits, self.hidden = gen.forward_step(idx, self.hidden, rows)
            if self.plan is None:
                self.plan = SamplingPlan(self.seqs, gen.device)
            tokens = gen.choose(logits, self.seqs, self.plan).tolist()
        events, keep = [], []
        for r, (seq, tok) in enumerate(zip(self.seqs, tokens, strict=True)):
            events.append((seq, seq.accept(tok, gen.tokenizer.eos_id)))
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
            self.hidden = select_rows(self.hidden, torch.tensor(rows, device=self.gen.device))
        else:
            self.hidden = None
