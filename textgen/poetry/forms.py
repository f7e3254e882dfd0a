"""Poem forms: how many lines, how many characters each, and how they are laid out as text.

Layout follows the training text (chinese-poetry paragraphs): a couplet of two half-lines is one
text line, "床前明月光，疑是地上霜。", so a 五言绝句 is two text lines; layout "line" puts every
half-line on its own text line instead. Odd lines end in "，", even lines (and the last) in "。",
and the poem ends (<eos>) right after the final "。".

    spec = resolve_form("qijue")                 # FormSpec(name="qijue", line_lengths=(7, 7, 7, 7))
    spec = resolve_form(None, acrostic="春夏秋") # 3 lines of 5 (an acrostic alone sets the count)
    spec = resolve_form("5,5,7,7")               # custom line lengths
    spec = resolve_form(None, tune="浣溪沙")       # a 词牌: its lines, punctuation and rhyme sets
"""

from __future__ import annotations

from dataclasses import dataclass

from textgen.errors import ConfigError

FORMS: dict[str, tuple[int, ...]] = {
    "wujue": (5,) * 4,  # 五言绝句
    "qijue": (7,) * 4,  # 七言绝句
    "wulv": (5,) * 8,  # 五言律诗
    "qilv": (7,) * 8,  # 七言律诗
}
ALIASES = {"五言绝句": "wujue", "五绝": "wujue", "七言绝句": "qijue", "七绝": "qijue",
           "五言律诗": "wulv", "五律": "wulv", "七言律诗": "qilv", "七律": "qilv"}  # fmt: skip
LAYOUTS = ("couplet", "line")
COMMA, PERIOD, NEWLINE = "，", "。", "\n"
ACROSTIC_LINE_LENGTH = 5  # an acrostic without a form gets 五言 lines
MAX_LINES = 32
MAX_LINE_LENGTH = 16


@dataclass(frozen=True)
class Slot:
    kind: str  # "char" (a CJK character), "punct", "newline" or "end" (<eos>)
    line: int = -1
    pos: int = -1  # position in the line, for "char"
    text: str = ""  # the required text, for "punct" and "newline"


@dataclass(frozen=True)
class FormSpec:
    name: str
    line_lengths: tuple[int, ...]
    layout: str = "couplet"
    # A 词牌 (textgen.poetry.tunes) sets these per line; other forms derive them from the line number.
    puncts: tuple[str, ...] = ()  # the punctuation after each line
    breaks: tuple[bool, ...] = ()  # a newline after the line
    rhyme_sets: tuple[int | None, ...] = ()  # each line's rhyme set (None = no rhyme)
    rhyme_tones: tuple[bool, ...] = ()  # per rhyme set: True = rhymes on 平, False = on 仄
    tone_pattern: tuple[str, ...] = ()  # per line: 平 / 仄 / 中 (either) for each character

    @property
    def n_lines(self) -> int:
        return len(self.line_lengths)

    @property
    def is_tune(self) -> bool:
        return bool(self.rhyme_sets)

    def punct(self, line: int) -> str:
        """ "，" after odd lines, "。" after even lines and after the last line (1-based)."""
        if self.puncts:
            return self.puncts[line]
        return PERIOD if line % 2 == 1 or line == self.n_lines - 1 else COMMA

    def newline_after(self, line: int) -> bool:
        if line == self.n_lines - 1:
            return False
        if self.breaks:
            return self.breaks[line]
        return self.layout == "line" or line % 2 == 1

    def rhyme_lines(self) -> list[int]:
        """The 0-based indices of the lines that must rhyme: the even lines (2nd, 4th, ...), or a
        tune's rhyme positions."""
        if self.rhyme_sets:
            return [i for i, r in enumerate(self.rhyme_sets) if r is not None]
        return list(range(1, self.n_lines, 2))

    def rhyme_set(self, line: int) -> int:
        """Which rhyme a rhyming line takes part in (换韵 tunes have several; other forms one)."""
        return self.rhyme_sets[line] if self.rhyme_sets else 0

    def slots(self) -> list[Slot]:
        """Every token position of the poem in order, ending with the end of the document."""
        out: list[Slot] = []
        for i, n in enumerate(self.line_lengths):
            out += [Slot("char", i, j) for j in range(n)]
            out.append(Slot("punct", i, text=self.punct(i)))
            if self.newline_after(i):
                out.append(Slot("newline", i, text=NEWLINE))
        out.append(Slot("end"))
        return out

    def layout_text(self, lines: list[str]) -> str:
        """Lay out the given lines (characters only) as this form prints them."""
        parts = []
        for i, line in enumerate(lines):
            parts.append(line + self.punct(i) + (NEWLINE if self.newline_after(i) else ""))
        return "".join(parts)


def parse_line_lengths(form: str) -> tuple[int, ...]:
    try:
        lengths = tuple(int(x) for x in form.replace("，", ",").split(","))
    except ValueError:
        raise ConfigError(
            f"unknown form {form!r}; choose {', '.join(FORMS)} or line lengths like 5,5,7,7"
        ) from None
    if not 1 <= len(lengths) <= MAX_LINES or not all(1 <= n <= MAX_LINE_LENGTH for n in lengths):
        raise ConfigError(f"form {form!r}: 1 to {MAX_LINES} lines of 1 to {MAX_LINE_LENGTH} characters each")
    return lengths


def resolve_form(
    form: str | None,
    acrostic: str | None = None,
    rhyme: bool = False,
    layout: str = "couplet",
    *,
    tones: bool = False,
    tune: str | None = None,
) -> FormSpec | None:
    """The FormSpec for a request, or None when it is unconstrained; ConfigError if the form or
    tune is unknown or cannot carry the acrostic/rhyme."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown poem layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    if tune is not None:
        if form is not None:
            raise ConfigError("give a form or a tune (词牌), not both")
        from textgen.poetry.tunes import get_tune

        spec = get_tune(tune).spec(layout)
        if acrostic and len(acrostic) != spec.n_lines:
            raise ConfigError(f"acrostic {acrostic!r} has {len(acrostic)} characters but tune {tune!r} has "
                              f"{spec.n_lines} lines; they must match")  # fmt: skip
        return spec
    if form is None:
        if acrostic:
            return FormSpec("acrostic", (ACROSTIC_LINE_LENGTH,) * len(acrostic), layout)
        if rhyme or tones:
            what = "rhyme" if rhyme else "tones"
            raise ConfigError(f"{what} needs a form (--form) or an acrostic to know where lines end")
        return None
    name = ALIASES.get(form.strip(), form.strip())
    lengths = FORMS.get(name) or parse_line_lengths(name)
    spec = FormSpec(name, lengths, layout)
    if acrostic and len(acrostic) != spec.n_lines:
        raise ConfigError(
            f"acrostic {acrostic!r} has {len(acrostic)} characters but form {form!r} has "
            f"{spec.n_lines} lines; they must match"
        )
    if rhyme:
        if spec.n_lines < 2:
            raise ConfigError(f"form {form!r} has one line: nothing to rhyme")
        if acrostic and any(spec.line_lengths[i] < 2 for i in spec.rhyme_lines()):
            raise ConfigError(f"form {form!r}: rhyming lines need 2+ characters with an acrostic")
    if tones and any(n not in (5, 7) for n in spec.line_lengths):
        raise ConfigError(f"tones (平仄) need lines of 5 or 7 characters; form {form!r} has others")
    return spec
