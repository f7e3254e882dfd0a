"""Entry point for the DDP test: train on arrays saved by the test (run under torchrun).

python -m torch.distributed.run --standalone --nproc-per-node 2 ddp_worker.py DATA_DIR OUT_DIR
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from textgen.model import ModelConfig
from textgen.tokenizer import tokenizer_from_json
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.trainer import train

if __name__ == "__main__":
    torch.set_num_threads(1)
    src, out = Path(sys.argv[1]), sys.argv[2]
    arrays = np.load(src / "splits.npz")
    tok = tokenizer_from_json((src / "tokenizer.json").read_text(encoding="utf-8"))
    data = TrainData.from_arrays("toy", tok, {k: arrays[k] for k in arrays.files})
    cfg = json.loads((src / "config.json").read_text())
    train(data, ModelConfig(**cfg["model"]), TrainConfig(**cfg["train"], out=out), quiet=True)
