"""Header lines (form + title) and degeneration guards: masks around the poem constraint."""

from __future__ import annotations

import pytest

from textgen.checkpoint import CheckpointMeta
from textgen.data.variants import VARIANTS
from textgen.errors import ConfigError
from textgen.poetry.header import header_plan, template_fields
from textgen.poetry.lines import verse_lines
from textgen.poetry.rules import WEAK_RHYMES
from textgen.sampling import Generator
from textgen.sampling.params import SamplingParams

TANG_META = {"corpus": {"name": "tang", "manifest": {"read": {"header": "{form}\n{title}"}}}}


@pytest.fixture(scope="module")
def titled(tmp_path_factory) -> Generator:
    from .conftest import header_model

    path = header_model(
        tmp_path_factory.mktemp("titled"), "{form}\n{title}", "五绝七律言古杂鴈兮不知何处", seed=3
    )
    return Generator.from_checkpoint(path)


def test_header_fields_and_plans():
    assert CheckpointMeta.from_dict(TANG_META).header_fields == ["form", "title"]
    assert template_fields("{rhythmic}") == ["rhythmic"] and template_fields("{form} {title}") == []
    assert CheckpointMeta.from_dict({"corpus": "x"}).header_fields == [] == CheckpointMeta().header_fields
    assert header_plan(["form", "title"], {"form": None, "title": None}) is None
    p = header_plan(["form", "title"], {"form": "五绝", "title": "春晓"})
    assert (p.context, p.lines) == ("五绝\n春晓\n", [])
    p = header_plan(["form", "title"], {"form": "五绝", "title": None})
    assert (p.context, p.lines) == ("五绝\n", [None])
    p = header_plan(["form", "title"], {"form": None, "title": "春晓"})
    assert (p.context, p.lines) == ("", [None, "春晓"])


def test_form_and_title_are_primed_as_context(titled):
    seq = titled.new_sequence("", SamplingParams(form="wujue", title="春夜"), seed=1)
    assert titled.tokenizer.decode(seq.prompt_ids) == "五绝\n春夜\n"
    [c] = titled.generate("", SamplingParams(form="wujue", title="春夜", temperature=0.8), seed=1)
    lines = c.text.split("\n")
    assert [len(x) for x in verse_lines(c.text)] == [5, 5, 5, 5]
    assert len(lines) == 2  # the body only: the header was context


def test_without_a_title_the_model_writes_one_first(titled):
    for seed in range(5):
        [c] = titled.generate("", SamplingParams(form="wujue", temperature=1.0), seed=seed)
        title, body = c.text.split("\n", 1)
        assert 1 <= len(title) <= 30 and all(x not in title for x in "，。")
        assert [len(x) for x in verse_lines(body)] == [5, 5, 5, 5]
        assert c.finish_reason == "eos"


def test_a_prompt_follows_the_written_title(titled):
    [c] = titled.generate("明月", SamplingParams(form="wujue", temperature=1.0), seed=2)
    title, body = c.text.split("\n", 1)
    assert body.startswith("明月") and len(verse_lines(body)[0]) == 5


def test_a_title_or_prompt_without_a_form_reads_an_implied_form_line(titled):
    # The form line is not made up by the model: the title is context, the text is the poem.
    seq = titled.new_sequence("", SamplingParams(title="春夜", max_new_tokens=40), seed=4)
    assert titled.tokenizer.decode(seq.prompt_ids) == "五律\n春夜\n"
    # A prompt opens the body: the model writes the title line, then the prompt is forced.
    [c] = titled.generate("白日依山尽，", SamplingParams(max_new_tokens=40), seed=4)
    title, body = c.text.split("\n", 1)
    assert c.title == title and body.startswith("白日依山尽，")


def test_titles_need_a_titled_model_and_known_characters(gen, titled):
    with pytest.raises(ConfigError, match="not trained with titles"):
        gen.new_sequence("", SamplingParams(form="wujue", title="春夜"), seed=1)
    with pytest.raises(Exception, match="vocabulary"):
        titled.new_sequence("", SamplingParams(form="wujue", title="鬼鬼"), seed=1)
    with pytest.raises(ConfigError, match="title"):
        SamplingParams(title="长" * 31).validate()
    body = titled.new_sequence("", SamplingParams(form="wujue", title="春"), seed=1).constraint.remaining()
    # The title line the model writes has its own budget: the poem needs body - 1 (not its <eos>).
    with pytest.raises(ConfigError, match=f"too few for form wujue: it needs {body - 1}$"):
        titled.new_sequence("", SamplingParams(form="wujue", max_new_tokens=body - 2), seed=1)
    seq = titled.new_sequence("", SamplingParams(form="wujue", max_new_tokens=body - 1), seed=1)
    assert seq.constraint.max_free == 30  # a whole title, not squeezed by the poem's budget
    [c] = titled.generate("", SamplingParams(form="wujue", max_new_tokens=body - 1), seed=1)
    assert c.finish_reason == "eos" and [len(x) for x in verse_lines(c.text.split("\n", 1)[1])] == [5] * 4


def _defects(text: str) -> list[str]:
    out = []
    lines = verse_lines(text)
    for line in lines:
        for ch in set(line):
            n = line.count(ch)
            if n >= 3 or (n == 2 and ch * 2 not in line):
                out.append(f"repeat {ch} in {line}")
    ends = [x[-1] for x in lines[1::2]]
    out += [f"weak rhyme {e}" for e in ends if e in WEAK_RHYMES]
    out += ["repeated rhyme"] if len(set(ends)) < len(ends) else []
    out += ["兮"] if "兮" in text else []
    out += ["variant"] if any(c in VARIANTS for c in text) else []
    return out


def test_guards_remove_the_defects_they_name(gen):
    # The tiny random model repeats characters constantly; with guards on none of it survives.
    on = gen.generate("", SamplingParams(form="wulv", temperature=1.5), n=40, seed=0)
    off = gen.generate("", SamplingParams(form="wulv", temperature=1.5, guards=False), n=40, seed=0)
    assert sum(bool(_defects(c.text)) for c in off) > 10
    assert [d for c in on for d in _defects(c.text)] == []
    assert all([len(x) for x in verse_lines(c.text)] == [5] * 8 for c in on)


def test_guards_allow_a_reduplicated_pair(gen):
    import torch

    from textgen.sampling.guided import Guided

    c = Guided(gen._poem_constraint(__import__("textgen.poetry.forms", fromlist=["x"]).resolve_form("wujue"),
                                    SamplingParams(form="wujue")), gen.index, guards=True)  # fmt: skip
    ids = gen.tokenizer.encode("明明")
    c.advance(ids[0])
    assert bool(c.allowed()[ids[0]])  # 明 -> 明明 is a 叠字
    c.advance(ids[1])
    assert not bool(c.allowed()[ids[0]])  # but not 明明明
    assert isinstance(c.allowed(), torch.Tensor)


def test_guards_never_write_variant_shapes_or_xi(titled):
    from textgen.poetry.forms import resolve_form
    from textgen.sampling.guided import Guided

    params = SamplingParams(form="wujue")
    ids = [titled.tokenizer.encode(c)[0] for c in "鴈兮"]
    on = Guided(titled._poem_constraint(resolve_form("wujue"), params), titled.index, guards=True)
    off = titled._poem_constraint(resolve_form("wujue"), params)
    assert not on.allowed()[ids].any() and off.allowed()[ids].all()


def test_a_written_title_is_reported_and_the_judge_reads_the_poem_after_it(titled):
    from textgen.poetry.judge import judge, parse_poems

    c = titled.generate("明", SamplingParams(form="wujue", temperature=1.0), seed=5)[0]
    assert c.title and c.text.startswith(c.title + "\n明")
    given = titled.generate("", SamplingParams(form="wujue", title="春夜", temperature=1.0), seed=5)[0]
    assert given.title is None and "\n" in given.text  # the given title was context, not text
    import json

    rows = [
        json.dumps(c.to_dict() | {"form": "wujue"}),
        json.dumps(given.to_dict() | {"form": "wujue", "title": "春夜"}),
    ]
    poems = parse_poems("\n".join(rows))
    assert poems[0].text == c.text.split("\n", 1)[1] and poems[1].text == given.text
    assert judge(poems)["compliance"] == 1.0


def test_cli_shows_a_given_title_first_and_a_written_one_once(titled, capsys):
    from textgen.cli import main

    path = str(titled.checkpoint.path)

    def out(*args):
        with pytest.raises(SystemExit) as e:
            main(["sample", path, "--form", "wujue", "--seed", "4", "--temperature", "1", *args])
            raise SystemExit(0)
        assert e.value.code == 0
        return capsys.readouterr().out

    given = titled.generate("明", SamplingParams(form="wujue", title="春夜", temperature=1.0), seed=4)[0]
    assert out("--title", "春夜", "--prompt", "明") == "春夜\n明" + given.text + "\n"
    written = titled.generate("明", SamplingParams(form="wujue", temperature=1.0), seed=4)[0]
    assert out("--prompt", "明") == written.text + "\n"  # title line, then the prompt, once


def test_guards_refuse_the_stock_phrase(titled):
    from textgen.poetry.forms import resolve_form
    from textgen.sampling.guided import Guided

    c = Guided(
        titled._poem_constraint(resolve_form("qijue"), SamplingParams(form="qijue")),
        titled.index,
        guards=True,
    )
    for ch in "不知何":
        assert c.allowed()[titled.tokenizer.encode(ch)[0]]
        c.advance(titled.tokenizer.encode(ch)[0])
    assert not c.allowed()[titled.tokenizer.encode("处")[0]]
