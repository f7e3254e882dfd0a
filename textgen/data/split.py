"""Deterministic train/val/test assignment by hashing each document's cleaned text.

A document's split depends only on its own text (and the manifest's salt), so adding documents never
moves existing ones, and exact duplicates always land in the same split (no leak between splits).

    assign(["床前明月光", "白日依山尽"], SplitSpec())   # ["train", "train"]
"""

from __future__ import annotations

import hashlib

from textgen.data.manifest import SplitSpec

SPLITS = ("train", "val", "test")


def position(text: str, salt: str = "") -> float:
    """The document's place in [0, 1): a hash, uniform over documents."""
    h = hashlib.blake2b(text.encode("utf-8"), digest_size=8, person=b"textgen-split", key=salt.encode()[:64])
    return int.from_bytes(h.digest(), "big") / 2**64


def split_of(u: float, spec: SplitSpec) -> str:
    if u < spec.train:
        return "train"
    if u < spec.train + spec.val:
        return "val"
    return "test"


def assign(texts: list[str], spec: SplitSpec) -> list[str]:
    """Split names for `texts`. Tiny corpora (where hashing left val or test empty although they have
    a share) borrow the train documents nearest the boundary, so every split has data; this only
    happens while a corpus has a handful of documents."""
    us = [position(t, spec.salt) for t in texts]
    out = [split_of(u, spec) for u in us]
    if texts and "train" not in out:
        first = min(range(len(texts)), key=lambda i: us[i])
        out = ["train" if t == texts[first] else s for t, s in zip(texts, out, strict=True)]
    for name, share in (("test", spec.test), ("val", spec.val)):
        if share <= 0 or name in out:
            continue
        candidates = [i for i, s in enumerate(out) if s == "train"]
        if len({texts[i] for i in candidates}) < 2:
            continue  # keep at least one distinct document in train
        best = max(candidates, key=lambda i: us[i])
        for j in candidates:  # every copy of it moves, so no text is in two splits
            if texts[j] == texts[best]:
                out[j] = name
    return out
