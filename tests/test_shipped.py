"""The shipped models (checkpoints/<name>/): they load on CPU without pickle, stay small, give the greedy
completion their card records, and (slow: needs the real corpora) score the test-split bits per
character their card records, within 1%."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from safetensors import safe_open

from textgen.checkpoint import load_checkpoint
from textgen.sampling import Generator, SamplingParams

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["tang", "songci", "lyrics"]
MAX_BYTES = 25 * 2**20


def card(name: str) -> dict:
    return json.loads((ROOT / "checkpoints" / name / "card.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_small_and_greedy_matches_its_card(name):
    path = ROOT / "checkpoints" / name / "model.safetensors"
    assert path.stat().st_size <= MAX_BYTES
    with safe_open(str(path), framework="pt") as f:
        assert {str(f.get_slice(k).get_dtype()) for k in f.keys()} == {"F16"}
    assert (ROOT / "checkpoints" / name / "MODEL.md").is_file()
    c = card(name)
    ckpt = load_checkpoint(path)
    assert ckpt.digest == c["sha256"]
    g = c["greedy"]
    out = Generator(ckpt).generate(
        g["prompt"], SamplingParams(temperature=0.0, max_new_tokens=g["max_new_tokens"])
    )
    assert out[0].text == g["text"]


def _mirror() -> Path | None:
    env = os.environ.get("TEXTGEN_MIRROR")
    for p in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "corpora"]:
        if (p / "wangfeng").is_dir() and (p / "qqmusic6").is_dir():
            return p
    return None


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_test_bpc_matches_its_card(name, monkeypatch, capsys):
    from textgen.cli import main

    if name == "lyrics":
        mirror = _mirror()
        if mirror is None:
            pytest.skip("no lyrics mirror: set TEXTGEN_MIRROR to a folder with wangfeng/ and qqmusic6/")
        monkeypatch.setenv("TEXTGEN_MIRROR", str(mirror))
    with pytest.raises(SystemExit) as e:
        main(["eval", str(ROOT / "checkpoints" / name), "--split", "test", "--json"])
        raise SystemExit(0)
    assert e.value.code == 0
    fresh = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    recorded = card(name)["test"]
    assert fresh["chars"] == recorded["chars"]
    assert fresh["bpc"] == pytest.approx(recorded["bpc"], rel=0.01)


def readme_showcase() -> tuple[str, str]:
    """(command, poem) of README's showcase: "The shipped Tang model (`CMD`) wrote …" and the block
    after it. When the shipped model changes, README is updated and this test follows it."""
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(
        r"The shipped Tang model \(`(textgen sample [^`]+)`\) wrote[^\n]*\n+```\n(.*?)\n```", text, re.S
    )
    assert m, "README.md has no showcase: The shipped Tang model (`textgen sample …`) wrote … ```poem```"
    return m.group(1), m.group(2)


def test_readme_showcase_is_what_its_command_prints(capsys):
    import shlex

    from textgen.cli import main

    command, poem = readme_showcase()
    with pytest.raises(SystemExit) as e:
        main(shlex.split(command)[1:])
        raise SystemExit(0)
    assert e.value.code == 0
    assert capsys.readouterr().out.strip("\n") == poem
