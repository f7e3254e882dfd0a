"""One home for the poem rules: one verse-line splitter, one guard/defect table, no upward imports."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import textgen
from textgen.data.clean import classical_form, poem_form
from textgen.poetry.check import detect_form, split_lines
from textgen.poetry.defects import defects
from textgen.poetry.lines import punctuated_lines, verse_lines
from textgen.poetry.rules import RULES, Next, Poem
from textgen.poetry.tunes import split_ci

POETRY = Path(textgen.__file__).parent / "poetry"


def test_no_poetry_module_imports_sampling():
    # The rules sit below the sampler: textgen.sampling reads textgen.poetry, never the other way.
    for path in sorted(POETRY.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("textgen.sampling", "textgen.train", "service")), (
                    path.name,
                    name,
                )


def test_one_splitter_for_data_judge_defects_and_tunes():
    text = "白日依山尽：黄河入海流。\n欲穷千里目，更上一层楼。"
    assert classical_form(text) == "五绝" and detect_form(text) == "wujue"
    assert (
        split_lines(text)
        == verse_lines(text)
        == Poem.of(text).lines
        == ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"]
    )
    assert poem_form(text.split("\n")) == "4x5"
    assert verse_lines("春风……秋月, 冬雪!") == ["春风", "秋月", "冬雪"]
    assert verse_lines("春风吹，柳绿。", min_len=3) == ["春风吹"]
    assert punctuated_lines("春风吹，柳绿。\n夏雨・") == [
        ("春风吹", "，", False),
        ("柳绿", "。", True),
        ("夏雨", "・", False),
    ]
    assert split_ci("浣溪沙\n春风吹，柳绿。")[1] == [("春风吹", "，", False), ("柳绿", "。", False)]


def _walk(text: str) -> set[str]:
    """The rules a guard would have invoked while the poem was written character by character
    (rhyme positions: the ends of even lines, as the counter reads them)."""
    hit, rhymed = set(), set()
    lines = verse_lines(text)
    for i, line in enumerate(lines):
        for j, ch in enumerate(line):
            at_rhyme = i % 2 == 1 and j == len(line) - 1
            slot = Next(list(line[:j]), at_rhyme, rhymed)
            hit |= {
                r.name for r in RULES if ch in r.banned(slot, list(r.chars), [list(p) for p in r.phrases])
            }
            if at_rhyme:
                rhymed.add(ch)
    return hit


def test_guards_refuse_exactly_what_the_counter_counts():
    rng = random.Random(0)
    alphabet = "春风花月之一兮鴈不知何处山"
    for _ in range(1000):
        lines = ["".join(rng.choice(alphabet) for _ in range(5)) for _ in range(4)]
        text = f"{lines[0]}，{lines[1]}。\n{lines[2]}，{lines[3]}。"
        found = {k for k, v in defects(text).items() if v}
        walked = _walk(text)
        # A second non-adjacent copy is refused as a repeat; a poem with a third copy counts as triple.
        assert walked - {"repeat"} == found - {"repeat"}, text
        assert ("repeat" in found) <= ("repeat" in walked), text
        assert ("repeat" in walked) <= bool({"repeat", "triple"} & found), text


def test_seasons():
    from textgen.poetry.seasons import seasons, seasons_mixed

    assert seasons("桃花流水鳜鱼肥") == {"春"}
    assert seasons("霜叶红于二月花，西风吹落叶") == {"秋"}
    assert seasons("春秋多佳日") == set()  # 春秋: years, not a season
    assert seasons_mixed("陇东春色总堪愁，蜀国关河别有秋。") and not seasons_mixed("白日依山尽，黄河入海流。")
