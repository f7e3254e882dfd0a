"""`include` corpora (the union of other corpora) and `header` lines made from metadata."""

from __future__ import annotations

import pytest

from textgen.data import prepare
from textgen.data.fetch import fetch, is_fetched
from textgen.data.manifest import resolve
from textgen.errors import CorpusError


def _lyrics(dir_, name, artist, kit, seed):
    docs = kit.filler_docs(40, seed=seed, lines=3)
    (dir_ / name).mkdir(parents=True)
    kit.write_text_corpus(dir_ / name / "songs.txt", docs)
    kit.write_manifest(
        dir_ / name,
        f"""
name = "{name}"
[source]
type = "local"
files = [{{ path = "songs.txt", meta = {{ artist = "{artist}" }} }}]
[read]
format = "stanzas"
kind = "lyrics"
""",
    )
    return docs


def _include(dir_, kit, extra=""):
    return kit.write_manifest(
        dir_ / "both",
        f"""
name = "both"
[source]
type = "include"
corpora = ["../a", "../b"]
[read]
format = "include"
kind = "lyrics"
{extra}
""",
    )


def test_include_unites_corpora_with_an_artist_header(tmp_path, kit):
    a = _lyrics(tmp_path, "a", "甲", kit, 1)
    b = _lyrics(tmp_path, "b", "乙", kit, 2)
    pc = prepare(_include(tmp_path, kit, 'header = "{artist}"'), progress=False)
    docs = [d for s in ("train", "val", "test") for d in pc.documents(s)]
    assert len(docs) == len(a) + len(b) == 80
    firsts = [d.split("\n")[0] for d in docs]
    assert firsts.count("甲") == 40 and firsts.count("乙") == 40
    assert {"\n".join(d) for d in a + b} == {d.split("\n", 1)[1] for d in docs}
    assert pc.summary["metadata"]["artist"] == {"甲": 40, "乙": 40}
    assert set(pc.summary["files"]) == {"a", "b"}
    src = resolve(tmp_path / "both")
    assert is_fetched(src.manifest) and len(fetch(src, progress=False).files) == 2


def test_include_without_header_and_header_on_a_plain_corpus(tmp_path, kit):
    _lyrics(tmp_path, "a", "甲", kit, 1)
    _lyrics(tmp_path, "b", "乙", kit, 2)
    pc = prepare(_include(tmp_path, kit), progress=False)
    assert not any(d.startswith(("甲", "乙")) for d in pc.documents("train"))
    toml = tmp_path / "a" / "corpus.toml"
    toml.write_text(toml.read_text().replace('kind = "lyrics"', 'kind = "lyrics"\nheader = "《{artist}》"'))
    docs = prepare(tmp_path / "a", progress=False).documents("train")
    assert docs and all(d.startswith("《甲》\n") for d in docs)


@pytest.mark.parametrize(
    "source, read, message",
    [
        ('type = "include"', 'format = "stanzas"', "needs source.corpora and read.format 'include'"),
        ('type = "include"\ncorpora = []', 'format = "include"', "needs source.corpora"),
        ('type = "local"', 'format = "include"', "needs source.corpora"),
        ('type = "include"\ncorpora = ["../a"]', 'format = "include"\nheader = "artist"', "read.header"),
    ],
)
def test_bad_include_manifests_name_the_field(tmp_path, kit, source, read, message):
    kit.write_manifest(tmp_path / "x", f'name = "x"\n[source]\n{source}\n[read]\n{read}\n')
    with pytest.raises(CorpusError, match=message):
        resolve(tmp_path / "x")


def test_nested_include_is_refused(tmp_path, kit):
    _lyrics(tmp_path, "a", "甲", kit, 1)
    _lyrics(tmp_path, "b", "乙", kit, 2)
    _include(tmp_path, kit)
    kit.write_manifest(
        tmp_path / "outer",
        'name = "outer"\n[source]\ntype = "include"\ncorpora = ["../both"]\n[read]\nformat = "include"\n',
    )
    with pytest.raises(CorpusError, match="itself an include"):
        prepare(tmp_path / "outer", progress=False)


def test_a_checkpoints_corpus_is_prepared_again_when_missing(tmp_path, kit, monkeypatch):
    import json
    import shutil

    from textgen.data.prepare import prepare_recorded
    from textgen.train.data import TrainData

    _lyrics(tmp_path, "a", "甲", kit, 1)
    _lyrics(tmp_path, "b", "乙", kit, 2)
    _include(tmp_path, kit, 'header = "{artist}"')
    proj = tmp_path / "proj"
    for name in ("a", "b", "both"):
        shutil.copytree(tmp_path / name, proj / "corpora" / name)
    monkeypatch.chdir(proj)  # corpus names resolve in ./corpora
    pc = prepare("both", progress=False)
    recorded = json.loads(json.dumps(TrainData.from_prepared(pc).describe()))  # as a checkpoint keeps it
    assert prepare_recorded(recorded).dir == pc.dir
    shutil.rmtree(pc.dir)  # another machine: not prepared there
    again = prepare_recorded(recorded)
    assert again.tokenizer.to_json() == pc.tokenizer.to_json()
    assert again.documents("test") == pc.documents("test")
    with pytest.raises(CorpusError, match="tokenizer is not the one"):
        prepare_recorded({**recorded, "tokenizer_sha256": "0" * 64})
    # The shipped manifest moves on: the recorded one (parts read from beside it) is prepared again.
    toml = proj / "corpora" / "both" / "corpus.toml"
    toml.write_text(toml.read_text().replace("{artist}", "《{artist}》"))
    shutil.rmtree(again.dir)
    assert prepare_recorded(recorded).documents("test") == pc.documents("test")
    shutil.rmtree(proj / "corpora" / "both")  # and once no manifest of that name is shipped at all
    with pytest.raises(CorpusError, match="no unchanged manifest"):
        prepare_recorded({**recorded, "prepared": None})


def test_unused_new_fields_leave_older_manifest_hashes_alone(tmp_path, kit):
    _lyrics(tmp_path, "a", "甲", kit, 1)
    d = resolve(tmp_path / "a").manifest.to_dict()
    assert "corpora" not in d["source"] and "header" not in d["read"]
    _lyrics(tmp_path, "b", "乙", kit, 2)
    d = resolve(_include(tmp_path, kit, 'header = "{artist}"')).manifest.to_dict()
    assert d["source"]["corpora"] == ["../a", "../b"] and d["read"]["header"] == "{artist}"


def test_a_document_lands_in_the_same_split_alone_or_included_with_a_header(tmp_path, kit, monkeypatch):
    # Enough documents that no split is empty (the tiny-corpus fallback would move some).
    orig = kit.filler_docs
    monkeypatch.setattr(kit, "filler_docs", lambda n, seed=0, lines=3: orig(400, seed=seed, lines=lines))
    _lyrics(tmp_path, "a", "甲", kit, 1)
    _lyrics(tmp_path, "b", "乙", kit, 2)
    alone = prepare(tmp_path / "a", progress=False)
    both = prepare(_include(tmp_path, kit, 'header = "{artist}"\n[split]\nidentity = "body"'), progress=False)
    where_alone = {d: s for s in ("train", "val", "test") for d in alone.documents(s)}
    where_both = {d.split("\n", 1)[1]: s for s in ("train", "val", "test") for d in both.documents(s)}
    assert where_alone and all(where_both[d] == s for d, s in where_alone.items())


def test_by_part_keeps_each_corpus_split_and_holds_out_verse_shared_with_it(tmp_path, kit):
    from textgen.data.clean import verse_lines

    a = _lyrics(tmp_path, "a", "甲", kit, 1)
    fresh = kit.filler_docs(len(a), seed=9, lines=1)
    b = [[doc[0], new[0]] for doc, new in zip(a, fresh, strict=True)]  # each quotes a line of `a`
    kit.write_manifest(
        tmp_path / "b",
        'name = "b"\n[source]\ntype = "local"\nfiles = [{ path = "songs.txt" }]\n'
        '[read]\nformat = "stanzas"\nkind = "lyrics"\n',
    )
    kit.write_text_corpus(tmp_path / "b" / "songs.txt", b)
    alone = prepare(tmp_path / "a", progress=False)
    split_a = {d: s for s in ("train", "val", "test") for d in alone.documents(s)}
    assert set(split_a.values()) == {"train", "val", "test"}
    both = prepare(_include(tmp_path, kit, "[split]\nby_part = true"), progress=False)
    split = {d: s for s in ("train", "val", "test") for d in both.documents(s)}
    assert {d: split[d] for d in split_a} == split_a  # `a` keeps the split it has alone
    for doc, quote in zip(a, b, strict=True):
        if split_a["\n".join(doc)] != "train":
            assert split["\n".join(quote)] != "train"
    held = {v for d, s in split_a.items() if s != "train" for v in verse_lines(d, 5)}
    assert held and not held & {v for d in both.documents("train") for v in verse_lines(d, 5)}
    # Without by_part the union is split as one corpus: some quotes of held-out verse reach training.
    plain = prepare(_include(tmp_path, kit), progress=False)
    assert held & {v for d in plain.documents("train") for v in verse_lines(d, 5)}


def test_by_part_is_for_include_corpora(tmp_path, kit):
    _lyrics(tmp_path, "a", "甲", kit, 1)
    toml = tmp_path / "a" / "corpus.toml"
    toml.write_text(toml.read_text() + "[split]\nby_part = true\n")
    with pytest.raises(CorpusError, match="split.by_part is for include corpora"):
        resolve(tmp_path / "a")


def test_a_given_vocabulary_encodes_the_corpus_and_comes_back_with_the_checkpoint(tmp_path, kit, monkeypatch):
    import shutil

    from textgen.data.prepare import prepare_recorded
    from textgen.tokenizer import CharTokenizer
    from textgen.train.data import TrainData

    _lyrics(tmp_path, "a", "甲", kit, 1)
    shutil.copytree(tmp_path / "a", tmp_path / "proj" / "corpora" / "a")
    monkeypatch.chdir(tmp_path / "proj")
    own = prepare("a", progress=False)
    # Another model's vocabulary: other ids for the same characters, and characters `a` lacks.
    chars = sorted(set("".join(own.documents("train"))), reverse=True)
    vocab = CharTokenizer.train(["雪雪雪" + "".join(chars)])
    given = prepare("a", progress=False, vocabulary=vocab)
    assert given.dir != own.dir and given.tokenizer.to_json() == vocab.to_json()
    assert given.documents("test") == own.documents("test")
    ids = given.ids("train").tolist()
    assert ids != own.ids("train").tolist() and vocab.unk_id not in ids
    text = "".join(vocab.id_to_piece(i) for i in ids if i != vocab.eos_id)
    assert text == "".join(own.documents("train"))
    recorded = TrainData.from_prepared(given).describe()
    assert recorded["vocabulary"] == "given" and "vocabulary" not in TrainData.from_prepared(own).describe()
    shutil.rmtree(given.dir)  # another machine: prepared again with the checkpoint's tokenizer
    with pytest.raises(CorpusError, match="pass its tokenizer"):
        prepare_recorded(recorded)
    again = prepare_recorded(recorded, tokenizer=vocab)
    assert again.documents("test") == own.documents("test") and again.ids("train").tolist() == ids
