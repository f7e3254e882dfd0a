"""Verse lines: the one set of marks that ends a line of verse, for everything that splits a poem.

The data pipeline (a document's form, shared-line split groups, near-duplicates), the judge
(form_problems, detect_form), the defect counter and the tune miner all split here, so a poem has
the same lines everywhere: 白日依山尽：黄河入海流。… is four lines of five to each of them.

    verse_lines("白日依山尽：黄河入海流。\\n欲穷千里目，更上一层楼。")   # ["白日依山尽", "黄河入海流", ...]
    verse_lines(text, min_len=5)                                       # only lines of 5+ characters
    punctuated_lines("春风吹，柳绿。\\n")   # [("春风吹", "，", False), ("柳绿", "。", True)]
"""

from __future__ import annotations

import re

# Full-width clause marks, the ellipsis and the middle dot some ci editions use, their ASCII forms.
PUNCT = "，。？！；：、…・,.!?;:"
_SPLIT = re.compile(f"[{re.escape(PUNCT)}\n]")
_LINE = re.compile(f"([^{re.escape(PUNCT)}\n]+)([{re.escape(PUNCT)}]+)?(\n)?")


def verse_lines(text: str, min_len: int = 1) -> list[str]:
    """The verse lines of a text: the stretches between punctuation marks and newlines, stripped of
    spaces, of at least `min_len` characters."""
    return [x for p in _SPLIT.split(text) if len(x := p.strip()) >= max(min_len, 1)]


def punctuated_lines(text: str) -> list[tuple[str, str, bool]]:
    """Each verse line with the punctuation after it and whether a newline follows:
    (line, marks, newline); blank stretches dropped."""
    out = [(m.group(1), m.group(2) or "", bool(m.group(3))) for m in _LINE.finditer(text)]
    return [x for x in out if x[0].strip()]
