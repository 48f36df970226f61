"""Helpers for the reliability suite: servers in child processes (port and health helpers from bench.load)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import free_port, memory_kib, stop_server, wait_healthy

from ..conftest import ROOT

__all__ = ["canned_server", "memory_kib", "server"]


@contextmanager
def server(
    args: list[str], env: dict[str, str] | None = None, log: Path | None = None, startup_timeout_s: float = 180
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start `args` (which must listen on the port given as {port}) and yield (url, process)."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [a.format(port=port) for a in args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, startup_timeout_s)
        yield url, proc
    finally:
        stop_server(proc)
        if log:
            out.close()


def canned_server(delay: float):
    return server([sys.executable, "-m", "tests.reliability.canned_server", "{port}", str(delay)])
