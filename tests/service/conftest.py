"""Fixtures for the service tests: tiny real models, a real redis-server, a real uvicorn.

Models are CharTokenizers over a few typed lines and small RNNLMs with random weights, saved with
save_checkpoint and loaded back as Generators, so the whole path (checkpoint -> Generator -> Engine
-> HTTP) is the real one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import torch
import uvicorn

from textgen.checkpoint import save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.sampling import Generator
from textgen.tokenizer import CharTokenizer

LINES = [
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
    "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。",
]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def build_checkpoint(path: Path, *, seed: int = 0, hidden_size: int = 32, never_eos: bool = True) -> Path:
    """A random-weight LSTM over the characters of LINES, saved as a real checkpoint."""
    torch.manual_seed(seed)
    tok = CharTokenizer.train(LINES)
    model = RNNLM(
        ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=hidden_size, n_embd=16)
    ).eval()
    if never_eos:  # rows then run to max_new_tokens: lengths the tests can rely on
        with torch.no_grad():
            model.head.bias[tok.eos_id] = -30.0
    save_checkpoint(path, model, tok, {"corpus": "test"})
    return path


def title_model(path: Path) -> Path:
    """A random-weight LSTM trained (so its meta says) on documents that open with form and title
    lines, like a Tang model with 命题: asked for a form and no title, it writes a title line first."""
    docs = ["五绝\n静夜思\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
            "五绝\n春晓\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"]  # fmt: skip
    torch.manual_seed(0)
    tok = CharTokenizer.train(docs)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=32, n_embd=16)).eval()
    meta = {"corpus": {"name": "poet", "manifest": {"read": {"header": "{form}\n{title}"}}}}
    save_checkpoint(path, model, tok, meta)
    return path


@pytest.fixture(autouse=True)
def _restore_torch_globals() -> Iterator[None]:
    """load_generators() sets torch's threads and oneDNN for the process (configure_cpu); a test
    that calls it must not change how later tests run."""
    threads, onednn = torch.get_num_threads(), torch._C._get_mkldnn_enabled()
    yield
    torch.set_num_threads(threads)
    torch._C._set_mkldnn_enabled(onednn)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("models") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny(tiny_path) -> Generator:
    return Generator.from_checkpoint(tiny_path)


@pytest.fixture(scope="session")
def other(tmp_path_factory) -> Generator:
    path = build_checkpoint(tmp_path_factory.mktemp("models") / "other.safetensors", seed=1)
    return Generator.from_checkpoint(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    """A throwaway redis-server on a loopback port (no persistence), restartable on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    if not Path(REDIS_SERVER).exists():
        if os.environ.get("CI"):  # CI installs redis-server: its absence there is a failure, not a skip
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


class LiveServer:
    """uvicorn serving `app` on a loopback port in a background thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def serve():
    """serve(app) -> a context manager running `app` under uvicorn on loopback."""
    return LiveServer
