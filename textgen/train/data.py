"""What the trainer reads: a tokenizer, id arrays per split, and the numbers that turn nats per token
into bits per character. Built from a prepared corpus (textgen.data.prepare) or from plain arrays.

    data = TrainData.from_prepared(prepare("corpora/tang"))
    data = TrainData.from_arrays("toy", tok, {"train": ids, "val": ids2})   # tests, benchmarks
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from textgen.errors import CorpusError
from textgen.tokenizer import Tokenizer


@dataclass
class TrainData:
    name: str
    tokenizer: Tokenizer
    splits: dict[str, np.ndarray]  # "train", "val" and optionally "test": token ids
    chars_per_token: dict[str, float] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    manifest_sha256: str = ""
    source: str = ""  # the prepared directory, when there is one
    vocabulary_given: bool = False  # encoded with another model's tokenizer (--keep-vocab)

    @classmethod
    def from_prepared(cls, pc) -> TrainData:
        """From textgen.data.prepare(...)'s PreparedCorpus."""
        s = pc.summary
        splits = {}
        for split in ("train", "val", "test"):
            try:
                splits[split] = pc.ids(split)
            except (CorpusError, FileNotFoundError, KeyError):
                continue
        return cls(
            name=pc.name,
            tokenizer=pc.tokenizer,
            splits=splits,
            chars_per_token={k: float(v) for k, v in s.get("chars_per_token", {}).items()},
            manifest=s.get("manifest", {}),
            manifest_sha256=s.get("manifest_sha256", ""),
            source=str(pc.dir),
            vocabulary_given=bool(s.get("tokenizer", {}).get("vocabulary")),
        )

    @classmethod
    def from_arrays(cls, name: str, tokenizer: Tokenizer, splits: dict[str, np.ndarray]) -> TrainData:
        """Arrays of a char tokenizer (one character per token); the manifest is their digest."""
        h = hashlib.sha256()
        for k in sorted(splits):
            h.update(k.encode() + np.ascontiguousarray(splits[k], dtype=np.int64).tobytes())
        return cls(name, tokenizer, splits, {k: 1.0 for k in splits}, {"name": name}, h.hexdigest())

    def cpt(self, split: str) -> float:
        return self.chars_per_token.get(split, 1.0) or 1.0

    @property
    def tokenizer_sha256(self) -> str:
        return hashlib.sha256(self.tokenizer.to_json().encode("utf-8")).hexdigest()

    def describe(self) -> dict:
        """The corpus part of a checkpoint's meta (what --resume compares)."""
        return {
            "name": self.name,
            "prepared": self.source,
            "manifest": json.loads(json.dumps(self.manifest, default=str)),
            "manifest_sha256": self.manifest_sha256,
            "tokenizer": self.tokenizer.kind,
            "tokenizer_sha256": self.tokenizer_sha256,
            "vocab_size": self.tokenizer.vocab_size,
            "tokens": {k: int(len(v)) for k, v in self.splits.items()},
            "chars_per_token": dict(self.chars_per_token),
        } | ({"vocabulary": "given"} if self.vocabulary_given else {})
