"""`textgen export` and shipped models found by name (checkpoints/<NAME>/model.safetensors)."""

from __future__ import annotations

import json

import pytest
import torch

from textgen.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    read_meta,
    resolve_checkpoint,
    save_checkpoint,
    shipped_models,
)
from textgen.cli import main
from textgen.errors import CheckpointError
from textgen.model import RNNLM, ModelConfig
from textgen.tokenizer import CharTokenizer


@pytest.fixture
def run_dir(tmp_path):
    tok = CharTokenizer.train(["床前明月光，疑是地上霜。"])
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=2, hidden_size=32, n_embd=16)).eval()
    save_checkpoint(tmp_path / "runs" / "toy" / "best.safetensors", model, tok, {"corpus": {"name": "toy"}})
    return tmp_path / "runs" / "toy"


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_export_halves_the_file_and_the_name_then_resolves(run_dir, tmp_path, capsys, monkeypatch):
    shipped = tmp_path / "shipped"
    code, out, _ = _run(["export", str(run_dir), str(shipped / "toy")], capsys)
    assert code == 0 and "float16" in out
    target = shipped / "toy" / "model.safetensors"
    src = run_dir / "best.safetensors"
    assert target.stat().st_size < 0.6 * src.stat().st_size
    meta = json.loads((shipped / "toy" / "meta.json").read_text())
    assert meta["release"]["dtype"] == "float16" and meta["corpus"]["name"] == "toy"

    monkeypatch.setenv("TEXTGEN_CHECKPOINTS", str(shipped))
    assert shipped_models()["toy"] == (shipped / "toy").resolve()
    assert resolve_checkpoint("toy") == (shipped / "toy" / "model.safetensors").resolve()
    half, full = load_checkpoint("toy"), load_checkpoint(run_dir)
    for (name, a), (_, b) in zip(
        half.model.state_dict().items(), full.model.state_dict().items(), strict=True
    ):
        assert a.dtype == torch.float32, name  # computed in float32 after loading
        assert torch.equal(a, b.half().float()), name
    with pytest.raises(CheckpointError, match=r"nor a shipped model \(toy"):
        resolve_checkpoint("nosuchmodel")

    code, _, err = _run(["export", str(run_dir), str(shipped / "toy")], capsys)
    assert code == 1 and "--overwrite" in err
    code, _, _ = _run(
        ["export", str(run_dir), str(shipped / "toy"), "--overwrite", "--dtype", "float32"], capsys
    )
    assert code == 0 and load_checkpoint("toy").meta.release["dtype"] == "float32"


def test_export_of_a_missing_run_is_one_line(tmp_path, capsys):
    code, _, err = _run(["export", str(tmp_path / "nope"), str(tmp_path / "out")], capsys)
    assert code == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_checkpoint_meta_reads_every_shipped_and_older_form(tmp_path):
    # The shipped models' meta.json and their weights' copy read back to the same record.
    for folder in shipped_models().values():
        d = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        assert CheckpointMeta.from_dict(d).to_dict() == d, folder
        assert read_meta(folder / "model.safetensors").to_dict() == d, folder
    # The oldest form: a corpus recorded by name; keys this version does not know are kept.
    old = CheckpointMeta.from_dict({"corpus": "tang", "step": 7, "generation": {"top_k": 40}})
    assert old.corpus.name == "tang" and old.step == 7 and old.header_fields == [] and old.best == {}
    assert old.to_dict()["generation"] == {"top_k": 40} and "test" not in old.to_dict()
    header = {"manifest": {"read": {"header": "{form}\n{title}"}}, "keywords": ["k"]}
    meta = CheckpointMeta.from_dict({"corpus": header})
    assert meta.header_fields == ["form", "title"] and meta.header_lines == 2
    assert meta.corpus.to_dict()["keywords"] == ["k"]
    tok = CharTokenizer.train(["春眠不觉晓"])
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, hidden_size=8, n_embd=8))
    save_checkpoint(tmp_path / "m.safetensors", model, tok, meta)
    assert load_checkpoint(tmp_path / "m.safetensors").meta == meta == read_meta(tmp_path / "m.safetensors")
