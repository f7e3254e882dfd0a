"""平仄 (tone pattern) of 近体诗, reduced to the rules a mask can enforce one character at a time.

"一三五不论，二四六分明": the 2nd, 4th (and 6th) characters of a line alternate 平/仄; within a
couplet the second line is the opposite of the first (对), and the first line of the next couplet
follows the line before it (粘). Rhyming (even) lines end 平, the other lines after the first end 仄.
These rules hold in all four standard patterns of 五言/七言 绝句 and 律诗; which pattern a poem
takes is set by its first tone-bearing character (the model picks it). The tones themselves come
from the rhyme scheme (textgen.poetry.rhyme.tones_of: 平水韵 by default, where 入声 is 仄), and
textgen.poetry.gelv checks a whole poem, naming each rule broken (失对, 失粘, 孤平, 三平尾 ...).

    required_tone(True, line=1, pos=1, length=5)   # False: 仄 (对 of a 平 start)
"""

from __future__ import annotations

TONE_LENGTHS = (5, 7)


def _flip(line: int, pos: int) -> bool:
    # Pattern of the 2nd character: line 0 = base, 1 = opposite (对), 2 = like 1 (粘), 3 = base ...
    return (line % 4 in (1, 2)) != (pos == 3)


def required_tone(base: bool | None, line: int, pos: int, length: int) -> bool | None:
    """True = 平, False = 仄, None = free, for a character slot. `base` is the tone of the 2nd
    character of the first line (None while not yet known: then alternating slots are free)."""
    if pos == length - 1:
        if line == 0:
            return None
        return line % 2 == 1
    if pos in (1, 3, 5):
        return None if base is None else base != _flip(line, pos)
    return None


def base_from(tone: bool, line: int, pos: int) -> bool:
    """The pattern base implied by a character of tone `tone` in an alternating slot."""
    return tone != _flip(line, pos)
