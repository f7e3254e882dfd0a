"""格律: the rhyme and tone rules of 近体诗 (绝句, 律诗), reported as faults that name the rule and where.

    rhyme_faults(["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"])   # []
    tone_faults(["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"])    # []
    str(Fault("失粘", 3, 2))   # '失粘 (line 3, char 2)'

Rhyme: the even lines end in one group (their groups intersect; a 多音字 may take any of its
readings); under 平水韵 the group is a 平声 one. A first line that can only be read 平 must rhyme too
(首句入韵), or borrow a neighbouring group of the same 词林正韵 部 (首句借邻韵, allowed).

Tone ("一三五不论，二四六分明"), with the pattern (平起 or 仄起) that fits best:
- 失对: the 2nd character of a couplet's second line repeats the tone of the first line's.
- 失粘: the 2nd character of a couplet's first line differs from the line before it.
- 二四六: within a line, the 2nd, 4th (and 6th) characters do not alternate 平/仄; two 拗 forms
  of the 仄-ending lines are accepted, as in Tang practice: 平平仄平仄 (特拗) and 仄仄平仄仄 when
  the next line answers 平平平仄平 (对句相救); 七言 likewise after two more characters.
- 对句仄收 / 出句平收: even lines end 平 (they rhyme), odd lines after the first end 仄.
- 孤平: a 平平仄仄平 line (七言 仄仄平平仄仄平) whose 1st (七言: 3rd) and 3rd (5th) are both 仄.
- 三平尾: a line ending in three 平.
The 1st, 3rd (and 5th) characters are free except for 孤平 and 三平尾. Characters of unknown tone
never count against a poem; a 多音字 fits either tone.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from textgen.poetry.rhyme import rhymes_of, tones_of
from textgen.poetry.tones import TONE_LENGTHS, required_tone

PING, ZE = frozenset((True,)), frozenset((False,))


class Fault(NamedTuple):
    rule: str  # 出韵 失对 失粘 二四六 对句仄收 出句平收 孤平 三平尾
    line: int  # 1-based
    pos: int  # 1-based character in the line

    def __str__(self) -> str:
        return f"{self.rule} (line {self.line}, char {self.pos})"


def rhyme_faults(lines: list[str], scheme: str = "pingshui") -> list[Fault]:
    """出韵 at each rhyming line whose ending leaves the poem's group (the group most even lines
    share); empty when the poem rhymes."""
    ends = [(i, x[-1]) for i, x in enumerate(lines) if x and i % 2 == 1]
    if not ends:
        return []
    sets = {i: rhymes_of(ch, scheme) for i, ch in ends}
    common = frozenset.intersection(*sets.values())
    if not common:
        votes = Counter(g for s in sets.values() for g in s)
        top = max(votes.values(), default=0)
        first = sets[ends[0][0]]
        common = frozenset(g for g, n in votes.items() if n == top and (g in first or not first))
        common = common or frozenset(g for g, n in votes.items() if n == top)
    faults = [Fault("出韵", i + 1, len(lines[i])) for i, _ in ends if not (sets[i] & common)]
    if scheme == "pingshui" and lines and lines[0] and tones_of(lines[0][-1], scheme) == PING:
        own = rhymes_of(lines[0][-1], scheme)
        if common and not (own & common) and not _neighbours(own, common):
            faults.insert(0, Fault("出韵", 1, len(lines[0])))
    return faults


def _neighbours(a: frozenset[str], b: frozenset[str]) -> bool:
    """首句借邻韵: some group of `a` shares a 词林正韵 部 with some group of `b`."""
    from textgen.poetry.pingshui import groups

    table = groups()
    bu = {n for g in b for n in table[g].bu}
    return any(n in bu for g in a for n in table[g].bu)


def tone_faults(lines: list[str], scheme: str = "pingshui") -> list[Fault]:
    """The 平仄 faults of a poem of 5- or 7-character lines, under the pattern that fits it best."""
    if not lines or any(len(x) not in TONE_LENGTHS for x in lines):
        raise ValueError("tone rules need lines of 5 or 7 characters")
    tones = [[tones_of(ch, scheme) for ch in x] for x in lines]
    options = [_faults(lines, tones, base) for base in (True, False)]
    return min(options, key=len)


def _faults(lines: list[str], tones: list[list[frozenset[bool]]], base: bool) -> list[Fault]:
    out: list[Fault] = []
    for i, (line, t) in enumerate(zip(lines, tones, strict=True)):
        n = len(line)
        want2 = required_tone(base, i, 1, n)
        if not _fits(t[1], want2):
            out.append(Fault("失粘" if i % 2 == 0 and i > 0 else "失对", i + 1, 2))
        own = next(iter(t[1])) if len(t[1]) == 1 else want2  # the line's own 2nd tone
        end = required_tone(base, i, n - 1, n)
        for p in range(3, n - 1, 2):
            if not _fits(t[p], own if p == 5 else not own) and not _licensed(tones, i, end, own):
                out.append(Fault("二四六", i + 1, p + 1))
        if not _fits(t[-1], end):
            out.append(Fault("对句仄收" if end else "出句平收", i + 1, n))
        # A line ending 平 (read 平 where it must be or can only be): 三平尾 and 孤平.
        if True in t[-1] and (end or t[-1] == PING):
            core = t[-5:]  # the 五言 part of a 七言 line
            if core[2] == PING and core[3] == PING:
                out.append(Fault("三平尾", i + 1, n - 2))
            b_line = (own if n == 5 else not own) is True  # 平平仄仄平 / 仄仄平平仄仄平
            if b_line and core[0] == ZE and core[2] == ZE:
                out.append(Fault("孤平", i + 1, n - 4))
    return out


def _licensed(tones: list[list[frozenset[bool]]], i: int, end: bool | None, own: bool) -> bool:
    """The two standard 拗 forms of a line ending 仄, where its 4th character (七言 6th) breaks 二四六:
    平平仄平仄 for 平平平仄仄 (特拗: the 3rd turns 仄), and 仄仄平仄仄 / 仄仄仄仄仄 for 仄仄平平仄 when
    the next line (平平仄仄平) turns its 3rd character 平 (对句救). 七言 lines have two more in front."""
    core = tones[i][-5:]
    if end is True or (end is None and core[4] == PING):
        return False
    if (own if len(tones[i]) == 5 else not own) is True:  # 平平平仄仄
        return _fits(core[2], False)
    nxt = tones[i + 1][-5:] if i % 2 == 0 and i + 1 < len(tones) else None
    return nxt is not None and _fits(nxt[2], True)


def _fits(t: frozenset[bool], want: bool | None) -> bool:
    return want is None or not t or want in t


def tune_faults(lines: list[str], spec, scheme: str = "pingshui", tones: bool = False) -> list[Fault]:
    """A ci against its tune (a FormSpec from textgen.poetry.tunes): 出韵 where a line of a rhyme set
    leaves the set's rhyme (词林正韵 部 in the set's tone under 平水韵), and with `tones` 平仄 where a
    character breaks a tone the tune's ci agree on."""
    key = "cilin" if scheme == "pingshui" else scheme
    faults: list[Fault] = []
    for r, ping in enumerate(spec.rhyme_tones):
        ends = [(i, lines[i][-1]) for i in range(min(len(lines), spec.n_lines))
                if spec.rhyme_sets[i] == r and lines[i]]  # fmt: skip
        sets = {i: rhymes_of(ch, key, ping if key == "cilin" else None) for i, ch in ends}
        votes = Counter(g for x in sets.values() for g in x)
        top = max(votes.values(), default=0)
        best = frozenset(g for g, n in votes.items() if n == top)
        faults += [Fault("出韵", i + 1, len(lines[i])) for i, _ in ends if not sets[i] & best]
    if tones:
        for i, (line, want) in enumerate(zip(lines, spec.tone_pattern, strict=False)):
            for j, (ch, w) in enumerate(zip(line, want, strict=False)):
                if w != "中" and not _fits(tones_of(ch, scheme), w == "平"):
                    faults.append(Fault("平仄", i + 1, j + 1))
    return sorted(faults, key=lambda f: (f.line, f.pos))
