"""What gives a weak model's 绝句 away, measured per poem so generated and real poems compare.

    defects("夜夜夜夜坐，黄花侧漫漫。\\n…")   # {"triple": True, "repeat": True, ...}
    defect_rates(bodies)                     # share of poems with each defect

- triple: a character three or more times in one verse line (夜夜夜夜坐);
- repeat: a character twice in a line that is not an adjacent pair (叠字 such as 漫漫 is fine);
- xi: the 骚体 particle 兮;
- weak_rhyme: a rhyme position (the end of an even line) holds a function word or numeral (之 一 何…);
- repeated_rhyme: one character at two rhyme positions;
- variant: a variant character that should have been normalised (鴈 劒 疎…);
- filler: the stock phrase 不知何处.
"""

from __future__ import annotations

import re

from textgen.data.variants import VARIANTS
from textgen.sampling.guided import WEAK_RHYMES

DEFECTS = ("triple", "repeat", "xi", "weak_rhyme", "repeated_rhyme", "variant", "filler")
_CLAUSE = re.compile(r"[，。？！；：、\n]")


def verse_lines(text: str) -> list[str]:
    return [x for x in _CLAUSE.split(text) if x]


def defects(text: str) -> dict[str, bool]:
    lines = verse_lines(text)
    counts = [{c: line.count(c) for c in set(line)} for line in lines]
    ends = [line[-1] for line in lines[1::2]]
    return {
        "triple": any(n >= 3 for c in counts for n in c.values()),
        "repeat": any(
            n == 2 and ch * 2 not in line
            for line, c in zip(lines, counts, strict=True)
            for ch, n in c.items()
        ),
        "xi": "兮" in text,
        "weak_rhyme": any(e in WEAK_RHYMES for e in ends),
        "repeated_rhyme": len(set(ends)) < len(ends),
        "variant": any(ch in VARIANTS for ch in text),
        "filler": "不知何处" in text,
    }


def defect_rates(texts: list[str]) -> dict[str, float]:
    found = [defects(t) for t in texts]
    return {d: sum(f[d] for f in found) / max(len(found), 1) for d in DEFECTS}
