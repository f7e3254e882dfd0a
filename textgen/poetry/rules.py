"""The seven habits that give a weak model's 绝句 away, in one table that two readers share.

Each rule says, side by side, whether a finished poem breaks it (`found`: the defect counter,
textgen.poetry.defects, run by the judge) and which tokens would break it if written next
(`banned`: the sampler's guards, textgen.sampling.guided, which take them out of the mask). The
guards work in token ids and the counter in characters, so `banned` is generic over the token:
it gets the line so far and the rule's own characters and phrases already turned into tokens.

    [r.name for r in RULES]   # triple repeat xi weak_rhyme repeated_rhyme variant filler
    poem = Poem.of("夜夜夜夜坐，黄花侧漫漫。")
    {r.name: r.found(poem) for r in RULES}   # {"triple": True, "repeat": False, ...}
    REPEAT.banned(Next(list("春风春"), at_rhyme=False, rhymed=set()), [], [])   # {"风"}
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from textgen.data.variants import VARIANTS
from textgen.poetry.lines import verse_lines

# Function words and numerals that real 近体 poems do not rhyme on (measured: 0% of real test 五绝),
# while weak models do (13%): the guard keeps them off rhyme positions.
WEAK_RHYMES = "之乎者也矣焉哉兮于而其以与所且则乃耶欤何一二三四五六七八九十百千万两"
SAO_PARTICLES = "兮"
STOCK_PHRASES = ("不知何处",)  # filler a weak model leans on: its last character is refused


@dataclass(frozen=True)
class Poem:
    """A finished poem as the counter reads it: its text, verse lines and rhyme-position characters
    (the ends of the even lines)."""

    text: str
    lines: list[str]
    ends: list[str]

    @classmethod
    def of(cls, text: str) -> Poem:
        lines = verse_lines(text)
        return cls(text, lines, [line[-1] for line in lines[1::2]])


@dataclass(frozen=True)
class Next:
    """The slot a guard is about to fill: the verse line so far (tokens), whether the slot is a
    rhyme position, and the tokens already used at rhyme positions."""

    line: Sequence[Hashable]
    at_rhyme: bool
    rhymed: set


@dataclass(frozen=True)
class Rule:
    name: str
    about: str
    found: Callable[[Poem], bool]
    # (slot, the rule's characters as tokens, its phrases as token lists) -> tokens it forbids next
    banned: Callable[[Next, list, list[list]], set]
    chars: str = ""  # characters the rule is about (as tokens: banned's second argument)
    phrases: tuple[str, ...] = ()  # phrases the rule is about (banned's third argument)


def _counts(line: str) -> dict[str, int]:
    return {c: line.count(c) for c in set(line)}


def _no_third(s: Next, chars, phrases) -> set:
    return {c for c in set(s.line) if s.line.count(c) >= 2}


def _pair_only_adjacent(s: Next, chars, phrases) -> set:
    line = s.line
    return {c for c in set(line) if line.count(c) == 1 and c != line[-1]}


def _repeat_found(p: Poem) -> bool:
    return any(n == 2 and ch * 2 not in line for line in p.lines for ch, n in _counts(line).items())


def _chars_anywhere(s: Next, chars, phrases) -> set:
    return set(chars)


def _chars_at_rhyme(s: Next, chars, phrases) -> set:
    return set(chars) if s.at_rhyme else set()


def _rhymed_before(s: Next, chars, phrases) -> set:
    return set(s.rhymed) if s.at_rhyme else set()


def _phrase_endings(s: Next, chars, phrases) -> set:
    return {p[-1] for p in phrases if list(s.line[-len(p) + 1 :]) == list(p[:-1])}


TRIPLE = Rule("triple", "a character three or more times in one verse line (夜夜夜夜坐)",
              lambda p: any(n >= 3 for line in p.lines for n in _counts(line).values()), _no_third)  # fmt: skip
REPEAT = Rule("repeat", "a character twice in a line that is not an adjacent pair (叠字 such as 漫漫 is fine)",
              _repeat_found, _pair_only_adjacent)  # fmt: skip
XI = Rule("xi", "the 骚体 particle 兮", lambda p: any(c in p.text for c in SAO_PARTICLES), _chars_anywhere,
          chars=SAO_PARTICLES)  # fmt: skip
WEAK_RHYME = Rule("weak_rhyme", "a rhyme position holds a function word or numeral (之 一 何…)",
                  lambda p: any(e in WEAK_RHYMES for e in p.ends), _chars_at_rhyme, chars=WEAK_RHYMES)  # fmt: skip
REPEATED_RHYME = Rule("repeated_rhyme", "one character at two rhyme positions",
                      lambda p: len(set(p.ends)) < len(p.ends), _rhymed_before)  # fmt: skip
VARIANT = Rule("variant", "a variant character that should have been normalised (鴈 劒 疎…)",
               lambda p: any(ch in VARIANTS for ch in p.text), _chars_anywhere, chars="".join(VARIANTS))  # fmt: skip
FILLER = Rule("filler", "the stock phrase 不知何处", lambda p: any(x in p.text for x in STOCK_PHRASES),
              _phrase_endings, phrases=STOCK_PHRASES)  # fmt: skip

RULES = (TRIPLE, REPEAT, XI, WEAK_RHYME, REPEATED_RHYME, VARIANT, FILLER)
