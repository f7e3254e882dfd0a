"""`textgen serve` as a user runs it: a subprocess that loads a checkpoint and answers HTTP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from textgen.cli import main


@pytest.mark.slow  # starts and stops a real server process
def test_textgen_serve_answers_and_stops_cleanly(tiny_path, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "textgen", "serve", f"poems={tiny_path}", "--port", str(port),
           "--max-batch-size", "8", "--quantize", "fp16", "--threads", "1", "--log-level", "warning"]  # fmt: skip
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.seek(0) or log.read()
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "textgen serve did not come up"
            time.sleep(0.1)
        r = httpx.post(url + "/generate", json={"prompt": "春", "seed": 1, "max_new_tokens": 8})
        assert (
            r.status_code == 200
            and r.json()["model"] == "poems"
            and r.json()["completions"][0]["tokens"] == 8
        )
        assert httpx.get(url + "/docs").status_code == 200
        assert httpx.get(url + "/health").json()["models"]["poems"]["digest"].endswith("+fp16")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_textgen_serve_bad_checkpoint_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", f"tang={tmp_path / 'missing'}"])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.startswith("error: ") and "missing" in err


def test_textgen_serve_bad_option_names_it(tiny_path, capsys):
    with pytest.raises(SystemExit):
        main(["serve", str(tiny_path), "--max-queue", "0"])
    assert capsys.readouterr().err.startswith("error: --max-queue")
    with pytest.raises(SystemExit):
        main(["serve", str(tiny_path), "--threads", "0"])
    assert capsys.readouterr().err.startswith("error: --threads")
