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


def header_model(path, header: str, corpus: str, chars: str = ""):
    """A tiny random model whose documents (its meta says) open with `header` lines."""
    import torch

    from textgen.checkpoint import save_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    from .conftest import TEXT

    tok = CharTokenizer.train([TEXT + chars])
    torch.manual_seed(3)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=24, n_embd=16)).eval()
    meta = {"corpus": {"name": corpus, "manifest": {"read": {"header": header}}}}
    save_checkpoint(path, model, tok, meta)
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("headers")
    return {
        "tang": header_model(d / "tang.safetensors", "{form}\n{title}", "tang", "五绝七律言古杂"),
        "songci": header_model(d / "songci.safetensors", "{rhythmic}", "songci", "浣溪沙"),
        "lyrics": header_model(d / "lyrics.safetensors", "{artist}", "lyrics", "周杰伦林俊"),
    }


def test_a_prompt_opens_the_body_after_a_title_the_model_writes(models, capsys):
    argv = ["sample", models["tang"], "--prompt", "白日依山尽，", "--seed", "2"]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    title, body = r["text"].split("\n", 1)
    assert r["title"] == title and 1 <= len(title) <= 30 and body.startswith("白日依山尽，")
    assert (
        r["tokens"] - len(title) - 1 - len("白日依山尽，") <= 200
    )  # the title and the prompt: not the budget
    assert run(argv, capsys)[1] == r["text"] + "\n"  # printed once, as written


def test_a_title_without_a_form_is_printed_once(models, capsys):
    argv = ["sample", models["tang"], "--title", "春夜", "--seed", "1", "--max-new-tokens", "30"]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    r = json.loads(out)
    assert r["title"] == "春夜" and not r["text"].startswith("春夜\n")  # context, not text
    assert run(argv, capsys)[1] == "春夜\n" + r["text"] + "\n"


def test_a_form_budget_counts_the_poem_not_the_title(models, capsys):
    code, _, err = run(["sample", models["tang"], "--form", "wujue", "--max-new-tokens", "24"], capsys)
    assert code == 1 and "max_new_tokens=24 is too few for form wujue: it needs 25" in err
    argv = ["sample", models["tang"], "--form", "wujue", "--max-new-tokens", "25", "--seed", "1", "--json"]
    code, out, err = run(argv, capsys)
    r = json.loads(out)
    assert code == 0 and r["finish_reason"] == "eos" and r["title"] and r["text"].count("\n") == 2


def test_a_tune_as_the_first_line_holds_the_tune(models, capsys):
    base = ["sample", models["songci"], "--seed", "3", "--json"]
    r = json.loads(run([*base, "--prompt", "浣溪沙\\n"], capsys)[1])
    assert r["tune"] == "浣溪沙" and r["finish_reason"] == "eos"
    assert r == json.loads(run([*base, "--tune", "浣溪沙"], capsys)[1]) | {"prompt": ""}
    code, _, err = run([*base, "--prompt", "春夏\\n"], capsys)
    assert code == 1 and "春夏" in err and "词牌" in err
    code, _, err = run([*base, "--prompt", "浣溪沙\\n", "--tune", "菩萨蛮"], capsys)
    assert code == 1 and "浣溪沙" in err and "菩萨蛮" in err


def test_lyrics_name_their_artists(models, capsys):
    base = ["sample", models["lyrics"], "--seed", "3", "--max-new-tokens", "20"]
    alone = run([*base, "--prompt", "周杰伦", "--min-new-tokens", "5"], capsys)[1]
    assert alone.startswith("周杰伦\n") and len(alone) > len("周杰伦\n\n")
    assert alone == run([*base, "--prompt", "周杰伦\\n", "--min-new-tokens", "5"], capsys)[1]
    code, out, err = run([*base, "--prompt", "周杰伦"], capsys)  # this random model ends at once
    assert (code, out) == (0, "周杰伦\n\n") and "completion 1 is empty" in err
    code, _, err = run([*base, "--prompt", "林俊\\n春"], capsys)
    assert code == 1 and "unknown artist '林俊'" in err and "周杰伦, 林俊杰" in err
    code, out, _ = run(["sample", "--help"], capsys)
    assert "周杰伦 林俊杰 陈奕迅 许嵩 邓紫棋 任然 汪峰" in out


def test_eval_names_the_way_to_its_mirror(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TEXTGEN_MIRROR", raising=False)  # the lyrics corpora come from a local mirror
    monkeypatch.setenv("TEXTGEN_HOME", str(tmp_path))  # not prepared yet (an earlier test may have)
    code, _, err = run(["eval", "lyrics", "--quiet"], capsys)
    assert code == 1 and "TEXTGEN_MIRROR=DIR before textgen eval" in err and "--mirror" not in err
