"""`textgen train / eval / plot` end to end on a tiny text file, and their one-line errors."""

import json

import numpy as np
import pytest

from textgen.cli import main

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
