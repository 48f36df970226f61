"""Backpressure, per-request timeout, graceful shutdown (reader is a slow test double)."""

import asyncio
import signal
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qa.settings import Settings

from .canned_server import SlowAnswerer
from .conftest import canned_server


@pytest.fixture
def slow(canned):
    return SlowAnswerer(canned.store, canned.embedder, delay=0.5)


async def burst(app, n):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(*(client.post("/ask", json={"question": "Where?"}) for _ in range(n)))


def test_past_the_in_flight_cap_requests_get_503_with_retry_after_at_once(slow):
    app = create_app(Settings(max_in_flight=2), answerer=slow)
    with TestClient(app):  # runs the lifespan
        responses = asyncio.run(burst(app, 6))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 2 and codes.count(503) == 4
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]


def test_an_answer_slower_than_the_timeout_is_408_and_the_server_recovers(canned):
    slow = SlowAnswerer(canned.store, canned.embedder, delay=1.0)
    with TestClient(create_app(Settings(request_timeout_s=0.2), answerer=slow)) as client:
        r = client.post("/ask", json={"question": "Where?"})
        assert r.status_code == 408 and "0.2 s" in r.json()["detail"]
        slow.delay = 0.0
        time.sleep(1.0)  # the timed-out answer still holds the reader until it finishes
        assert client.post("/ask", json={"question": "Where?"}).status_code == 200


def test_a_question_that_times_out_in_the_queue_is_never_answered(canned):
    slow = SlowAnswerer(canned.store, canned.embedder, delay=0.6)
    app = create_app(Settings(request_timeout_s=0.3, max_batch=1), answerer=slow)  # one question per pass
    with TestClient(app):
        responses = asyncio.run(burst(app, 3))  # one is read, two wait behind it; all three time out
        assert [r.status_code for r in responses] == [408, 408, 408]
        time.sleep(1.0)
    assert len(slow.calls) == 1  # the reader was not spent on the two nobody was waiting for any more


def test_questions_that_queue_behind_a_pass_are_answered_together(canned):
    slow = SlowAnswerer(canned.store, canned.embedder, delay=0.2)
    app = create_app(Settings(max_batch=4), answerer=slow)
    with TestClient(app):
        responses = asyncio.run(burst(app, 9))
    assert [r.status_code for r in responses] == [200] * 9
    assert all(r.json()["answer"] == "Shenzhen" for r in responses)
    assert sum(slow.batches) == 9 and max(slow.batches) == 4 and len(slow.batches) <= 5


def test_sigterm_lets_requests_in_flight_finish():
    with canned_server(delay=1.5) as (url, proc):
        results = {}

        def ask():
            results["r"] = httpx.post(f"{url}/ask", json={"question": "Where is Tencent based?"}, timeout=30)

        thread = threading.Thread(target=ask)
        thread.start()
        time.sleep(0.5)  # the request is now being answered
        proc.send_signal(signal.SIGTERM)
        thread.join(timeout=30)
        assert results["r"].status_code == 200 and results["r"].json()["answer"] == "Shenzhen"
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after draining
