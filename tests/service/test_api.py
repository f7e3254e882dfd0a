"""Routes and validation through TestClient (real app, real tiny models, in-process cache)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from fastapi.testclient import TestClient

from service import schemas
from service.app import create_app
from service.cache import MemoryCache
from service.schemas import CompletionRequest, GenerateRequest
from service.settings import Settings
from textgen.sampling import SamplingParams


@pytest.fixture(scope="module")
def client(tiny):
    with TestClient(create_app({"tiny": tiny}, cache=MemoryCache())) as c:
        yield c


def test_generate_returns_utf8_json_with_usage(client):
    r = client.post("/generate", json={"prompt": "春眠", "seed": 3, "max_new_tokens": 12, "n": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "tiny" and body["seed"] == 3 and body["cached"] is False
    assert len(body["completions"]) == 2 and body["text"] == body["completions"][0]["text"]
    assert [c["tokens"] for c in body["completions"]] == [12, 12]
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 24, "total_tokens": 26}
    # Chinese is sent as UTF-8 bytes, not \u escapes.
    assert body["text"][:3].encode() in r.content and b"\\u" not in r.content
    assert r.headers["content-type"].startswith("application/json")


def test_same_seed_same_text_and_rows_use_consecutive_seeds(client):
    two = client.post("/generate", json={"prompt": "月", "seed": 40, "max_new_tokens": 10, "n": 2}).json()
    second = client.post("/generate", json={"prompt": "月", "seed": 41, "max_new_tokens": 10}).json()
    assert two["completions"][1]["text"] == second["text"]


def test_unseeded_requests_report_the_seed_that_reproduces_them(client):
    first = client.post("/generate", json={"prompt": "白日", "max_new_tokens": 15}).json()
    again = client.post(
        "/generate", json={"prompt": "白日", "max_new_tokens": 15, "seed": first["seed"]}
    ).json()
    assert again["text"] == first["text"]


BAD = [
    ({"prompt": "x" * 2001}, "prompt"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": 5000}, "max_new_tokens"),
    ({"n": 0}, "n"),
    ({"n": 9}, "n"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": 2.5}, "temperature"),
    ({"top_k": -1}, "top_k"),
    ({"top_k": 100000}, "top_k"),
    ({"top_p": 0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"repetition_penalty": 0.5}, "repetition_penalty"),
    ({"repetition_penalty": 3}, "repetition_penalty"),
    ({"no_repeat_ngram_size": 99}, "no_repeat_ngram_size"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**60}, "seed"),
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"stop": [""]}, "stop"),
    ({"stop": ["长" * 33]}, "stop"),
    ({"acrostic": "春" * 17}, "acrostic"),
    ({"form": ""}, "form"),
    ({"form": "x" * 65}, "form"),
    ({"temperature": "hot"}, "temperature"),
    ({"prompt": 5}, "prompt"),
    ({"stream": "maybe"}, "stream"),
    ({"colour": "blue"}, "colour"),
    ({"form": "sonnet"}, "form"),  # the schema's pattern of known forms
    ({"form": "0"}, "form"),
    ({"form": "5,5,17"}, "form"),
    ({"rhyme": True}, "rhyme"),  # ConfigError from SamplingParams.validate
    ({"form": "wujue", "max_new_tokens": 5}, "max_new_tokens"),  # impossible constraint
    ({"prompt": "床前Zq"}, "Zq"),  # TokenizerError names the unknown characters
    ({"form": "wujue", "title": "春夜"}, "title"),  # this model was not trained with titles
    ({"title": "长" * 31}, "title"),
    ({"guards": "maybe"}, "guards"),
]


@pytest.mark.parametrize("body,named", BAD, ids=[str(b)[:40] for b, _ in BAD])
def test_bad_input_is_422_json_naming_the_field(client, body, named):
    r = client.post("/generate", json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert set(err) == {"error", "type"} and named in err["error"]
    assert "Traceback" not in r.text


def test_malformed_json_oversized_body_and_unknown_routes(client):
    r = client.post("/generate", content=b'{"prompt": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["type"] == "validation_error"
    r = client.post("/generate", content=b'{"prompt": "' + b"a" * 70000 + b'"}')
    assert r.status_code == 413 and r.json()["type"] == "payload_too_large"
    assert client.get("/nowhere").json() == {"error": "Not Found", "type": "not_found"}
    assert client.get("/generate").status_code == 405


def test_stream_errors_are_json_before_any_event(client):
    r = client.post("/generate/stream", json={"prompt": "Zq"})
    assert r.status_code == 422 and r.json()["type"] == "unknown_characters"
    r = client.post("/generate", json={"model": "nope", "stream": True})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")


def test_unknown_model_is_404(client):
    r = client.post("/generate", json={"model": "lyrics", "prompt": "春"})
    assert r.status_code == 404 and "lyrics" in r.json()["error"]


def test_health_models_and_metrics(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and "tiny" in health["models"]
    assert health["cache"] == {"backend": "memory", "reachable": True, "errors": 0, "last_error": None}
    assert client.get("/v1/models").json()["data"][0]["id"] == "tiny"
    client.post("/generate", json={"prompt": "春", "max_new_tokens": 3})
    client.post("/generate", json={"n": 0})
    text = client.get("/metrics").text
    assert 'textgen_requests_total{route="/generate",status="200"}' in text
    assert 'textgen_requests_total{route="/generate",status="422"}' in text
    assert 'textgen_generated_tokens_total{model="tiny"}' in text
    assert "textgen_request_seconds_bucket" in text and "textgen_queue_wait_seconds_bucket" in text


def test_openai_completions_without_the_client(client):
    body = {
        "model": "tiny",
        "prompt": ["春", "月"],
        "max_tokens": 6,
        "n": 2,
        "seed": 5,
        "top_k": 3,
        "echo": False,
    }
    r = client.post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["object"] == "text_completion" and [c["index"] for c in out["choices"]] == [0, 1, 2, 3]
    assert all(c["finish_reason"] == "length" for c in out["choices"])
    assert out["usage"]["completion_tokens"] == 24
    one_stop = {"model": "tiny", "prompt": "春", "max_tokens": 30, "stop": "。", "seed": 1}
    choice = client.post("/v1/completions", json=one_stop).json()["choices"][0]
    assert "。" not in choice["text"] and choice["finish_reason"] in ("stop", "length")
    assert client.post("/v1/completions", json={"model": "nope", "prompt": "春"}).status_code == 404
    assert client.post("/v1/completions", json={"prompt": "春"}).status_code == 422


def test_several_models_need_a_name_and_use_their_own_weights(tiny, other):
    app = create_app({"tiny": tiny, "other": other}, cache=MemoryCache())
    with TestClient(app) as c:
        assert c.post("/generate", json={"prompt": "春"}).status_code == 422
        a = c.post(
            "/generate", json={"model": "tiny", "prompt": "春", "seed": 1, "max_new_tokens": 20}
        ).json()
        b = c.post(
            "/generate", json={"model": "other", "prompt": "春", "seed": 1, "max_new_tokens": 20}
        ).json()
        assert a["model"] == "tiny" and b["model"] == "other" and a["text"] != b["text"]
        assert b["cached"] is False  # the weights digest is part of the key


def test_app_loads_models_named_in_settings(tiny_path):
    settings = Settings(models=f"poems={tiny_path}", redis_url=None)
    with TestClient(create_app(settings)) as c:
        assert list(c.get("/health").json()["models"]) == ["poems"]


class FlakyGenerator:
    """The real generator whose batches raise on the first step: a model bug, not bad input."""

    def __init__(self, gen):
        self._gen, self.failures = gen, 1

    def __getattr__(self, name):
        return getattr(self._gen, name)

    def new_batch(self):
        batch, outer = self._gen.new_batch(), self

        class FlakyBatch:
            def __len__(self):
                return len(batch)

            def add(self, seq):
                batch.add(seq)

            def remove(self, seq):
                batch.remove(seq)

            def step(self):
                if outer.failures:
                    outer.failures -= 1
                    raise RuntimeError("boom")
                return batch.step()

        return FlakyBatch()


def test_a_failing_step_is_a_500_json_and_the_engine_keeps_serving(tiny):
    with TestClient(create_app({"tiny": FlakyGenerator(tiny)}, cache=MemoryCache())) as c:
        r = c.post("/generate", json={"prompt": "春", "max_new_tokens": 5})
        assert r.status_code == 500 and r.json() == {
            "error": "generation failed (RuntimeError)",
            "type": "internal_error",
        }
        assert "boom" not in r.text
        r = c.post("/generate", json={"prompt": "春", "max_new_tokens": 5})
        assert r.status_code == 200 and r.json()["completions"][0]["tokens"] == 5


def raw(client, route: str, body: dict):
    """POST `body` as ASCII JSON, so lone surrogates travel as \\ud800 escapes (as a fuzzer sends them)."""
    return client.post(route, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


SURROGATES = [
    ("/generate", {"prompt": "春", "stop": "\ud800", "seed": 3}, "stop"),
    ("/generate", {"prompt": "\ud800", "seed": 1}, "prompt"),
    ("/generate", {"prompt": "春", "acrostic": "\udfff", "seed": 1}, "acrostic"),
    ("/generate", {"prompt": "春", "form": "\ud800"}, "form"),
    ("/generate", {"model": "\ud800"}, "model"),
    ("/v1/completions", {"model": "tiny", "prompt": "\ud800", "seed": 1}, "prompt"),
    ("/v1/completions", {"model": "tiny", "prompt": ["春", "\ud800"], "seed": 1}, "prompt"),
    ("/v1/completions", {"model": "tiny", "prompt": "春", "stop": ["\ud800"], "seed": 1}, "stop"),
]


@pytest.mark.parametrize("route,body,field", SURROGATES, ids=[f"{r}:{f}" for r, _, f in SURROGATES])
def test_lone_surrogates_are_422_naming_the_field(client, route, body, field):
    r = raw(client, route, body)
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"] if route.startswith("/v1") else r.json()["error"]
    assert message.startswith(field)


def test_a_bad_field_name_is_echoed_as_valid_json(client):
    r = raw(client, "/generate", {"prompt": "春", "\ud800": 1})
    assert r.status_code == 422 and "Unicode" in r.json()["error"]


def test_non_utf8_body_is_a_422_as_documented(client):
    for route in ("/generate", "/v1/completions"):
        r = client.post(
            route, content=b'{"prompt": "\xff\xfe"}', headers={"content-type": "application/json"}
        )
        assert r.status_code == 422, r.text
    assert client.post("/generate", content=b'{"prompt": "\xff"}').json()["type"] == "validation_error"


def test_openai_routes_answer_errors_in_openais_shape(client):
    r = client.post("/v1/completions", json={"model": "tiny", "prompt": "春", "temperature": 3})
    assert r.status_code == 422
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == "temperature" and "temperature" in err["message"]
    assert (err["type"], err["code"]) == ("invalid_request_error", "validation_error")
    err = client.post("/v1/completions", json={"model": "nope", "prompt": "春"}).json()["error"]
    assert (err["param"], err["code"]) == ("model", "model_not_found") and "nope" in err["message"]
    err = client.post("/v1/completions", json={"model": "tiny", "prompt": "Zq"}).json()["error"]
    assert (err["param"], err["code"]) == ("prompt", "unknown_characters")
    assert client.get("/v1/nowhere").json()["error"]["code"] == "not_found"
    # The native routes keep {"error", "type"}.
    assert set(client.post("/generate", json={"temperature": 3}).json()) == {"error", "type"}


def test_schema_and_behaviour_agree(client, tiny, other):
    schema = client.get("/openapi.json").json()
    comps = schema["components"]["schemas"]
    gen, cmpl = comps["GenerateRequest"], comps["CompletionRequest"]
    form = gen["properties"]["form"]["anyOf"][0]
    assert re.fullmatch(form["pattern"], "5,5,7,7") and not re.fullmatch(form["pattern"], "0")
    assert client.post("/generate", json={"form": "0"}).status_code == 422
    assert cmpl["properties"]["prompt"]["anyOf"][1]["minItems"] == 1
    assert client.post("/v1/completions", json={"model": "tiny", "prompt": []}).status_code == 422
    assert cmpl["properties"]["model"]["enum"] == ["tiny"] and "model" not in gen.get("required", [])
    # Errors are documented with the shape each family of routes answers with.
    v1 = schema["paths"]["/v1/completions"]["post"]["responses"]["422"]["content"]["application/json"]
    assert v1["schema"]["$ref"].endswith("/OpenAIErrorResponse")
    with TestClient(create_app({"tiny": tiny, "other": other}, cache=MemoryCache())) as c:
        gen = c.get("/openapi.json").json()["components"]["schemas"]["GenerateRequest"]
        assert "model" in gen["required"] and gen["properties"]["model"]["enum"] == ["tiny", "other"]
        assert c.post("/generate", json={"model": None, "prompt": "春"}).status_code == 422


def test_every_sampling_param_is_a_request_field_with_the_services_bounds():
    from textgen.sampling.params import LIBRARY, SERVICE

    names = {f.name for f in dataclasses.fields(SamplingParams)} - set(schemas.PER_ROUTE)
    assert set(schemas.PARAM_NAMES) == names
    for props in (
        GenerateRequest.model_json_schema()["properties"],
        CompletionRequest.model_json_schema()["properties"],
    ):
        assert names <= set(props)
    # The schema states SERVICE's rules, the ones Generator.prepare checks the request against.
    props = GenerateRequest.model_json_schema()["properties"]
    words = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "max_length": "maxLength"}
    for name, rule in SERVICE.bounds().items():
        shown = json.dumps(props[name])
        if '"enum"' in shown:  # a closed set (rhyme_scheme) is stricter than any length
            continue
        for k, v in rule.items():
            word = "maxItems" if name == "stop" and k == "max_length" else words.get(k)
            if word:
                assert f'"{word}": {json.dumps(v)}' in shown, (name, k, shown)
        if "items" in rule:
            assert f'"maxLength": {rule["items"]["max_length"]}' in shown
    # The service's limits are a stricter row of the same table, never a looser one.
    lib = LIBRARY.bounds()
    for name, rule in SERVICE.bounds().items():
        for k, v in rule.items():
            if k in ("le", "max_length") and k in lib.get(name, {}):
                assert v <= lib[name][k], (name, k)
            if k in ("ge", "gt") and k in lib.get(name, {}):
                assert v >= lib[name][k], (name, k)
    from textgen.sampling.guided import MAX_TITLE

    assert LIBRARY.title == SERVICE.title == MAX_TITLE


def test_docs_work_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text) + re.findall(
        r"url: ?'([^']+)'", page.text
    )
    assert assets and not [a for a in assets if "//" in a]  # nothing from another host
    for path in assets:
        assert client.get(path).status_code == 200, path
    assert "SwaggerUIBundle" in client.get(next(a for a in assets if a.endswith(".js"))).text


def test_one_path_from_request_to_rows_validates_once_and_encodes_each_prompt_once(client, tiny, monkeypatch):
    import textgen.poetry.forms as forms

    calls = {"validate": 0, "encode": 0, "prepare": 0, "resolve_form": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(SamplingParams, "validate", counted("validate", SamplingParams.validate))
    monkeypatch.setattr(tiny.tokenizer, "encode", counted("encode", tiny.tokenizer.encode))
    monkeypatch.setattr(tiny, "prepare", counted("prepare", tiny.prepare))
    monkeypatch.setattr(forms, "resolve_form", counted("resolve_form", forms.resolve_form))
    body = {"model": "tiny", "prompt": ["春", "月"], "n": 8, "max_tokens": 4, "seed": 50}
    out = client.post("/v1/completions", json=body).json()
    assert len(out["choices"]) == 16
    # One Generator.prepare call: the request checked once (its form resolved once, not once per
    # row), each prompt encoded once (rows and usage alike).
    assert calls == {"validate": 1, "encode": 2, "prepare": 1, "resolve_form": 1}
    # Row r is seeded with seed + r, as Generator.generate seeds its rows.
    lib = tiny.generate(["春", "月"], SamplingParams(max_new_tokens=4), n=8, seed=50)
    assert [c["text"] for c in out["choices"]] == [c.text for c in lib]


def test_a_title_the_model_wrote_is_its_own_field_in_json_stream_and_cache(tmp_path):
    from textgen.sampling import Generator

    from .conftest import title_model

    poet = Generator.from_checkpoint(title_model(tmp_path / "poet.safetensors"))
    req = {"form": "wujue", "seed": 5, "n": 2}
    with TestClient(create_app({"poet": poet}, cache=MemoryCache())) as c:
        first = c.post("/generate", json=req).json()
        again = c.post("/generate", json=req).json()
        events = [json.loads(x[6:]) for x in c.post("/generate/stream", json=req).text.split("\n\n") if x]
        titled = c.post("/generate", json={**req, "title": "春夜"}).json()
    assert not first["cached"] and again["cached"]
    for out in (first, again):
        for comp in out["completions"]:
            assert comp["title"] and comp["text"].startswith(comp["title"] + "\n")
    assert [c["title"] for c in again["completions"]] == [c["title"] for c in first["completions"]]
    ends = [e for e in events if e.get("finish_reason")]
    assert [e["title"] for e in ends] == [c["title"] for c in first["completions"]]
    assert [comp["title"] for comp in titled["completions"]] == [None, None]  # asked for: not written
