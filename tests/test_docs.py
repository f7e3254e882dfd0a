"""The documented commands run as written. Every curl in README.md, docs/serving.md and
compose.yaml is sent, word for word, to a real `textgen serve` of the shipped models (README's own
server); every `textgen` line of their shell blocks parses, and README's sample commands run."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest

from textgen.cli import cli, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "serving.md", ROOT / "compose.yaml"]
SHIPPED = ("tang", "songci", "lyrics")


def shell_commands(path: Path) -> list[str]:
    """The command lines of a document's ```sh blocks (compose.yaml: its `#   ` comment lines),
    continuation lines joined."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        lines = [x for block in re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", text, re.S | re.M)
                 for x in block.splitlines()]  # fmt: skip
        lines += re.findall(r"`(curl [^`]+)`", text)  # inline ones, e.g. POST /explain
    else:
        lines = [x[4:] for x in text.splitlines() if x.startswith("#   ")]
    out, cur = [], ""
    for line in lines:
        cur += line.strip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur and not cur.startswith("#"):
            out.append(cur)
        cur = ""
    return out


def documented(prefix: str) -> list[tuple[str, str]]:
    """(document, command) for the commands starting with `prefix` (after VAR=value words)."""
    return [
        (p.name, c)
        for p in DOCS
        for c in shell_commands(p)
        if re.sub(r"^([A-Z_]+=\S* )+", "", c).startswith(prefix)
    ]


def _argv(command: str) -> list[str]:
    words = shlex.split(command, comments=True)
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words = words[1:]  # VAR=value before the command
    return words[1:]


def test_the_documents_have_commands_to_check():
    assert len(documented("curl ")) >= 3 and len(documented("textgen ")) >= 10


@pytest.mark.parametrize(("doc", "command"), documented("textgen "))
def test_documented_textgen_commands_parse(doc, command):
    argv = _argv(command)
    cmd, ctx = cli, None
    while isinstance(cmd, click.Group):
        ctx = click.Context(cmd, parent=ctx, info_name=cmd.name)
        cmd, argv = cmd.get_command(ctx, argv[0]), argv[1:]
        assert cmd is not None, f"{doc}: {command}"
    cmd.make_context(cmd.name, list(argv), parent=ctx)


@pytest.mark.parametrize(
    "command", [c for d, c in documented("textgen sample ") if d == "README.md" and _argv(c)[1] in SHIPPED]
)
def test_readme_sample_commands_run(command, capsys):
    main(_argv(command))
    assert capsys.readouterr().out.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """README's `textgen serve` (every shipped model) on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEXTGEN_MODELS")}
    env["TEXTGEN_HOME"] = str(tmp_path_factory.mktemp("home"))
    log = open(tmp_path_factory.mktemp("log") / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "textgen", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"textgen serve did not come up:\n{log.read()[-2000:]}")
            time.sleep(0.5)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _curl_cases():
    for doc, command in documented("curl "):
        yield pytest.param(doc, command)


@pytest.mark.slow  # a real `textgen serve` of the shipped models
@pytest.mark.parametrize(("doc", "command"), list(_curl_cases()))
def test_documented_curl_commands_succeed(doc, command, server):
    # As written, against the real server; curl only learns to fail on an HTTP error.
    script = 'curl() { command curl --fail-with-body --max-time 60 "$@"; }\n' + command.replace(
        "localhost:8000", f"localhost:{server}"
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"{doc}: {command}\n{out.stdout[-500:]}{out.stderr[-500:]}"
    body = out.stdout.strip()
    if body.startswith("{"):
        assert "error" not in json.loads(body), body
