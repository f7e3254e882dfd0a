"""The tokenizer interface every tokenizer implements, and loading one from its JSON form.

A tokenizer serialises to one JSON string (`to_json`) so that a checkpoint can carry it inside the
weights file: a checkpoint alone is enough to sample, no prepared corpus needed.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod

from textgen.errors import TokenizerError

UNK = "<unk>"
# Marks a document boundary (end of one poem/song, start of the next). Generation primes the model
# with it so that a prompt is read as the start of a new poem.
EOS = "<eos>"


class Tokenizer(ABC):
    """Maps text to token ids and back. Ids 0 and 1 are always <unk> and <eos>."""

    kind: str = ""
    unk_id: int = 0
    eos_id: int = 1

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def encode(self, text: str, *, unknown: str = "error") -> list[int]:
        """Text to ids. unknown='error' raises TokenizerError naming unknown characters,
        'unk' maps them to <unk>, 'skip' drops them."""

    @abstractmethod
    def decode(self, ids: list[int]) -> str:
        """Ids to text; <eos> decodes to nothing, <unk> to U+FFFD."""

    @abstractmethod
    def id_to_piece(self, i: int) -> str:
        """The text of one token (special tokens as their names)."""

    @abstractmethod
    def to_dict(self) -> dict: ...

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def unknown_chars(self, text: str) -> list[str]:
        """Characters of `text` this tokenizer cannot represent, in order of first appearance."""
        return []


def tokenizer_from_dict(d: dict) -> Tokenizer:
    kind = d.get("kind")
    if kind == "char":
        from textgen.tokenizer.char import CharTokenizer

        return CharTokenizer.from_dict(d)
    if kind == "sentencepiece":
        from textgen.tokenizer.spm import SentencePieceTokenizer

        return SentencePieceTokenizer.from_dict(d)
    raise TokenizerError(f"unknown tokenizer kind {kind!r} (expected 'char' or 'sentencepiece')")


def tokenizer_from_json(s: str) -> Tokenizer:
    """Rebuild a tokenizer from `Tokenizer.to_json()` output."""
    try:
        d = json.loads(s)
    except json.JSONDecodeError as e:
        raise TokenizerError(f"tokenizer JSON is not valid: {e}") from e
    return tokenizer_from_dict(d)
