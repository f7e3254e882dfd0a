from __future__ import annotations

import re

import pytest

from textgen.data import prepare
from textgen.data.fetch import downloads_dir, fetch, sri_sha512
from textgen.data.manifest import resolve
from textgen.data.store import prepared_home
from textgen.errors import CorpusError


@pytest.fixture
def poetry(tmp_path, kit, fake_npm):
    poems = [{"author": "李白", "title": "靜夜思", "paragraphs": kit.POEMS[0]}]
    poems += [
        {"author": "無名", "title": f"第{i}首", "paragraphs": p} for i, p in enumerate(kit.filler_docs(60))
    ]
    tgz = kit.make_poetry_tgz(tmp_path / "pkg.tgz", {"dist/poems.0.json": poems})
    fake_npm.set_tarball(tgz)
    corpus = kit.write_manifest(
        tmp_path / "c", kit.poetry_manifest("c", sri_sha512(tgz), "dist/poems.*.json")
    )
    return corpus, tgz, fake_npm


def test_fetch_uses_npm_once_then_the_cache(poetry):
    corpus, tgz, npm = poetry
    raw = fetch(resolve(corpus), progress=False)
    assert raw.tarball == downloads_dir() / "chinese-poetry-9.9.9.tgz"
    assert raw.tarball.read_bytes() == tgz.read_bytes()
    assert npm.log.read_text().split() == ["pack", "chinese-poetry@9.9.9", "--json"]
    fetch(resolve(corpus), progress=False)
    prepare(corpus, progress=False)
    assert len(npm.log.read_text().splitlines()) == 1  # no second download
    assert [p.name for p in downloads_dir().iterdir()] == ["chinese-poetry-9.9.9.tgz"]


def test_integrity_mismatch_removes_the_file(poetry, kit):
    corpus, tgz, npm = poetry
    wrong = "sha512-" + "B" * 86 + "=="
    kit.write_manifest(corpus, kit.poetry_manifest("c", wrong, "dist/poems.*.json"))
    with pytest.raises(
        CorpusError, match=re.escape(f"integrity mismatch, expected {wrong}, found {sri_sha512(tgz)}")
    ):
        fetch(resolve(corpus), progress=False)
    assert list(downloads_dir().iterdir()) == []
    # a bad copy placed in the cache by hand is removed too
    downloads_dir().mkdir(parents=True, exist_ok=True)
    (downloads_dir() / "chinese-poetry-9.9.9.tgz").write_bytes(b"not the package")
    with pytest.raises(CorpusError, match="integrity mismatch"):
        prepare(corpus, progress=False)
    assert list(downloads_dir().iterdir()) == []
    assert not prepared_home().exists()


def test_npm_missing_says_what_to_do(poetry, monkeypatch):
    corpus, tgz, _ = poetry
    monkeypatch.delenv("TEXTGEN_NPM")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        CorpusError, match=r"npm is not installed.*install Node.js.*put a copy of chinese-poetry-9.9.9.tgz in"
    ):
        fetch(resolve(corpus), progress=False)
    # the documented way out: a copy of the tarball in the downloads folder
    downloads_dir().mkdir(parents=True)
    (downloads_dir() / "chinese-poetry-9.9.9.tgz").write_bytes(tgz.read_bytes())
    assert fetch(resolve(corpus), progress=False).tarball.is_file()


def test_npm_failure_is_one_line(poetry, monkeypatch, tmp_path):
    corpus, _, npm = poetry
    npm.set_tarball(tmp_path / "missing.tgz")
    with pytest.raises(CorpusError, match=r"`npm pack chinese-poetry@9.9.9` failed \(exit 1\)"):
        fetch(resolve(corpus), progress=False)
    assert list(downloads_dir().iterdir()) == []


def test_mirror_sha256_checked(tmp_path, monkeypatch, kit):
    mirror = tmp_path / "mirror"
    (mirror / "lyr").mkdir(parents=True)
    (mirror / "lyr" / "input.txt").write_text("你好\n世界\n")
    manifest = """
name = "lyr"
[source]
type = "mirror"
repository = "https://example.invalid/repo"
commit = "abc"
[[source.files]]
path = "input.txt"
sha256 = "%s"
[read]
format = "stanzas"
kind = "lyrics"
"""
    corpus = kit.write_manifest(tmp_path / "lyr", manifest % ("0" * 64))
    with pytest.raises(CorpusError, match=r"set TEXTGEN_MIRROR=DIR or pass --mirror DIR"):
        fetch(resolve(corpus), progress=False)
    with pytest.raises(CorpusError, match=r"input.txt: sha256 mismatch, expected 0{64}, found [0-9a-f]{64}"):
        fetch(resolve(corpus), mirror, progress=False)
    assert not [p for p in (downloads_dir() / "lyr").iterdir()]
    import hashlib

    good = hashlib.sha256((mirror / "lyr" / "input.txt").read_bytes()).hexdigest()
    kit.write_manifest(tmp_path / "lyr", manifest % good)
    monkeypatch.setenv("TEXTGEN_MIRROR", str(mirror))
    raw = fetch(resolve(corpus), progress=False)
    assert raw.files[0][0] == downloads_dir() / "lyr" / "input.txt" and raw.fingerprint == {"input.txt": good}
