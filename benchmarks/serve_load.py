"""Load test for `textgen serve` on loopback: continuous batching and cache latency.

Builds a reference-size model (2 x 512 LSTM, random weights: speed does not depend on training),
starts `textgen serve` on a free loopback port in a subprocess, then measures with one asyncio
client process:
  1. sequential: requests for a 五言绝句 (form wujue) sent one at a time (all cache misses);
  2. concurrent: --clients clients each sending --rounds such requests back to back;
  3. cache: the same seeded request again and again (hits) against the misses of phase 1.
Every request has its own seed, so phases 1 and 2 never hit the cache. The run is bounded and
stops by itself; it only ever talks to 127.0.0.1.

    python benchmarks/serve_load.py                              # about 20 s
    python benchmarks/serve_load.py --clients 64 --rounds 4 --sequential 32 --json out.json
    python benchmarks/serve_load.py --url http://127.0.0.1:8000 --model tang   # a running server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx  # only to wait for the server to come up
from tqdm import tqdm


def build_checkpoint(path: Path, n_layer: int, hidden_size: int, n_embd: int, vocab: int) -> Path:
    import torch

    from textgen.checkpoint import save_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    torch.manual_seed(0)
    # CJK ideographs plus the punctuation a poem form needs: a vocabulary the size of a real one.
    tok = CharTokenizer([chr(0x4E00 + i) for i in range(vocab)] + list("，。！？\n"))
    cfg = ModelConfig(vocab_size=tok.vocab_size, n_layer=n_layer, hidden_size=hidden_size, n_embd=n_embd)
    save_checkpoint(path, RNNLM(cfg).eval(), tok, {"corpus": "benchmark (random weights)"})
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(ckpt: Path, *, redis_url: str | None = None, max_batch_size: int | None = None,
                 threads: int | None = None) -> tuple[subprocess.Popen, str]:  # fmt: skip
    """A real `textgen serve` of one model on a free loopback port, once /health answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "textgen", "serve", f"bench={ckpt}", "--port", str(port),
           "--max-queue", "4096", "--log-level", "warning"]  # fmt: skip
    if max_batch_size:
        cmd += ["--max-batch-size", str(max_batch_size)]
    if redis_url:
        cmd += ["--redis-url", redis_url]
    env = os.environ | {"OMP_NUM_THREADS": str(threads)} if threads else os.environ
    proc = subprocess.Popen(cmd, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"textgen serve exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/health").status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    sys.exit("textgen serve did not become healthy in 120 s")


def summary(latencies: list[float], wall: float) -> dict:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": len(latencies), "wall_s": round(wall, 3), "rps": round(len(latencies) / wall, 2),
            "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}  # fmt: skip


class Connection:
    """A bare keep-alive HTTP/1.1 client connection: the load generator must cost the shared CPU as
    little as possible (an httpx AsyncClient with 64 connections spends more CPU than the server)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n")  # fmt: skip
        self.writer.write(head.encode() + data)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = dict(ln.split(": ", 1) for ln in lines if ": " in ln)
        length = int({k.lower(): v for k, v in headers.items()}["content-length"])
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def get_json(self, path: str) -> dict:
        return json.loads((await self.request("GET", path))[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def timed_post(conn: Connection, body: dict, lat: list[float], bar: tqdm) -> dict:
    t = time.perf_counter()
    status, data = await conn.request("POST", "/generate", body)
    lat.append(time.perf_counter() - t)
    bar.update()
    if status != 200:
        raise SystemExit(f"request failed: {status} {data.decode()}")
    return json.loads(data)


async def batch_stats(conn: Connection) -> tuple[float, float, float]:
    """(rows stepped, steps, seconds stepping) so far, from the server's metrics."""
    text = (await conn.request("GET", "/metrics"))[1].decode()
    vals = {ln.split("{")[0]: float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith("textgen_")}
    keys = ("textgen_batch_size_sum", "textgen_batch_size_count", "textgen_step_seconds_sum")
    return tuple(vals.get(k, 0.0) for k in keys)  # type: ignore[return-value]


async def bench(url: str, args: argparse.Namespace) -> dict:
    poem = {"prompt": args.prompt, "model": args.model, "form": args.form, "temperature": 1.0}
    host, port = url.split("//")[1].split(":")
    conns = [Connection(host, int(port)) for _ in range(args.clients)]
    main = conns[0]
    with tqdm(total=4, desc="warm-up", file=sys.stderr, leave=False) as bar:
        for i in range(4):
            await timed_post(main, poem | {"seed": 1_000_000 + i}, [], bar)
    seq: list[float] = []
    with tqdm(total=args.sequential, desc="sequential", file=sys.stderr) as bar:
        t0 = time.perf_counter()
        for i in range(args.sequential):
            await timed_post(main, poem | {"seed": i}, seq, bar)
        seq_wall = time.perf_counter() - t0

    conc: list[float] = []
    s0, c0, t0_step = await batch_stats(main)

    async def one_client(c: int) -> None:
        for r in range(args.rounds):
            await timed_post(conns[c], poem | {"seed": 2_000_000 + c * args.rounds + r}, conc, bar)

    with tqdm(total=args.clients * args.rounds, desc=f"{args.clients} clients", file=sys.stderr) as bar:
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in range(args.clients)))
        conc_wall = time.perf_counter() - t0
    s1, c1, t1_step = await batch_stats(main)

    hits: list[float] = []
    with tqdm(total=args.hits, desc="cache hits", file=sys.stderr) as bar:
        t0 = time.perf_counter()
        for _ in range(args.hits):
            out = await timed_post(main, poem | {"seed": 0}, hits, bar)
            assert out["cached"], "expected a cache hit"
        hit_wall = time.perf_counter() - t0
    for conn in conns:
        conn.close()

    result = {
        "sequential": summary(seq, seq_wall),
        "concurrent": summary(conc, conc_wall)
        | {
            "clients": args.clients,
            "mean_batch": round((s1 - s0) / max(c1 - c0, 1), 1),  # rows per forward step
            "engine_busy": round((t1_step - t0_step) / conc_wall, 2),  # share of the time spent stepping
        },
        "cache_miss": summary(seq, seq_wall),
        "cache_hit": summary(hits, hit_wall),
    }
    result["batching_speedup"] = round(result["concurrent"]["rps"] / result["sequential"]["rps"], 2)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="benchmark this running server instead of starting one")
    ap.add_argument("--model", default=None, help="model name on a running server")
    ap.add_argument("--clients", type=int, default=64, help="concurrent clients")
    ap.add_argument("--rounds", type=int, default=4, help="requests per concurrent client")
    ap.add_argument("--sequential", type=int, default=32, help="requests sent one at a time")
    ap.add_argument("--hits", type=int, default=200, help="cache-hit requests")
    ap.add_argument("--form", default="wujue", help="poem form every request asks for")
    ap.add_argument("--prompt", default="", help="prompt of every request")
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--hidden-size", type=int, default=512)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=5000, help="characters in the synthetic vocabulary")
    ap.add_argument("--max-batch-size", type=int, default=64, help="server --max-batch-size")
    ap.add_argument("--server-threads", type=int, default=1,
                    help="OMP_NUM_THREADS of the server (1 avoids oversubscribing a small, shared CPU; 0: unset)")  # fmt: skip
    ap.add_argument("--redis-url", help="cache in this (loopback) Redis instead of the in-process LRU")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url = args.url
        else:
            ckpt = build_checkpoint(Path(tmp) / "bench.safetensors", args.n_layer, args.hidden_size,
                                    args.n_embd, args.vocab)  # fmt: skip
            proc, url = start_server(
                ckpt,
                redis_url=args.redis_url,
                max_batch_size=args.max_batch_size,
                threads=args.server_threads,
            )
        try:
            result = asyncio.run(bench(url, args))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    result["config"] = {k: v for k, v in vars(args).items() if k != "json"} | {"json": None}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
