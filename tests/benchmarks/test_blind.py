"""The blind reading's scripts on a tiny corpus and model built here: make_set writes a set and its
key, a fake reader's marks are scored against it."""

from __future__ import annotations

import json
import random
from dataclasses import fields
from pathlib import Path

import pytest
import torch

from textgen.checkpoint import save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.sampling import SamplingParams
from textgen.tokenizer import CharTokenizer

from .conftest import load

BLIND = Path(__file__).resolve().parents[2] / "benchmarks" / "blind"
CHARS = "山水花月风云江湖天地春秋日夜人归来去长望"
HEADER = "{form}\n{title}"


make_set, score = load("blind/make_set"), load("blind/score")


def poem(rng: random.Random, width: int) -> str:
    line = lambda: "".join(rng.choice(CHARS) for _ in range(width))  # noqa: E731
    return f"{line()}，{line()}。\n{line()}，{line()}。"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A prepared corpus (test split: 8 五绝 + 8 七绝 with titles, 2 others) and a random model that
    records it, as a trained checkpoint records its corpus."""
    root = tmp_path_factory.mktemp("blind")
    rng = random.Random(0)
    docs = [
        f"{'五绝' if i < 8 else '七绝'}\n{CHARS[i]}{CHARS[-1 - i]}\n{poem(rng, 5 if i < 8 else 7)}"
        for i in range(16)
    ]
    docs += ["五律\n长望\n" + poem(rng, 5) + "\n" + poem(rng, 5), "杂言\n去\n春来。"]
    text = "\n\n".join(docs) + "\n"
    tok = CharTokenizer.train([text])
    prepared = root / "tiny-char"
    prepared.mkdir()
    (prepared / "test.txt").write_text(text, encoding="utf-8")
    (prepared / "tokenizer.json").write_text(tok.to_json(), encoding="utf-8")
    summary = {"name": "tiny", "header_lines": 2, "manifest": {"read": {"header": HEADER}}}
    (prepared / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=16, n_embd=8)).eval()
    path = root / "model" / "best.safetensors"
    meta = {"corpus": {"name": "tiny", "prepared": str(prepared), "manifest": {"read": {"header": HEADER}}}}
    save_checkpoint(path, model, tok, meta)
    return path


def settings() -> list[str]:
    """Every setting stated (the line-level search off where the sampler has it)."""
    search = ["--no-search"] if "search" in {f.name for f in fields(SamplingParams)} else []
    return [*search, "--temperature", "1.0", "--top-p", "1.0", "--no-rhyme"]


def test_untitled_round_then_score(tiny, tmp_path, capsys):
    out = tmp_path / "r1"
    make_set.main([str(tiny), "--seed", "3", "--count", "4", "--out", str(out), *settings()])
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    poems = key["poems"]
    assert [p["no"] for p in poems] == list(range(1, 9))
    assert sorted(p["source"] for p in poems) == ["generated"] * 4 + ["real"] * 4
    assert all(p["form"] in ("wujue", "qijue") and p["body"].count("\n") == 1 for p in poems)
    assert {"temperature": 1.0, "top_p": 1.0, "rhyme": False}.items() <= key["round"]["params"].items()
    md = (out / "poems.md").read_text(encoding="utf-8")
    # The reader's file: the numbered bodies only, no titles, nothing from the key's other fields.
    for p in poems:
        assert f"## {p['no']}\n\n" + p["body"].replace("\n", "  \n") + "  " in md
    assert "《" not in md and "real" not in md and "generated" not in md
    blank = (out / "marks.csv").read_text(encoding="utf-8").splitlines()
    assert blank[0] == "no,real,fluency,coherence,poeticness,overall,note" and blank[1:] == [
        f"{i},,,,,," for i in range(1, 9)
    ]

    # A reader who takes every real poem for real and every generated one for generated except one;
    # marks 4 for real poems and 2 for generated ones; poem 8 left unmarked.
    rows = ["no,real,fluency,coherence,poeticness,overall,note"]
    first_gen = next(p["no"] for p in poems if p["source"] == "generated")
    for p in poems[:7]:
        real = p["source"] == "real" or p["no"] == first_gen
        m = 4 if p["source"] == "real" else 2
        rows.append(f'{p["no"]},{"real" if real else "generated"},{m},{m},{m},{m},"a note, with a comma"')
    (tmp_path / "marks.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    score.main([str(out / "key.json"), str(tmp_path / "marks.csv"), "--json"])
    r = json.loads(capsys.readouterr().out)
    real_n = sum(p["source"] == "real" for p in poems[:7])
    gen_n = 7 - real_n
    assert r["real"]["marked"] == real_n and r["generated"]["marked"] == gen_n
    assert r["real"]["taken_for_real"] == real_n and r["generated"]["taken_for_real"] == 1
    assert (
        r["real"]["overall"] == 4 and r["generated"]["overall"] == 2 and r["generated"]["relevance"] is None
    )
    assert r["reader_accuracy"] == pytest.approx(6 / 7)
    score.main([str(out / "key.json"), str(tmp_path / "marks.csv"), "--reader", "test"])
    md_table = capsys.readouterr().out
    assert f"| taken for real | {real_n}/{real_n} | 1/{gen_n} |" in md_table
    assert "| overall (1–5) | 4.00 | 2.00 |" in md_table and "relevance" not in md_table
    assert "| poems marked |" in md_table

    # The next round takes none of this round's real poems.
    out2 = tmp_path / "r2"
    make_set.main([str(tiny), "--seed", "4", "--count", "4", "--out", str(out2), "--exclude",
                   str(out / "key.json"), *settings()])  # fmt: skip
    again = json.loads((out2 / "key.json").read_text(encoding="utf-8"))["poems"]
    shown = {p["body"] for p in poems if p["source"] == "real"}
    assert not shown & {p["body"] for p in again if p["source"] == "real"}


def test_titled_round_gives_real_titles(tiny, tmp_path, capsys):
    out = tmp_path / "t"
    make_set.main([str(tiny), "--seed", "5", "--count", "3", "--titled", "--out", str(out), *settings()])
    poems = json.loads((out / "key.json").read_text(encoding="utf-8"))["poems"]
    real_titles = {p["title"] for p in poems if p["source"] == "real"}
    gen_titles = [p["title"] for p in poems if p["source"] == "generated"]
    assert len(gen_titles) == 3 and all(t and t not in real_titles for t in gen_titles)
    md = (out / "poems.md").read_text(encoding="utf-8")
    assert all(f"## {p['no']}\n\n《{p['title']}》\n\n" in md for p in poems)
    marks = "| no | real | fluency | coherence | relevance | poeticness | overall | note |\n|---|---|---|---|---|---|---|---|\n"
    marks += "".join(
        f"| {p['no']} | 真 | 3 | 3 | {5 if p['source'] == 'real' else 1} | 3 | 3 | |\n" for p in poems
    )
    (tmp_path / "marks.md").write_text(marks, encoding="utf-8")
    score.main([str(out / "key.json"), str(tmp_path / "marks.md")])
    table = capsys.readouterr().out
    assert "titled round" in table and "| relevance to the title (1–5) | 5.00 | 1.00 |" in table
    assert "| taken for real | 3/3 | 3/3 |" in table


def test_bad_marks_are_named():
    with pytest.raises(score.MarksError, match="row 2: fluency must be 1 to 5, got '7'"):
        score.read_marks("no,real,fluency\n1,real,7\n")
    with pytest.raises(score.MarksError, match="row 3: real must be"):
        score.read_marks("no,real\n1,y\n2,maybe\n")
    with pytest.raises(score.MarksError, match="not in the key"):
        score.score({"poems": [{"no": 1, "source": "real"}]}, score.read_marks("编号,真伪\n1,真\n2,假\n"))
