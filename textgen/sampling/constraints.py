"""Classical constraints as per-step masks over the vocabulary: form, acrostic and rhyme.

A PoemConstraint walks the slots of a FormSpec (characters, "，"/"。", newlines, the end) and at
each step says which token ids are allowed; the model still picks among them. Every mask it hands
out has at least one member by construction (the rhyme group is chosen among groups the
vocabulary can fill; acrostic characters and punctuation are checked up front), so a constrained
row can never reach a dead end and its output always complies.

    index = VocabIndex(tokenizer)
    c = PoemConstraint(resolve_form("wujue"), acrostic="春夏秋冬", rhyme=True, index=index)
    c.allowed()   # (V,) bool for the next token;  c.advance(token_id) after choosing it
"""

from __future__ import annotations

import torch

from textgen.errors import ConfigError
from textgen.poetry.forms import NEWLINE, FormSpec
from textgen.poetry.rhyme import is_cjk, is_ping, rhyme_group
from textgen.poetry.tones import base_from, required_tone
from textgen.tokenizer import Tokenizer


class VocabIndex:
    """What the constraints need to know about a vocabulary, computed once per tokenizer."""

    def __init__(self, tokenizer: Tokenizer, device: torch.device | str = "cpu"):
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        v = tokenizer.vocab_size
        special = {tokenizer.unk_id, tokenizer.eos_id}
        pieces = [tokenizer.id_to_piece(i) for i in range(v)]
        # Only one-character tokens can fill a slot; text -> id (first id wins if duplicated).
        self.char_id: dict[str, int] = {}
        for i, p in enumerate(pieces):
            if i not in special and len(p) == 1:
                self.char_id.setdefault(p, i)
        cjk = torch.zeros(v, dtype=torch.bool)
        self.group_of: dict[int, str] = {}
        self.ping_of: dict[int, bool] = {}  # 平 True, 仄 False (known tones only)
        members: dict[str, list[int]] = {}
        for ch, i in self.char_id.items():
            if is_cjk(ch):
                cjk[i] = True
                t = is_ping(ch)
                if t is not None:
                    self.ping_of[i] = t
                g = rhyme_group(ch)
                if g is not None:
                    self.group_of[i] = g
                    members.setdefault(g, []).append(i)
        self.cjk = cjk.to(self.device)
        self.group_size = {g: len(ids) for g, ids in members.items()}
        self.group_mask = {g: self._mask(ids) for g, ids in members.items()}
        self.ping = self._mask([i for i, t in self.ping_of.items() if t])
        self.ze = self._mask([i for i, t in self.ping_of.items() if not t])
        self.toned = self.ping | self.ze
        self.group_ping = {g: m & self.ping for g, m in self.group_mask.items()}
        self.group_ping_size = {g: int(m.sum()) for g, m in self.group_ping.items()}
        self._one_hot: dict[int, torch.Tensor] = {}
        self._rhyme_start: dict[tuple[int, bool], torch.Tensor] = {}

    def _mask(self, ids: list[int]) -> torch.Tensor:
        m = torch.zeros(self.tokenizer.vocab_size, dtype=torch.bool)
        m[ids] = True
        return m.to(self.device)

    def one_hot(self, i: int) -> torch.Tensor:
        if i not in self._one_hot:
            self._one_hot[i] = self._mask([i])
        return self._one_hot[i]

    def require(self, text: str, what: str) -> int:
        """The id of a one-character token, or ConfigError naming what needed it."""
        if text not in self.char_id:
            raise ConfigError(f"this model's vocabulary has no {text!r}, needed for {what}")
        return self.char_id[text]

    def rhyme_start(self, needed: int, ping: bool = False) -> torch.Tensor:
        """Characters that can open the rhyme: those whose group has `needed` distinct members
        (or, if no group is that large, the largest groups), so later rhymes always exist.
        With ping=True only 平 characters and their groups' 平 members count."""
        key = (needed, ping and any(self.group_ping_size.values()))
        if key not in self._rhyme_start:
            if not self.group_size:
                raise ConfigError("no character in this model's vocabulary has a known rhyme")
            sizes, masks = (
                (self.group_ping_size, self.group_ping) if key[1] else (self.group_size, self.group_mask)
            )
            need = min(needed, max(sizes.values()))
            m = torch.zeros_like(self.cjk)
            for g, n in sizes.items():
                if n >= need:
                    m |= masks[g]
            self._rhyme_start[key] = m
        return self._rhyme_start[key]


class PoemConstraint:
    """The slot-by-slot state of one constrained poem."""

    def __init__(self, spec: FormSpec, *, acrostic: str | None, rhyme: bool, index: VocabIndex,
                 tones: bool = False):  # fmt: skip
        self.spec, self.index, self.rhyme, self.tones = spec, index, rhyme, tones
        # Every mask must have a member: check the vocabulary can fill each kind of slot up front.
        if not bool(index.cjk.any()):
            raise ConfigError("this model's vocabulary has no Chinese characters; forms are impossible")
        if rhyme and not index.group_size:
            raise ConfigError("no character in this model's vocabulary has a known rhyme")
        if tones and not (bool(index.ping.any()) and bool(index.ze.any())):
            raise ConfigError("this model's vocabulary lacks 平 or 仄 characters; tones are impossible")
        self.base: bool | None = None  # 平仄 pattern: tone of the first line's 2nd character
        self.slots = spec.slots()
        self.pos = 0
        bad = [c for c in (acrostic or "") if not is_cjk(c) or c not in index.char_id]
        if bad:
            raise ConfigError(f"acrostic character(s) not in this model's vocabulary: {''.join(bad)!r}")
        self.acrostic = [index.char_id[c] for c in acrostic] if acrostic else None
        self.punct_id = {
            p: index.require(p, f"form {spec.name}") for p in {spec.punct(i) for i in range(spec.n_lines)}
        }
        if any(s.kind == "newline" for s in self.slots):
            self.punct_id[NEWLINE] = index.require(NEWLINE, f"form {spec.name}")
        self.rhyme_lines = set(spec.rhyme_lines()) if rhyme else set()
        self.group: str | None = None
        self.used: set[int] = set()

    @property
    def done(self) -> bool:
        return self.pos >= len(self.slots)

    def remaining(self) -> int:
        """Tokens still to generate, the end of the poem included."""
        return len(self.slots) - self.pos

    def forced(self) -> bool:
        """Whether the next token is fixed (punctuation, newline, end, acrostic character)."""
        s = self.slots[self.pos]
        return s.kind != "char" or (s.pos == 0 and self.acrostic is not None)

    def allowed(self, tones: bool | None = None) -> torch.Tensor:
        """The tokens allowed next ((V,) bool, never empty); tones=False ignores 平仄."""
        s = self.slots[self.pos]
        if s.kind == "end":
            return self.index.one_hot(self.index.tokenizer.eos_id)
        if s.kind != "char":
            return self.index.one_hot(self.punct_id[s.text])
        if s.pos == 0 and self.acrostic is not None:
            return self.index.one_hot(self.acrostic[s.line])
        tones = self.tones if tones is None else tones
        length = self.spec.line_lengths[s.line]
        if s.line in self.rhyme_lines and s.pos == length - 1:
            return self._rhyme_mask(tones)
        if not tones:
            return self.index.cjk
        want = required_tone(self.base, s.line, s.pos, length)
        if want is None:
            # The first alternating slot sets the pattern: it takes a character of known tone.
            return self.index.toned if self._sets_base(s) else self.index.cjk
        return self.index.ping if want else self.index.ze

    def _sets_base(self, s) -> bool:
        return self.base is None and s.pos in (1, 3, 5) and s.pos < self.spec.line_lengths[s.line] - 1

    def _rhyme_mask(self, tones: bool) -> torch.Tensor:
        ix = self.index
        if self.group is None:
            return ix.rhyme_start(len(self.rhyme_lines), ping=tones)
        mask = ix.group_mask[self.group]
        if tones and ix.group_ping_size.get(self.group):
            mask = ix.group_ping[self.group]  # rhymes on 平 when the group has 平 characters
        fresh = mask.clone()
        if self.used:
            fresh[list(self.used)] = False  # a fresh rhyme character while the group has one left
        return fresh if bool(fresh.any()) else mask

    def advance(self, token_id: int) -> None:
        s = self.slots[self.pos]
        if s.kind == "char" and s.line in self.rhyme_lines and s.pos == self.spec.line_lengths[s.line] - 1:
            self.group = self.group or self.index.group_of.get(token_id)
            self.used.add(token_id)
        if s.kind == "char" and self._sets_base(s) and token_id in self.index.ping_of:
            self.base = base_from(self.index.ping_of[token_id], s.line, s.pos)
        self.pos += 1

    def feed_prompt(self, ids: list[int], prompt: str) -> None:
        """Walk the prompt through the slots: it must be the start of a poem of this form."""
        for n, i in enumerate(ids):
            if self.done:
                raise ConfigError(f"prompt {prompt!r} is longer than a whole {self.spec.name} poem")
            s = self.slots[self.pos]
            ok = bool(self.allowed(tones=False)[i])  # the prompt's own tones are the user's
            if not ok and self.group is None and s.kind == "char" and s.line in self.rhyme_lines:
                ok = i in self.index.group_of and s.pos == self.spec.line_lengths[s.line] - 1
            if not ok:
                piece = self.index.tokenizer.id_to_piece(i)
                raise ConfigError(
                    f"prompt {prompt!r} does not fit form {self.spec.name}: token {n + 1} ({piece!r}) "
                    f"is not allowed at line {s.line + 1}"
                )
            self.advance(i)
