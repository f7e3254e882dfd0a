"""Several replicas behind a balancer sharing one Redis: two uvicorn servers on loopback, one
redis-server. A seeded answer from one replica is a hit on the other; other weights never are."""

from __future__ import annotations

import asyncio
import itertools

import httpx

from service.app import create_app
from service.cache import RedisCache
from textgen.sampling import Generator


def replica(gen, redis_url: str):
    return create_app({"tiny": gen}, cache=RedisCache(redis_url, ttl=60))


def test_two_replicas_share_one_redis(tiny_path, other, redis_server, serve):
    a_gen, b_gen = Generator.from_checkpoint(tiny_path), Generator.from_checkpoint(tiny_path)
    body = {"prompt": "春", "seed": 42, "max_new_tokens": 20, "n": 2}
    with serve(replica(a_gen, redis_server.url)) as a, serve(replica(b_gen, redis_server.url)) as b:
        first = httpx.post(a.url + "/generate", json=body).json()
        second = httpx.post(b.url + "/generate", json=body).json()
        assert (first["cached"], second["cached"]) == (False, True)
        assert second["completions"] == first["completions"] and second["seed"] == 42
        greedy = {"prompt": "月", "temperature": 0, "max_new_tokens": 12}
        httpx.post(b.url + "/generate", json=greedy | {"seed": 1})
        hit = httpx.post(a.url + "/generate", json=greedy | {"seed": 9}).json()
        assert hit["cached"] is True and hit["seed"] == 9
        # Replica B is redeployed with retrained weights under the same name: none of A's entries.
        with serve(replica(other, redis_server.url)) as b2:
            retrained = httpx.post(b2.url + "/generate", json=body).json()
            assert retrained["cached"] is False and retrained["text"] != first["text"]
            assert httpx.post(b2.url + "/generate", json=body).json()["cached"] is True
            # ...and its entries never reach A either.
            assert httpx.post(a.url + "/generate", json=body).json()["text"] == first["text"]
        digests = {httpx.get(s.url + "/health").json()["models"]["tiny"]["digest"] for s in (a, b)}
        assert len(digests) == 1


def test_a_burst_across_replicas_hits_the_cache_for_repeats(tiny, redis_server, serve):
    """64 clients, 16 seeds each asked 8 times, round-robin over two replicas: the repeats hit."""
    bodies = [{"prompt": "春", "seed": s, "max_new_tokens": 24} for s in range(16)] * 8
    with serve(replica(tiny, redis_server.url)) as a, serve(replica(tiny, redis_server.url)) as b:
        urls = itertools.cycle([a.url, b.url])
        targets = [(next(urls), body) for body in bodies]

        async def burst():
            limits = httpx.Limits(max_connections=64)
            async with httpx.AsyncClient(timeout=30, limits=limits) as client:
                sem = asyncio.Semaphore(64)

                async def one(url, body):
                    async with sem:
                        return await client.post(url + "/generate", json=body)

                # The first round fills the cache, then 64 clients repeat the seeds at once.
                first = await asyncio.gather(*(one(u, b) for u, b in targets[:16]))
                rest = await asyncio.gather(*(one(u, b) for u, b in targets[16:]))
            return first, rest

        first, rest = asyncio.run(burst())
    assert all(r.status_code == 200 for r in first + rest)
    hits = sum(r.json()["cached"] for r in rest)
    assert hits >= 0.95 * len(rest), f"{hits}/{len(rest)} repeats hit the cache"
    by_seed = {}
    for r in first + rest:
        assert by_seed.setdefault(r.json()["seed"], r.json()["text"]) == r.json()["text"]
