"""Two gloo processes on CPU follow the same loss curve as one process with the same global batch."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from textgen.model import ModelConfig
from textgen.train.config import TrainConfig
from textgen.train.runlog import read_metrics
from textgen.train.trainer import train

pytestmark = pytest.mark.slow  # two processes start torch and gloo: seconds; CI runs -m slow

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_two_process_gloo_run_matches_one_process(toy_data, tmp_path):
    model = {"vocab_size": toy_data.tokenizer.vocab_size, "n_layer": 2, "hidden_size": 24, "n_embd": 12}
    opts = {
        "batch_size": 8,
        "seq_len": 16,
        "lr": 1e-2,
        "warmup_steps": 2,
        "max_steps": 12,
        "eval_interval": 6,
        "log_interval": 1,
        "eval_tokens": 0,
        "device": "cpu",
    }
    src = tmp_path / "data"
    src.mkdir()
    np.savez(src / "splits.npz", **toy_data.splits)
    (src / "tokenizer.json").write_text(toy_data.tokenizer.to_json(), encoding="utf-8")
    (src / "config.json").write_text(json.dumps({"model": model, "train": opts}))

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(WORKER),
        str(src),
        str(tmp_path / "ddp"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "terminate called without an active exception" in proc.stderr:
        # A gloo worker thread at process exit, seen once in ~5 runs on a loaded 2-core machine after
        # every step had run: one more try, from scratch; the curves below must still match.
        shutil.rmtree(tmp_path / "ddp", ignore_errors=True)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    train(toy_data, ModelConfig(**model), TrainConfig(**opts, out=str(tmp_path / "one")), quiet=True)

    def curve(run, kind):
        return [
            (e["step"], e["loss"])
            for e in read_metrics(tmp_path / run / "metrics.jsonl")
            if e["kind"] == kind
        ]

    one, ddp = curve("one", "train"), curve("ddp", "train")
    assert [s for s, _ in ddp] == list(range(1, 13))
    np.testing.assert_allclose([v for _, v in ddp], [v for _, v in one], rtol=1e-4)
    np.testing.assert_allclose(
        [v for _, v in curve("ddp", "val")], [v for _, v in curve("one", "val")], rtol=1e-4
    )
    assert (tmp_path / "ddp" / "best.safetensors").is_file()
