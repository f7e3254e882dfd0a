import json

import pytest

from textgen.errors import ConfigError
from textgen.poetry.check import detect_form, form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.poetry.judge import judge, parse_poems
from textgen.poetry.rhyme import is_ping, rhyme_group

JINGYESI = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
DENGGUANQUELOU = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"


def test_rhyme_groups_of_known_characters():
    assert rhyme_group("霜") == rhyme_group("乡") == rhyme_group("光") == "唐"
    assert rhyme_group("流") == rhyme_group("楼") == "尤"
    assert rhyme_group("诗") == rhyme_group("子") == "支"
    assert rhyme_group("衣") == rhyme_group("鱼") == "齐"
    assert rhyme_group("，") is None and rhyme_group("a") is None
    assert is_ping("风") is True and is_ping("月") is False


def test_forms_and_layouts():
    spec = resolve_form("wujue")
    assert spec.line_lengths == (5, 5, 5, 5)
    assert spec.layout_text(split_lines(JINGYESI)) == JINGYESI
    assert resolve_form("七律").line_lengths == (7,) * 8
    assert resolve_form("5,5,7,7").line_lengths == (5, 5, 7, 7)
    assert resolve_form(None, "春夏秋").line_lengths == (5, 5, 5)
    line = resolve_form("wujue", layout="line").layout_text(split_lines(JINGYESI))
    assert line == "床前明月光，\n疑是地上霜。\n举头望明月，\n低头思故乡。"
    odd = resolve_form("5,5,5")
    assert odd.layout_text(["一二三四五"] * 3).endswith("。")


@pytest.mark.parametrize(
    "form, acrostic, rhyme, match",
    [
        ("sonnet", None, False, "unknown form"),
        ("0,5", None, False, "1 to"),
        ("wujue", "春夏", False, "must match"),
        (None, None, True, "rhyme needs"),
        ("5", None, True, "one line"),
        ("wujue", None, False, None),
    ],
)
def test_resolve_form_errors(form, acrostic, rhyme, match):
    if match is None:
        assert resolve_form(form, acrostic, rhyme) is not None
        return
    with pytest.raises(ConfigError, match=match):
        resolve_form(form, acrostic, rhyme)


def test_form_problems_and_detection():
    spec = resolve_form("wujue")
    assert form_problems(JINGYESI, spec, rhyme=True) == []
    assert form_problems(JINGYESI, spec, acrostic="床疑举低") == []
    assert form_problems(JINGYESI, spec, acrostic="春夏秋冬")
    assert form_problems(JINGYESI.replace("。\n", "，\n"), spec)
    assert form_problems(JINGYESI + "\n", spec)
    assert form_problems(JINGYESI, resolve_form("qijue"))
    assert detect_form(DENGGUANQUELOU) == "wujue"
    assert detect_form("床前明月光") is None


def test_judge_scores():
    poems = parse_poems(JINGYESI + "\n\n" + DENGGUANQUELOU + "\n\n床前明月光光，\n")
    r = judge(poems, train_lines={"床前明月光", "疑是地上霜"})
    assert r["poems"] == 3
    assert r["compliance"] == pytest.approx(2 / 3)
    assert r["rhyme_rate"] == 1.0  # both 五绝 rhyme (霜/乡, 流/楼)
    assert r["copy_rate"] == pytest.approx(2 / 9)
    assert 0 < r["distinct_2"] <= 1


def test_judge_json_lines_use_the_requested_form():
    rows = [{"text": JINGYESI[2:], "prompt": "床前", "form": "qijue", "acrostic": None, "rhyme": False}]
    poems = parse_poems("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    assert poems[0].text == JINGYESI
    assert judge(poems)["compliance"] == 0.0
    assert judge(poems, form="wujue")["compliance"] == 1.0
    with pytest.raises(ConfigError, match="line 1"):
        parse_poems('{"nope": 1}')


def test_tone_rules():
    from textgen.poetry.tones import required_tone

    # 平起: line 1 平 at 2nd, 仄 at 4th; line 2 opposite (对); line 3 like line 2 (粘).
    assert [required_tone(True, 0, p, 5) for p in (1, 3)] == [True, False]
    assert [required_tone(True, 1, p, 5) for p in (1, 3, 4)] == [False, True, True]
    assert [required_tone(True, 2, p, 5) for p in (1, 3, 4)] == [False, True, False]
    assert required_tone(None, 0, 4, 5) is None and required_tone(None, 1, 1, 5) is None
    with pytest.raises(ConfigError, match="5 or 7"):
        resolve_form("4,4", tones=True)
    assert form_problems(DENGGUANQUELOU, resolve_form("wujue"), tones=True) == []
