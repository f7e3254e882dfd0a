"""min_new_tokens (<eos> held back until N tokens) and the exact token budget of a form."""

import pytest
import torch

from textgen.checkpoint import save_checkpoint
from textgen.cli import main
from textgen.errors import ConfigError
from textgen.sampling import Generator, SamplingParams

from .conftest import tiny_model


@pytest.fixture(scope="module")
def eager_eos(tmp_path_factory):
    """A model that wants to end at once, like the small models that stop after a few characters."""
    model, tok = tiny_model()
    with torch.no_grad():
        model.head.bias[tok.eos_id] += 100.0
    path = tmp_path_factory.mktemp("eos") / "eager" / "best.safetensors"
    save_checkpoint(path, model, tok, {"corpus": "test"})
    return path


def test_min_new_tokens_holds_eos_back(eager_eos):
    gen = Generator.from_checkpoint(eager_eos)
    c = gen.generate("", SamplingParams(max_new_tokens=60, temperature=0), seed=1)[0]
    assert (c.tokens, c.finish_reason) == (0, "eos")
    for temperature in (0.0, 1.0):
        p = SamplingParams(max_new_tokens=60, min_new_tokens=12, temperature=temperature)
        cs = gen.generate(["", "春"], p, n=2, seed=1)
        assert all(c.tokens == 12 and c.finish_reason == "eos" for c in cs), cs


def test_min_new_tokens_is_bounded_and_yields_to_a_form(eager_eos):
    with pytest.raises(ConfigError, match="min_new_tokens"):
        SamplingParams(max_new_tokens=10, min_new_tokens=11).validate()
    with pytest.raises(ConfigError, match="min_new_tokens"):
        SamplingParams(min_new_tokens=-1).validate()
    gen = Generator.from_checkpoint(eager_eos)
    c = gen.generate("", SamplingParams(form="wujue", min_new_tokens=100, temperature=0), seed=1)[0]
    assert (c.tokens, c.finish_reason) == (25, "eos")  # the form ends; min_new_tokens cannot stretch it


def test_a_wujue_needs_exactly_the_tokens_it_uses(gen):
    # 5 + "，" + 5 + "。" + "\n" + 5 + "，" + 5 + "。" = 25 tokens; the closing <eos> is not one.
    for guards in (True, False):
        c = gen.generate("", SamplingParams(form="wujue", max_new_tokens=25, guards=guards), seed=3)[0]
        assert (c.tokens, c.finish_reason) == (25, "eos") and len(c.text) == 25
        with pytest.raises(ConfigError, match="it needs 25$"):
            gen.new_sequence("", SamplingParams(form="wujue", max_new_tokens=24, guards=guards))
    with pytest.raises(ConfigError, match="it needs 19 after the prompt"):  # 床前明月光， already written
        gen.new_sequence("床前明月光，", SamplingParams(form="wujue", max_new_tokens=18))
    assert (
        gen.generate("床前明月光，", SamplingParams(form="wujue", max_new_tokens=19), seed=1)[0].tokens == 19
    )


def test_cli_min_new_tokens(eager_eos, capsys):
    main(
        ["sample", str(eager_eos), "--min-new-tokens", "8", "--max-new-tokens", "30", "--seed", "1", "--json"]
    )
    out = capsys.readouterr().out
    assert '"tokens": 8' in out and '"finish_reason": "eos"' in out


def test_http_min_new_tokens(eager_eos):
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.cache import MemoryCache

    app = create_app({"eager": Generator.from_checkpoint(eager_eos)}, cache=MemoryCache())
    with TestClient(app) as client:
        body = {"prompt": "", "seed": 1, "max_new_tokens": 30, "min_new_tokens": 9, "temperature": 0}
        r = client.post("/generate", json=body)
        assert r.status_code == 200, r.text
        c = r.json()["completions"][0]
        assert (c["tokens"], c["finish_reason"]) == (9, "eos")
        r = client.post(
            "/v1/completions", json={"model": "eager", "prompt": "", "max_tokens": 5, "min_new_tokens": 9}
        )
        assert r.status_code in (400, 422) and "min_new_tokens" in r.text
