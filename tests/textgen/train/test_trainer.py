"""The training loop: it learns, it resumes exactly, and it fails cleanly."""

import errno
import json
import math
import shutil

import numpy as np
import pytest
import torch

import textgen.train.checkpointing as checkpointing_mod
from textgen.checkpoint import load_checkpoint
from textgen.errors import CheckpointError, TextgenError
from textgen.model import ModelConfig
from textgen.tokenizer import CharTokenizer
from textgen.train.config import TrainConfig, resolve_config
from textgen.train.data import TrainData
from textgen.train.runlog import read_metrics
from textgen.train.schedule import LRSchedule
from textgen.train.state import RunState, read_state, write_state
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


def test_a_small_text_is_evaluated_every_epoch_and_stops_at_its_best(tmp_path, capsys):
    # Two poems: 2 steps an epoch, so 400 steps would be 200 epochs of a text learned by heart.
    tok = CharTokenizer.train(POEMS)
    data = TrainData.from_arrays(
        "small",
        tok,
        {"train": _ids(tok, POEMS[:2] * 2), "val": _ids(tok, POEMS[2:]), "test": _ids(tok, POEMS[3:])},
    )
    mc, tc = _cfgs(
        data, tmp_path / "run", n_layer=1, batch_size=2, max_steps=400, eval_interval=100, log_interval=5
    )
    result = train(data, mc, tc)  # the default --patience
    err = capsys.readouterr().err
    assert "evaluating every epoch (2 steps) rather than every 100" in err
    assert "warning: the plan is 200 epochs of a small text (104 characters)" in err
    vals = [e for e in read_metrics(tmp_path / "run" / "metrics.jsonl") if e["kind"] == "val"]
    assert [e["step"] for e in vals] == list(range(2, result["step"] + 1, 2))
    assert result["stop_reason"] == "early stop: no better val loss in 5 evaluations" and result["step"] < 400
    best = min(vals, key=lambda e: e["loss"])
    assert result["best"]["step"] == best["step"] == result["step"] - 5 * 2
    # What sample, eval and serve load for a run directory: the best checkpoint, not the last.
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.path.name == "best.safetensors" and ckpt.meta.step == best["step"]
    assert f"best checkpoint (step {best['step']}" in err


def test_run_state_round_trips_and_reads_files_written_before_it():
    run = RunState()
    run.advance(0.5, 64.0)
    assert run.observe(4.0, {"step": 1}) and not run.observe(4.0, {"step": 2})
    assert (run.step, run.bad_evals, run.best_metrics) == (1, 1, {"step": 1})
    run.stop_reason = "interrupted"
    back = RunState.from_dict(run.to_dict())
    assert back.stop_reason == "" and back.to_dict() == run.to_dict()
    old = {"step": 3, "elapsed": 1.0, "chars_seen": 9.0, "best_val": 2.0, "best_metrics": {}, "bad_evals": 1}
    assert RunState.from_dict({**old, "model": {}, "world_size": 1}).to_dict() == old


def test_a_state_file_written_before_run_state_resumes(toy_data, tmp_path):
    # The schedule kept its own best and count then; the run's count is the one read now.
    mc, tc = _cfgs(toy_data, tmp_path / "run", max_steps=16)
    train(toy_data, mc, tc, quiet=True, on_step=lambda step, loss: step == 8)
    state = read_state(tmp_path / "run")
    state["schedule"] = {**state["schedule"], "best": 1.0, "bad_evals": 3}
    write_state(tmp_path / "run", {k: v for k, v in state.items() if k != "format"})
    result = train(toy_data, mc, tc, quiet=True, resume=tmp_path / "run")
    assert result["step"] == 16 and read_state(tmp_path / "run")["schedule"] == {"scale": 1.0}


def _ids(tok, docs):
    return np.array([i for d in docs for i in [*tok.encode(d), tok.eos_id]], dtype=np.int32)


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
    run = RunState()  # the run counts evaluations since its best once; the schedule reads it
    for v in (3.0, 2.0, 2.5, 2.6):
        run.observe(v, {"loss": v})
        p.observe(run.bad_evals)
    assert p.lr(100) == pytest.approx(0.5) and run.bad_evals == 2 and run.best_metrics == {"loss": 2.0}


def test_presets_resolve_and_unknown_ones_fail():
    mc, tc = resolve_config(None, 8000, {"lr": 5e-4})
    assert tc.lr == 5e-4 and tc.time_budget == 30.0 and mc.adaptive_cutoffs
    mc, _ = resolve_config("tiny", 40, {})
    assert mc.adaptive_cutoffs == []
    with pytest.raises(TextgenError, match="unknown --preset"):
        resolve_config("huge", 100, {})


def teardown_module(module):
    shutil.rmtree("runs/toy", ignore_errors=True)
