"""Cleaning: script conversion (OpenCC), whitespace and punctuation normalisation, and dropping damaged
documents with a counted reason.

    cleaner = Cleaner(manifest.clean)
    text, reason = cleaner(["牀前明月光,疑是地上霜."])   # ("床前明月光，疑是地上霜。", None)
    cleaner.dropped                                          # Counter of reasons, e.g. {"damage": 3}
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from textgen.data.manifest import CleanSpec
from textgen.errors import CorpusError

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
FULLWIDTH = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
# Half-width and small-form variants of Chinese punctuation -> the ordinary full-width forms.
VARIANTS = str.maketrans("｡､﹐﹑﹔﹕﹖﹗", "。、，、；：？！")
# ASCII punctuation touching a CJK character (or CJK punctuation) on either side.
_ASCII_PUNCT = re.compile(rf"(?<=[{CJK}，。？！：；、」』》])([,.?!:;])|([,.?!:;])(?=[{CJK}「『《])")
_ELLIPSIS = re.compile(rf"(?<=[{CJK}])(?:\.{{3,}}|。{{3,}}|…+)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000\u202f\u205f\ufeff]+")
_CLAUSE = re.compile(r"[，。？！；：、]")


def normalise_punctuation(line: str) -> str:
    line = _ELLIPSIS.sub("……", line.translate(VARIANTS))
    return _ASCII_PUNCT.sub(lambda mt: FULLWIDTH[mt.group(1) or mt.group(2)], line)


def poem_form(lines: list[str]) -> str:
    """'4x5' when every verse line (clause between ，。？！；：、) has the same length, else 'irregular'."""
    lengths = [len(c) for line in lines for c in _CLAUSE.split(line) if c]
    if lengths and all(n == lengths[0] for n in lengths):
        return f"{len(lengths)}x{lengths[0]}"
    return "irregular"


def _opencc(config: str):
    import opencc

    try:
        return opencc.OpenCC(config)
    except Exception as e:  # opencc raises a bare RuntimeError for unknown configs
        raise CorpusError(f"clean.opencc: unknown OpenCC config {config!r} ({e})") from e


class Cleaner:
    """Turns a document's raw lines into its cleaned text, or a drop reason. Keeps counts."""

    def __init__(self, spec: CleanSpec):
        self.spec = spec
        self.converter = _opencc(spec.opencc) if spec.opencc else None
        try:
            self.drops = [(reason, re.compile(p)) for reason, p in spec.drop_patterns.items()]
            self.strip_lines = [re.compile(p) for p in spec.strip_line_patterns]
            self.removes = [re.compile(p) for p in spec.remove_patterns]
        except re.error as e:
            raise CorpusError(f"clean: bad regular expression {e.pattern!r}: {e}") from e
        self.dropped: Counter[str] = Counter()
        self.seen: set[bytes] = set()

    def _line(self, line: str) -> str:
        for p in self.removes:
            line = p.sub("", line)
        if self.spec.spaces == "remove":
            line = _SPACES.sub("", line)
        else:
            line = _SPACES.sub(" ", line).strip()
        if self.spec.punctuation:
            line = normalise_punctuation(line)
        return line

    def clean(self, lines: list[str]) -> tuple[str | None, str | None]:
        """(text, None) for a kept document, (None, reason) for a dropped one (not counted)."""
        text = "\n".join(lines)
        if self.converter is not None and text:
            text = self.converter.convert(text)
        kept = []
        for line in text.split("\n"):
            if any(p.search(line) for p in self.strip_lines):
                continue
            line = self._line(line)
            if line:
                kept.append(line)
        if not kept:
            return None, "empty"
        text = "\n".join(kept)
        for reason, pattern in self.drops:
            if pattern.search(text):
                return None, reason
        n = len(text) - (len(kept) - 1)
        if n < self.spec.min_chars:
            return None, "too_short"
        if n > self.spec.max_chars:
            return None, "too_long"
        if self.spec.dedupe:
            key = hashlib.blake2b(text.encode(), digest_size=16).digest()
            if key in self.seen:
                return None, "duplicate"
            self.seen.add(key)
        return text, None

    def __call__(self, lines: list[str], meta: dict | None = None) -> tuple[str | None, str | None]:
        if meta and "malformed" in meta:
            text, reason = None, "malformed"
        else:
            text, reason = self.clean(lines)
        if reason:
            self.dropped[reason] += 1
        return text, reason
