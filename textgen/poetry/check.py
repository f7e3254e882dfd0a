"""Does a poem comply with a form, an acrostic, a rhyme and the tone rules? Which form is it?

problems = form_problems("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", resolve_form("wujue"))
assert problems == []
form_problems("春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。", resolve_form("wujue"), rhyme=True)
# ['出韵 (line 2, char 5)', '出韵 (line 4, char 5)']: it rhymes on 仄 (a 古绝), 近体诗 rhymes on 平
detect_form("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。")   # "wujue"
"""

from __future__ import annotations

from textgen.poetry.forms import FORMS, FormSpec
from textgen.poetry.gelv import rhyme_faults, tone_faults, tune_faults
from textgen.poetry.lines import verse_lines
from textgen.poetry.rhyme import is_cjk, rhyme_group

split_lines = verse_lines  # the half-lines of a poem (textgen.poetry.lines), by the judge's name


def form_problems(
    text: str,
    spec: FormSpec,
    acrostic: str | None = None,
    rhyme: bool = False,
    tones: bool = False,
    scheme: str = "pingshui",
) -> list[str]:
    """Everything wrong with `text` as a poem of this form (empty list = compliant); rhyme and
    tone faults name the rule and the place, under the rhyme scheme."""
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
    if spec.is_tune:  # a 词牌: its rhyme sets and the tones its ci agree on
        if rhyme or tones:
            problems += [str(f) for f in tune_faults(lines, spec, scheme, tones)]
        return problems
    if rhyme:
        problems += [str(f) for f in rhyme_faults(lines, scheme)]
    if tones and all(len(x) in (5, 7) for x in lines) and lines:
        problems += [str(f) for f in tone_faults(lines, scheme)]
    return problems


def rhyme_endings(lines: list[str]) -> list[str | None]:
    """The 中华新韵 group of the last character of each even line (2nd, 4th, ...)."""
    return [rhyme_group(x[-1]) if x else None for x in lines[1::2]]


def rhymes(lines: list[str], scheme: str = "pingshui") -> bool:
    """Whether the even lines (two or more) rhyme under the scheme."""
    return len(lines) >= 2 and not rhyme_faults(lines, scheme)


def detect_form(text: str) -> str | None:
    """The named form whose line lengths match the poem, if any."""
    lengths = tuple(len(x) for x in split_lines(text))
    for name, want in FORMS.items():
        if lengths == want:
            return name
    return None
