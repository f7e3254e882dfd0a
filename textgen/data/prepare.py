"""Corpus -> prepared directory: cleaned, split text files, a tokenizer, token id arrays, summary.json.

    pc = prepare("tang")                      # or "corpora/tang", "my_lyrics.txt", a prepared dir
    pc.ids("train")                           # np.memmap of token ids, each document then <eos>
    pc.text_path("val").read_text()           # documents separated by blank lines
    pc.summary["chars_per_token"]["val"]

Prepared dirs live in `data_home()/prepared/<name>-<tokenizer>-<hash8>/`, the hash covering the
manifest, the raw files' checksums and the options, so a second call returns the cached dir at once.
They are built in a temp dir and renamed into place: never half-written.
"""

from __future__ import annotations

import array
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from textgen.data.clean import Cleaner, classical_form, clean_title, poem_form
from textgen.data.fetch import fetch
from textgen.data.keywords import KeywordExtractor, keyword_line
from textgen.data.manifest import Source, included, parse_manifest, resolve
from textgen.data.readers import count_hint, read_documents
from textgen.data.split import SPLITS, assign, assign_by_part
from textgen.data.store import PreparedCorpus, is_prepared_dir, load_prepared, prepared_home
from textgen.errors import ConfigError, CorpusError
from textgen.poetry.header import render_header, template_lines
from textgen.tokenizer import CharTokenizer, Tokenizer

# Bump when cleaning/splitting/encoding changes so that old prepared dirs are not reused.
PIPELINE_VERSION = 2
TOKENIZERS = ("char", "sentencepiece")


def train_tokenizer(
    kind: str, docs: list[str], *, vocab_size: int | None, min_freq: int, model_type: str, progress: bool
) -> Tokenizer:
    if kind == "char":
        return CharTokenizer.train(docs, min_freq=min_freq)
    from textgen.tokenizer.spm import SentencePieceTokenizer

    return SentencePieceTokenizer.train(docs, vocab_size=vocab_size or 8000, model_type=model_type)


def _tokenizer_extras(tok: Tokenizer) -> dict:
    cov = getattr(tok, "character_coverage", None)
    return {"character_coverage": round(cov, 6)} if cov is not None else {}


def _encode(tok: Tokenizer, docs: list[str], desc: str, progress: bool) -> np.ndarray:
    ids = array.array("i")
    eos = tok.eos_id
    for doc in tqdm(docs, desc=desc, unit="doc", disable=not progress, leave=False):
        ids.extend(tok.encode(doc, unknown="unk"))
        ids.append(eos)
    dtype = np.uint16 if tok.vocab_size <= 65536 else np.int32
    return np.frombuffer(ids, dtype=np.int32).astype(dtype)


def _header(template: str, meta: dict, text: str, cleaner: Cleaner, keywords=None) -> str | None:
    """The header lines for one document: metadata in the text's script (a title with notes and
    brackets removed), `form` computed from the body, `keywords` by `keywords` (a KeywordExtractor
    fitted on the corpus). None when a field is missing."""
    if "{form}" in template:
        meta = {**meta, "form": classical_form(text)}
    if "{title}" in template and isinstance(meta.get("title"), str):
        meta = {**meta, "title": clean_title(cleaner.convert(meta["title"])) or "无题"}
    if "{keywords}" in template and keywords is not None:
        meta = {**meta, "keywords": keyword_line(keywords.extract(text))}
    return render_header(template, meta)


def _collect(m, raw, progress: bool, header: str = ""):
    """(texts, bodies, metas, dropped, n_read): each kept document with and without its header."""
    cleaner = Cleaner(m.clean)
    kept, n_read = [], 0
    # `with`: the bar is cleared even when reading fails, so the error line prints cleanly.
    with tqdm(
        desc=f"read {m.name}", unit="doc", total=count_hint(m), disable=not progress, leave=False
    ) as bar:
        for doc in read_documents(m, raw):
            n_read += 1
            bar.update()
            text, _ = cleaner(doc.lines, doc.meta)
            if text is not None:
                kept.append((text, doc.meta))
    # Keywords are the corpus's most specific recurring words, so the whole corpus is read first.
    kw = KeywordExtractor.fit(t for t, _ in kept) if "{keywords}" in header else None
    texts, bodies, metas = [], [], []
    for text, meta in kept:
        line = _header(header, meta, text, cleaner, kw) if header else None
        texts.append(f"{line}\n{text}" if line else text)
        bodies.append(text)
        metas.append(meta)
    return texts, bodies, metas, cleaner.dropped, n_read


def _meta_counts(metas: list[dict]) -> dict:
    """Distributions of metadata fields with few distinct values (e.g. artist), for the summary."""
    out = {}
    keys = sorted({k for meta in metas for k in meta})
    for k in keys:
        c = Counter(str(meta[k]) for meta in metas if k in meta)
        if len(c) <= 50:
            out[k] = dict(c.most_common())
    return out


def prepare(
    source: str | Path | Source,
    tokenizer: str = "char",
    vocab_size: int | None = None,
    min_freq: int = 1,
    force: bool = False,
    progress: bool = True,
    *,
    model_type: str = "unigram",
    mirror: str | Path | None = None,
    vocabulary: Tokenizer | None = None,
) -> PreparedCorpus:
    """Fetch (if needed), clean, split, tokenize and write a prepared corpus; cached by content.
    `vocabulary`: encode with this tokenizer (another model's, for a warm start that keeps every row)
    instead of one trained on the train split; characters it lacks become <unk>."""
    if not isinstance(source, Source) and is_prepared_dir(Path(source)):
        return load_prepared(source)
    if tokenizer not in TOKENIZERS:
        raise ConfigError(f"--tokenizer must be one of {', '.join(TOKENIZERS)}, got {tokenizer!r}")
    if model_type not in ("unigram", "bpe"):
        raise ConfigError(f"--model-type must be 'unigram' or 'bpe', got {model_type!r}")
    if min_freq < 1:
        raise ConfigError(f"--min-freq must be >= 1, got {min_freq}")
    if vocab_size is not None and vocab_size < 3:
        raise ConfigError(f"--vocab-size must be >= 3, got {vocab_size}")
    t0 = time.time()
    src = source if isinstance(source, Source) else resolve(source)
    m = src.manifest
    # An `include` corpus is the union of other corpora, each read and cleaned by its own manifest.
    parts = included(m) if m.source.type == "include" else [src]
    raws = [fetch(p, Path(mirror) if mirror else None, progress=progress) for p in parts]
    if m.source.type == "include":
        fingerprint = {p.manifest.name: r.fingerprint for p, r in zip(parts, raws, strict=True)}
    else:
        fingerprint = raws[0].fingerprint
    options = {"min_freq": min_freq} if tokenizer == "char" else {}
    if tokenizer == "sentencepiece":
        options.update(vocab_size=vocab_size or 8000, model_type=model_type)
    if vocabulary is not None:
        tokenizer = vocabulary.kind
        options = {"vocabulary": hashlib.sha256(vocabulary.to_json().encode("utf-8")).hexdigest()}
    key_src = {
        "v": PIPELINE_VERSION,
        "manifest": m.to_dict(),
        "files": fingerprint,
        "tokenizer": tokenizer,
    }
    if m.source.type == "include":
        key_src["included"] = [p.manifest.to_dict() for p in parts]
    key_src["options"] = options
    key = hashlib.sha256(json.dumps(key_src, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    out = prepared_home() / f"{m.name}-{tokenizer}-{key[:8]}"
    if is_prepared_dir(out) and not force:
        return load_prepared(out)

    texts, bodies, metas, dropped, n_read = [], [], [], Counter(), 0
    own = []  # per part: (texts as its own manifest hashes them, its split spec, bodies)
    for p, r in zip(parts, raws, strict=True):
        t, b, mt, d, n = _collect(p.manifest, r, progress, header=m.read.header)
        own.append((b if p.manifest.split.identity == "body" else t, p.manifest.split, b))
        texts += t
        bodies += b
        metas += mt
        dropped.update({f"{p.manifest.name}: {k}" if len(parts) > 1 else k: v for k, v in d.items()})
        n_read += n
    if not texts:
        why = ", ".join(f"{r}: {n}" for r, n in dropped.most_common()) or "no documents"
        raise CorpusError(f"corpus {m.name!r} is empty after cleaning ({n_read} read; dropped {why})")
    if m.split.by_part:
        where = assign_by_part(own)
    else:
        where = assign(
            bodies if m.split.identity == "body" else texts,
            m.split,
            shared_lines=bodies if m.split.group_shared_lines else None,
        )
    docs = {s: [t for t, w in zip(texts, where, strict=True) if w == s] for s in SPLITS}
    doc_meta = {s: [mt for mt, w in zip(metas, where, strict=True) if w == s] for s in SPLITS}
    tok = vocabulary or train_tokenizer(
        tokenizer,
        docs["train"],
        vocab_size=vocab_size,
        min_freq=min_freq,
        model_type=model_type,
        progress=progress,
    )

    prepared_home().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=prepared_home()))
    tmp.chmod(0o755)  # mkdtemp makes it private; a prepared corpus is ordinary data
    try:
        stats: dict[str, dict] = {k: {} for k in ("documents", "chars", "tokens", "chars_per_token", "unk")}
        for s in SPLITS:
            ids = _encode(tok, docs[s], f"encode {s}", progress)
            np.save(tmp / f"{s}.npy", ids)
            (tmp / f"{s}.txt").write_text("".join(d + "\n\n" for d in docs[s])[:-1], encoding="utf-8")
            with open(tmp / f"{s}.meta.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(mt, ensure_ascii=False) + "\n" for mt in doc_meta[s])
            # Each <eos> stands for one character (the document break), so bits/char is comparable
            # across tokenizers: total nats / chars / ln 2.
            chars = sum(len(d) for d in docs[s]) + len(docs[s])
            stats["documents"][s] = len(docs[s])
            stats["chars"][s] = chars
            stats["tokens"][s] = int(ids.size)
            stats["chars_per_token"][s] = round(chars / ids.size, 4) if ids.size else 0.0
            stats["unk"][s] = int((ids == tok.unk_id).sum())
        forms = Counter(poem_form(b.split("\n")) for b in bodies) if m.read.kind == "poem" else Counter()
        summary = {
            "name": m.name,
            "description": m.description,
            "kind": m.read.kind,
            "tokenizer": {"kind": tok.kind, **options, **_tokenizer_extras(tok)},
            "vocab_size": tok.vocab_size,
            **stats,
            "read_documents": n_read,
            "kept_documents": len(texts),
            "dropped": dict(dropped.most_common()),
            "forms": dict(forms.most_common()),
            "header_lines": template_lines(m.read.header),
            "metadata": _meta_counts(metas),
            "manifest": m.to_dict(),
            "manifest_sha256": m.sha256(),
            "manifest_path": str(m.path) if m.path else None,
            "files": fingerprint,
            "pipeline_version": PIPELINE_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "prepare_seconds": round(time.time() - t0, 2),
        }
        (tmp / "tokenizer.json").write_text(tok.to_json(), encoding="utf-8")
        # Written last: a dir with summary.json is complete (and the whole dir is renamed into place).
        (tmp / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        if out.exists():  # --force: swap the new dir in, then drop the old one
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, out)
            except OSError:
                if not is_prepared_dir(out):  # not a concurrent prepare of the same thing
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_prepared(out)


def _same_manifest(recorded: dict, current: dict) -> bool:
    """Whether a manifest recorded in a checkpoint is the current one, ignoring optional fields the
    recording spelled out empty (source.corpora, read.header) and the current one leaves out."""
    r = json.loads(json.dumps(recorded))
    for table, key in (("source", "corpora"), ("read", "header")):
        if isinstance(r.get(table), dict) and not r[table].get(key, 1):
            del r[table][key]
    return r == current


def prepare_recorded(
    corpus: dict,
    *,
    mirror: str | Path | None = None,
    progress: bool = False,
    tokenizer: Tokenizer | None = None,
) -> PreparedCorpus:
    """The prepared corpus a checkpoint's meta records: its folder when this machine has it, else
    prepared again from the shipped manifest of the same name (which must be unchanged); its
    tokenizer is checked against the recorded one. `tokenizer`: the checkpoint's own, which a corpus
    encoded with a given vocabulary (a warm start with --keep-vocab) is prepared with again."""
    path = corpus.get("prepared")
    if path and is_prepared_dir(Path(path)):
        return _same_tokenizer(load_prepared(path), corpus)
    name = corpus.get("name", "")
    recorded = corpus.get("manifest") or {}
    try:
        m = resolve(name).manifest if name else None
    except CorpusError:
        m = None
    kind = corpus.get("tokenizer", "char")
    vocab = corpus.get("vocab_size") if kind == "sentencepiece" else None
    if m is not None and _same_manifest(recorded, m.to_dict()):
        source: str | Source = name
    elif recorded.get("source", {}).get("type") in ("npm", "mirror") or (
        m is not None and m.path is not None and recorded.get("source", {}).get("type") == "include"
    ):
        # The shipped manifest changed since (or is gone), but the recorded one says where the raw
        # data comes from and how it was verified, cleaned and split: prepare that again. An include
        # reads its parts from beside the shipped manifest (a changed part changes the tokenizer,
        # which the check below refuses).
        try:
            source = Source(parse_manifest(json.loads(json.dumps(recorded)), m.path if m else None))
        except CorpusError as e:
            raise CorpusError(f"the model's corpus {name!r}: its recorded manifest is unusable ({e})") from e
    else:
        raise CorpusError(
            f"the model's corpus {name or '?'!r} is not on this machine ({path}) and no unchanged "
            "manifest of that name is shipped: evaluate with --text-file"
        )
    given = None
    if corpus.get("vocabulary") == "given":
        if tokenizer is None:
            raise CorpusError(
                f"the model's corpus {name!r} was encoded with its own vocabulary: pass its tokenizer"
            )
        given = tokenizer
    return _same_tokenizer(
        prepare(source, tokenizer=kind, vocab_size=vocab, progress=progress, mirror=mirror, vocabulary=given),
        corpus,
    )


def _same_tokenizer(pc: PreparedCorpus, corpus: dict) -> PreparedCorpus:
    want = corpus.get("tokenizer_sha256")
    if want and hashlib.sha256(pc.tokenizer.to_json().encode()).hexdigest() != want:
        raise CorpusError(f"{pc.dir}: its tokenizer is not the one the model was trained with")
    return pc
