"""The store of prepared corpora: where prepared dirs live, loading, listing and pruning them.

from textgen.data.store import list_prepared, load_prepared
pcs = [load_prepared(p) for p in list_prepared("tang")]   # each version prepare() left of "tang"
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textgen.data.split import SPLITS
from textgen.errors import ConfigError, CorpusError
from textgen.paths import data_home
from textgen.tokenizer import Tokenizer, tokenizer_from_json


def prepared_home() -> Path:
    return data_home() / "prepared"


@dataclass
class PreparedCorpus:
    dir: Path
    name: str
    tokenizer: Tokenizer
    summary: dict

    def ids(self, split: str) -> np.ndarray:
        path = self.dir / f"{split}.npy"
        if split not in SPLITS or not path.is_file():
            raise CorpusError(f"{self.dir}: no split {split!r} (expected one of {SPLITS})")
        arr = np.load(path, mmap_mode="r")
        return arr

    def text_path(self, split: str) -> Path:
        if split not in SPLITS:
            raise CorpusError(f"{self.dir}: no split {split!r} (expected one of {SPLITS})")
        return self.dir / f"{split}.txt"

    def documents(self, split: str) -> list[str]:
        text = self.text_path(split).read_text(encoding="utf-8")
        return text[:-1].split("\n\n") if text else []


def load_prepared(path: str | Path) -> PreparedCorpus:
    path = Path(path)
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        tok = tokenizer_from_json((path / "tokenizer.json").read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CorpusError(f"{path}: not a prepared corpus ({Path(e.filename).name} missing)") from e
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path}/summary.json: not valid JSON ({e})") from e
    return PreparedCorpus(dir=path, name=summary["name"], tokenizer=tok, summary=summary)


def is_prepared_dir(path: Path) -> bool:
    return path.is_dir() and (path / "summary.json").is_file() and (path / "tokenizer.json").is_file()


def list_prepared(name: str) -> list[Path]:
    home = prepared_home()
    return sorted(p for p in home.glob(f"{name}-*") if is_prepared_dir(p)) if home.is_dir() else []


def prune_prepared(
    names: list[str] | None = None, keep: int = 1, dry_run: bool = False
) -> list[tuple[Path, int]]:
    """Delete all but the `keep` newest prepared dirs of each corpus name and tokenizer kind (older
    versions left behind by manifest or option changes). Returns (dir, bytes) of what went (or
    would go, with dry_run). A checkpoint whose corpus went prepares it again when it needs it."""
    if keep < 1:
        raise ConfigError(f"--keep must be at least 1, got {keep}")
    home = prepared_home()
    groups: dict[tuple[str, str], list[Path]] = {}
    for p in sorted(home.iterdir()) if home.is_dir() else []:
        if not is_prepared_dir(p):
            continue
        summary = json.loads((p / "summary.json").read_text(encoding="utf-8"))
        name, kind = summary.get("name", ""), summary.get("tokenizer", {}).get("kind", "")
        if names and name not in names:
            continue
        groups.setdefault((name, kind), []).append(p)
    gone = []
    for dirs in groups.values():
        dirs.sort(key=lambda d: (d / "summary.json").stat().st_mtime, reverse=True)
        for d in dirs[keep:]:
            size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
            if not dry_run:
                # Renamed first so that a half-deleted dir never looks prepared.
                trash = d.with_name(f".{d.name}.pruned-{os.getpid()}")
                os.replace(d, trash)
                shutil.rmtree(trash, ignore_errors=True)
            gone.append((d, size))
    return gone
