"""The command line of the prosody features: judge --rhyme-scheme/--faults, textgen tunes."""

import json

from textgen.cli import main

SHANXING = "远上寒山石径斜，白云生处有人家。\n停车坐爱枫林晚，霜叶红于二月花。"
CHUNWANG = (
    "国破山河在，城春草木深。\n感时花溅泪，恨别鸟惊心。\n烽火连三月，家书抵万金。\n白头搔更短，浑欲不胜簪。"
)
GUPING = "风花山月雨，日石去天霜。\n白日风花月，石风雨月光。"


def run(argv, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_judge_names_the_rule_and_the_place(capsys, monkeypatch):
    code, out, err = run(["judge", "-", "--faults"], capsys, SHANXING + "\n\n" + GUPING, monkeypatch)
    assert code == 0, err
    assert "poem 2: 孤平 (line 4, char 1)" in out and "poem 1" not in out
    code, out, _ = run(["judge", "-", "--json"], capsys, CHUNWANG, monkeypatch)
    assert json.loads(out)["tone_rate"] == 1.0
    code, out, _ = run(["judge", "-", "--json", "--rhyme-scheme", "xinyun"], capsys, CHUNWANG, monkeypatch)
    report = json.loads(out)
    assert report["rhyme_scheme"] == "xinyun" and report["tone_rate"] == 0.0  # 白 and 不 read 平 today
    code, _, err = run(["judge", "-", "--rhyme-scheme", "cilin"], capsys, SHANXING, monkeypatch)
    assert code == 2 and "cilin" in err


def test_tunes_lists_and_shows(capsys):
    code, out, err = run(["tunes"], capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("浣溪沙") and len(out.splitlines()) >= 100
    code, out, _ = run(["tunes", "菩萨蛮"], capsys)
    assert "仄韵1" in out and "平韵2" in out and out.count("\n") >= 9
    code, out, _ = run(["tunes", "鹧鸪天", "--json"], capsys)
    assert json.loads(out)["lengths"] == [7, 7, 7, 7, 3, 3, 7, 7, 7]
    code, _, err = run(["tunes", "不存在的调"], capsys)
    assert code == 1 and "unknown tune" in err


def test_sample_tune_prints_the_header_and_judge_checks_the_ci(tmp_path, capsys, monkeypatch):
    import torch

    from textgen.checkpoint import save_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    tok = CharTokenizer(list("，。\n浣溪沙") + list("月雪节绿曲玉天年前霜光香人春风吹花柳一不"))
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=8, n_embd=4)).eval()
    path = tmp_path / "ci" / "model.safetensors"
    save_checkpoint(
        path, model, tok, {"corpus": {"name": "songci", "manifest": {"read": {"header": "{rhythmic}"}}}}
    )
    code, out, err = run(["sample", str(path), "--tune", "浣溪沙", "--rhyme", "--seed", "1"], capsys)
    assert code == 0, err
    assert out.startswith("浣溪沙\n") and out.count("\n") == 6  # header, six lines on five text lines
    code, out, err = run(["sample", str(path), "--tune", "浣溪沙", "--rhyme", "-n", "3", "--json"], capsys)
    rows = [json.loads(x) for x in out.splitlines()]
    assert all(r["tune"] == "浣溪沙" and r["rhyme_scheme"] == "pingshui" for r in rows)
    code, out, err = run(["judge", "-", "--json"], capsys, out, monkeypatch)
    report = json.loads(out)
    assert report["ci"] == 3 and report["tune_rate"] == 1.0 and report["tune_rhyme_rate"] == 1.0
