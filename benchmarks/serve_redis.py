"""Redis under load and under faults for `textgen serve --redis-url`: the cache must cache during a
burst, and a dead Redis must fail nothing.

Starts a redis-server and `textgen serve` (a random-weight LSTM; speed does not depend on training)
on loopback ports, then:
  1. burst: right after start, --clients clients each send --rounds seeded requests back to back,
     drawn from --clients seeds; a request is a *repeat* when an earlier answer for its seed had
     already come back before it was sent. Reports the hit rate of the repeats (Redis up).
  2. faults: --requests seeded requests (seeds drawn from --seed-pool) at --clients concurrency
     while Redis is killed (SIGKILL) and restarted on the same port every --kill-every seconds.
     Reports every status: 5xx must be 0 and every request 200 (429 would be overload, not failure).
Bounded in count and time; it only talks to 127.0.0.1 and stops by itself.

    python benchmarks/serve_redis.py                          # about a minute on 2 cores
    python benchmarks/serve_redis.py --requests 10000 --clients 64 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import Connection, build_checkpoint, free_port, start_server  # noqa: E402


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = shutil.which("redis-server") or sys.exit("redis-server is not installed")
        cmd = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        sys.exit("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


async def burst(conns: list[Connection], args: argparse.Namespace) -> dict:
    answered: set[int] = set()
    repeats = hits = errors = 0

    async def client(c: int) -> None:
        nonlocal repeats, hits, errors
        for r in range(args.rounds):
            seed = (c + 7 * r) % args.clients
            repeat = seed in answered
            status, data = await conns[c].request("POST", "/generate", body(args, seed))
            if status != 200:
                errors += 1
                continue
            answered.add(seed)
            if repeat:
                repeats += 1
                hits += json.loads(data)["cached"]

    t = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(args.clients)))
    wall = time.perf_counter() - t
    return {"requests": args.clients * args.rounds, "repeats": repeats, "repeat_hits": hits,
            "hit_rate": round(hits / max(repeats, 1), 4), "errors": errors, "wall_s": round(wall, 2)}  # fmt: skip


async def faults(conns: list[Connection], server: RedisServer, args: argparse.Namespace) -> dict:
    statuses: collections.Counter[int] = collections.Counter()
    hits, sent, kills = 0, 0, 0
    rng = random.Random(0)
    done = asyncio.Event()

    async def client(c: int) -> None:
        nonlocal hits, sent
        while sent < args.requests:
            sent += 1
            status, data = await conns[c].request(
                "POST", "/generate", body(args, rng.randrange(args.seed_pool))
            )
            statuses[status] += 1
            if status == 200:
                hits += json.loads(data)["cached"]

    async def chaos() -> None:
        nonlocal kills
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), args.kill_every)
            except TimeoutError:
                if server.proc is None:
                    await asyncio.to_thread(server.start)
                else:
                    server.kill()
                    kills += 1

    t = time.perf_counter()
    monkey = asyncio.create_task(chaos())
    await asyncio.gather(*(client(c) for c in range(args.clients)))
    wall = time.perf_counter() - t
    done.set()
    await monkey
    health = await conns[0].get_json("/health")
    return {"requests": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "failed_non_overload": sum(n for s, n in statuses.items() if s not in (200, 429)),
            "cache_hits": hits, "redis_kills": kills, "cache_errors": health["cache"]["errors"],
            "wall_s": round(wall, 2), "rps": round(sum(statuses.values()) / wall, 1)}  # fmt: skip


def body(args: argparse.Namespace, seed: int) -> dict:
    return {"prompt": "", "seed": seed, "max_new_tokens": args.max_new_tokens}


async def bench(url: str, server: RedisServer, args: argparse.Namespace) -> dict:
    host, port = url.split("//")[1].split(":")
    conns = [Connection(host, int(port)) for _ in range(args.clients)]
    try:
        result = {"burst": await burst(conns, args)}
        if args.requests:
            result["faults"] = await faults(conns, server, args)
    finally:
        for conn in conns:
            conn.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=64, help="concurrent clients")
    ap.add_argument("--rounds", type=int, default=4, help="burst: requests per client")
    ap.add_argument("--requests", type=int, default=10000, help="faults: requests in all (0: skip)")
    ap.add_argument("--seed-pool", type=int, default=512, help="faults: distinct seeds asked for")
    ap.add_argument("--kill-every", type=float, default=3.0, help="faults: seconds between kill and restart")
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--hidden-size", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=5000, help="characters in the synthetic vocabulary")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    server = RedisServer()
    server.start()
    proc = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = build_checkpoint(Path(tmp) / "bench.safetensors", 1, args.hidden_size, 128, args.vocab)
            proc, url = start_server(ckpt, redis_url=server.url, threads=1)
            result = asyncio.run(bench(url, server, args))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        server.kill()
    result["config"] = {k: v for k, v in vars(args).items() if k != "json"}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
