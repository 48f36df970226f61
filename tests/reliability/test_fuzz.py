"""Schemathesis against the app's own OpenAPI schema: no 5xx, and every response conforms to the schema."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from api.app import create_app
from qa.settings import Settings

pytestmark = pytest.mark.slow
# requests per operation and mode (each valid question is read by the real models, about 90 ms);
# QA_FUZZ_EXAMPLES=5000 for a longer run on demand
VALID = int(os.environ.get("QA_FUZZ_EXAMPLES", "300"))
INVALID = max(1, VALID // 3)


def run_generated(operation, mode: GenerationMode, examples: int, sent: dict[str, int], label: str) -> None:
    """Hypothesis-generated requests for one operation, each checked by schemathesis."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case):
        sent[label] += 1
        case.call_and_validate()

    check()


def fuzz_operations(app, mode: GenerationMode, examples: int, only: str | None = None) -> dict[str, int]:
    """Send generated requests to every operation (or the one named); returns how many each one got."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if only and label != only:
            continue
        sent[label] = 0
        run_generated(operation, mode, examples, sent, label)
    return sent


def test_valid_generated_requests_are_answered_and_conform_to_the_schema(answerer):
    sent = fuzz_operations(create_app(Settings(), answerer=answerer), GenerationMode.POSITIVE, VALID)
    print(f"schemathesis valid requests: {sent}")
    # the writes are refused here (the test client is not on loopback): they must say so with a 403 that conforms
    assert set(sent) == {
        "POST /ask",
        "GET /health",
        "GET /documents",
        "POST /documents",
        "GET /documents/{doc_id}",
        "DELETE /documents/{doc_id}",
    }
    assert sent["POST /ask"] >= VALID


def test_invalid_generated_requests_get_a_4xx_that_conforms(answerer):
    # only POST /ask takes input that can be made invalid
    sent = fuzz_operations(create_app(Settings(), answerer=answerer), GenerationMode.NEGATIVE, INVALID, "POST /ask")
    print(f"schemathesis invalid requests: {sent}")
    assert sent["POST /ask"] >= INVALID // 2
