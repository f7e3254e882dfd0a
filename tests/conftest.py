"""Shared fixtures: an isolated data home per test session, tiny corpora built on the fly."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    # Tests never read or write the user's ~/.cache/textgen.
    monkeypatch.setenv("TEXTGEN_HOME", str(tmp_path_factory.getbasetemp() / "textgen-home"))
