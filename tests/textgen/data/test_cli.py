"""`textgen corpus ...` through the real entry point: one-line errors, exit 1, nothing half-written."""

from __future__ import annotations

import json

import pytest

from textgen.cli import main
from textgen.data.fetch import downloads_dir, sri_sha512
from textgen.data.store import prepared_home


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(["corpus", *args])
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, pattern: str) -> None:
    import re

    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert code == 1 and len(lines) == 1 and re.search(pattern, lines[0]), err
    assert "Traceback" not in err


def nothing_written() -> bool:
    home = prepared_home()
    return not home.exists() or not any(home.iterdir())


def test_list_shows_shipped_corpora(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in ("tang", "songci", "songshi", "wangfeng", "qqmusic6"):
        assert f"\n{name} " in out
    assert "npm chinese-poetry@2.0.1" in out and "lyric-crawler @38b44cb" in out


def test_prepare_and_stats_plain_text(capsys, text_corpus):
    code, out, err = run(capsys, "prepare", str(text_corpus), "--min-freq", "1")
    assert code == 0, err
    prepared = out.strip()
    assert prepared.startswith(str(prepared_home())) and "83 documents" in err
    code, out, _ = run(capsys, "stats", str(text_corpus))
    assert code == 0 and f"prepared: {prepared}" in out and "documents" in out and "chars/token" in out
    code, out, _ = run(capsys, "stats", prepared, "--json")
    assert code == 0 and sum(json.loads(out)["documents"].values()) == 83


def test_unknown_corpus(capsys):
    code, _, err = run(capsys, "prepare", "no-such-corpus")
    assert_one_line_error(code, err, r"unknown corpus 'no-such-corpus'")
    code, _, err = run(capsys, "fetch", "no-such-corpus")
    assert_one_line_error(code, err, r"unknown corpus")


def test_bad_manifest_field(capsys, tmp_path, kit):
    bad = kit.poetry_manifest("c", "sha512-x", "x/*.json").replace('kind = "poem"', "kind = 3")
    d = kit.write_manifest(tmp_path / "c", bad)
    code, _, err = run(capsys, "prepare", str(d))
    assert_one_line_error(code, err, r"corpus.toml: read.kind: expected str, got int")


def test_integrity_mismatch(capsys, tmp_path, kit, fake_npm):
    tgz = kit.make_poetry_tgz(tmp_path / "p.tgz", {"dist/a.json": [{"paragraphs": kit.POEMS[0]}]})
    fake_npm.set_tarball(tgz)
    wrong = "sha512-" + "C" * 86 + "=="
    d = kit.write_manifest(tmp_path / "c", kit.poetry_manifest("c", wrong, "dist/*.json"))
    code, _, err = run(capsys, "fetch", str(d))
    assert_one_line_error(
        code, err, r"integrity mismatch, expected sha512-C+==, found sha512-\S+ \(file removed\)"
    )
    assert list(downloads_dir().iterdir()) == [] and nothing_written()


def test_npm_missing(capsys, tmp_path, kit, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    d = kit.write_manifest(
        tmp_path / "c", kit.poetry_manifest("c", "sha512-" + "D" * 86 + "==", "dist/*.json")
    )
    code, _, err = run(capsys, "prepare", str(d))
    assert_one_line_error(code, err, r"npm is not installed.*apt-get install npm.*put a copy of")


def test_invalid_utf8(capsys, tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("café".encode("latin-1"))
    code, _, err = run(capsys, "prepare", str(p))
    assert_one_line_error(code, err, r"latin1\.txt: invalid UTF-8 at byte offset 3")
    assert nothing_written()


def test_empty_after_cleaning(capsys, tmp_path, kit, fake_npm):
    poems = [{"paragraphs": ["□□□□□，□□□□□。"]}, {"paragraphs": ["短。"]}]
    tgz = kit.make_poetry_tgz(tmp_path / "p.tgz", {"dist/a.json": poems})
    fake_npm.set_tarball(tgz)
    d = kit.write_manifest(tmp_path / "c", kit.poetry_manifest("c", sri_sha512(tgz), "dist/*.json"))
    code, _, err = run(capsys, "prepare", str(d))
    assert_one_line_error(
        code, err, r"corpus 'c' is empty after cleaning \(2 read; dropped damage: 1, too_short: 1\)"
    )
    assert nothing_written()


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--min-freq", "0"], r"--min-freq must be >= 1"),
        (["--tokenizer", "sentencepiece", "--vocab-size", "50"], "too small"),
    ],
)
def test_bad_options(capsys, text_corpus, args, pattern):
    code, _, err = run(capsys, "prepare", str(text_corpus), *args)
    assert_one_line_error(code, err, pattern)
    assert nothing_written()


def test_corpus_prune_cli_lists_then_deletes(text_corpus, capsys):
    import os

    from textgen.cli import main
    from textgen.data import prepare

    old = prepare(text_corpus, progress=False)
    prepare(text_corpus, min_freq=2, progress=False)
    os.utime(old.dir / "summary.json", (1, 1))
    for argv, word in (
        (["corpus", "prune", "--dry-run"], "would delete"),
        (["corpus", "prune", "poems"], "deleted"),
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
            raise SystemExit(0)
        assert e.value.code == 0 and f"{word} {old.dir}" in capsys.readouterr().out
    assert not old.dir.exists()
