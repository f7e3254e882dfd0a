"""One row of generation: its prompt, params, seed, random generator and what it has produced.

Made by Generator.new_sequence (which validates the request), advanced by Batch.step:

    seq = gen.new_sequence("春", SamplingParams(max_new_tokens=24), seed=7)
    seq.text, seq.tokens, seq.finished, seq.finish_reason, seq.completion()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from textgen.sampling.params import Completion, SamplingParams
from textgen.sampling.protocol import Constraint
from textgen.sampling.stream import TextStream

if TYPE_CHECKING:
    from textgen.tokenizer import Tokenizer


class Sequence:
    """One row: its prompt, params, seed, random generator and everything generated so far."""

    def __init__(self, tokenizer: Tokenizer, prompt: str, prompt_ids: list[int], params: SamplingParams, seed: int,
                 constraint: Constraint | None, skipped: list[str], device: torch.device | str = "cpu"):  # fmt: skip
        self.prompt, self.prompt_ids, self.params, self.seed = prompt, prompt_ids, params, seed
        self.constraint = constraint
        self.skipped = skipped  # unknown prompt characters dropped (on_unknown="skip")
        self.rng = torch.Generator().manual_seed(seed)  # CPU on every device: same draws everywhere
        self.stream = TextStream(tokenizer, params.stop)
        self.ids: list[int] = []  # generated ids
        self.header_tokens = 0  # of them, those of header lines (and a prompt forced after them)
        # The keyword plan (a hidden header line): given or planned up front, or written by the row
        # (its ids collect in keyword_ids and never reach the text).
        self.keywords: str | None = None
        self.keyword_ids: list[int] = []
        self.text = ""  # text released so far (the final text once finished)
        self.finished = False
        self.finish_reason: str | None = None
        self.presence: torch.Tensor | None = None
        if params.repetition_penalty != 1.0:
            self.presence = torch.zeros(tokenizer.vocab_size, dtype=torch.bool, device=device)
            self.presence[prompt_ids] = True
        # no_repeat_ngram_size: every (n-1)-gram seen so far -> the tokens that followed it.
        self.history: list[int] = []
        self.ngrams: dict[tuple[int, ...], set[int]] = {}
        if params.no_repeat_ngram_size:
            for i in prompt_ids:
                self._remember(i)
        self.in_batch = False

    @property
    def tokens(self) -> int:
        return len(self.ids)

    def completion(self) -> Completion:
        title = None
        if self.constraint is not None and self.constraint.writes_title and "\n" in self.text:
            title = self.text.split("\n", 1)[0]
        keywords = self.keywords
        if self.keyword_ids:
            keywords = self.stream.tokenizer.decode(self.keyword_ids).strip() or None
        return Completion(
            self.text, self.finish_reason or "length", self.tokens, self.seed, self.prompt, title, keywords
        )

    def banned_ngram_tokens(self) -> list[int]:
        """Tokens that would repeat an n-gram already in the prompt or output."""
        n = self.params.no_repeat_ngram_size
        if not n or len(self.history) < n - 1:
            return []
        return list(self.ngrams.get(tuple(self.history[len(self.history) - n + 1 :]), ()))

    def _remember(self, token_id: int) -> None:
        n, h = self.params.no_repeat_ngram_size, self.history
        h.append(token_id)
        if len(h) >= n:
            self.ngrams.setdefault(tuple(h[len(h) - n : -1]), set()).add(token_id)

    def accept(self, token_id: int, eos_id: int) -> str:
        """Record a sampled token; return the text it releases; finish the row when it is done."""
        if token_id == eos_id:
            return self._finish("eos")
        self.ids.append(token_id)
        hidden = self.constraint is not None and self.constraint.writing_hidden()
        if self.constraint is not None:
            # A header line the row writes (a title) and a prompt forced after it have their own
            # budget: max_new_tokens counts what follows them.
            if self.constraint.in_header():
                self.header_tokens += 1
            self.constraint.advance(token_id)
        if self.presence is not None:
            self.presence[token_id] = True
        if self.params.no_repeat_ngram_size:
            self._remember(token_id)
        if hidden:
            self.keyword_ids.append(token_id)
            return ""
        delta, stopped = self.stream.push(token_id)
        self.text += delta
        if stopped:
            return delta + self._finish("stop")
        if self.tokens - self.header_tokens >= self.params.max_new_tokens:
            # A form with only its closing <eos> left has ended, budget or not.
            return delta + self._finish("eos" if self._only_eos_left(eos_id) else "length")
        return delta

    def _only_eos_left(self, eos_id: int) -> bool:
        if self.constraint is None:
            return False
        allowed = self.constraint.allowed()
        return bool(allowed[eos_id]) and int(allowed.sum()) == 1

    def _finish(self, reason: str) -> str:
        tail = "" if reason == "stop" else self.stream.finish()
        self.text += tail
        self.finished, self.finish_reason = True, reason
        return tail
