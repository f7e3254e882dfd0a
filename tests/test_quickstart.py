"""scripts/quickstart.sh as a user meets it: Ctrl-C during training still ends with a poem from the
saved model and the commands to go on (with the venv's path, so they work from the user's shell),
and a second run resumes the first instead of replacing it. A small text file stands in for 全唐诗
(TEXTGEN_SOURCE) and the tiny preset for the default one; the repo's .venv must exist."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# 300 distinct four-line "poems" (the split keeps a body in one part): permutations of these lines.
LINES = ["床前明月光，疑是地上霜。", "举头望明月，低头思故乡。", "春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。",
         "白日依山尽，黄河入海流。", "欲穷千里目，更上一层楼。"]  # fmt: skip
POEMS = ["\n".join(p) for p in itertools.islice(itertools.permutations(LINES, 4), 300)]


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    src = tmp_path / "poems.txt"
    if not src.exists():
        src.write_text("\n\n".join(POEMS), encoding="utf-8")
    env = {**os.environ, "TEXTGEN_RUN": str(tmp_path / "run"), "TEXTGEN_SOURCE": str(src)}
    env.update(TEXTGEN_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1")
    log = tmp_path / f"out{len(list(tmp_path.glob('out*')))}.txt"
    with open(log, "w") as f:  # a session of its own: Ctrl-C goes to the terminal's whole process group
        p = subprocess.Popen(["bash", "scripts/quickstart.sh", "--preset", "tiny", *args], cwd=ROOT,
                             stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
    return p, log


@pytest.mark.slow
def test_ctrl_c_still_ends_with_a_poem_and_a_rerun_resumes(tmp_path):
    if not (ROOT / ".venv/bin/textgen").exists():
        pytest.skip("needs the repo's .venv (bash scripts/test.sh makes it)")
    p, log = start(tmp_path, "--max-steps", "100000")
    deadline = time.time() + 240
    while "val loss" not in log.read_text(encoding="utf-8"):  # training, with a checkpoint saved
        assert p.poll() is None and time.time() < deadline, log.read_text(encoding="utf-8")
        time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert p.wait(240) == 0
    out = log.read_text(encoding="utf-8")
    assert "interrupted: the model trained so far is saved" in out
    poem = out.split(f"== 4/4 a poem from your model ({tmp_path / 'run'})\n")[1].split("\n\nNext")[0]
    assert poem.startswith("$ textgen sample") and len(poem.splitlines()) >= 2
    assert f".venv/bin/textgen train --resume {tmp_path / 'run'}" in out  # works from the user's shell
    step = len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines())

    p, log = start(tmp_path, "--max-steps", "1")  # a budget already reached: resume, then the poem
    assert p.wait(240) == 0
    out = log.read_text(encoding="utf-8")
    assert "holds your run from before: resuming it" in out and "--overwrite" not in out
    assert f"$ textgen train --resume {tmp_path / 'run'}" in out and "Next" in out
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) >= step  # not replaced
