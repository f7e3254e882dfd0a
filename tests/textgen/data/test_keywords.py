"""Keyword plans: extraction by corpus statistics and the title planner."""

import random

from textgen.data.keywords import KeywordExtractor, KeywordPlanner, keyword_line, parse_keywords


def _corpus(n: int = 400) -> list[str]:
    """Random five-character lines over 200 characters, with the words 青山 and 故乡 placed in a
    fifth of the lines each: recurring, cohesive spans among noise."""
    rng = random.Random(0)
    pool = [chr(0x5800 + i) for i in range(200)]
    poems = []
    for _ in range(n):
        lines = []
        for _ in range(4):
            chars = rng.sample(pool, 5)
            r = rng.random()
            if r < 0.2:
                chars[1:3] = "青山"
            elif r < 0.4:
                chars[2:4] = "故乡"
            lines.append("".join(chars))
        poems.append(f"{lines[0]}，{lines[1]}。\n{lines[2]}，{lines[3]}。")
    return poems


def test_extract_one_word_per_line_from_recurring_words():
    ex = KeywordExtractor.fit(_corpus(), min_df=20)
    assert "青山" in ex.df and "故乡" in ex.df
    kws = ex.extract("塀青山塁墨，墳墀故乡墟。")
    assert kws == ["青山", "故乡"]
    assert all(w in ex.df for w in ex.extract("\n".join(_corpus(3))))
    assert "何处" not in KeywordExtractor.fit(["何处"] * 50, min_df=2).df  # a stop character rules a word out


def test_keyword_line_and_parse():
    assert keyword_line(["明月", "故乡"]) == "明月、故乡"
    assert keyword_line([]) == "无"
    assert parse_keywords("明月 故乡,青山，白云") == ["明月", "故乡", "青山", "白云"]


def test_planner_prefers_words_seen_with_the_title(tmp_path):
    pairs = [("送友人", ["友人", "别离"]), ("送友人归山", ["青山", "友人"]), ("秋夜", ["明月", "秋风"])] * 5
    pl = KeywordPlanner.fit(pairs, min_count=2, min_joint=2)
    plan = pl.plan("送友人")
    assert plan[0] == "友人" and "明月" not in plan
    f = tmp_path / "keywords.json"
    f.write_text(pl.to_json(), encoding="utf-8")
    assert KeywordPlanner.load(f).plan("送友人") == plan


def test_planner_from_a_prepared_training_split(tmp_path):
    from textgen.data.keywords import planner_from_corpus

    docs = ["五绝\n送友人\n友人、别离\n青山横北郭，白水绕东城。"] * 6 + [
        "五绝\n秋夜\n明月、秋风\n明月松间照，秋风入夜寒。"
    ] * 6
    f = tmp_path / "train.txt"
    f.write_text("\n\n".join(docs), encoding="utf-8")
    pl = planner_from_corpus(f, header_lines=3)
    assert pl.plan("送友人")[0] == "友人" and "明月" in pl.plan("秋夜")
    f.write_text("no headers here", encoding="utf-8")
    import pytest

    with pytest.raises(ValueError, match="train.txt"):
        planner_from_corpus(f, header_lines=3)
