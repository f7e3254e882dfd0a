from __future__ import annotations

import pytest

from textgen.data.manifest import known_corpora, load_manifest, resolve
from textgen.errors import CorpusError

INTEGRITY = "sha512-" + "A" * 86 + "=="


def test_shipped_manifests_parse():
    found = known_corpora()
    assert {"tang", "songci", "songshi", "wangfeng", "qqmusic6"} <= set(found)
    for name in ("tang", "songci", "songshi", "wangfeng", "qqmusic6"):
        m = load_manifest(found[name])
        assert m.name == name
    tang = load_manifest(found["tang"])
    assert tang.source.type == "npm" and tang.source.version == "2.0.1"
    assert tang.source.integrity.startswith("sha512-KtYARvV7")
    assert tang.read.members == ["dist/quantangshi/poet.tang.*.json"] and tang.clean.opencc == "t2s"
    assert load_manifest(found["songci"]).read.metadata == ["author", "rhythmic"]
    qq = load_manifest(found["qqmusic6"])
    assert len(qq.source.files) == 6 and all(len(f.sha256) == 64 for f in qq.source.files)
    assert {f.meta["artist"] for f in qq.source.files} >= {"周杰伦", "陈奕迅"}
    wf = load_manifest(found["wangfeng"])
    assert wf.source.commit.startswith("f56627b") and wf.read.format == "stanzas"


def test_manifest_round_trips_and_hash_is_stable(tmp_path, kit):
    kit.write_manifest(tmp_path / "c", kit.poetry_manifest("c", INTEGRITY, "x/*.json"))
    a, b = load_manifest(tmp_path / "c" / "corpus.toml"), resolve(tmp_path / "c").manifest
    assert a.to_dict() == b.to_dict() and a.sha256() == b.sha256()
    assert a.split.train == 0.9 and a.clean.drop_patterns["damage"] == "[□＿_]"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('name = "c"\n', ""), r"missing field 'name'"),
        (lambda t: t.replace('format = "chinese-poetry"', 'format = "csv"'), r"read.format must be one of"),
        (
            lambda t: t.replace("min_chars = 10", 'min_chars = "ten"'),
            r"clean.min_chars: expected int, got str",
        ),
        (
            lambda t: t.replace("dedupe = true", "dedupe = true\nfrobnicate = 1"),
            r"clean: unknown field 'frobnicate'",
        ),
        (
            lambda t: t.replace(f'integrity = "{INTEGRITY}"', 'integrity = "md5-x"'),
            r"source.integrity must look like",
        ),
        (lambda t: t.replace('version = "9.9.9"\n', ""), r"source.version is required"),
        (lambda t: t + "[split]\ntrain = 0.5\n", r"split.train/val/test must .* sum to 1"),
        (lambda t: t.replace("[read]", "[read\n"), r"not valid TOML"),
        (lambda t: t.replace('opencc = "t2s"', 'opencc = "s2t"'), r"clean.opencc 's2t' does not produce"),
        (lambda t: t.replace('type = "npm"', 'type = "ftp"'), r"source.type must be one of"),
    ],
)
def test_bad_manifest_names_the_field(tmp_path, kit, edit, message):
    d = kit.write_manifest(tmp_path / "c", edit(kit.poetry_manifest("c", INTEGRITY, "x/*.json")))
    with pytest.raises(CorpusError, match=message) as e:
        load_manifest(d / "corpus.toml")
    assert "corpus.toml" in str(e.value) and "\n" not in str(e.value)


def test_unknown_corpus_lists_known_ones():
    with pytest.raises(CorpusError, match=r"unknown corpus 'nope'.*tang"):
        resolve("nope")


def test_plain_text_source(tmp_path, kit):
    p = kit.write_text_corpus(tmp_path / "mine.txt", kit.POEMS)
    src = resolve(p)
    assert src.manifest.name == "mine" and src.manifest.read.format == "text" and src.root == tmp_path
    with pytest.raises(CorpusError, match="no .txt files"):
        (tmp_path / "empty").mkdir()
        resolve(tmp_path / "empty")
