"""Does a poem comply with a form, an acrostic and a rhyme? And which form does it look like?

problems = form_problems("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", resolve_form("wujue"))
assert problems == []
detect_form("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。")   # "wujue"
"""

from __future__ import annotations

import re

from textgen.poetry.forms import FORMS, FormSpec
from textgen.poetry.rhyme import is_cjk, rhyme_group
from textgen.poetry.tones import tone_problems

_SPLIT = re.compile(r"[，。！？；、,.!?;\n]")


def split_lines(text: str) -> list[str]:
    """The half-lines of a poem: text between punctuation marks and newlines, blanks dropped."""
    return [p.strip() for p in _SPLIT.split(text) if p.strip()]


def form_problems(
    text: str, spec: FormSpec, acrostic: str | None = None, rhyme: bool = False, tones: bool = False
) -> list[str]:
    """Everything wrong with `text` as a poem of this form (empty list = compliant)."""
    lines = split_lines(text)
    problems = []
    if text != spec.layout_text(lines[: spec.n_lines]) or len(lines) != spec.n_lines:
        problems.append("layout/punctuation differs from the form")
    if [len(x) for x in lines] != list(spec.line_lengths):
        problems.append(f"line lengths {[len(x) for x in lines]} != {list(spec.line_lengths)}")
    if not all(is_cjk(c) for x in lines for c in x):
        problems.append("non-Chinese characters inside lines")
    if acrostic and "".join(x[:1] for x in lines) != acrostic:
        problems.append(f"line starts {''.join(x[:1] for x in lines)!r} != acrostic {acrostic!r}")
    if rhyme and not rhymes(lines):
        problems.append("even lines do not share a rhyme group")
    if tones and (bad := tone_problems(lines)):
        problems.append(f"{bad} character(s) break the 平仄 pattern")
    return problems


def rhyme_endings(lines: list[str]) -> list[str | None]:
    """The rhyme group of the last character of each even line (2nd, 4th, ...)."""
    return [rhyme_group(x[-1]) if x else None for x in lines[1::2]]


def rhymes(lines: list[str]) -> bool:
    groups = rhyme_endings(lines)
    return bool(groups) and groups[0] is not None and all(g == groups[0] for g in groups)


def detect_form(text: str) -> str | None:
    """The named form whose line lengths match the poem, if any."""
    lengths = tuple(len(x) for x in split_lines(text))
    for name, want in FORMS.items():
        if lengths == want:
            return name
    return None
