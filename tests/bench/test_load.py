"""The load benchmark against a stub HTTP server in a thread: counts, statuses and percentiles add up."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from bench.load import (
    BenchmarkError,
    LoadResult,
    Sample,
    format_table,
    free_port,
    main,
    memory_kib,
    run_load,
    run_load_across,
    settle,
)

QUESTIONS = ["Where is Tencent based?", "Who is Lau Seng Yee?", "How many views did Blue Planet II get?"]


class StubApp:
    """POST /ask answers 200 after a short pause, except every third request: 503 with Retry-After at once."""

    def __init__(self, delay_s: float = 0.01, refuse_every: int = 3) -> None:
        self.delay_s = delay_s
        self.refuse_every = refuse_every  # 0: never refuse
        self.sent: Counter[int] = Counter()
        self.questions: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.questions.append(json.loads(body)["question"])
        status = 503 if self.refuse_every and len(self.questions) % self.refuse_every == 0 else 200
        headers = [(b"content-type", b"application/json")]
        if status == 503:
            headers.append((b"retry-after", b"0"))
        else:
            await asyncio.sleep(self.delay_s)
        self.sent[status] += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"answer": "Shenzhen"}'})


@pytest.fixture
def stub() -> Iterator[tuple[str, StubApp]]:
    app = StubApp()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}", app
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_every_request_is_counted_once_by_status(stub):
    url, app = stub
    result = asyncio.run(run_load(url, clients=4, seconds=1.0, questions=QUESTIONS))
    assert result.clients == 4 and result.elapsed_s >= 1.0
    assert result.requests == sum(app.sent.values()) > 20
    assert len(result.answered_ms) == app.sent[200]
    assert result.non_200 == Counter({503: app.sent[503]})
    assert not result.dropped
    assert result.answers_per_s == pytest.approx(app.sent[200] / result.elapsed_s)


def test_clients_dealt_among_servers_make_one_result_counting_every_request(stub):
    url, app = stub
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: its one client's requests are dropped
    result = asyncio.run(run_load_across([url, url, dead], clients=5, seconds=1.0, questions=QUESTIONS, timeout_s=1))
    assert result.clients == 5 and result.elapsed_s >= 1.0
    assert result.requests == sum(app.sent.values()) + result.dropped["ConnectError"]
    assert len(result.answered_ms) == app.sent[200] > 0 and result.dropped["ConnectError"] > 0


def test_questions_are_asked_round_robin(stub):
    url, app = stub
    asyncio.run(run_load(url, clients=2, seconds=1.0, questions=QUESTIONS))
    assert Counter(app.questions).keys() == set(QUESTIONS)
    assert max(Counter(app.questions).values()) - min(Counter(app.questions).values()) <= 1


def test_percentiles_are_ordered_and_within_the_answered_latencies(stub):
    url, _ = stub
    result = asyncio.run(run_load(url, clients=4, seconds=1.0, questions=QUESTIONS))
    p50, p95, p99 = (result.latency_ms(q) for q in (50, 95, 99))
    assert min(result.answered_ms) <= p50 <= p95 <= p99 <= max(result.answered_ms)
    assert p50 >= 10  # the stub's pause: the 503s, answered at once, are not in these latencies


def test_a_refused_port_counts_as_dropped_and_the_run_still_ends():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.perf_counter()
    result = asyncio.run(run_load(url, clients=2, seconds=0.5, questions=QUESTIONS, timeout_s=1))
    assert time.perf_counter() - started < 3
    assert result.requests == result.dropped["ConnectError"] > 0
    assert result.answers_per_s == 0 and result.latency_ms(50) is None


def test_settle_waits_for_a_200_and_gives_up_on_a_dead_server(stub):
    url, app = stub
    asyncio.run(settle(url, QUESTIONS, at_least=3))  # the stub's third answer is a 503: a fourth is sent
    assert app.sent == Counter({200: 3, 503: 1})
    with pytest.raises(BenchmarkError, match="no request"):
        asyncio.run(settle(f"http://127.0.0.1:{free_port()}", QUESTIONS, most=2))


def test_the_clock_starts_once_the_clients_exist(stub, monkeypatch):
    url, _ = stub
    enter = httpx.AsyncClient.__aenter__

    async def slow_enter(self):
        time.sleep(0.4)  # a loaded machine building the client's TLS context, longer than the whole run
        return await enter(self)

    monkeypatch.setattr(httpx.AsyncClient, "__aenter__", slow_enter)
    result = asyncio.run(run_load(url, clients=2, seconds=0.3, questions=QUESTIONS))
    assert result.requests >= 2 and result.elapsed_s < 0.7


def test_the_command_prints_a_table_and_ends_with_json(stub, capsys):
    url, app = stub
    app.refuse_every = 0  # a run this short may send one request per client: it must be a 200
    assert main(["--url", url, "--clients", "1", "2", "--seconds", "0.3", "--warmup", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| clients | requests | answers/s |")
    report = json.loads(lines[-1])
    assert [run["clients"] for run in report["runs"]] == [1, 2]
    assert all(run["answered"] > 0 and run["dropped"] == 0 for run in report["runs"]), report["runs"]
    assert all(run["escalated"] == 0.0 for run in report["runs"])  # fast mode: the small reader reads all


def test_table_and_summary_show_statuses_and_drops():
    samples = [Sample(200, 10.0), Sample(200, 30.0), Sample(503, 1.0), Sample(None, 5.0, "ReadTimeout")]
    result = LoadResult(clients=8, elapsed_s=2.0, samples=samples)
    row = format_table([result]).splitlines()[-1]
    assert row == "| 8 | 4 | 1.00 | 10 | 30 | 30 | 503\N{MULTIPLICATION SIGN}1 | 1 |"
    summary = result.summary()
    assert summary["non_200"] == {"503": 1} and summary["dropped_by_error"] == {"ReadTimeout": 1}
    json.dumps(summary)


def test_the_share_escalated_to_the_accurate_reader_counts_answers_only():
    samples = [Sample(200, 10.0, reader="fast"), Sample(200, 90.0, reader="accurate"), Sample(503, 1.0)]
    assert LoadResult(1, 1.0, samples).summary()["escalated"] == 0.5
    assert LoadResult(1, 1.0, [Sample(None, 5.0, "x")]).escalated is None


def test_memory_of_this_process_is_read_from_proc():
    import os

    memory = memory_kib(os.getpid())
    assert memory["rss_kib"] > 0 and memory["peak_rss_kib"] >= memory["rss_kib"]


def test_a_percentile_is_one_of_the_measured_latencies_never_rounded_past_them():
    result = LoadResult(1, 1.0, [Sample(200, 385.29), Sample(200, 18.82), Sample(503, 1.0), Sample(None, 9.0, "x")])
    assert result.latency_ms(99) == 385.29 == max(result.answered_ms)  # was rounded to 385.3, above the max
    assert result.latency_ms(50) == 18.82
    assert LoadResult(1, 1.0, [Sample(503, 1.0)]).latency_ms(50) is None
