"""Shared fixtures: an isolated data home per test session, tiny corpora built on the fly."""

from __future__ import annotations

import pytest

# The fast tier (plain `pytest`) stays under a minute on two cores. A test that uses one of these
# fixtures is slow by nature (a real browser, a server slowed on purpose) and runs with the slow
# tier (-m slow; CI: TEXTGEN_SLOW=1 bash scripts/test.sh). Other slow tests carry the mark themselves.
SLOW_FIXTURES = ("browser", "slow_live")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items):
    for item in items:
        if any(f in getattr(item, "fixturenames", ()) for f in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path, config):
    # A module marked slow as a whole is not even imported by the fast tier (schemathesis and
    # hypothesis alone take seconds to import).
    if collection_path.suffix == ".py" and config.getoption("markexpr") == "not slow":
        head = collection_path.read_text(encoding="utf-8")[:4000]
        if "\npytestmark = pytest.mark.slow" in head:
            return True
    return None


@pytest.fixture(autouse=True)
def _isolated_data_home(tmp_path_factory, monkeypatch):
    # Tests never read or write the user's ~/.cache/textgen.
    monkeypatch.setenv("TEXTGEN_HOME", str(tmp_path_factory.getbasetemp() / "textgen-home"))


@pytest.fixture
def one_thread():
    """Tiny models: one torch thread is faster than two fighting other processes for the cores
    (5x under load); the process-wide setting is restored after the test."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
