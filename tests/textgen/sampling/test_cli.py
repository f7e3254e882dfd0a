import json

import pytest

from textgen.cli import main
from textgen.poetry.check import form_problems
from textgen.poetry.forms import resolve_form
from textgen.sampling import SamplingParams


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sample_streams_prompt_and_text(ckpt_path, capsys, gen):
    code, out, err = run(
        ["sample", str(ckpt_path), "--prompt", "床前", "--seed", "3", "--max-new-tokens", "20"], capsys
    )
    assert code == 0, err
    want = gen.generate("床前", SamplingParams(max_new_tokens=20), seed=3)[0]
    assert out == "床前" + want.text + "\n"


def test_sample_json_constrained(ckpt_path, capsys):
    argv = ["sample", str(ckpt_path), "--form", "qijue", "--acrostic", "春夏秋冬", "--rhyme", "-n", "5"]
    code, out, err = run([*argv, "--seed", "9", "--json"], capsys)
    assert code == 0, err
    rows = [json.loads(x) for x in out.splitlines()]
    assert [r["seed"] for r in rows] == [9, 10, 11, 12, 13]
    spec = resolve_form("qijue")
    for r in rows:
        assert r["finish_reason"] == "eos" and r["form"] == "qijue" and r["rhyme"] is True
        assert form_problems(r["text"], spec, "春夏秋冬", True) == []
    # Plain output: the same poems, blank line between them.
    code, plain, _ = run([*argv, "--seed", "9"], capsys)
    assert plain == "\n".join(r["text"] + "\n" for r in rows)


def test_judge_reads_sample_json(ckpt_path, capsys, tmp_path):
    code, out, _ = run(
        ["sample", str(ckpt_path), "--form", "wujue", "-n", "8", "--seed", "1", "--json"], capsys
    )
    f = tmp_path / "s.jsonl"
    f.write_text(out, encoding="utf-8")
    train = tmp_path / "train.txt"
    train.write_text("床前明月光，疑是地上霜。", encoding="utf-8")
    code, out, err = run(["judge", str(f), "--train-file", str(train), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["poems"] == 8 and report["compliance"] == 1.0 and report["forms"] == {"wujue": 8}
    assert 0 <= report["copy_rate"] <= 1


@pytest.mark.parametrize(
    "args, match",
    [
        (["--temperature", "-1"], "temperature"),
        (["--temperature", "9"], "temperature"),
        (["--top-k", "-2"], "top_k"),
        (["--top-p", "0"], "top_p"),
        (["--top-p", "1.1"], "top_p"),
        (["-n", "1000"], "-n"),
        (["--max-new-tokens", "100000"], "max_new_tokens"),
        (["--form", "haiku"], "unknown form"),
        (["--form", "wujue", "--acrostic", "春夏秋冬春夏"], "must match"),
        (["--acrostic", "春龘"], "acrostic"),
        (["--prompt", "龘"], "龘"),
    ],
)
def test_sample_bad_input_is_one_line(ckpt_path, capsys, args, match):
    code, out, err = run(["sample", str(ckpt_path), *args], capsys)
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err


def test_sample_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "x.safetensors").write_text("nope")
    code, _, err = run(["sample", str(tmp_path / "x.safetensors")], capsys)
    assert code == 1 and err.startswith("error: ")


def test_sample_help_has_chinese_examples(capsys):
    code, out, _ = run(["sample", "--help"], capsys)
    assert code == 0 and "藏头" in out and "--acrostic" in out


def test_sample_unavailable_device(ckpt_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = run(["sample", str(ckpt_path), "--device", "cuda"], capsys)
    assert code == 1 and "not available" in err
    code, _, err = run(["sample", str(ckpt_path), "--device", "toaster"], capsys)
    assert code == 1 and "unknown device" in err


def test_long_acrostic_needs_no_max_new_tokens(ckpt_path, capsys):
    head = "春夏秋冬" * 8  # 32 lines of 5: more than 200 tokens
    code, out, err = run(["sample", str(ckpt_path), "--acrostic", head, "--seed", "1", "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    assert r["finish_reason"] == "eos" and form_problems(r["text"], resolve_form(None, head), head) == []
    code, _, err = run(["sample", str(ckpt_path), "--acrostic", head, "--max-new-tokens", "50"], capsys)
    assert code == 1 and "too few" in err


def test_sample_prompt_backslash_n_is_a_line_break(ckpt_path, capsys, gen):
    code, out, err = run(
        ["sample", str(ckpt_path), "--prompt", "春夏\\n", "--seed", "3", "--max-new-tokens", "10"], capsys
    )
    assert code == 0, err
    want = gen.generate("春夏\n", SamplingParams(max_new_tokens=10), seed=3)[0]
    assert out == "春夏\n" + want.text + "\n"
