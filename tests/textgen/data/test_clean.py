from __future__ import annotations

import pytest

from textgen.data.clean import Cleaner, normalise_punctuation, poem_form
from textgen.data.manifest import CleanSpec


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("床前明月光,疑是地上霜.", "床前明月光，疑是地上霜。"),
        ("何处去?不知道!", "何处去？不知道！"),
        ("曰:善;然", "曰：善；然"),
        ("Hello, world. 你好", "Hello, world. 你好"),  # English stays English
        ("等等...", "等等……"),
        ("3.14", "3.14"),
        ("春眠不觉晓﹐处处闻啼鸟｡", "春眠不觉晓，处处闻啼鸟。"),
    ],
)
def test_punctuation_to_full_width(raw, want):
    assert normalise_punctuation(raw) == want


def test_whitespace_and_lines():
    c = Cleaner(CleanSpec())
    text, reason = c([" 天青色  等烟雨\t", "", "\u3000而我\u3000在等你 ", "   "])
    assert (text, reason) == ("天青色 等烟雨\n而我 在等你", None)
    c = Cleaner(CleanSpec(spaces="remove"))
    assert c(["床前 明月光，", "疑是\u3000地上霜。"])[0] == "床前明月光，\n疑是地上霜。"


def test_drop_reasons_are_counted():
    spec = CleanSpec(
        min_chars=5,
        max_chars=20,
        dedupe=True,
        drop_patterns={"damage": "[□＿]", "editorial": "[（）〖〗【】]"},
    )
    c = Cleaner(spec)
    docs = [
        ["床前□月光"],
        ["床前＿月光"],
        ["床前明月光（一作看）"],
        ["〖注〗明月"],
        ["明月"],
        ["明" * 21],
        ["", " "],
        ["床前明月光"],
        ["床前明月光"],
    ]
    out = [c(d) for d in docs]
    assert [r for _, r in out] == [
        "damage",
        "damage",
        "editorial",
        "editorial",
        "too_short",
        "too_long",
        "empty",
        None,
        "duplicate",
    ]
    assert dict(c.dropped) == {
        "damage": 2,
        "editorial": 2,
        "too_short": 1,
        "too_long": 1,
        "empty": 1,
        "duplicate": 1,
    }
    assert c([], {"malformed": "x[0]"}) == (None, "malformed")


def test_opencc_t2s():
    c = Cleaner(CleanSpec(opencc="t2s"))
    assert c(["舉頭望明月，低頭思故鄉。"])[0] == "举头望明月，低头思故乡。"


def test_bad_opencc_config_is_a_corpus_error():
    from textgen.errors import CorpusError

    with pytest.raises(CorpusError, match="unknown OpenCC config 'nope'"):
        Cleaner(CleanSpec(opencc="nope"))


def test_strip_and_remove_patterns():
    c = Cleaner(CleanSpec(strip_line_patterns=["^词[：:]"], remove_patterns=["^女[：:]"]))
    assert c(["词：某人", "女：炊烟袅袅", "天青色"])[0] == "炊烟袅袅\n天青色"


@pytest.mark.parametrize(
    ("lines", "form"),
    [
        (["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"], "4x5"),
        (["朝辞白帝彩云间，千里江陵一日还。", "两岸猿声啼不住，轻舟已过万重山。"], "4x7"),
        (["明月几时有？把酒问青天。", "不知天上宫阙，今夕是何年。"], "irregular"),
    ],
)
def test_poem_form(lines, form):
    assert poem_form(lines) == form
