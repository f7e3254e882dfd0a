"""The completion cache: what is cached, key contents, the LRU, and a real Redis that dies and returns."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import socket
import time

from fastapi.testclient import TestClient

from service import cache as cache_mod
from service.app import create_app
from service.cache import MemoryCache, RedisCache, cache_key
from textgen.sampling import SamplingParams
from textgen.sampling.params import SamplingRequest

SEEDED = {"prompt": "春", "seed": 11, "max_new_tokens": 16}


def test_second_identical_seeded_request_is_a_hit_and_unseeded_sampling_is_never_cached(tiny):
    store = MemoryCache()
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        first = c.post("/generate", json=SEEDED).json()
        second = c.post("/generate", json=SEEDED).json()
        assert (first["cached"], second["cached"]) == (False, True)
        assert second["text"] == first["text"] and second["seed"] == 11
        assert second["usage"] == first["usage"]
        entries = len(store)
        for _ in range(2):
            r = c.post("/generate", json={"prompt": "春", "max_new_tokens": 16}).json()
            assert r["cached"] is False
        assert len(store) == entries
        greedy = {"prompt": "月", "temperature": 0, "max_new_tokens": 8}
        assert c.post("/generate", json=greedy).json()["cached"] is False
        assert c.post("/generate", json=greedy | {"seed": 99}).json()["cached"] is True  # seed is moot
        # Any output-changing field is a different entry.
        assert c.post("/generate", json=SEEDED | {"top_k": 3}).json()["cached"] is False
        metrics = c.get("/metrics").text
        assert 'textgen_cache_hits_total{backend="memory"} 2.0' in metrics


def test_a_cached_completion_streams_too(tiny):
    with TestClient(create_app({"tiny": tiny}, cache=MemoryCache())) as c:
        body = SEEDED | {"seed": 77, "n": 2}
        plain = c.post("/generate", json=body).json()
        r = c.post("/generate/stream", json=body)
        events = [json.loads(ln[6:]) for ln in r.text.splitlines() if ln.startswith("data: ")]
        for i in range(2):
            text = "".join(e["text"] for e in events if e.get("index") == i)
            assert text == plain["completions"][i]["text"]
        assert events[-1]["done"] and events[-1]["cached"] is True


def test_an_unreadable_entry_is_a_miss_not_an_error(tiny):
    store = MemoryCache()
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        c.post("/generate", json=SEEDED | {"seed": 5})
        [key] = list(store._data)
        asyncio.run(store.set(key, b'{"completions": [{"text": 1}]}'))
        r = c.post("/generate", json=SEEDED | {"seed": 5})
        assert r.status_code == 200 and r.json()["cached"] is False


def test_key_covers_digest_and_every_output_field():
    base = SamplingParams(max_new_tokens=20, temperature=0.8)

    def key_of(digest="d1", prompt="春", params=base, n=1, seed=5):
        return cache_key(digest, SamplingRequest(prompt, params, n, seed))

    key = key_of()
    assert key == key_of(params=SamplingParams(max_new_tokens=20, temperature=0.8))
    changed = {key_of(digest="d2"), key_of(prompt="夏"), key_of(n=2), key_of(seed=6)}
    alternatives = {"max_new_tokens": 21, "temperature": 0.9, "top_k": 5, "top_p": 0.9, "repetition_penalty": 1.2,
                    "no_repeat_ngram_size": 2, "stop": ("。",), "form": "wujue", "acrostic": "春", "rhyme": True,
                    "tones": True}  # fmt: skip
    for f in dataclasses.fields(SamplingParams):  # fields added since: any other value of their type
        if f.name not in alternatives:
            d = f.default
            alternatives[f.name] = (
                "x" if d is None else (not d) if isinstance(d, bool) else ("x",) if d == () else d + 1
            )
    for name, value in alternatives.items():
        changed.add(key_of(params=dataclasses.replace(base, **{name: value})))
    assert key not in changed and len(changed) == 4 + len(alternatives)
    # Greedy text does not depend on the seed: every seed shares one entry.
    greedy = SamplingParams(temperature=0)
    assert key_of(params=greedy, seed=1) == key_of(params=greedy, seed=2) == key_of(params=greedy, seed=None)


def test_the_key_is_the_hash_of_the_requests_canonical_form_as_before():
    """Keys did not change when the request became one object: entries written before still hit."""
    params = SamplingParams(max_new_tokens=20, temperature=0.8, stop=("。",))
    doc = {"digest": "d1", "prompt": ["春", "月"], "params": dataclasses.asdict(params) | {"stop": ["。"]},
           "n": 2, "seed": 5}  # fmt: skip
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()
    expected = "textgen:completion:v1:" + hashlib.sha256(blob).hexdigest()
    assert cache_key("d1", SamplingRequest(["春", "月"], params, 2, 5)) == expected


def test_memory_cache_expires_and_evicts_least_recently_used(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(cache_mod.time, "monotonic", lambda: now[0])

    async def scenario():
        c = MemoryCache(ttl=10, max_entries=2)
        await c.set("a", b"1")
        await c.set("b", b"2")
        assert await c.get("a") == b"1"  # a is now the most recent
        await c.set("c", b"3")  # evicts b
        assert await c.get("b") is None and await c.get("a") == b"1"
        now[0] += 11
        assert await c.get("a") is None and len(c) == 1

    asyncio.run(scenario())


def wait_for(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_redis_killed_mid_run_never_fails_a_request_and_caching_resumes(tiny, redis_server):
    store = RedisCache(redis_server.url, ttl=60, timeout=0.2, retry=0.3)
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        assert c.post("/generate", json=SEEDED).json()["cached"] is False
        assert c.post("/generate", json=SEEDED).json()["cached"] is True
        assert redis_server.client().ttl(next(iter(redis_server.client().keys("textgen:*")))) > 0
        redis_server.stop()
        for i in range(4):
            r = c.post("/generate", json=SEEDED | {"seed": 100 + i})
            assert r.status_code == 200 and r.json()["cached"] is False
        health = c.get("/health").json()
        assert health["status"] == "degraded" and health["cache"]["reachable"] is False
        assert health["cache"]["errors"] >= 1 and health["cache"]["last_error"]
        assert 'textgen_cache_errors_total{backend="redis"}' in c.get("/metrics").text
        redis_server.start()  # same port, empty
        wait_for(lambda: c.get("/health").json()["cache"]["reachable"])
        time.sleep(0.35)  # past the back-off
        again = SEEDED | {"seed": 200}
        assert c.post("/generate", json=again).json()["cached"] is False
        assert c.post("/generate", json=again).json()["cached"] is True
        assert c.get("/health").json()["status"] == "ok"


def test_slow_redis_costs_one_short_timeout_not_a_failure(tiny, redis_server):
    store = RedisCache(redis_server.url, ttl=60, timeout=0.1, retry=5)
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        c.post("/generate", json=SEEDED)
        redis_server.client().execute_command("CLIENT", "PAUSE", "3000", "ALL")
        start = time.monotonic()
        r = c.post("/generate", json=SEEDED | {"seed": 12})
        assert r.status_code == 200 and r.json()["cached"] is False
        # The next requests skip Redis during the back-off instead of waiting again.
        for _ in range(3):
            assert c.post("/generate", json=SEEDED | {"seed": 13}).status_code == 200
        assert time.monotonic() - start < 2.5
        assert store.errors >= 1


def test_unreachable_redis_at_startup_serves_uncached(tiny):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = RedisCache(f"redis://127.0.0.1:{port}/0", ttl=60, timeout=0.1, retry=0.5)
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        for _ in range(2):
            r = c.post("/generate", json=SEEDED)
            assert r.status_code == 200 and r.json()["cached"] is False
        assert c.get("/health").json()["cache"]["reachable"] is False


class BrokenCache(MemoryCache):
    """A backend with a bug: every operation raises what redis-py raised under a burst."""

    async def get(self, key: str) -> bytes | None:
        raise AttributeError("'NoneType' object has no attribute 'writelines'")

    async def set(self, key: str, value: bytes) -> None:
        raise RuntimeError("boom")


def test_a_cache_that_raises_anything_never_fails_a_request(tiny):
    store = BrokenCache()
    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        for _ in range(2):
            r = c.post("/generate", json=SEEDED)
            assert r.status_code == 200 and r.json()["cached"] is False
        assert store.errors == 4 and "RuntimeError" in c.get("/health").json()["cache"]["last_error"]


def test_redis_raising_anything_never_fails_a_request(tiny, redis_server, monkeypatch):
    store = RedisCache(redis_server.url, ttl=60, retry=0)

    async def broken(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'writelines'")

    with TestClient(create_app({"tiny": tiny}, cache=store)) as c:
        monkeypatch.setattr(store._client, "get", broken)
        r = c.post("/generate", json=SEEDED)
        assert r.status_code == 200 and r.json()["cached"] is False
        assert store.errors == 1  # counted; the set that followed succeeded
        monkeypatch.undo()
        assert c.post("/generate", json=SEEDED).json()["cached"] is True  # the set went through


def test_a_redis_error_leaves_connections_in_use_by_other_requests_alone(redis_server, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def scenario():
        store = RedisCache(redis_server.url, ttl=60, retry=0)
        await store.set("k", b"v")
        pool = store._client.connection_pool
        held = await pool.get_connection()  # another request's connection, mid-command
        assert held.is_connected

        async def broken(*args, **kwargs):
            raise RedisConnectionError("connection reset")

        monkeypatch.setattr(store._client, "get", broken)
        assert await _miss(store) and held.is_connected
        monkeypatch.undo()
        await held.send_command("GET", "k")
        assert await held.read_response() == b"v"
        await pool.release(held)
        await store.close()

    asyncio.run(scenario())


async def _miss(store) -> bool:
    try:
        await store.get("k")
    except cache_mod.CacheError:
        return True
    return False


def test_a_burst_against_redis_shares_a_bounded_pool_and_fails_nothing(redis_server):
    async def scenario():
        # A generous timeout: this is about the pool staying bounded, not speed on a loaded machine.
        store = RedisCache(redis_server.url, ttl=60, max_connections=8, timeout=10)
        await asyncio.gather(*(store.set(f"k{i}", b"v") for i in range(64)))
        got = await asyncio.gather(*(store.get(f"k{i % 64}") for i in range(512)))
        assert got == [b"v"] * 512 and store.last_error is None
        pool = store._client.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 8
        await store.close()

    asyncio.run(scenario())
    assert int(redis_server.client().info("stats")["total_connections_received"]) <= 8 + 2


def test_one_failure_backs_off_briefly_and_repeated_timeouts_back_off_longer(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(cache_mod.time, "monotonic", lambda: now[0])
    store = RedisCache("redis://127.0.0.1:1/0", timeout=1, retry=5, retry_min=0.25)
    err = TimeoutError("slow")
    store._failed(err, now[0] - 1)  # one timeout under load: a quarter second without cache
    assert store._skip_until == 100.25
    store._failed(err, now[0] - 1.1)  # in flight before the back-off began: the same episode
    assert store._skip_until == 100.25
    for expected in (0.5, 1, 2, 4, 5, 5):  # Redis hangs: timeouts in a row back off longer
        now[0] = store._skip_until + 1
        store._failed(err, now[0] - 1)
        assert store._skip_until - now[0] == expected
    now[0] += 10
    store._failed(ConnectionRefusedError(), now[0])  # refused at once: down or restarting, retry soon
    assert store._skip_until - now[0] == 0.25
    assert store.errors == 0  # counted by the caller (Serving), once per failed request


def test_a_cache_hit_reports_the_requests_own_seed(tiny):
    with TestClient(create_app({"tiny": tiny}, cache=MemoryCache())) as c:
        greedy = {"prompt": "月", "temperature": 0, "max_new_tokens": 8, "n": 2}
        first = c.post("/generate", json=greedy | {"seed": 5}).json()
        second = c.post("/generate", json=greedy | {"seed": 7}).json()
        assert (second["cached"], second["seed"]) == (True, 7) and second["text"] == first["text"]
        unseeded = c.post("/generate", json=greedy).json()
        assert unseeded["cached"] is True and unseeded["seed"] not in (5, 7)
        again = c.post("/generate", json=greedy | {"seed": unseeded["seed"]}).json()
        assert again["text"] == first["text"]


def test_int8_text_depends_on_the_batch_so_it_is_never_cached(tiny_path):
    from textgen.sampling import Generator

    int8 = Generator.from_checkpoint(tiny_path, quantize="int8")
    store = MemoryCache()
    with TestClient(create_app({"tiny": int8}, cache=store)) as c:
        for _ in range(2):
            r = c.post("/generate", json=SEEDED)
            assert r.status_code == 200 and r.json()["cached"] is False
        assert len(store) == 0
        model = c.get("/health").json()["models"]["tiny"]
        assert model["quantize"] == "int8" and model["cached"] is False


def test_the_default_redis_timeout_survives_a_lagging_event_loop(redis_server):
    """A busy 2-core host under a burst stalls the event loop for a while; the 0.1 s timeout this
    replaced then failed against a healthy Redis and turned the cache off for seconds."""
    from service.app import make_cache
    from service.settings import Settings

    async def scenario(store):
        await store.set("k", b"v")

        async def busy_host():
            for _ in range(3):
                time.sleep(0.15)  # the loop is blocked: other requests' work, another process
                await asyncio.sleep(0)

        got = await asyncio.gather(busy_host(), *(store.get("k") for _ in range(64)), return_exceptions=True)
        await store.close()
        return got[1:]

    store = make_cache(Settings(redis_url=redis_server.url))
    assert asyncio.run(scenario(store)) == [b"v"] * 64 and store.last_error is None
    hasty = RedisCache(redis_server.url, timeout=0.1)  # the old default: the same stall fails it
    assert any(isinstance(g, cache_mod.CacheError) for g in asyncio.run(scenario(hasty)))
