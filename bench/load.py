"""Load benchmark: POST /ask from 1, 8, 32 concurrent clients, each for a fixed time.

    python -m bench.load                      # starts `qa serve` on a free port with a fresh index
    python -m bench.load --url http://127.0.0.1:8000 [--pid PID]

Prints a table per client count, the server's memory, and a last line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, AsyncExitStack, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from qa.evaluation import load_gold, percentile

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "seed_gold.jsonl"
DROP_PAUSE_S = 0.1  # after a transport error: enough not to spin on a refused port


class BenchmarkError(RuntimeError):
    """The benchmark cannot run: the server would not start or never answered."""


@dataclass(frozen=True)
class Sample:
    """One request: HTTP status (None when the transport failed), latency, and the transport error if any."""

    status: int | None
    latency_ms: float
    error: str | None = None
    reader: str | None = None  # which reader of the cascade read the answer (a 200's `reader`)


@dataclass
class LoadResult:
    """Every request one load run sent, and how long the run took."""

    clients: int
    elapsed_s: float
    samples: list[Sample] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def answered_ms(self) -> list[float]:
        """Latencies of the 200s."""
        return [s.latency_ms for s in self.samples if s.status == 200]

    @property
    def answers_per_s(self) -> float:
        return len(self.answered_ms) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def non_200(self) -> Counter[int]:
        return Counter(s.status for s in self.samples if s.status is not None and s.status != 200)

    @property
    def dropped(self) -> Counter[str]:
        """Transport errors by kind (ConnectError, ReadTimeout, ...)."""
        return Counter(s.error or "unknown" for s in self.samples if s.status is None)

    @property
    def escalated(self) -> float | None:
        """The share of the answers read by the accurate reader (QA_READER_MODE auto or accurate)."""
        answered = [s for s in self.samples if s.status == 200]
        return round(sum(s.reader == "accurate" for s in answered) / len(answered), 4) if answered else None

    def latency_ms(self, q: float) -> float | None:
        """Nearest-rank percentile of the 200s' latencies (one of them, as measured), None when nothing was answered."""
        answered = self.answered_ms
        return percentile(answered, q) if answered else None

    def summary(self) -> dict[str, object]:
        return {
            "clients": self.clients,
            "seconds": round(self.elapsed_s, 2),
            "requests": self.requests,
            "answered": len(self.answered_ms),
            "answers_per_s": round(self.answers_per_s, 2),
            "p50_ms": self.latency_ms(50),
            "p95_ms": self.latency_ms(95),
            "p99_ms": self.latency_ms(99),
            "escalated": self.escalated,
            "non_200": {str(code): n for code, n in sorted(self.non_200.items())},
            "dropped": sum(self.dropped.values()),
            "dropped_by_error": dict(self.dropped),
        }


async def ask_once(client: httpx.AsyncClient, question: str) -> tuple[Sample, float]:
    """Send one question; return the sample and how long a polite client waits before the next."""
    started = time.perf_counter()
    try:
        response = await client.post("/ask", json={"question": question})
    except httpx.TransportError as exc:  # refused, reset, timed out: the request was dropped
        return Sample(None, _ms_since(started), type(exc).__name__), DROP_PAUSE_S
    sample = Sample(response.status_code, _ms_since(started), reader=_reader(response))
    return sample, _retry_after_s(response)


def _reader(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return None
    try:
        return str(response.json().get("reader"))
    except (ValueError, AttributeError):
        return None


def _ms_since(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 2)


def _retry_after_s(response: httpx.Response) -> float:
    if response.status_code != 503:
        return 0.0
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


async def _client_loop(
    client: httpx.AsyncClient,
    questions: Iterator[str],
    deadline: float,
    samples: list[Sample],
    honor_retry_after: bool,
) -> None:
    while time.perf_counter() < deadline:
        sample, wait_s = await ask_once(client, next(questions))
        samples.append(sample)
        if sample.status == 503 and not honor_retry_after:
            wait_s = 0.0
        if wait_s:
            await asyncio.sleep(min(wait_s, max(0.0, deadline - time.perf_counter())))


async def run_load(
    url: str,
    clients: int,
    seconds: float,
    questions: Sequence[str],
    timeout_s: float = 30.0,
    honor_retry_after: bool = True,
) -> LoadResult:
    """`clients` concurrent clients, one connection each, ask round-robin questions for `seconds`.

    Requests still in flight at the deadline are waited for and counted; the rate uses the whole run.
    A 503 with Retry-After makes that client wait as asked, unless `honor_retry_after` is False.
    """
    if not questions:
        raise ValueError("run_load needs at least one question")
    shared = itertools.cycle(questions)  # one event loop: clients take turns safely
    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with AsyncExitStack() as stack:
        # The clock starts once every client exists: building one (its TLS context) is not the server's time,
        # and on a loaded machine it took longer than a short run, which then sent nothing.
        opened = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits))
            for _ in range(clients)
        ]
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(_client_loop(client, shared, deadline, samples, honor_retry_after) for client in opened))
        elapsed_s = time.perf_counter() - started
    return LoadResult(clients, elapsed_s, samples)


async def run_load_across(
    urls: Sequence[str], clients: int, seconds: float, questions: Sequence[str], timeout_s: float = 30.0
) -> LoadResult:
    """`run_load` with the clients dealt round-robin among several servers (replicas) at once: one result."""
    shares = [len(range(n, clients, len(urls))) for n in range(len(urls))]
    runs = await asyncio.gather(
        *(run_load(url, share, seconds, questions, timeout_s) for url, share in zip(urls, shares, strict=True) if share)
    )
    return LoadResult(clients, max(r.elapsed_s for r in runs), [s for r in runs for s in r.samples])


async def settle(
    url: str, questions: Sequence[str], at_least: int = 1, most: int = 10, timeout_s: float = 60.0
) -> None:
    """Sequential questions until `at_least` were sent and the last was answered 200.

    Used to warm up, and between runs: the server reads one question at a time, in order, so a 200 means
    the work left over from the previous run (answers that timed out still finish) has drained.
    """
    statuses: list[int | str | None] = []
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as client:
        for question in itertools.islice(itertools.cycle(questions), max(at_least, most)):
            sample, wait_s = await ask_once(client, question)
            statuses.append(sample.status or sample.error)
            if len(statuses) >= at_least and sample.status == 200:
                return
            await asyncio.sleep(wait_s)
    raise BenchmarkError(f"no request to {url}/ask was answered (got {statuses}); is the server ready?")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB; empty when it cannot be read."""
    wanted = {"VmRSS:": "rss_kib", "VmHWM:": "peak_rss_kib"}
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {wanted[p[0]]: int(p[1]) for p in (line.split() for line in lines) if p and p[0] in wanted}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qa_command() -> list[str]:
    """The `qa` entry point of the running interpreter's environment."""
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa.cli"]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchmarkError(f"the server exited with status {proc.returncode} before it was ready")
        try:
            health = httpx.get(f"{url}/health", timeout=2)
        except httpx.TransportError:
            health = None
        if health is not None and health.status_code == 200:
            return
        if health is not None and health.json().get("status") == "error":  # loading failed: no use waiting
            raise BenchmarkError(f"the server cannot answer: {health.json().get('detail')}")
        time.sleep(0.5)
    raise BenchmarkError(f"{url}/health did not answer 200 within {timeout_s:g} s")


def stop_server(proc: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace_s`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _log_tail(log: IO[bytes], lines: int = 20) -> str:
    log.flush()
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


@contextmanager
def started_server(reader: str | None, startup_timeout_s: float) -> Iterator[tuple[str, int]]:
    """Run `qa serve` on a free port with its index in a temporary folder; yield (url, pid)."""
    index_dir = tempfile.mkdtemp(prefix="qa-bench-index-")
    env = {"QA_INDEX_DIR": index_dir} | ({"QA_READER_MODEL": reader} if reader else {})
    try:
        with started_servers(1, env, startup_timeout_s) as [(url, pid)]:
            yield url, pid
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


@contextmanager
def started_servers(
    count: int, env: Mapping[str, str], startup_timeout_s: float, logs: Path | None = None
) -> Iterator[list[tuple[str, int]]]:
    """Start `count` `qa serve` at once, each on a free port, `env` over this process's environment (their logs in
    `logs`/server-N.log when given); yield their (url, pid) once every one is healthy, and stop them all after."""
    with ExitStack() as stack:
        started = [stack.enter_context(_spawned_server(env, logs and logs / f"server-{n}.log")) for n in range(count)]
        for url, proc, log in started:
            try:
                wait_healthy(url, proc, startup_timeout_s)
            except BenchmarkError as exc:
                raise BenchmarkError(f"{exc}; server log:\n{_log_tail(log)}") from None
        yield [(url, proc.pid) for url, proc, _ in started]


@contextmanager
def _spawned_server(
    env: Mapping[str, str], log_path: Path | None
) -> Iterator[tuple[str, subprocess.Popen[bytes], IO[bytes]]]:
    """`qa serve` started on a free port, not yet waited for; stopped (SIGTERM) on leaving."""
    port = free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **env}
    command = [*qa_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}", proc, log
        finally:
            stop_server(proc)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def format_table(results: Sequence[LoadResult]) -> str:
    """Markdown table, one row per client count."""
    rows = [
        "| clients | requests | answers/s | p50 ms | p95 ms | p99 ms | non-200 | dropped |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        non_200 = ", ".join(f"{code}\N{MULTIPLICATION SIGN}{n}" for code, n in sorted(r.non_200.items())) or "0"
        cells = [r.clients, r.requests, f"{r.answers_per_s:.2f}", *map(_cell, (r.latency_ms(q) for q in (50, 95, 99)))]
        rows.append(f"| {' | '.join(map(str, cells))} | {non_200} | {sum(r.dropped.values())} |")
    return "\n".join(rows)


def _server(args: argparse.Namespace) -> AbstractContextManager[tuple[str, int | None]]:
    if args.url:
        return nullcontext((args.url.rstrip("/"), args.pid))
    return started_server(args.reader, args.startup_timeout)


def run_benchmark(args: argparse.Namespace) -> dict[str, object]:
    """Warm up, run each client count in turn, and measure the server's memory around it all."""
    questions = [g.question for g in load_gold(args.gold)]
    with _server(args) as (url, pid):
        before = memory_kib(pid) if pid else {}
        results = []
        for number, clients in enumerate(args.clients):
            asyncio.run(settle(url, questions, at_least=args.warmup if number == 0 else 1))
            print(f"{clients} clients for {args.seconds:g} s ...", file=sys.stderr, flush=True)
            results.append(
                asyncio.run(run_load(url, clients, args.seconds, questions, args.timeout, args.honor_retry_after))
            )
        after = memory_kib(pid) if pid else {}
    print(format_table(results))
    if pid:
        print(
            f"\nserver RSS: {_mib(before.get('rss_kib'))} before, {_mib(after.get('rss_kib'))} after, "
            f"peak {_mib(after.get('peak_rss_kib'))}"
        )
    return {
        "url": url,
        "seconds_per_run": args.seconds,
        "honor_retry_after": args.honor_retry_after,
        "runs": [r.summary() for r in results],
        "memory_kib": {"before": before, "after": after},
    }


def _mib(kib: int | None) -> str:
    return "?" if kib is None else f"{kib / 1024:.0f} MiB"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default=None, help="a running server (default: start `qa serve` on a free port)")
    p.add_argument("--pid", type=int, default=None, help="with --url: the server's pid, to report its memory")
    p.add_argument("--reader", default=None, help="reader directory for the started server (default: QA_READER_MODEL)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients, one run each")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    p.add_argument("--gold", type=Path, default=GOLD, help="questions, asked round-robin")
    p.add_argument("--warmup", type=int, default=3, help="requests sent before the first run")
    p.add_argument("--timeout", type=float, default=30.0, help="client timeout per request; past it: dropped")
    p.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for /health")
    p.add_argument(
        "--honor-retry-after",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after a 503, wait as its Retry-After says (--no-honor-retry-after: ask again at once)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = run_benchmark(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
