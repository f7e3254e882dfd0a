"""What the constraints know about a vocabulary: its one-character tokens, and per rhyme scheme the
rhyme groups and tones of its characters as (V,) bool masks, each built once and cached.

    index = VocabIndex(gen.tokenizer)        # once per model: Generator.index holds one
    index.scheme("pingshui").can_ping        # (V,) bool: characters that can be read 平
"""

from __future__ import annotations

import torch

from textgen.errors import ConfigError
from textgen.poetry.rhyme import check_scheme, is_cjk, rhymes_of, tones_of
from textgen.tokenizer import Tokenizer

PING, ZE = frozenset((True,)), frozenset((False,))


class VocabIndex:
    """What the constraints need to know about a vocabulary, computed once per tokenizer."""

    def __init__(self, tokenizer: Tokenizer, device: torch.device | str = "cpu"):
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        special = {tokenizer.unk_id, tokenizer.eos_id}
        # Only one-character tokens can fill a slot; text -> id (first id wins if duplicated).
        self.char_id: dict[str, int] = {}
        for i in range(tokenizer.vocab_size):
            p = tokenizer.id_to_piece(i)
            if i not in special and len(p) == 1:
                self.char_id.setdefault(p, i)
        self.cjk_chars = {ch: i for ch, i in self.char_id.items() if is_cjk(ch)}
        self.cjk = self.mask(self.cjk_chars.values())
        self._one_hot: dict[int, torch.Tensor] = {}
        self._schemes: dict[str, SchemeTable] = {}

    def mask(self, ids) -> torch.Tensor:
        m = torch.zeros(self.tokenizer.vocab_size, dtype=torch.bool)
        m[list(ids)] = True
        return m.to(self.device)

    def one_hot(self, i: int) -> torch.Tensor:
        if i not in self._one_hot:
            self._one_hot[i] = self.mask([i])
        return self._one_hot[i]

    def scheme(self, name: str) -> SchemeTable:
        """The rhyme and tone tables of this vocabulary under a scheme (built on first use)."""
        if name not in self._schemes:
            # "cilin": 词林正韵 部 with their tone, for ci (tunes) under 平水韵; not a user scheme.
            self._schemes[name] = SchemeTable(self, name if name == "cilin" else check_scheme(name))
        return self._schemes[name]

    def require(self, text: str, what: str) -> int:
        """The id of a one-character token, or ConfigError naming what needed it."""
        if text not in self.char_id:
            raise ConfigError(f"this model's vocabulary has no {text!r}, needed for {what}")
        return self.char_id[text]


class SchemeTable:
    """A vocabulary's rhyme groups and tones under one scheme, as masks."""

    def __init__(self, index: VocabIndex, scheme: str):
        self.index, self.scheme = index, scheme
        self.groups_of: dict[int, frozenset[str]] = {}
        self.tones: dict[int, frozenset[bool]] = {}  # 平 True / 仄 False; both for 多音字
        members: dict[str, list[int]] = {}
        for ch, i in index.cjk_chars.items():
            # Generated poems use the readings of each character's standard traditional form only,
            # so that a reader of the converted text finds them (real poems are judged on all).
            if t := tones_of(ch, scheme, strict=True):
                self.tones[i] = t
            if gs := rhymes_of(ch, scheme, None if scheme == "cilin" else True, strict=True):
                self.groups_of[i] = gs
                for g in gs:
                    members.setdefault(g, []).append(i)
        m = index.mask
        self.can_ping = m(i for i, t in self.tones.items() if True in t)
        self.can_ze = m(i for i, t in self.tones.items() if False in t)
        self.pure_ze = m(i for i, t in self.tones.items() if t == ZE)
        self.pure = m(i for i, t in self.tones.items() if len(t) == 1)  # sets the pattern
        self.cjk = index.cjk
        self.pure_ping_any = any(t == PING for t in self.tones.values())
        self.group_mask = {g: m(ids) for g, ids in members.items()}
        self.group_size = {g: len(ids) for g, ids in members.items()}
        # 中华新韵 groups mix tones: with tones on, rhyme on the group's 平 members.
        self.group_ping = {g: x & self.can_ping for g, x in self.group_mask.items()}
        self.group_ping_size = {g: int(x.sum()) for g, x in self.group_ping.items()}
        self._cache: dict[tuple, torch.Tensor] = {}

    def cached(self, key: tuple, build) -> torch.Tensor:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def sizes(self, ping: bool) -> dict[str, int]:
        return self.group_ping_size if ping else self.group_size

    def rhyme_start(self, needed: int, ping: bool = False, tone: bool | None = None) -> torch.Tensor:
        """Characters that can open the rhyme: members of groups with `needed` distinct members
        (or, if no group is that large, of the largest groups), so later rhymes always exist.
        ping=True counts only 平 members (中华新韵 groups mix tones; 平水韵 rhyme groups are 平);
        `tone` picks the 词林正韵 部 of one tone (平 True, 仄 False) for a tune's rhyme."""
        sizes = self.sizes(ping and any(self.group_ping_size.values()))
        if tone is not None:
            suffix = "平" if tone else "仄"
            sizes = {g: k for g, k in sizes.items() if g.endswith(suffix)} or sizes
        if not sizes:
            raise ConfigError("no character in this model's vocabulary has a known rhyme")
        need = min(needed, max(sizes.values()))
        groups = frozenset(g for g, k in sizes.items() if k >= need)
        return self.union(groups, ping and any(self.group_ping_size.values()))

    def usable(self, groups: frozenset[str], needed: int, ping: bool) -> frozenset[str]:
        """Of a rhyme character's groups, those large enough for the rhymes still to come."""
        sizes = self.sizes(ping and any(self.group_ping_size.values()))
        return frozenset(g for g in groups if sizes.get(g, 0) >= needed) or groups

    def union(self, groups: frozenset[str], ping: bool) -> torch.Tensor:
        masks = self.group_ping if ping else self.group_mask

        def build():
            out = torch.zeros_like(self.index.cjk)
            for g in groups:
                out |= masks[g]
            return out

        return self.cached(("union", groups, ping), build)
