"""The benchmark scripts are files, not a package: the tests load them by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load(relative: str):
    """benchmarks/<relative>.py as a module (registered, so its dataclasses find it)."""
    path = BENCH / f"{relative}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{relative.replace('/', '_')}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod
