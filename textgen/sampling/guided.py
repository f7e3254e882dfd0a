"""Header lines and degeneration guards around a PoemConstraint, as masks like the constraint's own.

Header lines: a model trained on documents that open with metadata lines (tang: form, then title;
songci: the tune) reads them as conditions; textgen.poetry.header plans them (what is primed as
context, which lines the row writes first). A title the request left open is written by the model
(Chinese characters, then a newline), and any later known line or the prompt is forced after it.
Its text then begins with that title line.

Guards (on by default for classical forms) are the rules of textgen.poetry.rules, the table the
judge's defect counter reads: no character three times in a line, a repeat only as an adjacent
pair (叠字), no character twice at rhyme positions, no function word or numeral at a rhyme
position, no 兮 (骚体), no variant character shapes (鴈 for 雁), no stock 不知何处. They shrink the
constraint's mask and yield to it when nothing would be left, so form compliance stays exact and
the model still chooses every character.

    plan = header_plan(["form", "title"], {"form": "五绝", "title": None})
    plan.context, plan.lines          # "五绝\\n", [None]  (the model writes the title)
    from textgen.poetry.forms import resolve_form
    from textgen.sampling.constraints import PoemConstraint
    poem = PoemConstraint(resolve_form("wujue"), acrostic=None, rhyme=True, index=gen.index)
    c = Guided(poem, gen.index, guards=True)   # no header lines: the poem, guarded
    c.allowed().shape == (gen.tokenizer.vocab_size,)   # the form's mask less what the guards refuse
"""

from __future__ import annotations

import torch

from textgen.errors import ConfigError
from textgen.poetry.header import MAX_TITLE, HeaderPlan, check_title, header_plan
from textgen.poetry.rules import RULES, WEAK_RHYMES, Next

# Re-exported: the header format and the guards' table live in textgen.poetry.
__all__ = ["MAX_TITLE", "WEAK_RHYMES", "Guided", "HeaderPlan", "check_title", "header_plan"]


class Guided:
    """One row's constraint: header lines to write, then the (optional) poem constraint, with guards
    (a textgen.sampling.protocol.Constraint)."""

    def __init__(self, inner, index, *, lines: list[list[int] | None] = (), budget: int = MAX_TITLE + 1,
                 guards: bool = False, hidden: list[bool] = ()):  # fmt: skip
        self.inner, self.index = inner, index
        # Header items: None = a free line (chars then "\n"), a list = forced ids (ending in "\n").
        self.items = [None if x is None else list(x) for x in lines]
        # A hidden item (the keyword plan) is written or forced like the others but is not part of
        # the text: Sequence keeps it apart (Completion.keywords).
        self.hidden = list(hidden) or [False] * len(self.items)
        self.sep = index.char_id.get("、")  # between keywords on a hidden plan line
        # the text begins with that line
        self.writes_title = next(
            (x is None for x, h in zip(self.items, self.hidden, strict=True) if not h), False
        )
        self.forced_queue: list[int] = []  # the prompt, when a free line comes before it
        self.prompt_in_text = False  # set by feed_prompt: the prompt is forced after the header lines
        self.free_len = 0  # characters written on the current free line
        self.max_free = min(MAX_TITLE, budget - 1)
        self.newline = index.char_id.get("\n")
        if any(x is None for x in self.items):
            if self.newline is None:
                raise ConfigError("this model's vocabulary has no newline; it cannot write a header line")
            if self.max_free < 1:
                raise ConfigError("max_new_tokens leaves no room for the title line the model writes first")
        self.guards = guards and inner is not None
        self.line_ids: list[int] = []  # characters of the current verse line (guards)
        self.rhymed: set[int] = set()  # characters used at rhyme positions (guards)
        if self.guards:
            ids = index.char_id
            # Each rule with its characters and phrases as this vocabulary's ids (those it has).
            self.rules = [(r, [ids[c] for c in r.chars if c in ids],
                           [[ids[c] for c in p] for p in r.phrases if all(c in ids for c in p)]) for r in RULES]  # fmt: skip
            self.rhyme_slots = set(inner.spec.rhyme_lines())

    # -- the Constraint protocol ----------------------------------------------------------------
    @property
    def done(self) -> bool:
        return not self.in_header() and self.inner is not None and self.inner.done

    def in_header(self) -> bool:
        return bool(self.items) or bool(self.forced_queue)

    def writing_hidden(self) -> bool:
        """The next token belongs to a hidden header line (the keyword plan)."""
        return bool(self.items) and self.hidden[0]

    def forced(self) -> bool:
        if self.items:
            return self.items[0] is not None
        if self.forced_queue:
            return True
        return self.inner.forced() if self.inner is not None else False

    def remaining(self) -> int:
        head = sum(2 if x is None else len(x) for x in self.items) + len(self.forced_queue)
        return head + (self.inner.remaining() if self.inner is not None else 0)

    def allowed(self, tones: bool | None = None) -> torch.Tensor:
        ix = self.index
        if self.items:
            item = self.items[0]
            if item is not None:
                return ix.one_hot(item[0])
            if self.free_len == 0:
                return ix.cjk
            if self.free_len >= self.max_free:
                return ix.one_hot(self.newline)
            m = ix.cjk.clone()
            m[self.newline] = True
            if self.hidden[0] and self.sep is not None:
                m[self.sep] = True
            return m
        if self.forced_queue:
            return ix.one_hot(self.forced_queue[0])
        if self.inner is None:
            return torch.ones_like(ix.cjk)
        mask = self.inner.allowed(tones)
        if not self.guards or self.inner.done or self.inner.forced():
            return mask
        banned = self._banned()
        if not banned:
            return mask
        trial = mask.clone()
        trial[banned] = False
        return trial if bool(trial.any()) else mask  # a guard never blocks the form

    def advance(self, token_id: int) -> None:
        if self.items:
            item = self.items[0]
            if item is not None:
                item.pop(0)
                if not item:
                    self.items.pop(0)
                    self.hidden.pop(0)
            elif token_id == self.newline:
                self.items.pop(0)
                self.hidden.pop(0)
                self.free_len = 0
            else:
                self.free_len += 1
            return
        if self.forced_queue:
            self.forced_queue.pop(0)  # the inner constraint walked the prompt up front
            return
        if self.inner is None:
            return
        if self.guards:
            self._remember(token_id)
        self.inner.advance(token_id)

    def feed_prompt(self, ids: list[int], prompt: str) -> None:
        """Walk the prompt through the poem constraint now; when the model writes a header line
        first, the prompt's tokens are forced after it."""
        if self.inner is not None:
            start = self.inner.pos
            self.inner.feed_prompt(ids, prompt)
            if self.guards:
                for k, i in enumerate(ids):
                    self._remember(i, self.inner.slots[start + k])
        if self.items:
            self.forced_queue = list(ids)
            self.prompt_in_text = bool(ids)

    # -- guards ------------------------------------------------------------------------------
    def _remember(self, token_id: int, s=None) -> None:
        s = s or self.inner.slots[self.inner.pos]
        if s.kind != "char":
            self.line_ids = []
            return
        self.line_ids.append(token_id)
        if s.line in self.rhyme_slots and s.pos == self.inner.spec.line_lengths[s.line] - 1:
            self.rhymed.add(token_id)

    def _banned(self) -> list[int]:
        s = self.inner.slots[self.inner.pos]
        if s.kind != "char":
            return []
        at_rhyme = s.line in self.rhyme_slots and s.pos == self.inner.spec.line_lengths[s.line] - 1
        slot = Next(self.line_ids, at_rhyme, self.rhymed)
        banned: set[int] = set()
        for rule, chars, phrases in self.rules:
            banned |= rule.banned(slot, chars, phrases)
        return list(banned)
