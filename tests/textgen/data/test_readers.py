from __future__ import annotations

import json

from textgen.data import prepare
from textgen.data.fetch import sri_sha512

SEP = "-" * 46


def test_chinese_poetry_tgz_converted_to_simplified(tmp_path, kit, fake_npm):
    poems = [
        {"author": "李白", "title": "靜夜思", "paragraphs": kit.POEMS[0]},
        {"author": "王之渙", "title": "登鸛雀樓", "paragraphs": kit.POEMS[1]},
        {"author": "某", "title": "殘", "paragraphs": ["□□明月光，疑是地上霜。"]},
        {"author": "某", "title": "注", "paragraphs": ["舉頭望明月（一作山月），低頭思故鄉。"]},
        {"author": "某", "title": "短", "paragraphs": ["明月。"]},
        {"author": "某", "title": "空", "paragraphs": []},
        {"author": "某", "title": "壞", "paragraphs": "not a list"},
        {"author": "李白", "title": "靜夜思", "paragraphs": kit.POEMS[0]},  # duplicate
    ]
    filler = [{"author": "無名", "title": str(i), "paragraphs": p} for i, p in enumerate(kit.filler_docs(40))]
    tgz = kit.make_poetry_tgz(
        tmp_path / "pkg.tgz",
        {"dist/poet.tang.0.json": poems, "dist/poet.tang.1000.json": filler, "dist/other.json": poems},
    )
    fake_npm.set_tarball(tgz)
    corpus = kit.write_manifest(
        tmp_path / "t", kit.poetry_manifest("t", sri_sha512(tgz), "dist/poet.tang.*.json")
    )
    pc = prepare(corpus, progress=False)
    s = pc.summary
    assert s["read_documents"] == 48 and s["kept_documents"] == 42
    assert s["dropped"] == {
        "damage": 1,
        "editorial": 1,
        "too_short": 1,
        "empty": 1,
        "malformed": 1,
        "duplicate": 1,
    }
    everything = "".join(pc.text_path(x).read_text() for x in ("train", "val", "test"))
    assert "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。" in everything  # OpenCC t2s, line per entry
    assert "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。" in everything
    assert not set("舉頭鄉盡黃樓") & set(everything)
    assert s["forms"] == {"4x5": 42}
    metas = [json.loads(x) for x in (pc.dir / "train.meta.jsonl").open()]
    metas += [json.loads(x) for split in ("val", "test") for x in (pc.dir / f"{split}.meta.jsonl").open()]
    assert {"author": "李白", "title": "靜夜思"} in metas


def test_songci_rhythmic_metadata(tmp_path, kit, fake_npm):
    ci = [
        {
            "author": "苏轼",
            "rhythmic": "水调歌头",
            "paragraphs": ["明月几时有？把酒问青天。", "不知天上宫阙，今夕是何年。"],
        }
    ]
    ci += [{"author": "某", "rhythmic": "浣溪沙", "paragraphs": p} for p in kit.filler_docs(20, lines=3)]
    tgz = kit.make_poetry_tgz(tmp_path / "ci.tgz", {"dist/songci/ci.song.0.json": ci})
    fake_npm.set_tarball(tgz)
    corpus = kit.write_manifest(
        tmp_path / "ci", kit.poetry_manifest("ci", sri_sha512(tgz), "dist/songci/ci.song.*.json")
    )
    pc = prepare(corpus, progress=False)
    assert pc.summary["metadata"]["rhythmic"] == {"浣溪沙": 20, "水调歌头": 1}
    assert pc.summary["forms"]["irregular"] == 1 and pc.summary["forms"]["6x5"] == 20


def _mirror_manifest(name: str, fmt: str, files: list[tuple[str, str]], extra: str = "") -> str:
    entries = "".join(f'[[source.files]]\npath = "{p}"\nmeta = {{ artist = "{a}" }}\n' for p, a in files)
    return (
        f'name = "{name}"\n[source]\ntype = "mirror"\nrepository = "r"\ncommit = "c"\n{entries}'
        f'[read]\nformat = "{fmt}"\nkind = "lyrics"\n[clean]\nmin_chars = 2\n{extra}'
    )


def test_qqmusic_layout(tmp_path, kit):
    songs = []
    for i in range(30):
        songs += [f"歌{i} - 歌手甲 (Singer A)", "词：某人", "曲：某人", "编曲：某人", "制作人 Producer：某人"]
        songs += [f"第{i}句 天青色等烟雨", "而我在等你", "女：炊烟袅袅升起", SEP]
    mirror = tmp_path / "mirror" / "qq"
    mirror.mkdir(parents=True)
    (mirror / "甲_歌词.txt").write_text("\n".join(songs) + "\n")
    strip = (
        "strip_line_patterns = ['^[^：:]{0,24}(词|曲|编曲|制作)[^：:]{0,24}[：:]']\n"
        "remove_patterns = ['^(男|女|合)[：:]']\n"
    )
    corpus = kit.write_manifest(
        tmp_path / "qq", _mirror_manifest("qq", "qqmusic", [("甲_歌词.txt", "甲")], strip)
    )
    pc = prepare(corpus, progress=False, mirror=tmp_path / "mirror")
    docs = [d for s in ("train", "val", "test") for d in pc.documents(s)]
    assert len(docs) == 30
    assert "第0句 天青色等烟雨\n而我在等你\n炊烟袅袅升起" in docs
    assert not any(x in "".join(docs) for x in ("词：", "曲：", "歌手甲", "Producer", "---"))
    assert pc.summary["metadata"]["artist"] == {"甲": 30}


def test_stanzas_layout(tmp_path, kit):
    text = "".join(
        f"第{i}段 我在这里\n  等着你\n \n\n" if i % 2 else f"第{i}段 没有你\n\u3000\n" for i in range(40)
    )
    mirror = tmp_path / "m" / "wf"
    mirror.mkdir(parents=True)
    (mirror / "input.txt").write_text(text)
    corpus = kit.write_manifest(tmp_path / "wf", _mirror_manifest("wf", "stanzas", [("input.txt", "汪")]))
    pc = prepare(corpus, progress=False, mirror=tmp_path / "m")
    docs = [d for s in ("train", "val", "test") for d in pc.documents(s)]
    assert len(docs) == 40 and "第1段 我在这里\n等着你" in docs and "第0段 没有你" in docs
