"""Every docstring example runs, and says what it returns.

An example is a block of code in a module docstring (indented, or at the margin like textgen's own
docstring). Each block runs statement by statement in a copy of its module's namespace plus a few
names examples share (`gen`, `tokenizer`, `model`: the shipped tang model; `idx`, `ids`, `text`).
What the block claims is checked: a bare comparison (`a == b`) must hold, and a statement whose
comment starts with a Python literal (`f(x)   # ["train", "test"]`, `x == y   # True: ...`) must
give that value (`...` at the end of a list or dict: only the items shown). A block that needs a
name nobody defines is a sketch and is skipped with that name, as are the few listed in SKIP (they
download, train or need a server or files).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import re
import signal
import textwrap
import tokenize
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("textgen", "service")
# Command lines in docstrings are documentation of the CLI, not Python.
SHELL = re.compile(r"^(textgen|python|curl|docker|bash|pip|uvicorn|redis|[A-Z_]+=|\$ )")
LIMIT_S = 30  # seconds per example
SKIP = {
    "textgen.data": "prepares the real tang corpus (a download)",
    "textgen.data.prepare": "prepares the real tang corpus (a download)",
    "textgen.data.fetch": "downloads the chinese-poetry package",
    "textgen.train": "trains a model on the real tang corpus",
    "textgen.judges.pipeline": "trains judges on the shipped model's samples (minutes)",
    "textgen.poetry.judge": "reads a samples.jsonl of the reader's",
    "service.routes.openai": "needs a running server",
}


def _too_slow(signum, frame):
    raise TimeoutError(f"a docstring example ran over {LIMIT_S} s: make it smaller or list it in SKIP")


def examples(doc: str) -> list[str]:
    """The code blocks of a docstring: runs of indented lines, or of margin lines that parse as
    Python and call or assign something, that are not shell commands."""
    out: list[list[str]] = []
    cur: list[str] = []
    indented = None
    for line in doc.splitlines() + [""]:
        ind = line.startswith("    ")
        if line.strip() and (indented is None or ind == indented or (indented and line.startswith(" "))):
            cur.append(line)
            indented = ind if indented is None else indented
            continue
        if line.strip() == "" and cur and indented:
            cur.append(line)
            continue
        if cur:
            out.append(cur)
        cur, indented = ([line], ind) if line.strip() else ([], None)
    if cur:
        out.append(cur)
    blocks = []
    for lines in out:
        src = textwrap.dedent("\n".join(lines)).strip("\n")
        if SHELL.match(src):
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue  # prose, diagrams
        if not any(
            isinstance(n, (ast.Call, ast.Assign, ast.Compare, ast.Import, ast.ImportFrom))
            for n in ast.walk(tree)
        ):
            continue
        blocks.append(src)
    return blocks


def _collect() -> list[tuple[str, str]]:
    found = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts).removesuffix(".__init__")
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=False)
            found += [(name, b) for b in examples(doc or "")]
    return found


CASES = _collect()


@cache
def shared() -> dict:
    """The names examples share, built once: the shipped tang's tokenizer and metadata around a
    tiny random model of its vocabulary (fast; examples that want the real one load it)."""
    import dataclasses

    import numpy as np
    import torch

    from textgen.checkpoint import load_checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator

    tang = load_checkpoint("tang")
    tok = tang.tokenizer
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=16, n_embd=8)).eval()
    gen = Generator(dataclasses.replace(tang, model=model))
    text = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    ids = np.array(tok.encode(text * 200), dtype=np.int64)  # enough for a 64 x 64 batch
    idx = torch.tensor([tok.encode("床前明月光")])  # (B, T) = (1, 5)
    hidden = model.init_hidden(1)
    return {
        "gen": gen,
        "tokenizer": tok,
        "model": model,
        "idx": idx,
        "ids": ids,
        "text": text,
        "hidden": hidden,
    }


SHARED_NAMES = ("gen", "tokenizer", "model", "idx", "ids", "text", "hidden")


def free_names(src: str, namespace: dict) -> set[str]:
    tree = ast.parse(src)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    for n in ast.walk(tree):
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            stored |= {(a.asname or a.name).split(".")[0] for a in n.names}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - stored - set(namespace) - set(dir(builtins))


def comments(src: str) -> dict[int, str]:
    """Line number -> the text of the comment on it."""
    toks = tokenize.generate_tokens(io.StringIO(src).readline)
    return {t.start[0]: t.string[1:].strip() for t in toks if t.type == tokenize.COMMENT}


_ENDS = re.compile(r"$|:|;|\s{2}|\s\(")


def claimed(comment: str) -> tuple[bool, object, str]:
    """(found, value, how) for a comment that starts with a Python literal: how = "eq", or
    "prefix" / "subset" when the literal ends in `...`."""
    for m in sorted(_ENDS.finditer(comment), key=lambda m: -m.start()):
        head = comment[: m.start()].strip()
        if not head:
            continue
        how = "eq"
        if re.search(r",\s*\.\.\.\s*[\]}]$", head):
            how = "prefix" if head.endswith("]") else "subset"
            head = re.sub(r",\s*\.\.\.\s*([\]}])$", r"\1", head)
        try:
            return True, ast.literal_eval(head), how
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return False, None, ""


def check(value: object, want: object, how: str) -> bool:
    if how == "prefix":
        return list(value)[: len(want)] == list(want)
    if how == "subset":
        return all(value.get(k) == v for k, v in want.items())
    if isinstance(want, tuple) and not isinstance(value, tuple):
        return False
    return value == want


@pytest.mark.parametrize("module, src", CASES, ids=[f"{m}:{i}" for i, (m, _) in enumerate(CASES)])
def test_docstring_example(module, src, tmp_path, monkeypatch, request):
    if module in SKIP:
        pytest.skip(SKIP[module])
    namespace = dict(vars(importlib.import_module(module)))
    need = free_names(src, namespace)
    if need & set(SHARED_NAMES):
        namespace.update({k: v for k, v in shared().items() if k not in namespace})
        need = free_names(src, namespace)
    if need:
        pytest.skip(f"a sketch: needs {', '.join(sorted(need))}")
    monkeypatch.chdir(tmp_path)  # nothing an example writes lands in the repository
    signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(LIMIT_S)  # an example that trains or downloads fails here instead of running on
    request.addfinalizer(lambda: signal.alarm(0))
    notes = comments(src)
    for stmt in ast.parse(src).body:
        code = ast.get_source_segment(src, stmt)
        where = f"{module}: {code}"
        note = notes.get(stmt.end_lineno, "") if stmt.lineno == stmt.end_lineno else ""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                if isinstance(stmt, ast.Expr):
                    value = eval(compile(ast.Expression(stmt.value), module, "eval"), namespace)
                else:
                    exec(compile(ast.Module([stmt], []), module, "exec"), namespace)
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else []
                    value = eval(ast.unparse(targets[0]), namespace) if len(targets) == 1 else None
        except Exception as e:
            # A statement may raise what its comment names (`# BadBody: ...`, `# ..., or ConfigError`).
            if any(re.search(rf"\b{c.__name__}\b", note) for c in type(e).__mro__[:-3]):
                continue
            raise
        found, want, how = claimed(note) if note else (False, None, "")
        if found and (isinstance(stmt, ast.Expr) or value is not None):
            assert check(value, want, how), f"{where}\n  gives {value!r}\n  its comment says {want!r}"
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Compare):
            assert value, f"{where}\n  is not true"
