"""Readers: raw files -> documents (a list of lines plus metadata), one reader per `read.format`.

    for doc in read_documents(manifest, raw):   # raw from textgen.data.fetch.fetch
        doc.lines, doc.meta                      # ["床前明月光，疑是地上霜。", ...], {"author": "李白"}

- chinese-poetry: JSON arrays of objects inside the npm tarball (read straight from the .tgz); one
  line per entry of the text field (`paragraphs`).
- stanzas: lyrics, one line per line; blank or space-only lines separate documents.
- qqmusic: songs separated by a line of 46 hyphens; the first line `title - artist` is a header.
- text: any UTF-8 text; blocks separated by blank lines, long blocks cut every `max_lines` lines.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from textgen.data.fetch import RawFiles
from textgen.data.manifest import Manifest
from textgen.errors import CorpusError

QQ_SEPARATOR = "-" * 46


@dataclass
class Document:
    lines: list[str]
    meta: dict = field(default_factory=dict)


def read_text(path: Path) -> str:
    """A file as text; invalid UTF-8 is an error naming the file and byte offset."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{path}: invalid UTF-8 at byte offset {e.start}") from e
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _blocks(text: str) -> Iterator[list[str]]:
    """Runs of non-blank lines; a line of only whitespace counts as blank."""
    block: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def read_chinese_poetry(m: Manifest, tarball: Path) -> Iterator[Document]:
    try:
        tar = tarfile.open(tarball, "r:gz")
    except (tarfile.TarError, OSError) as e:
        raise CorpusError(f"{tarball}: not a readable .tgz ({e})") from e
    with tar:
        matched = 0
        # Stream the members in archive order: no full extraction, one JSON file in memory at a time.
        for member in tar:
            name = member.name.removeprefix("package/")
            if not member.isfile() or not any(fnmatch.fnmatchcase(name, g) for g in m.read.members):
                continue
            matched += 1
            raw = tar.extractfile(member).read()
            try:
                entries = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                raise CorpusError(f"{tarball}:{name}: invalid UTF-8 at byte offset {e.start}") from e
            except json.JSONDecodeError as e:
                raise CorpusError(f"{tarball}:{name}: invalid JSON ({e})") from e
            if not isinstance(entries, list):
                raise CorpusError(f"{tarball}:{name}: expected a JSON array of poems")
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    yield Document([], {"malformed": f"{name}[{i}]"})
                    continue
                lines = entry.get(m.read.text)
                meta = {k: entry[k] for k in m.read.metadata if k in entry}
                if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
                    meta["malformed"] = f"{name}[{i}]"
                    lines = []
                yield Document(lines, meta)
        if matched == 0:
            raise CorpusError(f"{tarball}: no member matches read.members {m.read.members}")


def read_stanzas(path: Path, meta: dict) -> Iterator[Document]:
    for block in _blocks(read_text(path)):
        yield Document(block, dict(meta))


def read_qqmusic(path: Path, meta: dict) -> Iterator[Document]:
    song: list[str] = []
    for line in read_text(path).split("\n") + [QQ_SEPARATOR]:
        if line.strip() != QQ_SEPARATOR:
            song.append(line)
            continue
        lines = [x for x in song if x.strip()]
        song = []
        if not lines:
            continue
        header, body = lines[0], lines[1:]
        title = header.split(" - ")[0].strip()
        yield Document(body, {**meta, "title": title})


def read_plain(path: Path, meta: dict, max_lines: int) -> Iterator[Document]:
    for block in _blocks(read_text(path)):
        step = max_lines or len(block)
        for i in range(0, len(block), step):
            yield Document(block[i : i + step], dict(meta))


def read_documents(m: Manifest, raw: RawFiles) -> Iterator[Document]:
    fmt = m.read.format
    if fmt == "chinese-poetry":
        yield from read_chinese_poetry(m, raw.tarball)
        return
    for path, f in raw.files:
        meta = dict(f.meta)
        if fmt == "stanzas":
            yield from read_stanzas(path, meta)
        elif fmt == "qqmusic":
            yield from read_qqmusic(path, meta)
        else:
            yield from read_plain(
                path, {**meta, "file": f.path} if len(raw.files) > 1 else meta, m.read.max_lines
            )


def count_hint(m: Manifest) -> int | None:
    """A rough document count for progress bars, when the manifest says (e.g. '57,607 poems')."""
    hit = re.search(r"([\d,]{4,}) (?:poems|ci|songs|documents)", m.description)
    return int(hit.group(1).replace(",", "")) if hit else None
