"""SentencePiece tokenizer (unigram or BPE) behind the same interface as the character tokenizer.

    from textgen.tokenizer.spm import SentencePieceTokenizer
    tok = SentencePieceTokenizer.train(docs, vocab_size=8000, model_type="unigram")
    assert tok.decode(tok.encode("床前明月光\n疑是地上霜")) == "床前明月光\n疑是地上霜"

Ids 0 and 1 are <unk> and <eos> as for every textgen tokenizer; "\n" is a piece of its own so line
breaks survive; byte fallback means any text encodes (a character outside the vocabulary becomes its
UTF-8 bytes), so nothing is ever unknown. The model proto travels base64-encoded inside `to_dict()`,
which keeps a checkpoint self-contained.
"""

from __future__ import annotations

import base64
import io
import re
from collections import Counter
from collections.abc import Iterable

from textgen.errors import ConfigError, TokenizerError
from textgen.tokenizer.base import EOS, UNK, Tokenizer

SPECIALS = 3  # <unk>, <eos>, "\n"
BYTES = 256  # byte-fallback pieces


def _coverage(counts: Counter[str], vocab_size: int) -> float:
    """1.0 (every character of the training text gets a piece) when the vocabulary has room for all of
    them plus some merged pieces; otherwise the share of the most frequent characters that fills
    three quarters of the room, the rare rest falling back to bytes."""
    room = vocab_size - SPECIALS - BYTES
    if len(counts) <= room * 0.75:
        return 1.0
    top = sorted(counts.values(), reverse=True)[: int(room * 0.75)]
    return max(0.98, min(0.9999, sum(top) / sum(counts.values())))  # sentencepiece allows [0.98, 1]


class SentencePieceTokenizer(Tokenizer):
    kind = "sentencepiece"

    def __init__(self, model_proto: bytes, *, model_type: str = "", character_coverage: float = 1.0):
        import sentencepiece as spm

        self.model_proto = model_proto
        self.model_type = model_type
        self.character_coverage = character_coverage
        try:
            self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        except Exception as e:  # sentencepiece raises RuntimeError/OSError on a bad proto
            raise TokenizerError(f"sentencepiece model cannot be loaded: {e}") from e
        if self.sp.id_to_piece(0) != UNK or self.sp.id_to_piece(1) != EOS:
            raise TokenizerError("sentencepiece model must have <unk> at id 0 and <eos> at id 1")

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        *,
        vocab_size: int = 8000,
        model_type: str = "unigram",
        num_threads: int = 2,
    ) -> SentencePieceTokenizer:
        """Train on `texts` (the train split's documents). Lines are the training sentences."""
        import sentencepiece as spm

        if model_type not in ("unigram", "bpe"):
            raise ConfigError(f"--model-type must be 'unigram' or 'bpe', got {model_type!r}")
        lines = [line for t in texts for line in t.split("\n") if line]
        counts = Counter(c for line in lines for c in line)
        if not lines:
            raise ConfigError("sentencepiece needs some training text; the train split is empty")
        floor = SPECIALS + BYTES + 8
        if vocab_size < floor:
            raise ConfigError(
                f"--vocab-size {vocab_size} is too small for sentencepiece with byte fallback (min {floor})"
            )
        coverage = _coverage(counts, vocab_size)
        out = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=out,
                model_type=model_type,
                vocab_size=vocab_size,
                hard_vocab_limit=False,  # a small corpus may not support the full vocabulary
                character_coverage=coverage,
                byte_fallback=True,
                unk_id=0,
                eos_id=1,
                eos_piece=EOS,
                bos_id=-1,
                pad_id=-1,
                user_defined_symbols=["\n"],
                required_chars="\u2581",  # the space piece, even when the training text has no space
                # Keep text exactly as prepared: no NFKC (it would turn full-width punctuation into
                # ASCII), no whitespace folding, no dummy leading space.
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                add_dummy_prefix=False,
                max_sentence_length=1 << 16,
                num_threads=num_threads,
                minloglevel=2,
            )
        except RuntimeError as e:
            msg = str(e).splitlines()[-1]
            need = re.search(r"smaller than required_chars\. \d+ vs (\d+)", msg)
            if need:
                msg = f"--vocab-size {vocab_size} is too small for this text's characters (needs {need.group(1)})"
            raise ConfigError(f"sentencepiece training failed: {msg}") from e
        return cls(out.getvalue(), model_type=model_type, character_coverage=coverage)

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str, *, unknown: str = "error") -> list[int]:
        if unknown not in ("error", "unk", "skip"):
            raise ValueError(f"unknown={unknown!r}")
        return self.sp.encode(text)  # byte fallback: nothing is unknown

    def decode(self, ids: Iterable[int]) -> str:
        # <unk> decodes to U+FFFD (sentencepiece would write " ⁇ "); <eos> to nothing.
        out, run = [], []
        for i in ids:
            i = int(i)
            if i == self.unk_id:
                out.append(self.sp.decode(run) + "\ufffd")
                run = []
            elif i != self.eos_id:
                run.append(i)
        out.append(self.sp.decode(run))
        return "".join(out)

    def id_to_piece(self, i: int) -> str:
        return self.sp.id_to_piece(int(i)).replace("\u2581", " ")

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "model_type": self.model_type,
            "character_coverage": self.character_coverage,
            "model": base64.b64encode(self.model_proto).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict) -> SentencePieceTokenizer:
        try:
            proto = base64.b64decode(d["model"], validate=True)
        except (KeyError, TypeError, ValueError) as e:
            raise TokenizerError("sentencepiece tokenizer JSON needs a base64 'model'") from e
        return cls(
            proto, model_type=d.get("model_type", ""), character_coverage=d.get("character_coverage", 1.0)
        )
