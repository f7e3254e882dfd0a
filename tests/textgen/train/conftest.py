"""Tiny corpora for the training tests, built from a few lines typed here."""

from __future__ import annotations

import numpy as np
import pytest

from textgen.tokenizer import CharTokenizer
from textgen.train.data import TrainData

POEMS = [
    "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
    "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
    "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。",
    "红豆生南国，春来发几枝。\n愿君多采撷，此物最相思。",
]


def make_data(name: str = "toy", repeat: int = 30, poems: list[str] | None = None) -> TrainData:
    poems = poems or POEMS
    tok = CharTokenizer.train(poems)

    def ids(docs):
        out = []
        for d in docs:
            out += tok.encode(d) + [tok.eos_id]
        return np.array(out, dtype=np.int32)

    rng = np.random.default_rng(0)
    train_docs = [poems[i] for i in rng.integers(0, len(poems), repeat * len(poems))]
    return TrainData.from_arrays(
        name, tok, {"train": ids(train_docs), "val": ids(poems), "test": ids(poems[::-1])}
    )


@pytest.fixture
def toy_data() -> TrainData:
    return make_data()


@pytest.fixture(autouse=True)
def _one_thread(one_thread):  # tests/conftest.py
    yield
