"""平水韵 tables, the 格律 checker (rules named with their place) and the judge under a scheme."""

import pytest

from textgen.errors import ConfigError
from textgen.poetry.check import split_lines
from textgen.poetry.gelv import Fault, rhyme_faults, tone_faults
from textgen.poetry.judge import Poem, judge, poem_faults
from textgen.poetry.pingshui import groups, readings
from textgen.poetry.rhyme import default_scheme, rhymes_of, tones_of

SHANXING = "远上寒山石径斜，白云生处有人家。\n停车坐爱枫林晚，霜叶红于二月花。"  # 杜牧《山行》, 七绝
CHUNWANG = (
    "国破山河在，城春草木深。\n感时花溅泪，恨别鸟惊心。\n烽火连三月，家书抵万金。\n白头搔更短，浑欲不胜簪。"
)
# A made-up 五绝 in the 平起 pattern (平平平仄仄 / 仄仄仄平平 / 仄仄平平仄 / 平平仄仄平), rhyme 阳.
MADE = ["风花山月雨", "日石去天霜", "白日风花月", "山风雨月光"]


def test_classical_tones_and_groups():
    # 入声 characters are 仄 in 平水韵 though modern Mandarin reads them 平.
    for ch in "白国十石一":
        assert tones_of(ch, "pingshui") == {False}, ch
    assert tones_of("白", "xinyun") == {True}
    # 斜/家 rhyme in 六麻, not today; 生/红 rhyme today (庚 of 中华新韵), not in 平水韵.
    assert rhymes_of("斜") == rhymes_of("家") == {"麻"}
    assert rhymes_of("斜", "xinyun") != rhymes_of("家", "xinyun")
    assert not rhymes_of("生") & rhymes_of("红")
    assert rhymes_of("生", "xinyun") == rhymes_of("红", "xinyun")
    # 多音字 keep every reading; a simplified character takes its traditional forms' readings.
    assert tones_of("看") == {True, False} and rhymes_of("看") == {"寒"}
    assert readings("后") == readings("後") and ("宥", False) in readings("后")
    assert ("月", False) in readings("发")  # 發 and 髮
    assert len(groups()) == 106 and groups()["阳"].name == "下平声七阳" and groups()["阳"].bu == (2,)
    assert rhymes_of("霜", "pingshui", ping=None) == {"阳"} and rhymes_of("乡", ping=False) == {"漾"}
    # Generation holds to the standard traditional form (s2t): 为 -> 爲, a variant the table lacks.
    assert rhymes_of("为") == {"支"} and rhymes_of("为", strict=True) == frozenset()
    assert rhymes_of("机") == {"支", "微"} and rhymes_of("机", strict=True) == {"微"}  # 機, not 机 (a tree)


def test_default_scheme():
    assert default_scheme("tang") == default_scheme("songci") == default_scheme(None) == "pingshui"
    assert default_scheme("lyrics") == "xinyun"


def test_real_poems_keep_the_rules_classically_but_not_by_modern_readings():
    for poem in (SHANXING, CHUNWANG):
        lines = split_lines(poem)
        assert rhyme_faults(lines) == [] and tone_faults(lines) == [], poem
    # 春望 by modern readings: 白 (bái) and 不 make 孤平 and 失对 in the last couplet.
    assert tone_faults(split_lines(CHUNWANG), "xinyun")
    assert rhyme_faults(split_lines(CHUNWANG), "xinyun") == [Fault("出韵", 8, 5)]  # 簪 zān, not -in


@pytest.mark.parametrize(
    "lines, fault",
    [
        (MADE, None),
        ([MADE[0], MADE[1], MADE[2], "石风雨月光"], Fault("孤平", 4, 1)),
        ([MADE[0], "日石天花霜", MADE[2], MADE[3]], Fault("三平尾", 2, 3)),
        ([MADE[0], MADE[1], "白风山月雨", MADE[3]], Fault("失粘", 3, 2)),
        ([MADE[0], "风天去石霜", MADE[2], MADE[3]], Fault("失对", 2, 2)),
        ([MADE[0], "日天去石霜", MADE[2], MADE[3]], [Fault("失对", 2, 2), Fault("孤平", 2, 1)]),
        ([MADE[0], "日石天月霜", MADE[2], MADE[3]], Fault("二四六", 2, 4)),
        ([MADE[0], MADE[1], "白日石花天", MADE[3]], Fault("出句平收", 3, 5)),
        ([MADE[0], MADE[1], MADE[2], "山风雨月红"], Fault("出韵", 4, 5)),
        (["风花山月天", *MADE[1:]], Fault("出韵", 1, 5)),  # a 平 first line must rhyme (首句入韵)
        (["风花山月江", *MADE[1:]], None),  # 首句借邻韵: 江 and 阳 share 词林正韵 第二部
        (["风花石天雨", *MADE[1:]], None),  # 特拗 平平仄平仄 for 平平平仄仄
        ([MADE[0], MADE[1], "白日风石月", "山风花月光"], None),  # 仄仄平仄仄, saved by 平平平仄平
        ([MADE[0], MADE[1], "白日风石月", MADE[3]], Fault("二四六", 3, 4)),  # ... and not saved
    ],
)
def test_each_rule_is_named_where_it_is_broken(lines, fault):
    faults = rhyme_faults(lines) + tone_faults(lines)
    assert faults == (fault if isinstance(fault, list) else [fault] if fault else [])


def test_judge_reports_rules_under_a_scheme():
    poems = [Poem(SHANXING), Poem(CHUNWANG), Poem("，".join(MADE[:3]) + "，石风雨月光。")]
    r = judge(poems)
    assert r["rhyme_scheme"] == "pingshui" and r["rhyme_rate"] == 1.0
    assert r["tone_rate"] == pytest.approx(2 / 3) and r["faults"] == {"孤平": 1}
    modern = judge(poems, scheme="xinyun")
    assert modern["rhyme_rate"] < 1.0 and modern["tone_rate"] < r["tone_rate"]
    assert poem_faults(poems[2].text) == ["孤平 (line 4, char 1)"]
    assert judge([Poem(CHUNWANG, rhyme_scheme="xinyun")])["rhyme_rate"] == 0.0  # as it was sampled
    with pytest.raises(ConfigError, match="rhyme_scheme"):
        judge(poems, scheme="cilin")
