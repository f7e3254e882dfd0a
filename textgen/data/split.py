"""Deterministic train/val/test assignment by hashing each document's cleaned text.

A document's split depends only on its own text (and the manifest's salt), so adding documents never
moves existing ones, and exact duplicates always land in the same split (no leak between splits).
With `shared_lines`, documents that share a verse line form a group that lands in one split, placed
by its first member: a poem quoted in another, or two versions of one poem, cannot leak.

    assign(["床前明月光", "白日依山尽"], SplitSpec())   # ["test", "train"]
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


def line_groups(texts: list[str]) -> list[int]:
    """For each text, the index of the first text of its group: texts sharing a verse line (>= 5
    characters), transitively, form one group (union-find)."""
    from textgen.data.clean import verse_lines

    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, t in enumerate(texts):
        for v in verse_lines(t, 5):
            j = first.setdefault(v, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(texts))]


def assign(texts: list[str], spec: SplitSpec, shared_lines: list[str] | None = None) -> list[str]:
    """Split names for `texts` (hashed as given). `shared_lines`, parallel to `texts`, groups the
    documents that share a verse line into the split of the group's first member. Tiny corpora
    (where hashing left val or test empty although they have a share) borrow the train documents
    nearest the boundary, so every split has data; this only happens while a corpus has a handful
    of documents."""
    us = [position(t, spec.salt) for t in texts]
    keys: list = list(texts)  # what moves together: copies of a text, or a group
    if shared_lines is not None:
        keys = line_groups(shared_lines)
        us = [us[g] for g in keys]
    out = [split_of(u, spec) for u in us]
    if texts and "train" not in out:
        first = min(range(len(texts)), key=lambda i: us[i])
        out = ["train" if k == keys[first] else s for k, s in zip(keys, out, strict=True)]
    for name, share in (("test", spec.test), ("val", spec.val)):
        if share <= 0 or name in out:
            continue
        candidates = [i for i, s in enumerate(out) if s == "train"]
        if len({keys[i] for i in candidates}) < 2:
            continue  # keep at least one distinct document in train
        best = max(candidates, key=lambda i: us[i])
        for j in candidates:  # every copy of it moves, so no text is in two splits
            if keys[j] == keys[best]:
                out[j] = name
    return out


def assign_by_part(parts: list[tuple[list[str], SplitSpec, list[str]]]) -> list[str]:
    """Split names for the documents of several corpora, in order: `parts` holds each corpus's
    (texts as hashed, its own split spec, bodies). Each corpus is split as if alone, so a document
    lands where its own corpus puts it; then a later corpus's training document that shares a verse
    line with an earlier corpus's val or test document joins that split (test first), so held-out
    verse cannot reach training through another corpus."""
    from textgen.data.clean import verse_lines

    out: list[str] = []
    held: dict[str, str] = {}  # verse line -> the held-out split it belongs to
    for texts, spec, bodies in parts:
        where = assign(texts, spec, shared_lines=bodies if spec.group_shared_lines else None)
        lines = [verse_lines(b, 5) for b in bodies]
        for i, w in enumerate(where):
            hits = {held[v] for v in lines[i] if v in held} if w == "train" else set()
            if hits:
                where[i] = "test" if "test" in hits else "val"
        for w, vs in zip(where, lines, strict=True):
            for v in vs if w != "train" else ():
                if held.get(v) != "test":
                    held[v] = w
        out += where
    return out
