"""scripts/model_card.py and scripts/card_render.py without the shipped model: the sample commands
(only what differs from the model's defaults), a poem shown as `textgen sample` prints it (the
prompt once), blind rounds that add up, and every section rendered from benchmark JSON."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner

from textgen.checkpoint import save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.sampling import Generator, SamplingParams
from textgen.tokenizer import CharTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import card_render  # noqa: E402
import model_card  # noqa: E402

CHARS = "山水花月风云江湖天地春秋日夜人归来去长望明"
TANG = {"temperature": 0.8, "top_p": 0.9, "rhyme": True, "search": True, "beams": 2, "candidates": 8}


def test_sample_commands_give_only_what_differs_from_the_models_defaults():
    gen = SimpleNamespace(defaults=TANG)
    want = dict(form="qijue", rhyme=True, title="送友人归山", keywords="友人、青山", temperature=0.8)
    given = model_card.explicit(gen, want)
    assert given == {"form": "qijue", "title": "送友人归山", "keywords": "友人、青山"}
    args = model_card.sample_args("", given, 4)
    assert (
        model_card.shell(["tang", *args])
        == "tang --form qijue --title 送友人归山 --keywords 友人、青山 --seed 4"
    )
    # Free text: a rhyme needs known lines, and 200 tokens is the CLI's own cap.
    assert model_card.explicit(gen, dict(max_new_tokens=200, temperature=0.8)) == {}
    # A model without generation.json: the release settings are spelled out.
    plain = model_card.explicit(SimpleNamespace(defaults={}), dict(form="wujue", rhyme=True, temperature=0.8))
    assert plain == {"form": "wujue", "rhyme": True, "temperature": 0.8}
    args = model_card.sample_args("浣溪沙\n", {"search": False, "temperature": 0.8}, 1)
    assert model_card.shell(args) == "--prompt '浣溪沙\\n' --no-search --temperature 0.8 --seed 1"


@pytest.fixture(scope="module")
def titled(tmp_path_factory) -> Path:
    """A random model whose documents open with form and title lines, as tang's do."""
    root = tmp_path_factory.mktemp("card")
    rng = random.Random(0)
    line = lambda: "".join(rng.choice(CHARS) for _ in range(5))  # noqa: E731
    text = "\n\n".join(
        f"五绝\n{CHARS[i]}{CHARS[-1 - i]}\n{line()}，{line()}。\n{line()}，{line()}。" for i in range(8)
    )
    tok = CharTokenizer.train([text + "\n五七言律绝杂"])  # every form name the header may take
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=16, n_embd=8)).eval()
    path = root / "model" / "best.safetensors"
    header = "{form}\n{title}"
    save_checkpoint(path, model, tok, {"corpus": {"name": "tiny", "manifest": {"read": {"header": header}}}})
    return path


@pytest.mark.parametrize("form,title", [("wujue", None), ("wujue", "春夜"), (None, None)])
def test_a_poem_is_shown_as_the_cli_prints_it_with_the_prompt_once(titled, form, title):
    from textgen.cli import cli

    gen = Generator.from_checkpoint(titled)
    assert gen.header_fields == ["form", "title"]
    budget = 4096 if form else 30  # the CLI's cap when a form ends the poem
    params = SamplingParams(form=form, title=title, temperature=1.0, search=False, max_new_tokens=budget)
    c = gen.generate("明月", params, seed=5)[0]
    shown = model_card.shown(gen, "明月", params, c.text)
    flags = (["--title", title] if title else []) + (["--form", form] if form else ["--max-new-tokens", "30"])
    args = ["sample", str(titled), "--prompt", "明月", "--temperature", "1", "--seed", "5", "--no-search"]
    printed = CliRunner().invoke(cli, [*args, "--no-rhyme", *flags])
    assert printed.exit_code == 0, printed.output
    assert shown == printed.output.rstrip("\n")
    if title is None:  # the row wrote its header lines, then the prompt was forced: the text holds it
        assert "\n明月" in c.text and shown == c.text
    else:
        assert shown == f"{title}\n明月{c.text}"


def blind(seed: int, reader: str, overall: float) -> dict:
    def side(real: int, **marks) -> dict:
        return {"poems": 4, "marked": 4, "judged": 4, "taken_for_real": real, **marks}

    rnd = {"checkpoint": "tang", "seed": seed, "titled": seed % 2 == 0, "params": {}, "created": f"2026-12-0{seed}T10:00:00Z",
           "generation_seeds": f"{seed}000000 + i"}  # fmt: skip
    return {"round": rnd, "reader": reader, "real": side(4, overall=3.75, fluency=4.0),
            "generated": side(1, overall=overall, fluency=2.5, relevance=3.0 if seed % 2 == 0 else None),
            "reader_accuracy": 0.875}  # fmt: skip


def test_blind_rounds_add_up_and_a_round_given_again_replaces_itself(tmp_path):
    for name, r in (("r1", blind(1, "A", 1.5)), ("r2", blind(2, "B", 2.5))):
        (tmp_path / f"{name}.json").write_text(json.dumps(r), encoding="utf-8")
    first = model_card.blind_rounds([], [f"first={tmp_path / 'r1.json'}"])
    assert [r["name"] for r in first] == ["first"]
    both = model_card.blind_rounds(first, [str(tmp_path / "r2.json")])
    assert [r["name"] for r in both] == ["first", f"{tmp_path.name}/r2"]
    r1 = blind(1, "A", 2.0)  # the same round scored again: it stays where it was
    (tmp_path / "r1.json").write_text(json.dumps(r1), encoding="utf-8")
    again = model_card.blind_rounds(both, [f"again={tmp_path / 'r1.json'}"])
    assert [r["name"] for r in again] == ["again", f"{tmp_path.name}/r2"]
    assert again[0]["generated"]["overall"] == 2.0
    md = "\n".join(card_render._blind(again[0], 1) + card_render._blind(again[1], 2))
    assert "### Blind reading 1: again (2026-12-01)" in md and "Untitled round; reader: A" in md
    assert "### Blind reading 2:" in md and "Titled round; reader: B" in md
    assert "| taken for real | 4/4 | 1/4 |" in md and "| mean overall | 3.75 | 2.00 |" in md
    assert "| mean relevance to the title | – | 3.00 |" in md
    assert md.count("relevance") == 1  # the untitled round has no relevance row


def fold(auc: float, acc: float) -> dict:
    return {"auc": auc, "auc_sd": 0.01, "accuracy": acc, "accuracy_sd": 0.02, "folds": []}


def test_detectability_latency_defaults_and_companions_render():
    detect = {"checkpoint": "tang", "seed": 1000, "repeats": 3, "classifier": "logistic regression",
              "rows": [{"name": "real vs real (control)", "n_real": 300, "n_other": 300,
                        "ngrams": fold(0.5, 0.49), "ngrams+form": fold(0.51, 0.5)},
                       {"name": "real vs generated (search=False)", "params": {"search": False}, "n_real": 400,
                        "n_other": 400, "ngrams": fold(0.93, 0.85), "ngrams+form": fold(0.95, 0.88)},
                       {"name": "real vs generated (search=True)", "params": {"search": True}, "n_real": 400,
                        "n_other": 400, "ngrams": fold(0.74, 0.7), "ngrams+form": fold(0.78, 0.71)}]}  # fmt: skip
    md = "\n".join(card_render._detectability(detect))
    assert (
        "python benchmarks/detectability.py tang -n 400 --seed 1000 --repeats 3 --compare-search --json" in md
    )
    assert "| real vs real (control) | 300 / 300 | 0.500 ± 0.010 | 0.490 ± 0.020 | 0.510 ± 0.010 |" in md
    assert "| real vs generated (search=True) | 400 / 400 | 0.740 ± 0.010 | 0.700 ± 0.020 |" in md

    rows = {"wujue search": {"median_s": 1.2, "p90_s": 1.4, "max_s": 1.5}, "wujue plain": {"median_s": 0.2},
            "qilv search": {"median_s": 3.1, "p90_s": 3.5, "max_s": 3.9}, "cli wujue": {"wall_s": 2.5}}  # fmt: skip
    md = "\n".join(card_render._latency({"checkpoint": "tang", "threads": 1, "rows": rows}))
    assert "python benchmarks/search_latency.py --checkpoint tang --cli --json" in md
    assert (
        "| 五绝 | 1.20 / 1.40 / 1.50 | 0.20 | ≤ 1.5 s |" in md
        and "| 七律 | 3.10 / 3.50 / 3.90 | – | ≤ 4.0 s |" in md
    )
    assert "2.50 s (target ≤ 3 s)" in md

    judges = {"weights": {"lm": 1.0, "real": 0.3}, "weights_source": "fitted", "for_this_model": True,
              "figures": {"real": {"auc": 0.9, "accuracy": 0.8, "task": "validation poems vs model poems"}},
              "combination": {"lm + judges": {"top1": 0.3, "chance_top1": 0.11, "auc": 0.66}}, "data": {"seed": 1}}  # fmt: skip
    files = [{"file": "judges.json", "what": "the judges", "bytes": 1234, "sha256": "ab" * 32,
              "command": "textgen judges train tang"}]  # fmt: skip
    card = {"name": "tang", "generation": TANG, "defaults_note": "Chosen by measurement.", "companions": files,
            "judges": judges}  # fmt: skip
    md = "\n".join(card_render._defaults(card) + card_render._companions(card))
    assert '"top_p": 0.9' in md and "Chosen by measurement." in md
    assert (
        "| `judges.json` | the judges | 1,234 | `abababababab…` |" in md and "textgen judges train tang" in md
    )
    assert "| real | validation poems vs model poems | 0.900 | 0.800 |" in md
    assert "| lm + judges | 0.300 | 0.110 | 0.660 |" in md and "lm 1, real 0.3." in md
    assert "another model" not in md


def test_quality_shows_the_new_rows_and_search_columns():
    col = {"n": 8, "compliance": 1.0, "rhyme_rate": 0.95, "rhyme_pairs": 1.0, "cross_line_repeats": 0.5,
           "repeated_chars": 0.75, "title_mean": 5.5, "title_p95": 9, "title_long": 0.0, "repeat": 0.0}  # fmt: skip
    q = {
        "n": 8,
        "temperature": 0.8,
        "forms": {"wujue": {"real": col | {"bpc": 5.6}, "search off": col, "search on": col}},
    }
    md = "\n".join(card_render._quality(q, "tang"))
    assert "| | real | search off | search on |" in md
    for row in ("| rhyme_pairs (line 4 rhymes with line 2) | 1.000 |", "| cross_line_repeats (per poem) | 0.500 |",
                "| repeated_chars (per poem) | 0.750 |", "| title length, mean | 5.500 |",
                "| title length, 95th percentile | 9 | 9 | 9 |", "| titles over 12 characters (share) | 0.000 |"):  # fmt: skip
        assert row in md
    assert "| bits/char of real poems (own header) | 5.600 | – | – |" in md
