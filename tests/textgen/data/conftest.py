"""Tiny corpora built on the fly: plain text, chinese-poetry JSON packed in an npm-style .tgz, and the
two lyrics layouts. Strings are a few famous lines typed for the tests plus generated filler."""

from __future__ import annotations

import io
import json
import random
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

POEMS = [
    ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"],
    ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"],
    ["春眠不覺曉，處處聞啼鳥。", "夜來風雨聲，花落知多少。"],
]
FILLER = "山水花月風雲江湖天地春秋日夜"


def filler_docs(n: int, seed: int = 0, lines: int = 2, width: int = 5) -> list[list[str]]:
    """n distinct 'poems' of random characters (traditional forms included, for OpenCC tests)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append(
            [
                "".join(rng.choice(FILLER) for _ in range(width))
                + "，"
                + "".join(rng.choice(FILLER) for _ in range(width))
                + "。"
                for _ in range(lines)
            ]
        )
    return out


def write_text_corpus(path: Path, docs: list[list[str]]) -> Path:
    path.write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    return path


def make_poetry_tgz(path: Path, files: dict[str, list[dict]]) -> Path:
    """An npm-pack-style tarball: members under package/, JSON arrays of poems."""
    with tarfile.open(path, "w:gz") as tar:
        for name, entries in files.items():
            data = json.dumps(entries, ensure_ascii=False).encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_manifest(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "corpus.toml").write_text(text, encoding="utf-8")
    return path


def poetry_manifest(name: str, integrity: str, members: str, extra: str = "") -> str:
    return f"""
name = "{name}"
description = "test corpus"
[source]
type = "npm"
package = "chinese-poetry"
version = "9.9.9"
integrity = "{integrity}"
[read]
format = "chinese-poetry"
kind = "poem"
members = ["{members}"]
metadata = ["author", "title", "rhythmic"]
[clean]
script = "simplified"
opencc = "t2s"
spaces = "remove"
min_chars = 10
max_chars = 200
dedupe = true
[clean.drop_patterns]
damage = '[□＿_]'
editorial = '[（）()\\[\\]〖〗【】]'
{extra}
"""


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """A stand-in `npm` (via $TEXTGEN_NPM) whose `pack` copies $FAKE_NPM_TGZ into the cwd and prints
    what npm pack --json prints; every call is logged to $FAKE_NPM_LOG."""
    script = tmp_path / "npm"
    log = tmp_path / "npm.log"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$@" >> "$FAKE_NPM_LOG"\n'
        "name=chinese-poetry-9.9.9.tgz\n"
        'cp "$FAKE_NPM_TGZ" "$name" || exit 1\n'
        'printf \'[{"filename": "%s", "files": []}]\\n\' "$name"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("TEXTGEN_NPM", str(script))
    monkeypatch.setenv("FAKE_NPM_LOG", str(log))
    return SimpleNamespace(log=log, set_tarball=lambda p: monkeypatch.setenv("FAKE_NPM_TGZ", str(p)))


@pytest.fixture(autouse=True)
def _own_data_home(tmp_path, monkeypatch):
    # One data home per test, so that "nothing half-written" can be checked by listing it.
    monkeypatch.setenv("TEXTGEN_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TEXTGEN_MIRROR", raising=False)


@pytest.fixture
def text_corpus(tmp_path: Path) -> Path:
    return write_text_corpus(tmp_path / "poems.txt", [*POEMS, *filler_docs(80)])


@pytest.fixture
def kit() -> SimpleNamespace:
    """The builders above (test modules cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        POEMS=POEMS,
        filler_docs=filler_docs,
        write_text_corpus=write_text_corpus,
        make_poetry_tgz=make_poetry_tgz,
        write_manifest=write_manifest,
        poetry_manifest=poetry_manifest,
    )
