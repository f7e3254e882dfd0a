"""Routes and validation through TestClient (real app, real tiny models, in-process cache)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.cache import MemoryCache
from service.settings import Settings


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
    ({"form": "sonnet"}, "sonnet"),  # ConfigError from SamplingParams.validate
    ({"form": "wujue", "max_new_tokens": 5}, "max_new_tokens"),  # impossible constraint
    ({"prompt": "床前Zq"}, "Zq"),  # TokenizerError names the unknown characters
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
