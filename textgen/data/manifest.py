"""Corpus manifests: `corpora/<name>/corpus.toml` says where the raw data comes from, how it is verified,
read, cleaned and split. A plain text file or folder gets an implicit manifest.

    from textgen.data.manifest import resolve
    src = resolve("tang")            # or "corpora/tang", "my_lyrics.txt", "lyrics/"
    src.manifest.read.format         # "chinese-poetry"
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from textgen.errors import CorpusError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SOURCE_TYPES = ("npm", "mirror", "local", "include")
FORMATS = ("chinese-poetry", "stanzas", "qqmusic", "text", "include")
SCRIPTS = ("simplified", "traditional", "keep")
KINDS = ("poem", "lyrics", "text")


@dataclass
class MirrorFile:
    path: str  # relative to the corpus' mirror folder
    sha256: str | None = None  # None = not pinned (plain local files)
    meta: dict = field(default_factory=dict)  # e.g. {"artist": "周杰伦"}


@dataclass
class SourceSpec:
    type: str  # npm | mirror | local | include
    package: str = ""  # npm: name
    version: str = ""  # npm: exact version
    integrity: str = ""  # npm: "sha512-<base64>"
    repository: str = ""  # mirror: the public origin
    commit: str = ""
    mirror_subdir: str = ""  # mirror: folder under the mirror root (default: the corpus name)
    files: list[MirrorFile] = field(default_factory=list)  # mirror/local files
    corpora: list[str] = field(default_factory=list)  # include: other corpus folders (relative) or names


@dataclass
class ReadSpec:
    format: str  # chinese-poetry | stanzas | qqmusic | text | include
    kind: str = "text"  # poem | lyrics | text (poems get a form distribution)
    members: list[str] = field(default_factory=list)  # chinese-poetry: globs inside the tarball
    text: str = "paragraphs"  # chinese-poetry: the field holding the lines
    metadata: list[str] = field(default_factory=list)  # fields kept as metadata
    max_lines: int = 0  # text: split blocks longer than this into several documents (0 = never)
    # Lines made from metadata that open each document, e.g. "{rhythmic}" or "{form}\n{title}": the
    # model learns them as conditions, so a prompt of "浣溪沙\n" asks for that tune. `form` is computed
    # from the poem's shape (五绝, 七律, 杂言, …). Documents lacking a field get no header.
    header: str = ""


@dataclass
class CleanSpec:
    script: str = "keep"  # simplified | traditional | keep (OpenCC)
    opencc: str = ""  # OpenCC config, e.g. "t2s"; empty = no conversion
    min_chars: int = 1  # per document, newlines not counted
    max_chars: int = 100_000
    spaces: str = "collapse"  # collapse | remove (poems have no meaningful spaces)
    punctuation: bool = True  # ASCII punctuation next to CJK -> full-width
    dedupe: bool = False  # drop exact duplicate documents
    drop_patterns: dict[str, str] = field(default_factory=dict)  # reason -> regex: drop doc on match
    strip_line_patterns: list[str] = field(default_factory=list)  # regexes: remove matching lines
    remove_patterns: list[str] = field(default_factory=list)  # regexes: delete the match, keep the line
    variants: bool = False  # map variant characters (异体字 such as 鴈 劒 疎) to their standard forms
    # Drop a document when at least this share of its verse lines (>= 4 characters) already occurred in
    # a kept one: the same poem under another title or author (0 = off).
    near_dedupe: float = 0.0


@dataclass
class SplitSpec:
    train: float = 0.90
    val: float = 0.05
    test: float = 0.05
    salt: str = ""  # changes the assignment without changing the corpus
    # What the split hashes: "text" (the whole document) or "body" (without its header lines), so a
    # document lands in the same split whichever corpus (and header) includes it.
    identity: str = "text"
    group_shared_lines: bool = False  # documents sharing a verse line land in one split (no leak)
    # include: each corpus keeps the split it has alone, so a model trained on the union is measured
    # on its own corpus's test split; later corpora's verse that meets it is held out with it.
    by_part: bool = False


@dataclass
class Manifest:
    name: str
    description: str
    source: SourceSpec
    read: ReadSpec
    clean: CleanSpec = field(default_factory=CleanSpec)
    split: SplitSpec = field(default_factory=SplitSpec)
    path: Path | None = None  # the corpus.toml it came from (None for implicit manifests)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("path")
        # Fields added later are left out while unused, so older manifests keep their hash (and
        # checkpoints trained on them still find their prepared corpus).
        if not d["source"]["corpora"]:
            del d["source"]["corpora"]
        if not d["read"]["header"]:
            del d["read"]["header"]
        for table, key in _OPTIONAL:
            if d[table][key] == _DEFAULTS[table][key]:
                del d[table][key]
        return d

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


# Fields added after models shipped: left out of to_dict() while they hold their default.
_OPTIONAL = [
    ("clean", "variants"),
    ("clean", "near_dedupe"),
    ("split", "identity"),
    ("split", "group_shared_lines"),
    ("split", "by_part"),
]
_DEFAULTS = {"clean": dataclasses.asdict(CleanSpec()), "split": dataclasses.asdict(SplitSpec())}


def _build(cls, data: object, where: str):
    """Dataclass `cls` from a TOML table, naming the offending field on any problem."""
    if not isinstance(data, dict):
        raise CorpusError(f"{where}: expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise CorpusError(f"{where}: unknown field {key!r} (allowed: {', '.join(sorted(fields))})")
        kwargs[key] = value
    try:
        obj = cls(**kwargs)
    except TypeError as e:
        missing = [f.name for f in fields.values() if f.name not in kwargs and _required(f)]
        raise CorpusError(f"{where}: missing field {missing[0] if missing else '?'!r}") from e
    for f in fields.values():
        value = getattr(obj, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if default is None and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        if default is not None and not isinstance(value, type(default)):
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                setattr(obj, f.name, float(value))
                continue
            raise CorpusError(
                f"{where}.{f.name}: expected {type(default).__name__}, got {type(value).__name__}"
            )
    return obj


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def parse_manifest(data: dict, path: Path | None = None) -> Manifest:
    """Validate a manifest dict (as read from TOML); errors name the file and the field."""
    where = str(path) if path else "manifest"
    for key in ("name", "source", "read"):
        if key not in data:
            raise CorpusError(f"{where}: missing field {key!r}")
    allowed = {"name", "description", "source", "read", "clean", "split"}
    for key in data:
        if key not in allowed:
            raise CorpusError(f"{where}: unknown field {key!r} (allowed: {', '.join(sorted(allowed))})")
    name = data["name"]
    if not isinstance(name, str) or not name or "/" in name:
        raise CorpusError(f"{where}: field 'name' must be a non-empty string without '/'")
    source = dict(data["source"]) if isinstance(data["source"], dict) else data["source"]
    if isinstance(source, dict):
        files = source.pop("files", [])
        if not isinstance(files, list):
            raise CorpusError(f"{where}: source.files: expected a list of tables")
        source = _build(SourceSpec, source, f"{where}: source")
        source.files = [_build(MirrorFile, f, f"{where}: source.files[{i}]") for i, f in enumerate(files)]
    else:
        raise CorpusError(f"{where}: source: expected a table")
    m = Manifest(
        name=name,
        description=str(data.get("description", "")),
        source=source,
        read=_build(ReadSpec, data["read"], f"{where}: read"),
        clean=_build(CleanSpec, data.get("clean", {}), f"{where}: clean"),
        split=_build(SplitSpec, data.get("split", {}), f"{where}: split"),
        path=path,
    )
    _check(m, where)
    return m


def _check(m: Manifest, where: str) -> None:
    s = m.source
    if s.type not in SOURCE_TYPES:
        raise CorpusError(f"{where}: source.type must be one of {SOURCE_TYPES}, got {s.type!r}")
    if s.type == "npm":
        for key in ("package", "version", "integrity"):
            if not getattr(s, key):
                raise CorpusError(f"{where}: source.{key} is required for an npm source")
        if not s.integrity.startswith("sha512-"):
            raise CorpusError(f"{where}: source.integrity must look like 'sha512-<base64>'")
    if s.type == "mirror":
        if not s.files:
            raise CorpusError(f"{where}: source.files is required for a mirror source")
        for i, f in enumerate(s.files):
            if f.sha256 is not None and (len(f.sha256) != 64 or not _is_hex(f.sha256)):
                raise CorpusError(f"{where}: source.files[{i}].sha256 must be 64 hex digits")
    if s.type == "include" or m.read.format == "include":
        if s.type != "include" or m.read.format != "include" or not s.corpora:
            raise CorpusError(
                f"{where}: source.type 'include' needs source.corpora and read.format 'include'"
            )
    if m.read.format not in FORMATS:
        raise CorpusError(f"{where}: read.format must be one of {FORMATS}, got {m.read.format!r}")
    if m.read.kind not in KINDS:
        raise CorpusError(f"{where}: read.kind must be one of {KINDS}, got {m.read.kind!r}")
    if m.read.format == "chinese-poetry" and (s.type != "npm" or not m.read.members):
        raise CorpusError(f"{where}: read.members (globs) and an npm source are needed for chinese-poetry")
    if m.read.header and any("{" not in line for line in m.read.header.split("\n")):
        raise CorpusError(
            f"{where}: read.header: each line must name a metadata field, e.g. '{{artist}}' or '{{form}}\\n{{title}}'"
        )
    if m.read.format != "chinese-poetry" and s.type == "npm":
        raise CorpusError(f"{where}: read.format {m.read.format!r} reads files: use a mirror or local source")
    if m.clean.script not in SCRIPTS:
        raise CorpusError(f"{where}: clean.script must be one of {SCRIPTS}, got {m.clean.script!r}")
    cc = m.clean.opencc
    if cc and m.clean.script != "keep" and ("2s" in cc) != (m.clean.script == "simplified"):
        raise CorpusError(f"{where}: clean.opencc {cc!r} does not produce clean.script {m.clean.script!r}")
    if m.clean.spaces not in ("collapse", "remove"):
        raise CorpusError(f"{where}: clean.spaces must be 'collapse' or 'remove'")
    if m.clean.min_chars < 0 or m.clean.max_chars < m.clean.min_chars:
        raise CorpusError(f"{where}: clean.min_chars/max_chars must satisfy 0 <= min_chars <= max_chars")
    if not 0.0 <= m.clean.near_dedupe <= 1.0:
        raise CorpusError(f"{where}: clean.near_dedupe must be a share between 0 and 1 (0 = off)")
    sp = m.split
    if sp.by_part and m.source.type != "include":
        raise CorpusError(f"{where}: split.by_part is for include corpora (source.type 'include')")
    if sp.identity not in ("text", "body"):
        raise CorpusError(f"{where}: split.identity must be 'text' or 'body', got {sp.identity!r}")
    if min(sp.train, sp.val, sp.test) < 0 or abs(sp.train + sp.val + sp.test - 1.0) > 1e-6:
        raise CorpusError(f"{where}: split.train/val/test must be >= 0 and sum to 1")


def _is_hex(s: str) -> bool:
    try:
        int(s, 16)
        return True
    except ValueError:
        return False


def load_manifest(path: Path) -> Manifest:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise CorpusError(f"{path}: no such manifest") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: not valid TOML: {e}") from e
    return parse_manifest(data, path)


def text_manifest(path: Path) -> Manifest:
    """The implicit manifest of a plain UTF-8 text file or a folder of .txt files: documents are blocks
    separated by blank lines, text kept as written apart from whitespace tidying."""
    path = Path(path).resolve()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise CorpusError(f"{path}: folder has no .txt files")
        rel = [MirrorFile(str(p.relative_to(path))) for p in files]
        name = path.name
    else:
        rel = [MirrorFile(path.name)]
        name = path.stem
    return Manifest(
        name=name or "text",
        description=f"plain text from {path}",
        source=SourceSpec(type="local", files=rel),
        # Long unbroken files (char-rnn's input.txt) become documents of at most 50 lines so that the
        # split still has something to put in val and test.
        read=ReadSpec(format="text", kind="text", max_lines=50),
        clean=CleanSpec(punctuation=False),
        path=path,
    )


def corpora_dirs() -> list[Path]:
    """Where corpus names are looked up: ./corpora, then the corpora/ folder next to the package."""
    here = Path(__file__).resolve().parents[2] / "corpora"
    dirs = [Path.cwd() / "corpora", here]
    return list(dict.fromkeys(d for d in dirs if d.is_dir()))


def known_corpora() -> dict[str, Path]:
    """name -> corpus.toml for every shipped corpus."""
    found: dict[str, Path] = {}
    for d in corpora_dirs():
        for toml in sorted(d.glob("*/corpus.toml")):
            found.setdefault(toml.parent.name, toml)
    return found


@dataclass
class Source:
    """What a `prepare`/`fetch` argument refers to."""

    manifest: Manifest
    root: Path | None = None  # local/plain-text sources: the folder the file paths are relative to


def included(m: Manifest) -> list[Source]:
    """The corpora an `include` manifest combines: folders relative to its own, else corpus names."""
    out = []
    for entry in m.source.corpora:
        p = m.path.parent / entry if m.path else Path(entry)
        src = resolve(p if (p / "corpus.toml").is_file() else entry)
        if src.manifest.source.type == "include":
            raise CorpusError(f"{m.path or m.name}: included corpus {entry!r} is itself an include")
        out.append(src)
    return out


def resolve(source: str | Path) -> Source:
    """A corpus name, corpus dir, corpus.toml, plain text file or folder -> Source."""
    p = Path(source).expanduser()
    if p.exists():
        if p.is_file() and p.name == "corpus.toml":
            return Source(load_manifest(p))
        if p.is_dir() and (p / "corpus.toml").is_file():
            return Source(load_manifest(p / "corpus.toml"))
        m = text_manifest(p)
        return Source(m, root=m.path if p.is_dir() else m.path.parent)
    known = known_corpora()
    if str(source) in known:
        return Source(load_manifest(known[str(source)]))
    names = ", ".join(known) or "none found"
    raise CorpusError(f"unknown corpus {str(source)!r}: not a file or folder, and not one of: {names}")
