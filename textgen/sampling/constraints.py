"""Classical constraints as per-step masks over the vocabulary: form, acrostic, rhyme and tones.

A PoemConstraint walks the slots of a FormSpec (characters, punctuation, newlines, the end) and at
each step says which token ids are allowed; the model still picks among them. Every mask it hands
out has at least one member by construction (the rhyme group is chosen among groups the
vocabulary can fill; acrostic characters and punctuation are checked up front), so a constrained
row can never reach a dead end and its output always complies (textgen.poetry.gelv checks it).

    index = VocabIndex(tokenizer)       # once per model; its scheme tables once per scheme
    c = PoemConstraint(resolve_form("wujue"), acrostic="春夏秋冬", rhyme=True, index=index)
    c.allowed()   # (V,) bool for the next token;  c.advance(token_id) after choosing it

Rhyme and tone follow a scheme (textgen.poetry.rhyme.SCHEMES). Under 平水韵 ("pingshui") the even
lines rhyme on 平 in one group, and a first line that ends on a character that can be 平 rhymes too
(首句入韵); a 多音字 may take whichever reading fits, so it counts in every group and tone it has.
With tones, the 1st/3rd/5th characters stay free except where 孤平 or 三平尾 would follow.
"""

from __future__ import annotations

from collections import Counter

import torch

from textgen.errors import ConfigError
from textgen.poetry.forms import NEWLINE, FormSpec
from textgen.poetry.rhyme import check_scheme, is_cjk
from textgen.poetry.tones import base_from, required_tone
from textgen.sampling.vocab import PING, ZE, SchemeTable, VocabIndex


class PoemConstraint:
    """The slot-by-slot state of one constrained poem (a textgen.sampling.protocol.Constraint)."""

    writes_title = False  # no header lines: those are Guided's
    prompt_in_text = False

    def __init__(self, spec: FormSpec, *, acrostic: str | None, rhyme: bool, index: VocabIndex,
                 tones: bool = False, scheme: str = "pingshui"):  # fmt: skip
        tune = spec.is_tune
        rhyme = rhyme or tune  # where a tune rhymes is part of the tune
        self.spec, self.index, self.rhyme, self.tones = spec, index, rhyme, tones
        # The scheme's tables are built on first use: a form without rhyme or tones never needs them
        # (building them is most of a one-poem CLI call's start-up).
        self.table_name = "cilin" if tune and scheme == "pingshui" else check_scheme(scheme)
        # Every mask must have a member: check the vocabulary can fill each kind of slot up front.
        if not bool(index.cjk.any()):
            raise ConfigError("this model's vocabulary has no Chinese characters; forms are impossible")
        if rhyme and not self.table.group_size:
            raise ConfigError("no character in this model's vocabulary has a known rhyme")
        if tones and not (self.table.pure_ping_any and bool(self.table.pure_ze.any())):
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
        # 平水韵: 近体 rhymes are 平, and a first line that can end 平 must rhyme (首句入韵). A tune's
        # rhyme sets each take a 词林正韵 部 in the set's tone.
        self.ping_rhyme = not tune and (scheme == "pingshui" or tones)
        self.first_rhymes = rhyme and scheme == "pingshui" and not tune and 0 not in self.rhyme_lines
        self.set_tone = (lambda r: spec.rhyme_tones[r]) if self.table_name == "cilin" else (lambda r: None)
        self.needed = Counter(spec.rhyme_set(i) for i in self.rhyme_lines)
        self.groups: dict[int, frozenset[str]] = {}  # per rhyme set: the groups its rhymes share
        self.used: dict[int, set[int]] = {}
        self.line: list[frozenset[bool]] = []  # tones of the current line's characters so far

    @property
    def table(self) -> SchemeTable:
        return self.index.scheme(self.table_name)

    @property
    def done(self) -> bool:
        return self.pos >= len(self.slots)

    def remaining(self) -> int:
        """Tokens still to generate, the end of the poem included."""
        return len(self.slots) - self.pos

    def in_header(self) -> bool:
        return False

    def writing_hidden(self) -> bool:
        return False

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
        n = self.spec.line_lengths[s.line]
        last = s.pos == n - 1
        if last and s.line in self.rhyme_lines:
            return self._rhyme_mask(self.spec.rhyme_set(s.line))
        if last and s.line == 0 and self.first_rhymes:
            t = self.table
            # 不入韵 (a character that can only be 仄) or 入韵 (opens the rhyme).
            guard = bool(tones) and self._ping_end_faulty()
            key = ("first", self.groups.get(0), self.needed[0], self.ping_rhyme, guard)
            return t.cached(key, lambda: (self._rhyme_mask(0) & (t.can_ze if guard else t.cjk)) | t.pure_ze)
        if not tones:
            return self.index.cjk
        t = self.table
        if self.spec.is_tune:  # the tones the tune's ci agree on
            want = self.spec.tone_pattern[s.line][s.pos]
            return t.can_ping if want == "平" else t.can_ze if want == "仄" else self.index.cjk
        want = required_tone(self.base, s.line, s.pos, n)
        if want is None:
            if self._sets_base(s):  # the first alternating slot sets the pattern
                return t.pure
            if last and self._ping_end_faulty():  # line 1 may end 平 only without 孤平/三平尾
                return t.can_ze
            if s.pos == n - 3 and required_tone(self.base, s.line, n - 1, n):
                return self._guard(s.line, n)
            return self.index.cjk
        if last and not want and 0 in self.groups:  # an unrhymed line keeps off the rhyme
            g = self.groups[0]
            return t.cached(("off", g), lambda: _or(t.can_ze & ~t.union(g, False), t.can_ze))
        return t.can_ping if want else t.can_ze

    def _guard(self, line: int, n: int) -> torch.Tensor:
        """The third-from-last character of a line that ends 平: 仄 before 平平 (no 三平尾), 平
        after a 仄 first character of 平平仄仄平 (no 孤平)."""
        t = self.table
        if required_tone(self.base, line, n - 2, n):
            return t.can_ze
        own = required_tone(self.base, line, 1, n)
        b_line = (own if n == 5 else not own) is True
        # A character of unknown tone may be read 仄: guard against it as against a 仄.
        return t.can_ping if b_line and True not in self.line[n - 5] else self.index.cjk

    def _ping_end_faulty(self) -> bool:
        """Whether ending the current line (the first) on 平 would make 孤平 or 三平尾."""
        if self.base is None:
            return False
        n = len(self.line) + 1
        core = self.line[-4:]
        own = required_tone(self.base, 0, 1, n)
        b_line = (own if n == 5 else not own) is True
        # Unknown tones count as either (the judge may know them from another traditional form).
        three = False not in core[2] and False not in core[3]
        return three or (b_line and True not in core[0] and True not in core[2])

    def _sets_base(self, s) -> bool:
        return self.base is None and s.pos in (1, 3, 5) and s.pos < self.spec.line_lengths[s.line] - 1

    def _rhyme_mask(self, r: int) -> torch.Tensor:
        t = self.table
        if r not in self.groups:
            return t.rhyme_start(self.needed[r], ping=self.ping_rhyme, tone=self.set_tone(r))
        ping = self.ping_rhyme and any(t.group_ping_size.get(g) for g in self.groups[r])
        mask = t.union(self.groups[r], ping)
        if not self.used.get(r):
            return mask
        fresh = mask.clone()
        fresh[list(self.used[r])] = False  # a fresh rhyme character while the group has one left
        return fresh if bool(fresh.any()) else mask

    def advance(self, token_id: int) -> None:
        s = self.slots[self.pos]
        if s.kind == "char":
            n = self.spec.line_lengths[s.line]
            if s.pos == n - 1 and (s.line in self.rhyme_lines or (s.line == 0 and self.first_rhymes)):
                self._rhymed(token_id, self.spec.rhyme_set(s.line), first=s.line not in self.rhyme_lines)
            if self.tones:  # the tone pattern and the line's tones matter only under --tones
                tone = self.table.tones.get(token_id, frozenset())
                if self._sets_base(s) and tone in (PING, ZE):
                    self.base = base_from(True in tone, s.line, s.pos)
                self.line = [] if s.pos == n - 1 else [*self.line, tone]
        self.pos += 1

    def _rhymed(self, token_id: int, r: int, first: bool) -> None:
        t = self.table
        gs = t.groups_of.get(token_id, frozenset())
        if first and (not gs or t.tones.get(token_id) == ZE):
            return  # 首句不入韵
        tone = self.set_tone(r)
        if tone is not None:
            gs = frozenset(g for g in gs if g.endswith("平" if tone else "仄")) or gs
        if r not in self.groups:
            if gs:
                self.groups[r] = t.usable(gs, self.needed[r], self.ping_rhyme)
        else:
            self.groups[r] = (self.groups[r] & gs) or self.groups[r]
        self.used.setdefault(r, set()).add(token_id)

    def feed_prompt(self, ids: list[int], prompt: str) -> None:
        """Walk the prompt through the slots: it must be the start of a poem of this form."""
        for n, i in enumerate(ids):
            if self.done:
                raise ConfigError(f"prompt {prompt!r} is longer than a whole {self.spec.name} poem")
            s = self.slots[self.pos]
            ok = bool(self.allowed(tones=False)[i])  # the prompt's own tones are the user's
            if not ok and s.kind == "char" and s.pos == self.spec.line_lengths[s.line] - 1:
                # The prompt may end its first line on any character, and the first rhyming line
                # of a set on any rhyme: that sets the group (over a first line that then did not rhyme).
                r = self.spec.rhyme_set(s.line)
                if (
                    s.line in self.rhyme_lines
                    and i in self.table.groups_of
                    and len(self.used.get(r, ())) <= 1
                ):
                    ok = True
                    self.groups.pop(r, None)
                    self.used.pop(r, None)
                ok = ok or (s.line == 0 and bool(self.index.cjk[i]))
            if not ok:
                piece = self.index.tokenizer.id_to_piece(i)
                raise ConfigError(
                    f"prompt {prompt!r} does not fit form {self.spec.name}: token {n + 1} ({piece!r}) "
                    f"is not allowed at line {s.line + 1}"
                )
            self.advance(i)


def _or(mask: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """`mask` unless it is empty."""
    return mask if bool(mask.any()) else fallback
