"""Character tokenizer: one token per Unicode character, vocabulary from the train split."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from textgen.errors import TokenizerError
from textgen.tokenizer.base import EOS, UNK, Tokenizer


class CharTokenizer(Tokenizer):
    kind = "char"

    def __init__(self, chars: list[str]):
        self.itos: list[str] = [UNK, EOS, *chars]
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise TokenizerError("character vocabulary has duplicates")

    @classmethod
    def train(cls, texts: Iterable[str], *, min_freq: int = 1) -> CharTokenizer:
        """Vocabulary of every character seen at least `min_freq` times, most frequent first
        (ties by code point, so the same texts always give the same ids)."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(t)
        chars = [c for c, n in counts.items() if n >= min_freq]
        chars.sort(key=lambda c: (-counts[c], c))
        return cls(chars)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def unknown_chars(self, text: str) -> list[str]:
        return list(dict.fromkeys(c for c in text if c not in self.stoi))

    def encode(self, text: str, *, unknown: str = "error") -> list[int]:
        stoi = self.stoi
        if unknown == "error":
            missing = self.unknown_chars(text)
            if missing:
                shown = "".join(missing[:20]) + ("…" if len(missing) > 20 else "")
                raise TokenizerError(f"{len(missing)} character(s) not in the vocabulary: {shown!r}")
            return [stoi[c] for c in text]
        if unknown == "unk":
            return [stoi.get(c, self.unk_id) for c in text]
        if unknown == "skip":
            return [stoi[c] for c in text if c in stoi]
        raise ValueError(f"unknown={unknown!r}")

    def decode(self, ids: Iterable[int]) -> str:
        itos = self.itos
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                continue
            out.append("\ufffd" if i == self.unk_id else itos[i])
        return "".join(out)

    def id_to_piece(self, i: int) -> str:
        return self.itos[int(i)]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.itos[2:]}

    @classmethod
    def from_dict(cls, d: dict) -> CharTokenizer:
        chars = d.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
            raise TokenizerError("char tokenizer JSON needs a 'chars' list of strings")
        return cls(chars)
