"""The service under a real uvicorn on loopback: streaming, concurrency, disconnects, overload,
deadlines and the official openai client."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import openai
import pytest

from service.app import create_app
from service.cache import MemoryCache, NullCache
from service.settings import Settings


class SlowGenerator:
    """The real generator whose batches sleep `delay` s per step: long generations for timing tests."""

    def __init__(self, gen, delay: float):
        self._gen, self._delay = gen, delay

    def __getattr__(self, name):
        return getattr(self._gen, name)

    def new_batch(self):
        batch, delay = self._gen.new_batch(), self._delay

        class SlowBatch:
            def __len__(self):
                return len(batch)

            def add(self, seq):
                batch.add(seq)

            def remove(self, seq):
                batch.remove(seq)

            def step(self):
                time.sleep(delay)
                return batch.step()

        return SlowBatch()


def sse_events(text: str) -> list:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.fixture(scope="module")
def live(tiny, serve):
    app = create_app({"tiny": tiny}, cache=NullCache(0))
    with serve(app) as server:
        yield server


@pytest.mark.parametrize("route,extra", [("/generate", {"stream": True}), ("/generate/stream", {})])
def test_sse_pieces_concatenate_to_the_json_text(live, route, extra):
    body = {"prompt": "春", "form": "wujue", "seed": 21, "temperature": 0.9, "n": 2}
    plain = httpx.post(live.url + "/generate", json=body).json()
    with httpx.stream("POST", live.url + route, json=body | extra) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    for i in range(2):
        pieces = [e["text"] for e in events if e.get("index") == i and "finish_reason" not in e]
        assert len(pieces) > 1 and "".join(pieces) == plain["completions"][i]["text"]
        [fin] = [e for e in events if e.get("index") == i and "finish_reason" in e]
        assert fin["finish_reason"] == plain["completions"][i]["finish_reason"]
    assert events[-1]["done"] is True and events[-1]["usage"] == plain["usage"]


def test_concurrent_seeded_requests_match_their_solo_runs(live):
    bodies = [
        {"prompt": p, "seed": s, "max_new_tokens": 120} for s, p in enumerate("床前明月光疑是地", start=7)
    ]
    alone = [httpx.post(live.url + "/generate", json=b).json()["text"] for b in bodies]
    engine = live.app.state.serving.engines["tiny"]
    engine.max_batch_seen = 0

    async def together():
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            rs = await asyncio.gather(*(client.post("/generate", json=b) for b in bodies))
        return [r.json()["text"] for r in rs]

    assert asyncio.run(together()) == alone
    assert engine.max_batch_seen >= 2  # they really shared forward steps


def test_official_openai_client(live):
    client = openai.OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["tiny"]
    out = client.completions.create(model="tiny", prompt="月", max_tokens=12, n=2, seed=3, temperature=0.8,
                                    extra_body={"top_k": 10})  # fmt: skip
    assert [c.index for c in out.choices] == [0, 1] and out.choices[0].finish_reason == "length"
    assert out.usage.completion_tokens == 24
    stream = client.completions.create(model="tiny", prompt="月", max_tokens=12, n=2, seed=3, temperature=0.8,
                                       extra_body={"top_k": 10}, stream=True)  # fmt: skip
    texts = ["", ""]
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.text
    assert texts == [c.text for c in out.choices]
    with pytest.raises(openai.NotFoundError) as e:
        client.completions.create(model="gpt-4", prompt="月")
    assert "'gpt-4' is not loaded" in str(e.value) and (e.value.code, e.value.param) == (
        "model_not_found",
        "model",
    )
    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.completions.create(model="tiny", prompt="月", temperature=3)
    # The client's exception text carries the reason, not only "Error code: 422".
    assert "temperature: Input should be less than or equal to 2" in str(e.value)
    assert (e.value.type, e.value.param) == ("invalid_request_error", "temperature")


def wait_for(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


@pytest.fixture
def slow_live(tiny, serve):
    app = create_app({"tiny": SlowGenerator(tiny, 0.005)}, cache=MemoryCache(),
                     settings=Settings(max_batch_size=1, max_queue=1, deadline=5))  # fmt: skip
    with serve(app) as server:
        yield server, app.state.serving.engines["tiny"]


def test_a_stream_client_that_disconnects_stops_its_row(slow_live):
    server, engine = slow_live
    with httpx.stream(
        "POST", server.url + "/generate/stream", json={"prompt": "春", "max_new_tokens": 1000}
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                break
        assert engine.running == 1
    wait_for(lambda: engine.running == 0 and len(engine.batch) == 0, timeout=2)
    metrics = httpx.get(server.url + "/metrics").text
    assert 'textgen_cancelled_rows_total{model="tiny",reason="disconnect"} 1.0' in metrics
    tokens = [ln for ln in metrics.splitlines() if ln.startswith("textgen_generated_tokens_total")]
    assert float(tokens[0].split()[-1]) < 1000


def test_a_json_client_that_gives_up_stops_its_row(slow_live):
    server, engine = slow_live
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(server.url + "/generate", json={"prompt": "春", "max_new_tokens": 1000}, timeout=0.3)
    wait_for(lambda: engine.running == 0 and len(engine.batch) == 0, timeout=2)


def test_full_queue_is_429_with_retry_after_and_deadline_is_504(slow_live):
    server, engine = slow_live
    long = {"prompt": "春", "max_new_tokens": 1000}
    results = {}

    def call(name):
        results[name] = httpx.post(server.url + "/generate", json=long, timeout=10)

    threads = [threading.Thread(target=call, args=(name,)) for name in ("running", "queued")]
    threads[0].start()
    wait_for(lambda: engine.running == 1)
    threads[1].start()
    wait_for(lambda: engine.queued == 1)
    r = httpx.post(server.url + "/generate", json=long)
    # No row has finished yet, so there is no rate to estimate from: a cautious 5 s.
    assert r.status_code == 429 and r.headers["retry-after"] == "5" and r.json()["type"] == "overloaded"
    r = httpx.post(server.url + "/generate/stream", json=long)  # refused before any event is sent
    assert r.status_code == 429 and r.headers["content-type"].startswith("application/json")
    for t in threads:
        t.join()
    # 1000 steps x 5 ms > the 5 s deadline: the first times out; the second waited, then timed out too.
    assert results["running"].status_code == 504 and results["running"].json()["type"] == "timeout"
    assert results["queued"].status_code == 504
    wait_for(lambda: engine.running == 0 and engine.queued == 0)


def test_a_request_sets_its_own_shorter_deadline(slow_live):
    server, engine = slow_live
    t = time.monotonic()
    r = httpx.post(server.url + "/generate", json={"prompt": "春", "max_new_tokens": 1000, "timeout": 0.5})
    assert r.status_code == 504 and r.json()["type"] == "timeout" and time.monotonic() - t < 3
    wait_for(lambda: engine.running == 0)
    for bad in (0, -1, 3601, "soon"):
        r = httpx.post(server.url + "/generate", json={"prompt": "春", "timeout": bad})
        assert r.status_code == 422 and "timeout" in r.text


def test_retry_after_follows_the_rate_rows_finish_at(tiny):
    from service.engine import Engine

    engine = Engine("tiny", tiny, max_queue=4)
    assert engine.retry_after(10) == 1  # idle: nothing to wait for
    now = time.monotonic()
    engine._finished.extend([now - 10 + i for i in range(10)])  # ~1 row per second lately
    assert engine.retry_after(4) in (4, 5)
    assert engine.retry_after(1000) == 60  # capped
    engine._finished.clear()
    engine._finished.extend([now - 1 + i / 100 for i in range(100)])  # ~100 rows per second
    assert engine.retry_after(4) == 1
    engine._executor.shutdown()
