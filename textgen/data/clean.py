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
from textgen.data.variants import normalise_variants
from textgen.errors import CorpusError
from textgen.poetry.lines import verse_lines

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
FULLWIDTH = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
# Half-width and small-form variants of Chinese punctuation -> the ordinary full-width forms.
VARIANTS = str.maketrans("｡､﹐﹑﹔﹕﹖﹗", "。、，、；：？！")
# ASCII punctuation touching a CJK character (or CJK punctuation) on either side.
_ASCII_PUNCT = re.compile(rf"(?<=[{CJK}，。？！：；、」』》])([,.?!:;])|([,.?!:;])(?=[{CJK}「『《])")
_ELLIPSIS = re.compile(rf"(?<=[{CJK}])(?:\.{{3,}}|。{{3,}}|…+)")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000\u202f\u205f\ufeff]+")


def normalise_punctuation(line: str) -> str:
    line = _ELLIPSIS.sub("……", line.translate(VARIANTS))
    return _ASCII_PUNCT.sub(lambda mt: FULLWIDTH[mt.group(1) or mt.group(2)], line)


def poem_form(lines: list[str]) -> str:
    """'4x5' when every verse line (textgen.poetry.lines) has the same length, else 'irregular'."""
    lengths = [len(c) for c in verse_lines("\n".join(lines))]
    if lengths and all(n == lengths[0] for n in lengths):
        return f"{len(lengths)}x{lengths[0]}"
    return "irregular"


_NUMBER = {4: "四言", 5: "五", 6: "六言", 7: "七"}


def form_name(lengths: list[int], sao: bool = False) -> str:
    """The classical form a poem's verse-line lengths make: 五绝 五律 七绝 七律 (4 or 8 equal lines),
    五古 七古 (other counts), 四言 六言, 杂言 (mixed), 骚体 (`sao`: it uses 兮). Shape only: a 4x5 poem
    that breaks the 近体 tone rules is still called 五绝 here."""
    if sao:
        return "骚体"
    if not lengths or any(n != lengths[0] for n in lengths) or lengths[0] not in _NUMBER:
        return "杂言"
    n, name = len(lengths), _NUMBER[lengths[0]]
    if len(name) == 2:
        return name
    return name + {4: "绝", 8: "律"}.get(n, "古")


def classical_form(text: str) -> str:
    """form_name() of a poem's text."""
    return form_name([len(c) for c in verse_lines(text)], "兮" in text)


_TITLE_NOTES = re.compile(r"（[^）]*）|\([^)]*\)|〈[^〉]*〉")
_TITLE_DROP = re.compile(rf"[^{CJK}·]")


def clean_title(title: str, max_len: int = 30) -> str:
    """A metadata line fit for a header: editors' notes in parentheses dropped, brackets and other
    non-Chinese characters removed, spaces between parts as ·, at most `max_len` characters."""
    t = _TITLE_NOTES.sub("", title).strip()
    t = _TITLE_DROP.sub("", _SPACES.sub("·", t)).strip("·")
    t = re.sub("·+", "·", t)
    return t[:max_len].rstrip("·")


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
        self.seen_lines: set[str] = set()

    def convert(self, text: str) -> str:
        """Script conversion and variant normalisation, as applied to the text (for metadata)."""
        if self.converter is not None and text:
            text = self.converter.convert(text)
        return normalise_variants(text) if self.spec.variants else text

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
        text = self.convert("\n".join(lines))
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
        if self.spec.near_dedupe:
            verses = set(verse_lines(text, 4))
            if verses and len(verses & self.seen_lines) >= self.spec.near_dedupe * len(verses):
                return None, "near_duplicate"
            self.seen_lines |= verses
        return text, None

    def __call__(self, lines: list[str], meta: dict | None = None) -> tuple[str | None, str | None]:
        if meta and "malformed" in meta:
            text, reason = None, "malformed"
        else:
            text, reason = self.clean(lines)
        if reason:
            self.dropped[reason] += 1
        return text, reason
