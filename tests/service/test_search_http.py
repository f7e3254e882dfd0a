"""Line-level search and the model's generation defaults over HTTP: a request that leaves a knob
out gets the model's default (generation.json), search rows give the library's text for the same
request and seed, in /generate, its stream and /v1."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.cache import MemoryCache
from textgen.sampling import Generator, SamplingParams

DEFAULTS = {"temperature": 0.9, "top_p": 0.95, "rhyme": True, "search": True, "beams": 2, "candidates": 4}


@pytest.fixture(scope="module")
def searching(tmp_path_factory) -> Generator:
    from .conftest import build_checkpoint

    d = tmp_path_factory.mktemp("searching") / "poet"
    d.mkdir()
    build_checkpoint(d / "best.safetensors", never_eos=False)
    (d / "generation.json").write_text(json.dumps(DEFAULTS))
    return Generator.from_checkpoint(d / "best.safetensors")


@pytest.fixture(scope="module")
def client(searching):
    with TestClient(create_app({"poet": searching}, cache=MemoryCache())) as c:
        yield c


def test_defaults_and_search_match_the_library(client, searching):
    body = {"prompt": "", "form": "wujue", "seed": 3}
    a = client.post("/generate", json=body)
    assert a.status_code == 200, a.text
    lib = searching.generate("", SamplingParams(form="wujue", **DEFAULTS), seed=3)[0]
    assert a.json()["text"] == lib.text
    plain = client.post("/generate", json={**body, "search": False}).json()
    lib_plain = searching.generate(
        "", SamplingParams(**{**DEFAULTS, "form": "wujue", "search": False}), seed=3
    )[0]
    assert plain["text"] == lib_plain.text
    # a knob the client sets wins over the model's default
    cold = client.post("/generate", json={**body, "temperature": 0.5}).json()
    lib_cold = searching.generate(
        "", SamplingParams(**{**DEFAULTS, "form": "wujue", "temperature": 0.5}), seed=3
    )[0]
    assert cold["text"] == lib_cold.text


def test_search_streams_and_v1(client, searching):
    lib = searching.generate("", SamplingParams(form="wujue", **DEFAULTS), seed=5)[0]
    with client.stream("POST", "/generate/stream", json={"prompt": "", "form": "wujue", "seed": 5}) as r:
        raw = "".join(r.iter_text())
    pieces = [json.loads(x[6:]) for x in raw.splitlines() if x.startswith("data: ")]
    text = "".join(p.get("text", "") for p in pieces if "finish_reason" not in p)
    assert text == lib.text
    v1 = client.post(
        "/v1/completions", json={"model": "poet", "prompt": "", "form": "wujue", "seed": 5, "max_tokens": 64}
    ).json()
    assert v1["choices"][0]["text"] == lib.text


def test_search_bounds_are_422(client):
    r = client.post("/generate", json={"prompt": "", "form": "wujue", "candidates": 1000})
    assert r.status_code == 422 and "candidates" in r.json()["error"]
