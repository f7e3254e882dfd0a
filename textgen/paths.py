"""Where textgen keeps downloads and prepared data.

The data home is `$TEXTGEN_HOME` when set, else `~/.cache/textgen`. Lyrics corpora that cannot be
downloaded here are read from a local mirror: `$TEXTGEN_MIRROR` (e.g. `../shared/corpora`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def data_home() -> Path:
    """The root of textgen's cache (downloads/, prepared/)."""
    env = os.environ.get("TEXTGEN_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "textgen"


def mirror_dir() -> Path | None:
    """The local mirror of lyrics corpora, if one is configured."""
    env = os.environ.get("TEXTGEN_MIRROR")
    return Path(env).expanduser() if env else None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_readable(path: str | Path) -> None:
    """Give a temp file the mode a plain open() would have (mkstemp makes it 0600, which a container
    running as another user cannot read)."""
    os.chmod(path, 0o666 & ~_umask())


def atomic_write(path: Path, write) -> None:
    """Have `write(tmp)` write a temp file beside `path`, then move it into place: a crash leaves
    either the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (atomic_write)."""
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of atomic_write_bytes."""
    atomic_write_bytes(path, text.encode("utf-8"))
