from __future__ import annotations

import json

import numpy as np
import pytest

from textgen.data import load_prepared, prepare
from textgen.data.manifest import SplitSpec
from textgen.data.split import assign
from textgen.data.store import prepared_home
from textgen.errors import ConfigError, CorpusError


def test_prepare_plain_text(text_corpus):
    pc = prepare(text_corpus, progress=False)
    s = pc.summary
    assert pc.dir.parent == prepared_home() and pc.dir.name.startswith("poems-char-")
    assert sum(s["documents"].values()) == 83
    assert all(s["documents"][k] > 0 for k in ("train", "val", "test"))
    tok = pc.tokenizer
    for split in ("train", "val", "test"):
        ids = pc.ids(split)
        assert isinstance(ids, np.memmap) and ids[-1] == tok.eos_id
        assert (ids == tok.eos_id).sum() == s["documents"][split]
        assert s["tokens"][split] == ids.size == s["chars"][split]  # char tokenizer: 1 token per char
        docs = pc.documents(split)
        assert len(docs) == s["documents"][split]
        assert tok.decode(ids[: len(docs[0]) + 1]) == docs[0]
    # vocabulary comes from train only: a char seen only in val/test is <unk> there
    train_chars = set(pc.text_path("train").read_text())
    assert set(tok.stoi) - {"<unk>", "<eos>"} == train_chars - {"\n"} | ({"\n"} & train_chars)
    again = load_prepared(pc.dir)
    assert again.summary == s and again.tokenizer.to_json() == tok.to_json()


def test_prepare_is_cached_and_leaves_no_temp(text_corpus):
    pc = prepare(text_corpus, progress=False)
    mtime = (pc.dir / "summary.json").stat().st_mtime_ns
    assert prepare(text_corpus, progress=False).dir == pc.dir
    assert (pc.dir / "summary.json").stat().st_mtime_ns == mtime
    forced = prepare(text_corpus, force=True, progress=False)
    assert forced.dir == pc.dir and (pc.dir / "summary.json").stat().st_mtime_ns != mtime
    assert prepare(pc.dir).dir == pc.dir  # a prepared dir is a source too
    assert not [p for p in prepared_home().iterdir() if p.name.startswith(".")]
    other = prepare(text_corpus, min_freq=2, progress=False)
    assert other.dir != pc.dir and other.tokenizer.vocab_size < pc.tokenizer.vocab_size


def test_no_document_in_two_splits(tmp_path, kit):
    docs = kit.filler_docs(300, lines=1, width=3)
    docs += docs[:50]  # exact duplicates must land in the same split
    pc = prepare(kit.write_text_corpus(tmp_path / "d.txt", docs), progress=False)
    seen = {s: set(pc.documents(s)) for s in ("train", "val", "test")}
    assert not (seen["train"] & seen["val"]) and not (seen["train"] & seen["test"])
    assert not (seen["val"] & seen["test"])


def test_split_stable_when_documents_added(kit):
    texts = ["\n".join(d) for d in kit.filler_docs(500, seed=1)]
    more = ["\n".join(d) for d in kit.filler_docs(200, seed=2)]
    before = assign(texts, SplitSpec())
    after = assign(texts + more, SplitSpec())
    assert after[: len(texts)] == before
    share = {s: after.count(s) / len(after) for s in ("train", "val", "test")}
    assert 0.85 < share["train"] < 0.95 and 0.02 < share["val"] < 0.08
    assert assign(texts, SplitSpec(salt="x")) != before


def test_tiny_corpus_still_has_val_and_test():
    out = assign(["一", "二", "三"], SplitSpec())
    assert sorted(out) == ["test", "train", "val"]


def test_invalid_utf8_names_file_and_offset(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("床前明月光\n".encode() + b"\xff\xfe")
    with pytest.raises(CorpusError, match=r"bad\.txt: invalid UTF-8 at byte offset 16"):
        prepare(bad, progress=False)
    assert not prepared_home().exists() or not list(prepared_home().iterdir())


def test_folder_of_txt_files(tmp_path, kit):
    d = tmp_path / "lyrics"
    d.mkdir()
    kit.write_text_corpus(d / "a.txt", kit.filler_docs(30, seed=3))
    kit.write_text_corpus(d / "b.txt", kit.filler_docs(30, seed=4))
    (d / "skip.md").write_text("not a corpus file")
    pc = prepare(d, progress=False)
    assert sum(pc.summary["documents"].values()) == 60
    metas = [json.loads(x) for s in ("train", "val", "test") for x in (pc.dir / f"{s}.meta.jsonl").open()]
    assert {m["file"] for m in metas} == {"a.txt", "b.txt"}


def test_long_unbroken_text_is_cut_into_documents(tmp_path):
    p = tmp_path / "input.txt"
    p.write_text("\n".join(f"line {i}" for i in range(1000)) + "\n")
    pc = prepare(p, progress=False)
    assert sum(pc.summary["documents"].values()) == 20  # 50-line documents
    assert pc.summary["documents"]["val"] > 0


def test_empty_corpus_after_cleaning(tmp_path):
    p = tmp_path / "blank.txt"
    p.write_text("\n \n\u3000\n")
    with pytest.raises(CorpusError, match="empty after cleaning"):
        prepare(p, progress=False)


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_prepare_sentencepiece(text_corpus, model_type):
    pc = prepare(
        text_corpus, tokenizer="sentencepiece", vocab_size=400, model_type=model_type, progress=False
    )
    s = pc.summary
    assert pc.dir.name.startswith("poems-sentencepiece-") and pc.tokenizer.kind == "sentencepiece"
    assert s["tokenizer"]["model_type"] == model_type and s["tokenizer"]["vocab_size"] == 400
    for split in ("train", "val", "test"):
        ids = pc.ids(split)
        assert s["chars_per_token"][split] > 1.0 and s["tokens"][split] == ids.size
        # the id stream decodes back to the documents, and chars counts each <eos> as one character
        assert pc.tokenizer.decode(ids) == "".join(pc.documents(split))
        assert s["chars"][split] == sum(len(d) + 1 for d in pc.documents(split))
    char = prepare(text_corpus, progress=False)
    assert char.dir != pc.dir and char.summary["chars"] == s["chars"]


def test_prune_keeps_the_newest_prepared_copy_per_tokenizer(text_corpus, tmp_path, kit):
    import os

    from textgen.data.store import prune_prepared

    old = prepare(text_corpus, progress=False)
    new = prepare(text_corpus, min_freq=2, progress=False)
    os.utime(old.dir / "summary.json", (1, 1))  # make the age explicit
    other = prepare(kit.write_text_corpus(tmp_path / "other.txt", kit.filler_docs(30)), progress=False)
    assert [d for d, _ in prune_prepared(dry_run=True)] == [old.dir] and old.dir.is_dir()
    assert prune_prepared(["other"]) == []
    gone = prune_prepared()
    assert [d for d, _ in gone] == [old.dir] and gone[0][1] > 0
    assert not old.dir.exists() and new.dir.is_dir() and other.dir.is_dir()
    assert not [p for p in prepared_home().iterdir() if p.name.startswith(".")]
    with pytest.raises(ConfigError, match="--keep"):
        prune_prepared(keep=0)
