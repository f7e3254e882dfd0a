"""Rhyme schemes: 平水韵 (classical; textgen.poetry.pingshui) and the 中华新韵 (modern), and the
scheme-neutral questions the checker and the constraints ask: which groups does a character rhyme
in, which tones can it take.

    rhymes_of("斜", "pingshui") == rhymes_of("家", "pingshui") == {"麻"}   # 平水韵 六麻
    rhymes_of("斜", "xinyun") != rhymes_of("家", "xinyun")                 # xie / jia today
    tones_of("白", "pingshui") == {False}   # 入声 = 仄;  tones_of("白", "xinyun") == {True} (bái)

Rhyme groups of the 中华新韵 (the 14 rhymes of modern standard pronunciation), from pypinyin.

A character's group comes from the final of its most common reading (pypinyin's default; 多音字
take that one reading only):

    一麻 a ia ua      二波 o e uo       三皆 ie üe       四开 ai uai      五微 ei uei
    六豪 ao iao       七尤 ou iou       八寒 an ian uan üan              九文 en in uen ün
    十唐 ang iang uang                 十一庚 eng ing ueng ong iong      十二齐 i er ü
    十三支 -i (zhi chi shi ri zi ci si)                                   十四姑 u

Modern readings, not the 平水韵 of Tang poets: a Tang poem may rhyme in 平水韵 and not here (e.g.
斜 xie vs 家 jia). Tone (平仄): tone_of() gives 1-4 (0 = neutral/unknown); 1, 2 are 平, 3, 4 are 仄.

    rhyme_group("霜") == rhyme_group("乡") == "唐"
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from textgen.errors import ConfigError

SCHEMES = ("pingshui", "xinyun")
# Corpora of modern text (lyrics) rhyme by today's pronunciation; everything else is classical.
MODERN_CORPORA = ("lyrics", "wangfeng", "qqmusic6")

RHYME_GROUPS: dict[str, tuple[str, ...]] = {
    "麻": ("a", "ia", "ua"),
    "波": ("o", "e", "uo", "io"),
    "皆": ("ie", "ve", "ue", "ê"),
    "开": ("ai", "uai"),
    "微": ("ei", "uei"),
    "豪": ("ao", "iao"),
    "尤": ("ou", "iou"),
    "寒": ("an", "ian", "uan", "van"),
    "文": ("en", "in", "uen", "vn"),
    "唐": ("ang", "iang", "uang"),
    "庚": ("eng", "ing", "ueng", "ong", "iong"),
    "齐": ("i", "er", "v"),
    "支": ("-i",),
    "姑": ("u",),
}
_FINAL_TO_GROUP = {f: g for g, finals in RHYME_GROUPS.items() for f in finals}
_BUZZ = {"zhi", "chi", "shi", "ri", "zi", "ci", "si"}  # their "i" is the apical vowel of 支


def is_cjk(ch: str) -> bool:
    """A CJK unified ideograph (the characters a classical line may contain)."""
    if len(ch) != 1:
        return False
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F or 0xF900 <= o <= 0xFAFF


@lru_cache(maxsize=65536)
def rhyme_group(ch: str) -> str | None:
    """The 中华新韵 group of a Chinese character ("唐" for 霜), or None for anything else."""
    if not is_cjk(ch):
        return None
    normal = lazy_pinyin(ch, style=Style.NORMAL, errors=lambda x: [""])[0]
    if not normal:
        return None
    if normal in _BUZZ:
        return "支"
    final = lazy_pinyin(ch, style=Style.FINALS, strict=True, errors=lambda x: [""])[0]
    return _FINAL_TO_GROUP.get(final)


@lru_cache(maxsize=65536)
def tone_of(ch: str) -> int:
    """Tone 1-4 of a character's most common reading, 0 if neutral or not a Chinese character."""
    if not is_cjk(ch):
        return 0
    s = lazy_pinyin(ch, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda x: [""])[0]
    return int(s[-1]) if s and s[-1] in "1234" else 0


def is_ping(ch: str) -> bool | None:
    """平 (tones 1, 2) -> True, 仄 (3, 4) -> False, unknown -> None."""
    t = tone_of(ch)
    return None if t == 0 else t <= 2


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ConfigError(f"rhyme_scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    return scheme


def default_scheme(corpus: str | None) -> str:
    """pingshui (平水韵) for classical corpora and unknown text, xinyun (中华新韵) for lyrics."""
    return "xinyun" if corpus in MODERN_CORPORA else "pingshui"


@lru_cache(maxsize=65536)
def rhymes_of(
    ch: str, scheme: str = "pingshui", ping: bool | None = True, strict: bool = False
) -> frozenset[str]:
    """The rhyme groups a character can rhyme in. pingshui: its groups of tone `ping` (True = 平,
    as 近体诗 rhymes; False = 仄; None = any), over every reading of every traditional form, or with
    `strict` only those of its standard form (pingshui.standard_readings); xinyun: its one modern
    group, whatever the tone."""
    if scheme == "xinyun":
        g = rhyme_group(ch)
        return frozenset() if g is None else frozenset((g,))
    if scheme == "cilin":  # ci: 词林正韵 部 with the tone, e.g. "7平" (寒删先...), "17仄" (质陌锡职缉)
        from textgen.poetry.pingshui import groups

        table = groups()
        return frozenset(f"{b}{'平' if p else '仄'}" for g, p in _readings(ch, strict) for b in table[g].bu
                         if ping is None or p == ping)  # fmt: skip
    return frozenset(g for g, p in _readings(ch, strict) if ping is None or p == ping)


@lru_cache(maxsize=65536)
def tones_of(ch: str, scheme: str = "pingshui", strict: bool = False) -> frozenset[bool]:
    """The tones a character can take (True = 平, False = 仄): one, both (多音字) or none (unknown)."""
    if scheme == "xinyun":
        t = is_ping(ch)
        return frozenset() if t is None else frozenset((t,))
    return frozenset(p for _, p in _readings(ch, strict))


def _readings(ch: str, strict: bool) -> frozenset[tuple[str, bool]]:
    from textgen.poetry import pingshui

    return pingshui.standard_readings(ch) if strict else pingshui.readings(ch)
