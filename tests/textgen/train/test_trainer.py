"""The training loop: it learns, it resumes exactly, and it fails cleanly."""

import errno
import json
import math
import shutil

import pytest
import torch

import textgen.train.checkpointing as checkpointing_mod
from textgen.checkpoint import load_checkpoint
from textgen.errors import CheckpointError, TextgenError
from textgen.model import ModelConfig
from textgen.train.config import TrainConfig, resolve_config
from textgen.train.runlog import read_metrics
from textgen.train.schedule import LRSchedule
from textgen.train.state import read_state
from textgen.train.trainer import Trainer, TrainingError, train

from .conftest import POEMS, make_data


def _cfgs(data, out, **over):
    model = {"n_layer": 2, "hidden_size": 32, "n_embd": 16}
    model.update({k: over.pop(k) for k in list(over) if k in ModelConfig.__dataclass_fields__})
    mc = ModelConfig(vocab_size=data.tokenizer.vocab_size, **model)
    opts = {
        "batch_size": 4,
        "seq_len": 16,
        "lr": 1e-2,
        "warmup_steps": 2,
        "eval_interval": 8,
        "log_interval": 1,
        "eval_tokens": 0,
        "device": "cpu",
        "out": str(out),
        **over,
    }
    tc = TrainConfig(**opts)
    return mc, tc


def _train_losses(run_dir):
    return [(e["step"], e["loss"]) for e in read_metrics(run_dir / "metrics.jsonl") if e["kind"] == "train"]


def test_overfitting_one_batch_drives_the_loss_near_zero(toy_data, tmp_path):
    mc, tc = _cfgs(toy_data, tmp_path / "run", hidden_size=64)
    tr = Trainer(toy_data, mc, tc, quiet=True)
    x, y = tr.loader.batch(0, 0)
    for _ in range(200):
        tr.hidden = None
        loss, _ = tr.train_step(x, y, 2e-2)
        if loss < 0.05:
            break
    assert loss < 0.05


def test_a_run_learns_and_leaves_a_loadable_run_directory(toy_data, tmp_path):
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=40, adaptive_cutoffs=[10])
    result = train(toy_data, mc, tc, quiet=True)
    run = tmp_path / "run"
    for f in (
        "best.safetensors",
        "last.safetensors",
        "meta.json",
        "metrics.jsonl",
        "loss.png",
        "last.state.pt",
    ):
        assert (run / f).is_file(), f
    vals = [e for e in read_metrics(run / "metrics.jsonl") if e["kind"] == "val"]
    assert vals[-1]["bpc"] < vals[0]["bpc"] < math.log2(toy_data.tokenizer.vocab_size) + 1
    assert result["test"]["bpc"] > 0
    ckpt = load_checkpoint(run)
    meta = ckpt.meta
    assert meta.corpus.name == "toy" and meta.step == 40 and meta.train_config["lr"] == 1e-2
    assert meta.corpus.manifest_sha256 == toy_data.manifest_sha256 and isinstance(meta.git_commit, str)
    scores, h = ckpt.model.step(torch.tensor([toy_data.tokenizer.eos_id]), None)
    assert scores.shape == (1, toy_data.tokenizer.vocab_size)
    assert json.loads((run / "meta.json").read_text())["test"]["kind"] == "test"


def test_interrupted_and_resumed_run_gives_the_same_losses(toy_data, tmp_path):
    # Dropout makes the RNG state part of what must be restored; 12 is between evaluations.
    opts = dict(max_steps=24, dropout=0.2, emb_dropout=0.1)
    mc, tc = _cfgs(toy_data, tmp_path / "full", **opts)
    train(toy_data, mc, tc, quiet=True)
    mc, tc = _cfgs(toy_data, tmp_path / "cut", **opts)
    first = train(toy_data, mc, tc, quiet=True, on_step=lambda step, loss: step == 12)
    assert first["stop_reason"] == "interrupted" and read_state(tmp_path / "cut")["step"] == 12
    train(toy_data, mc, tc, quiet=True, resume=tmp_path / "cut")
    full, cut = _train_losses(tmp_path / "full"), _train_losses(tmp_path / "cut")
    assert [s for s, _ in cut] == list(range(1, 25))
    assert cut == full  # bit for bit on CPU


def test_resume_refuses_another_corpus(toy_data, tmp_path):
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=3)
    train(toy_data, mc, tc, quiet=True)
    other = make_data("other", poems=[p[::-1] for p in POEMS])
    with pytest.raises(CheckpointError, match="was trained on corpus 'toy'"):
        Trainer(other, mc, tc, resume=tmp_path / "run", quiet=True)


def test_an_existing_run_is_not_overwritten_by_accident(toy_data, tmp_path):
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=3)
    train(toy_data, mc, tc, quiet=True)
    before = (tmp_path / "run" / "best.safetensors").read_bytes()
    with pytest.raises(TextgenError, match="already holds a run"):
        Trainer(toy_data, mc, tc, quiet=True)
    assert (tmp_path / "run" / "best.safetensors").read_bytes() == before


def test_corrupt_or_truncated_files_are_clear_errors(toy_data, tmp_path):
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=3)
    train(toy_data, mc, tc, quiet=True)
    run = tmp_path / "run"
    state = run / "last.state.pt"
    state.write_bytes(state.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        Trainer(toy_data, mc, tc, resume=run, quiet=True)
    ck = run / "best.safetensors"
    ck.write_bytes(ck.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="best.safetensors"):
        load_checkpoint(ck)


def test_unwritable_run_directory_fails_before_training(toy_data, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    mc, tc = _cfgs(toy_data, tmp_path / "file" / "run", max_steps=3)
    with pytest.raises(TextgenError, match="cannot write the run directory"):
        Trainer(toy_data, mc, tc, quiet=True)


def test_disk_full_while_saving_keeps_the_earlier_checkpoints(toy_data, tmp_path, monkeypatch):
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=24)
    calls = {"n": 0}
    real = checkpointing_mod.save_checkpoint

    def flaky(path, *a, **k):
        calls["n"] += 1
        if calls["n"] > 2:  # the first evaluation's best + last succeed, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *a, **k)

    monkeypatch.setattr(checkpointing_mod, "save_checkpoint", flaky)
    with pytest.raises(TextgenError, match="cannot write checkpoint.*No space left"):
        train(toy_data, mc, tc, quiet=True)
    assert load_checkpoint(tmp_path / "run").meta.step == 8
    assert read_state(tmp_path / "run")["step"] == 8


def test_divergence_stops_with_a_clear_message(toy_data, tmp_path):
    mc, tc = _cfgs(
        toy_data,
        tmp_path / "run",
        max_steps=30,
        lr=1e3,
        grad_clip=0.0,
        warmup_steps=0,
        log_interval=1,
        eval_interval=100,
    )
    with pytest.raises(TrainingError, match="diverged"):
        train(toy_data, mc, tc, quiet=True)


def test_schedule_warms_up_decays_and_reacts_to_plateaus():
    s = LRSchedule(TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=10), total_steps=110)
    assert s.lr(0) == pytest.approx(0.1) and s.lr(9) == pytest.approx(1.0)
    assert s.lr(60) == pytest.approx(0.55, abs=0.02) and s.lr(110) == pytest.approx(0.1)
    t = LRSchedule(TrainConfig(lr=1.0, min_lr=0.0, warmup_steps=0, time_budget=1.0))
    assert t.lr(5, elapsed_s=30) == pytest.approx(0.5)  # halfway through a 1-minute budget
    p = LRSchedule(
        TrainConfig(lr=1.0, min_lr=0.01, warmup_steps=0, lr_schedule="plateau", plateau_patience=2)
    )
    for v in (3.0, 2.0, 2.5, 2.6):
        p.observe(v)
    assert p.lr(100) == pytest.approx(0.5)


def test_presets_resolve_and_unknown_ones_fail():
    mc, tc = resolve_config(None, 8000, {"lr": 5e-4})
    assert tc.lr == 5e-4 and tc.time_budget == 30.0 and mc.adaptive_cutoffs
    mc, _ = resolve_config("tiny", 40, {})
    assert mc.adaptive_cutoffs == []
    with pytest.raises(TextgenError, match="unknown --preset"):
        resolve_config("huge", 100, {})


def teardown_module(module):
    shutil.rmtree("runs/toy", ignore_errors=True)
