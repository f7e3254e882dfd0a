"""What gives a weak model's 绝句 away, measured per poem so generated and real poems compare.

    defects("夜夜夜夜坐，黄花侧漫漫。")   # {"triple": True, "repeat": False, ...}: 漫漫 is a 叠字
    defect_rates(["床前明月光，疑是地上霜。"])   # share of poems with each defect: all 0.0

The defects are the rules of textgen.poetry.rules (the table the sampler's guards read too):
- triple: a character three or more times in one verse line (夜夜夜夜坐);
- repeat: a character twice in a line that is not an adjacent pair (叠字 such as 漫漫 is fine);
- xi: the 骚体 particle 兮;
- weak_rhyme: a rhyme position (the end of an even line) holds a function word or numeral (之 一 何…);
- repeated_rhyme: one character at two rhyme positions;
- variant: a variant character that should have been normalised (鴈 劒 疎…);
- filler: the stock phrase 不知何处.
"""

from __future__ import annotations

from textgen.poetry.rules import RULES, Poem

DEFECTS = tuple(r.name for r in RULES)


def defects(text: str) -> dict[str, bool]:
    """Which rules the poem breaks."""
    poem = Poem.of(text)
    return {r.name: r.found(poem) for r in RULES}


def defect_rates(texts: list[str]) -> dict[str, float]:
    """The share of poems with each defect."""
    found = [defects(t) for t in texts]
    return {d: sum(f[d] for f in found) / max(len(found), 1) for d in DEFECTS}
