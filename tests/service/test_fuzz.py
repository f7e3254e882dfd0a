"""Schemathesis over /openapi.json against a live server: no 5xx, and every response (status,
content type, body) is one the schema documents; schema-invalid input is refused with a 4xx.
CI-sized (about 500 cases); a longer run:

    TEXTGEN_FUZZ_EXAMPLES=300 python -m pytest tests/service/test_fuzz.py -q -s   # ~2,500 cases
"""

from __future__ import annotations

import collections
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402

from service.app import create_app  # noqa: E402
from service.cache import MemoryCache  # noqa: E402
from service.settings import Settings  # noqa: E402

pytestmark = pytest.mark.slow  # schemathesis against a live server: seconds; CI runs -m slow

EXAMPLES = int(os.environ.get("TEXTGEN_FUZZ_EXAMPLES", "40"))  # per operation and mode
# not_a_server_error is asserted by hand: a 504 for a request's own tiny "timeout" is documented.
CHECKS = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def live_schema(tiny, other, serve):
    # Two models, so "model" is required; a short deadline bounds the fuzzer's longest requests.
    app = create_app({"tiny": tiny, "other": other}, cache=MemoryCache(), settings=Settings(deadline=5))
    with serve(app) as server:
        yield schemathesis.openapi.from_url(server.url + "/openapi.json")


def fuzz(op, mode: GenerationMode, statuses: collections.Counter) -> None:
    """Up to EXAMPLES cases of one operation; each response goes through CHECKS."""

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def call(case) -> None:
        response = case.call_and_validate(checks=CHECKS, timeout=30)
        statuses[f"{op.label} {response.status_code}"] += 1
        if response.status_code >= 500:
            assert response.status_code == 504 and "timeout" in (case.body or {}), response.text

    try:
        call()
    except Unsatisfiable:  # nothing to make invalid: a GET without parameters in negative mode
        assert mode == GenerationMode.NEGATIVE and op.method.upper() == "GET"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_answers_as_its_schema_says(live_schema, mode):
    statuses: collections.Counter[str] = collections.Counter()
    for result in live_schema.get_all_operations():
        fuzz(result.ok(), mode, statuses)
    print(f"\n{mode}: {sum(statuses.values())} cases", dict(sorted(statuses.items())))
    assert sum(statuses.values()) >= 3 * EXAMPLES
