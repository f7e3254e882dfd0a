"""`textgen train / eval / plot` end to end on a tiny text file, and their one-line errors."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from textgen.cli import main
from textgen.train.config import TrainConfig, resume_config
from textgen.train.state import read_state

CHARS = "春花秋月何时了往事知多少小楼昨夜又东风故国不堪回首明中山高水长云雨"


@pytest.fixture
def text_file(tmp_path):
    rng = np.random.default_rng(0)
    poems = []
    for _ in range(120):
        lines = ["".join(rng.choice(list(CHARS), 5)) + ("，" if i % 2 == 0 else "。") for i in range(4)]
        poems.append("\n".join(lines))
    f = tmp_path / "poems.txt"
    f.write_text("\n\n".join(poems) + "\n", encoding="utf-8")
    return f


def _train(text_file, out, *extra):
    main(
        [
            "train",
            str(text_file),
            "--preset",
            "tiny",
            "--hidden-size",
            "32",
            "--n-embd",
            "16",
            "--batch-size",
            "8",
            "--seq-len",
            "16",
            "--max-steps",
            "6",
            "--eval-interval",
            "3",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )


def _fails(argv, capsys, match):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and err[-1].startswith("error: ") and match in err[-1], err


def test_train_eval_plot(text_file, tmp_path, capsys):
    run = tmp_path / "run"
    _train(text_file, run)
    assert (run / "best.safetensors").is_file() and (run / "loss.png").is_file()
    capsys.readouterr()
    main(["eval", str(run), "--split", "val", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["split"] == "val" and out["bpc"] > 0 and out["chars"] > 0 and out["oov"] == 0
    main(["eval", str(run), "--split", "test", "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)  # the run's own test figure is eval's
    assert out["oov"] == 0 and out["bpc"] == pytest.approx(
        json.loads((run / "meta.json").read_text())["test"]["bpc"]
    )
    other = tmp_path / "other.txt"
    other.write_text("春花秋月何时了，外外。", encoding="utf-8")  # 外 is not in the vocabulary
    main(["eval", str(run / "last.safetensors"), "--text-file", str(other), "--json"])
    out = json.loads(capsys.readouterr().out)
    # The known characters are scored, and the document's closing <eos> counts one.
    assert out["oov"] == 2 and out["chars"] == len("春花秋月何时了，外外。") - 2 + 1
    main(["plot", str(run), str(run), "-o", str(tmp_path / "both.png")])
    assert (tmp_path / "both.png").stat().st_size > 1000
    # --resume continues the same run to a larger step budget
    main(["train", str(text_file), "--resume", str(run), "--max-steps", "9", "--quiet"])
    assert json.loads((run / "meta.json").read_text())["step"] == 9


def test_bad_inputs_are_one_line_and_exit_1(text_file, tmp_path, capsys):
    _fails(["train", str(text_file), "--preset", "huge"], capsys, "unknown --preset 'huge'")
    _fails(["train", str(text_file), "--cell", "transformer"], capsys, "unknown cell")
    _fails(["train", str(text_file), "--tie-weights", "--proj-size", "7"], capsys, "tie_weights")
    run = tmp_path / "run"
    _train(text_file, run)
    before = (run / "best.safetensors").read_bytes()
    other = tmp_path / "other.txt"
    other.write_text("\n\n".join(["明月几时有，把酒问青天。"] * 40), encoding="utf-8")
    _fails(["train", str(other), "--resume", str(run)], capsys, "was trained on corpus")
    _fails(["train", str(text_file), "--resume", str(tmp_path / "nope")], capsys, "no such run directory")
    assert (run / "best.safetensors").read_bytes() == before
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(before[: len(before) // 2])
    _fails(["eval", str(broken)], capsys, "broken.safetensors")
    _fails(["plot", str(tmp_path)], capsys, "no metrics.jsonl")


@pytest.mark.slow  # a training subprocess, interrupted
def test_ctrl_c_saves_then_exits_130(text_file, tmp_path):
    """`textgen train ... && textgen export ...` must not go on with a half-trained run."""
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "textgen", "train", str(text_file), "--preset", "tiny", "--hidden-size", "16",
            "--n-embd", "8", "--batch-size", "4", "--seq-len", "8", "--max-steps", "1000000", "--eval-interval",
            "1000", "--log-interval", "1", "--device", "cpu", "--threads", "1", "--out", str(run)]  # fmt: skip
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "metrics.jsonl").is_file() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)  # the loop is running (and its Ctrl-C handler installed) once it logs
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert (run / "last.safetensors").is_file() and f"--resume {run}" in err
    assert "interrupted" in out  # where the run is and why it stopped, on stdout


def test_resume_flags_win_over_the_saved_budget(text_file, tmp_path, capsys):
    run = tmp_path / "run"
    _train(text_file, run, "--max-steps", "0", "--time-budget", "0.0001")  # one step or so
    first = json.loads((run / "meta.json").read_text())["step"]
    assert first < 9 and "time budget" in capsys.readouterr().out
    # The saved time budget is used up; an explicit step budget replaces it.
    main(["train", "--resume", str(run), "--max-steps", "9", "--eval-interval", "100", "--quiet"])
    assert json.loads((run / "meta.json").read_text())["step"] == 9
    state = read_state(run)["train_config"]
    assert state["max_steps"] == 9 and state["time_budget"] == 0 and state["eval_interval"] == 100


def test_resume_config_budgets_are_replaced_as_a_set():
    saved = TrainConfig(time_budget=3.0, lr=1e-3).to_dict()
    same = resume_config(saved, {"max_steps": None, "lr": None})
    assert same.time_budget == 3.0 and same.lr == 1e-3  # nothing given: the saved run continues
    steps = resume_config(saved, {"max_steps": 400, "lr": 5e-4})
    assert (steps.max_steps, steps.time_budget, steps.epochs, steps.lr) == (400, 0, 0, 5e-4)
    longer = resume_config(saved, {"time_budget": 10.0})
    assert (longer.time_budget, longer.max_steps) == (10.0, 0)  # minutes summed over resumes


def test_runs_are_named_after_the_folder_of_a_generic_file(text_file, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "libai"
    folder.mkdir()
    (folder / "input.txt").write_text(text_file.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    small = ["--preset", "tiny", "--hidden-size", "16", "--n-embd", "8", "--batch-size", "4", "--seq-len", "8",
             "--max-steps", "2", "--eval-interval", "2", "--device", "cpu", "--quiet"]  # fmt: skip
    main(["train", str(folder / "input.txt"), *small])
    assert (tmp_path / "runs" / "libai" / "best.safetensors").is_file()
    assert "run: runs/libai" in capsys.readouterr().out
    main(["train", str(folder / "input.txt"), "--name", "li-bai-tiny", *small])
    assert (tmp_path / "runs" / "li-bai-tiny" / "best.safetensors").is_file()
    _fails(["train", str(text_file), "--name", "x", "--out", "y"], capsys, "--name")


def test_a_new_cpu_run_takes_the_idle_cores_and_keeps_them_on_resume(text_file, tmp_path, monkeypatch):
    import os

    from textgen.cli.threads import idle_cores

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (100.0, 0.0, 0.0))  # a machine busy elsewhere
    assert idle_cores() == 1
    run = tmp_path / "run"
    _train(text_file, run)
    assert read_state(run)["train_config"]["threads"] == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert idle_cores() == len(os.sched_getaffinity(0))
    main(["train", "--resume", str(run), "--max-steps", "8", "--quiet"])
    assert read_state(run)["train_config"]["threads"] == 1  # the run keeps its count
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # torchrun's, or the user's: left to torch
    _train(text_file, tmp_path / "omp")
    assert read_state(tmp_path / "omp")["train_config"]["threads"] == 0


def test_a_warm_start_may_keep_the_source_vocabulary(text_file, tmp_path, capsys):
    from textgen.checkpoint import load_checkpoint

    src = tmp_path / "src"
    _train(text_file, src)
    other = tmp_path / "other.txt"  # other frequencies (other ids), one character the source lacks
    rng = np.random.default_rng(1)
    lines = ["".join(rng.choice(list("山高水长云雨明中外"), 5)) + "。" for _ in range(120)]
    other.write_text("\n\n".join(lines), encoding="utf-8")
    _fails(["train", str(other), "--keep-vocab"], capsys, "give --init-from")
    for keep, run in ((False, tmp_path / "own"), (True, tmp_path / "kept")):
        flags = ["--init-from", str(src / "best.safetensors"), *(["--keep-vocab"] if keep else [])]
        opts = (
            "--preset tiny --batch-size 8 --seq-len 16 --max-steps 3 --eval-interval 3 --device cpu --quiet"
        )
        main(
            [
                "train",
                str(other),
                *opts.split(),
                "--out",
                str(run),
                *flags,
            ]
        )
    a, own, kept = (
        load_checkpoint(p / "best.safetensors") for p in (src, tmp_path / "own", tmp_path / "kept")
    )
    assert own.tokenizer.to_json() != a.tokenizer.to_json() == kept.tokenizer.to_json()
    meta = json.loads((tmp_path / "kept" / "meta.json").read_text())
    assert meta["corpus"]["vocabulary"] == "given" and meta["train_config"]["keep_vocab"] is True
    capsys.readouterr()
    main(["eval", str(tmp_path / "kept"), "--json", "--quiet"])
    assert json.loads(capsys.readouterr().out)["bpc"] > 0
    main(["train", str(other), "--resume", str(tmp_path / "kept"), "--max-steps", "4", "--quiet"])
    assert json.loads((tmp_path / "kept" / "meta.json").read_text())["step"] == 4
