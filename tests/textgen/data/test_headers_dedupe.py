"""Tang-style corpora: computed form + title header lines, variant characters, near-duplicate poems,
and splits that follow a poem's body (not its header) and keep poems sharing a line together."""

from __future__ import annotations

import base64
import hashlib

import pytest

from textgen.data import prepare
from textgen.data.clean import Cleaner, classical_form, clean_title, form_name
from textgen.data.manifest import CleanSpec, SplitSpec
from textgen.data.split import assign, line_groups
from textgen.data.variants import normalise_variants


@pytest.mark.parametrize(
    "text, form",
    [
        ("白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。", "五绝"),
        ("朝辞白帝彩云间，千里江陵一日还。\n两岸猿声啼不住，轻舟已过万重山。", "七绝"),
        ("一二三四五，一二三四五。\n" * 4, "五律"),
        ("一二三四五六七，一二三四五六七。\n" * 4, "七律"),
        ("一二三四五，一二三四五。\n" * 3, "五古"),
        ("一二三四五，一二三四五六七。", "杂言"),
        ("大风起兮云飞扬，威加海内兮归故乡。", "骚体"),
        ("关关雎鸠，在河之洲。", "四言"),
    ],
)
def test_classical_form_from_shape(text, form):
    assert classical_form(text.strip()) == form


def test_form_name_of_line_lengths():
    assert form_name([5, 5, 5, 5]) == "五绝" and form_name([7] * 8) == "七律" and form_name([6, 6]) == "六言"


def test_clean_title_drops_notes_and_brackets():
    assert clean_title("郊庙歌辞 祭[太]社乐章 肃和") == "郊庙歌辞·祭太社乐章·肃和"
    assert clean_title("别苏徯（赴湖南幕）") == "别苏徯"
    assert clean_title("（一作）") == ""
    assert len(clean_title("长" * 80)) == 30


def test_variants_are_normalised_but_legitimate_characters_kept():
    assert normalise_variants("秋风吹鴈影，倚劒疎林") == "秋风吹雁影，倚剑疏林"
    assert normalise_variants("乾坤日夜浮，神祇") == "乾坤日夜浮，神祇"
    on = Cleaner(CleanSpec(opencc="t2s", variants=True, min_chars=1))
    off = Cleaner(CleanSpec(opencc="t2s", min_chars=1))
    assert on.clean(["歸鴈"])[0] == "归雁" and off.clean(["歸鴈"])[0] == "归鴈"


def test_near_duplicates_are_dropped_with_a_reason():
    c = Cleaner(CleanSpec(min_chars=1, dedupe=True, near_dedupe=0.5))
    a = ["白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"]
    assert c(a)[0] is not None
    # Two of four lines changed: half the verse lines already seen -> the same poem again.
    assert c(["白日依山尽，黄河入海流。", "欲看千里月，更上一高楼。"]) == (None, "near_duplicate")
    # One line in common of four: a different poem that quotes a line.
    assert c(["白日依山尽，青山隔水流。", "孤舟何处去，远客不胜愁。"])[0] is not None
    assert c.dropped == {"near_duplicate": 1}


def test_poems_sharing_a_line_form_one_group_and_one_split():
    texts = [
        "甲乙丙丁戊，子丑寅卯辰。",
        "天地玄黄宇，子丑寅卯辰。",
        "日月盈昃辰，天地玄黄宇。",
        "别的诗句子，另外一首诗。",
    ]
    assert line_groups(texts) == [0, 0, 0, 3]
    spec = SplitSpec(train=0.34, val=0.33, test=0.33)
    for salt in "abcdefgh":
        where = assign(texts, SplitSpec(**{**spec.__dict__, "salt": salt}), shared_lines=texts)
        assert where[0] == where[1] == where[2]


def _tgz_manifest(tmp_path, kit, entries, extra_read="", extra_split="", tgz=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    tgz = tgz or kit.make_poetry_tgz(tmp_path / "p.tgz", {"poems/a.json": entries})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    text = kit.poetry_manifest("t", integrity, "poems/*.json")
    text = text.replace(
        'metadata = ["author", "title", "rhythmic"]', f'metadata = ["author", "title"]\n{extra_read}'
    )
    text = text.replace("dedupe = true", "dedupe = true\nvariants = true\nnear_dedupe = 0.5")
    return tgz, kit.write_manifest(tmp_path / "t", text + extra_split)


def test_form_and_title_header_lines(tmp_path, kit, fake_npm):
    entries = [
        {"title": f"登樓（一作）{i}", "author": "某", "paragraphs": d}
        for i, d in enumerate(kit.filler_docs(60))
    ]
    entries.append(
        {
            "title": "歸鴈",
            "author": "某",
            "paragraphs": ["歸鴈來時節，秋風滿故鄉。", "長安一片月，萬戶擣衣聲。"],
        }
    )
    tgz, folder = _tgz_manifest(tmp_path, kit, entries, 'header = "{form}\\n{title}"')
    fake_npm.set_tarball(tgz)
    pc = prepare(folder, progress=False)
    assert pc.summary["header_lines"] == 2
    docs = [d for s in ("train", "val", "test") for d in pc.documents(s)]
    assert len(docs) == 61
    assert all(d.split("\n")[0] == "五绝" for d in docs)
    assert "五绝\n归雁\n归雁来时节，秋风满故乡。" in "\n\n".join(docs)
    assert all(d.split("\n")[1].startswith("登楼") for d in docs if "归雁" not in d)


def test_split_by_body_is_the_same_with_or_without_a_header(tmp_path, kit, fake_npm):
    entries = [
        {"title": f"题{i}", "author": "某", "paragraphs": d} for i, d in enumerate(kit.filler_docs(80))
    ]
    split = '\n[split]\nidentity = "body"\n'
    tgz, plain = _tgz_manifest(tmp_path / "a", kit, entries, "", split)
    fake_npm.set_tarball(tgz)
    pa = prepare(plain, progress=False)
    _, headed = _tgz_manifest(tmp_path / "b", kit, entries, 'header = "{form}\\n{title}"', split, tgz)
    pb = prepare(headed, progress=False)

    def where(pc, strip):
        return {d.split("\n", strip)[-1]: s for s in ("train", "val", "test") for d in pc.documents(s)}

    assert where(pa, 0) == where(pb, 2)


def test_a_checkpoint_keeps_its_corpus_when_the_manifest_changes(tmp_path, kit, fake_npm, monkeypatch):
    import json
    import shutil

    from textgen.data.prepare import prepare_recorded
    from textgen.train.data import TrainData

    entries = [
        {"title": f"题{i}", "author": "某", "paragraphs": d} for i, d in enumerate(kit.filler_docs(60))
    ]
    tgz, folder = _tgz_manifest(tmp_path / "p", kit, entries)
    fake_npm.set_tarball(tgz)
    pc = prepare(folder, progress=False)
    recorded = json.loads(json.dumps(TrainData.from_prepared(pc).describe()))
    toml = folder / "corpus.toml"
    toml.write_text(toml.read_text().replace('kind = "poem"', 'kind = "poem"\nheader = "{form}\\n{title}"'))
    shutil.rmtree(pc.dir)  # another machine, and the shipped manifest has moved on
    again = prepare_recorded(recorded)
    assert again.dir.name == pc.dir.name and again.documents("test") == pc.documents("test")
    assert prepare(folder, progress=False).documents("train")[0].startswith("五绝\n")  # the new one
