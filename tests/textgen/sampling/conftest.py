"""Tiny models for the sampling tests: a char vocabulary over a few typed lines, random weights."""

from __future__ import annotations

import pytest
import torch

from textgen.checkpoint import save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.sampling import Generator
from textgen.tokenizer import CharTokenizer

LINES = [
    "床前明月光，疑是地上霜。",
    "举头望明月，低头思故乡。",
    "春眠不觉晓，处处闻啼鸟。",
    "夜来风雨声，花落知多少。",
    "白日依山尽，黄河入海流。",
    "欲穷千里目，更上一层楼。",
    "春夏秋冬",
    "hello world! ab",
]
TEXT = "\n".join(LINES)


def tiny_model(cell: str = "lstm", seed: int = 0, hidden_size: int = 24) -> tuple[RNNLM, CharTokenizer]:
    tok = CharTokenizer.train([TEXT])
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=tok.vocab_size, cell=cell, n_layer=2, hidden_size=hidden_size, n_embd=16)
    model = RNNLM(cfg).eval()
    # Larger output weights make the random model's distributions peaky, like a trained one's.
    with torch.no_grad():
        model.head.weight.mul_(8)
    return model, tok


@pytest.fixture(scope="session")
def ckpt_path(tmp_path_factory):
    model, tok = tiny_model()
    path = tmp_path_factory.mktemp("ckpt") / "tiny" / "best.safetensors"
    save_checkpoint(path, model, tok, {"corpus": "test"})
    return path


@pytest.fixture(scope="session")
def gen(ckpt_path) -> Generator:
    return Generator.from_checkpoint(ckpt_path)


def header_model(folder, header: str, extra: str, seed: int, head_scale: float = 1.0):
    """A tiny random model (one 24-unit LSTM layer) whose documents open with the lines of `header`
    (a read.header template such as "{form}\n{title}"), saved as folder/best.safetensors."""
    tok = CharTokenizer.train([TEXT + extra])
    torch.manual_seed(seed)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=24, n_embd=16)).eval()
    with torch.no_grad():
        model.head.weight.mul_(head_scale)
    path = folder / "best.safetensors"
    save_checkpoint(path, model, tok, {"corpus": {"name": "tang", "manifest": {"read": {"header": header}}}})
    return path
