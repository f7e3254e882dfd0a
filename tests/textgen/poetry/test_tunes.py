"""词牌 mined from the corpus: the miner on a made-up corpus, the shipped table, and its reproducibility."""

import json

import pytest

from textgen.errors import ConfigError
from textgen.poetry.check import form_problems
from textgen.poetry.forms import resolve_form
from textgen.poetry.judge import Poem, judge, poem_faults
from textgen.poetry.tunes import DATA_FILE, build_table, get_tune, table_json, tunes

# 晏殊《浣溪沙》 as the corpus writes it (tune header line, one text line per sentence).
YANSHU = (
    "一曲新词酒一杯。\n去年天气旧亭台。\n夕阳西下几时回。\n无可奈何花落去，似曾相识燕归来。\n小园香径独徘徊。"
)


def made_up_corpus() -> list[str]:
    # 测试调: lines of 4, 5, 5, rhymes at lines 2 and 3 (阳 and 江); 20 ci in that shape, 3 in a 又一体 and 19 of
    # a rarer tune that stays under MIN_EXAMPLES; 失调名 (unknown tune) is never a tune.
    ends = "光霜香乡长常凉阳芳郎方堂忙王黄藏墙窗江良"
    docs = [
        f"测试调\n春风花柳，山月照{ends[i - 1]}{e}。\n明月{e}{ends[i - 1]}{e}。" for i, e in enumerate(ends)
    ]
    docs += ["测试调\n春风吹绿，山月照你一。\n明月在天。"] * 3 + ["少见调\n春风吹绿，明月照天。"] * 19
    return docs + ["失调名\n春风吹绿，明月照天。"] * 30


def test_the_miner_finds_lengths_punctuation_rhymes_and_variants():
    table = build_table(made_up_corpus())
    assert list(table["tunes"]) == ["测试调"]
    t = json.loads(table_json(table))["tunes"]["测试调"]  # as the shipped file has it
    assert t["examples"] == 23 and t["matching"] == 20
    assert (
        t["lengths"] == [4, 5, 5]
        and t["puncts"] == ["，", "。", "。"]
        and t["breaks"] == [False, True, False]
    )
    assert t["rhymes"] == [None, 0, 0] and t["rhyme_tones"] == [True]
    assert t["tones"][0] == "平平平仄" and t["tones"][1][:3] == "平仄仄"  # agreed (吹 would be 中: 多音字)
    assert t["tones"][1] == "平仄仄平平"  # every 阳 rhyme is 平
    assert t["variants"] == [[[4, 5, 4], 3]]
    assert build_table(made_up_corpus()) == table  # deterministic
    assert json.loads(table_json(table))["tunes"] == json.loads(
        json.dumps(table["tunes"], ensure_ascii=False)
    )


def test_shipped_table():
    table = tunes()
    assert len(table) >= 100 and all(t.examples >= 20 for t in table.values())
    huan = get_tune("浣溪沙")
    assert huan.lengths == (7,) * 6 and huan.rhymes == (0, 0, 0, None, 0, 0) and huan.rhyme_tones == (True,)
    pusa = get_tune("菩萨蛮")  # 换韵: two lines of each rhyme, 仄 平 仄 平
    assert pusa.lengths == (7, 7, 5, 5, 5, 5, 5, 5) and pusa.rhymes == (0, 0, 1, 1, 2, 2, 3, 3)
    assert pusa.rhyme_tones == (False, True, False, True)
    assert get_tune("鹧鸪天").rhymes == (0, 0, None, 0, None, 0, 0, None, 0)
    assert get_tune("忆江南").name == "望江南・忆江南"  # an alias finds the corpus header
    with pytest.raises(ConfigError, match="unknown tune"):
        get_tune("不存在的调")


def test_a_real_ci_keeps_its_tune_and_the_judge_says_where_not():
    spec = resolve_form(None, tune="浣溪沙")
    assert spec.layout_text(YANSHU.replace("。", "，").replace("\n", "").rstrip("，").split("，")) == YANSHU
    assert form_problems(YANSHU, spec, rhyme=True) == []
    assert form_problems(YANSHU.replace("徘徊", "徘徊处"), spec, rhyme=True)[-1] == "出韵 (line 6, char 8)"
    r = judge(
        [Poem("浣溪沙\n" + YANSHU), Poem(YANSHU, tune="浣溪沙"), Poem("浣溪沙\n" + YANSHU[:-2] + "去。")]
    )
    assert r["ci"] == 3 and r["tune_rate"] == 1.0 and r["tune_rhyme_rate"] == pytest.approx(2 / 3)
    assert r["faults"] == {"出韵": 1} and r["rhyme_rate"] is None  # ci are not 近体
    assert poem_faults("浣溪沙\n" + YANSHU[:-2] + "去。") == ["出韵 (line 6, char 7)"]
    with pytest.raises(ConfigError, match="not both"):
        resolve_form("wujue", tune="浣溪沙")


@pytest.mark.slow
def test_the_shipped_table_is_reproducible_from_the_corpus():
    from textgen.data.prepare import prepare

    pc = prepare("songci", progress=False)
    text = table_json(build_table(pc.documents("train")), source=f"{pc.name} train split")
    assert text == DATA_FILE.read_text(encoding="utf-8")  # rebuild: python scripts/build_tunes.py
