"""The service contract: one wire form of a completion, single flight, a bounded body read, the right
diagnosis of bad bodies, and the OpenAI chat and model routes."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.cache import MemoryCache, NullCache
from service.schemas import PARAM_NAMES
from service.settings import Settings
from textgen.sampling import SamplingParams

from .test_live import SlowGenerator, sse_events


@pytest.fixture(scope="module")
def client(tiny):
    with TestClient(create_app({"tiny": tiny}, cache=MemoryCache())) as c:
        yield c


def raw(client, route: str, body: bytes):
    return client.post(route, content=body, headers={"content-type": "application/json"})


# --- one wire form of a completion ---


def test_json_stream_cache_and_v1_carry_the_libraries_wire_form(tiny):
    store = MemoryCache()
    req = {"prompt": "春", "seed": 21, "max_new_tokens": 6, "n": 2}
    lib = tiny.generate("春", SamplingParams(max_new_tokens=6), n=2, seed=21)
    wire = [c.to_dict(echo=False) for c in lib]
    assert set(wire[0]) >= {"text", "finish_reason", "tokens", "title"} and "seed" not in wire[0]
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        assert c.post("/generate", json=req).json()["completions"] == wire
        [entry] = [json.loads(v) for _, v in store._data.values()]
        assert entry == {"completions": wire}
        ends = [e for e in sse_events(c.post("/generate/stream", json=req).text) if "finish_reason" in e]
        assert ends == [{"index": i, **w, "text": ""} for i, w in enumerate(wire)]
        v1 = {"model": "tiny", "prompt": "春", "seed": 21, "max_tokens": 6, "n": 2}
        choices = c.post("/v1/completions", json=v1).json()["choices"]
        chat = {
            "model": "tiny",
            "messages": [{"role": "user", "content": "春"}],
            "seed": 21,
            "max_tokens": 6,
            "n": 2,
        }
        chat_choices = c.post("/v1/chat/completions", json=chat).json()["choices"]
    for i, (w, ch, cc) in enumerate(zip(wire, choices, chat_choices, strict=True)):
        assert ch == {**w, "index": i, "logprobs": None, "finish_reason": "length"}
        assert cc["message"] == {"role": "assistant", "content": w["text"]} and cc["tokens"] == w["tokens"]


# --- single flight ---


def _burst(url: str, bodies: list[dict]) -> list[dict]:
    async def main():
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            rs = await asyncio.gather(*(http.post("/generate", json=b) for b in bodies))
        return [r.json() for r in rs]

    return asyncio.run(main())


def _count_jobs(app) -> list:
    jobs: list = []
    engine = app.state.serving.engines["tiny"]
    submit = engine.submit

    def counted(seqs, deadline, stream=True):
        jobs.append(len(seqs))
        return submit(seqs, deadline, stream)

    engine.submit = counted
    return jobs


def test_a_burst_of_identical_seeded_requests_is_computed_once_per_seed(tiny, serve):
    """64 requests over 4 seeds, all at once: each seed's rows run once. Every other request joins
    the one in flight or, once it landed, hits the cache (stored before the flight is forgotten)."""
    app = create_app({"tiny": tiny}, cache=MemoryCache())
    bodies = [{"prompt": "春", "seed": 100 + i % 4, "max_new_tokens": 40, "n": 2} for i in range(64)]
    with serve(app) as server:
        jobs = _count_jobs(app)
        out = _burst(server.url, bodies)
        metrics = httpx.get(server.url + "/metrics").text
    assert jobs == [2, 2, 2, 2]
    for body, res in zip(bodies, out, strict=True):
        assert res["seed"] == body["seed"]
        assert res["completions"] == out[body["seed"] - 100]["completions"]
    coalesced = sum(
        float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("textgen_coalesced_requests_total")
    )
    hits = sum(float(x.split()[-1]) for x in metrics.splitlines() if x.startswith("textgen_cache_hits_total"))
    assert coalesced + hits == 60 and coalesced > 0


def test_single_flight_without_a_cache_and_a_stream_joining_a_json_flight(tiny, serve):
    app = create_app({"tiny": SlowGenerator(tiny, 0.01)}, cache=NullCache(0))
    body = {"prompt": "月", "seed": 9, "max_new_tokens": 30}
    with serve(app) as server:
        jobs = _count_jobs(app)

        async def main():
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                first = asyncio.ensure_future(http.post("/generate", json=body))
                await asyncio.sleep(0.1)  # the JSON request's rows are running, without pieces
                stream = http.post("/generate", json=body | {"stream": True})
                others = [http.post("/generate", json=body) for _ in range(6)]
                return await asyncio.gather(first, stream, *others)

        first, stream, *others = asyncio.run(main())
    assert len(jobs) == 1
    text = first.json()["text"]
    assert len(text) == 30 and all(o.json()["text"] == text for o in others)
    events = sse_events(stream.text)
    assert "".join(e["text"] for e in events if "done" not in e) == text


def test_a_client_that_leaves_does_not_stop_the_rows_others_wait_for(tiny, serve):
    app = create_app({"tiny": SlowGenerator(tiny, 0.01)}, cache=NullCache(0))
    body = {"prompt": "春", "seed": 3, "max_new_tokens": 40}
    with serve(app) as server:
        jobs = _count_jobs(app)

        async def main():
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                stay = asyncio.ensure_future(http.post("/generate", json=body))
                await asyncio.sleep(0.05)
                with pytest.raises(httpx.TimeoutException):  # gives up: its row must run on
                    await http.post("/generate", json=body, timeout=0.1)
                return await stay

        kept = asyncio.run(main())
    assert len(jobs) == 1 and kept.status_code == 200 and kept.json()["completions"][0]["tokens"] == 40


# --- a bounded body read (a real socket: TestClient sends whole bodies) ---


def test_a_client_that_sends_part_of_its_body_gets_408_and_the_connection_closed(tiny, serve):
    app = create_app({"tiny": tiny}, settings=Settings(body_timeout=0.5), cache=NullCache(0))
    with serve(app) as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        head = b"POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        s.sendall(head + b'{"prompt": ')  # and nothing more
        start = time.monotonic()
        data = b""
        while chunk := s.recv(65536):  # until the server closes the connection
            data += chunk
        elapsed = time.monotonic() - start
        # A complete request on a fresh connection is still served.
        assert httpx.post(server.url + "/generate", json={"max_new_tokens": 2}).status_code == 200
    assert data.startswith(b"HTTP/1.1 408") and b"request_timeout" in data, data[:300]
    assert 0.4 <= elapsed < 5, elapsed


# --- the right diagnosis ---

DEEP = b'{"stop": ' + b"[" * 20000 + b"]" * 20000 + b"}"
BODIES = [
    (b'{"prompt": "\xe6\x98\xa5", "seed": ' + b"9" * 4301 + b"}", "seed: an integer of 4301 digits"),
    (b'{"seed": -' + b"9" * 5000 + b"}", "seed: an integer of 5000 digits"),
    (DEEP, "nests deeper than 32 levels"),
    (b'{"temperature": NaN}', "temperature: NaN is not a JSON number"),
    (b'{"top_p": -Infinity}', "top_p: -Infinity is not a JSON number"),
    (b'{"temperature": 1e999}', "temperature: Input should be a finite number"),
    (b'{"seed": 1, "prompt": "", "seed": 2}', "seed: given twice in one object"),
    (b'{"stop": ["a", "b"], "n": 1, "stop": []}', "stop: given twice"),
    (b'{"prompt": "\xff"}', "not UTF-8"),
    (b'{"prompt": ', "not valid JSON"),
]


@pytest.mark.parametrize("body,said", BODIES, ids=[s for _, s in BODIES])
def test_bad_bodies_are_a_one_line_422_saying_what_is_wrong(client, body, said):
    r = raw(client, "/generate", body)
    assert r.status_code == 422 and r.json()["type"] == "validation_error"
    message = r.json()["error"]
    assert said in message and "\n" not in message and len(r.content) < 400, message
    v1 = raw(client, "/v1/completions", body.replace(b"{", b'{"model": "tiny", ', 1)).json()["error"]
    assert said in v1["message"] and v1["code"] == "validation_error"
    if said.split(":")[0] in ("seed", "temperature", "top_p", "stop"):
        assert v1["param"] == said.split(":")[0]


FIELDS = [
    ({"title": "长" * 20000}, "title", "at most 30 characters"),
    ({"tune": "长" * 33}, "tune", "at most 32 characters"),
    ({"rhyme_scheme": "cilin"}, "rhyme_scheme", "'pingshui' or 'xinyun'"),
    ({"min_new_tokens": 5000}, "min_new_tokens", "less than or equal to 1024"),
    ({"min_new_tokens": 30, "max_new_tokens": 20}, "min_new_tokens", "must not exceed"),
    # any other text knob has the service's default text bound (keywords, when the library has them)
    *(
        [({"keywords": "长" * 200}, "keywords", "at most 128 characters")]
        if "keywords" in PARAM_NAMES
        else []
    ),
    ({"tune": "浣溪沙"}, "tune", "not trained with tunes"),  # as a title on a model without titles
    ({"title": "春夜"}, "title", "not trained with titles"),
    ({"prompt": "春", "长" * 5000: 1}, "长" * 39 + "…", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize("body,name,rule", FIELDS, ids=[f"{n}:{r}" for _, n, r in FIELDS])
def test_fields_out_of_bounds_are_named_with_their_rule_and_never_echoed(client, body, name, rule):
    r = client.post("/generate", json=body)
    assert r.status_code == 422, r.text
    message = r.json()["error"]
    assert name in message and rule in message and "\n" not in message, message
    assert len(r.content) < 400  # a 20,000-character title is not sent back


def test_v1_names_its_own_fields_and_refuses_unknown_ones(client):
    base = {"model": "tiny", "prompt": "春"}
    err = client.post("/v1/completions", json=base | {"tempreature": 1}).json()["error"]
    assert err["param"] == "tempreature" and "Extra inputs" in err["message"]
    # OpenAI fields textgen does not use are accepted and ignored (and listed in the schema).
    ok = base | {"echo": False, "logprobs": None, "frequency_penalty": 0, "user": "u", "max_tokens": 3}
    assert client.post("/v1/completions", json=ok).status_code == 200
    err = client.post("/v1/completions", json=base | {"min_new_tokens": 30, "max_tokens": 20}).json()["error"]
    assert "max_tokens" in err["message"] and "max_new_tokens" not in err["message"]


def test_explain_refuses_letters_that_have_no_tone(client):
    r = client.post("/explain", json={"text": "床前明月光，疑是地上霜。\n举头望明月，低头思故ab。"})
    assert r.status_code == 422 and r.json()["error"].startswith("text:") and "'a'" in r.json()["error"]
    ok = client.post("/explain", json={"text": "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"}).json()
    assert all(set(line["tones"]) <= set("平仄中？") for line in ok["lines"])


# --- /v1/chat/completions and /v1/models/{id} ---


def test_chat_completions_continue_the_users_message(client):
    chat = {"model": "tiny", "messages": [{"role": "system", "content": "你是诗人"}, {"role": "user", "content": "春"}],
            "seed": 4, "max_tokens": 8}  # fmt: skip
    out = client.post("/v1/chat/completions", json=chat).json()
    text = client.post(
        "/v1/completions", json={"model": "tiny", "prompt": "春", "seed": 4, "max_tokens": 8}
    ).json()
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    assert out["choices"][0]["message"]["content"] == text["choices"][0]["text"]
    assert out["usage"] == text["usage"]
    parts = chat | {"messages": [{"role": "user", "content": [{"type": "text", "text": "春"}]}]}
    assert client.post("/v1/chat/completions", json=parts).json()["choices"] == out["choices"]
    lines = client.post("/v1/chat/completions", json=chat | {"stream": True}).text.split("\n\n")
    assert lines[-2] == "data: [DONE]"
    chunks = [json.loads(x[6:]) for x in lines[:-2]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert "".join(deltas) == out["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    last = {
        "model": "tiny",
        "messages": [{"role": "user", "content": "春"}, {"role": "assistant", "content": "眠"}],
    }
    err = client.post("/v1/chat/completions", json=last).json()["error"]
    assert err["param"] == "messages" and "last message must be the user's" in err["message"]


def test_v1_models_by_id(client):
    card = client.get("/v1/models/tiny").json()
    assert card["id"] == "tiny" and card["object"] == "model"
    r = client.get("/v1/models/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_the_official_client_chats(tiny, serve):
    openai = pytest.importorskip("openai")
    with serve(create_app({"tiny": tiny}, cache=NullCache(0))) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
        out = client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "春"}], max_tokens=6, seed=2
        )
        assert client.models.retrieve("tiny").id == "tiny"
    assert out.choices[0].message.role == "assistant" and len(out.choices[0].message.content) == 6
