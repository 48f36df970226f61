"""The memory allocator for long training runs: jemalloc when it is installed.

Under glibc's malloc the MPNet teacher's resident memory grew from 3 to 24 GB over 860 CPU steps of varying batch
shapes, and the kernel killed it (2026-12-03); under jemalloc (Debian's `libjemalloc2`) it held 3-8 GB at the same
speed. An allocator can only be chosen when a process starts, so `qa-train train-reader` re-runs itself once with
jemalloc in `LD_PRELOAD` before it has done anything, and says so; where the library is missing it warns and goes
on with the system's allocator.

It also tells jemalloc to keep the pages it frees (`MALLOC_CONF`, unless the caller set one): by default it hands
them back to the kernel after 10 s, and a training step frees and takes again gigabytes of differently shaped
activations, so on a 2-core VM the teacher spent more time in page faults than in arithmetic (2.7 million minor
faults a second, system time above user time, 11 s a step; keeping the pages: 6-9 s a step, 2026-12-03).

Kept pages are never handed back by themselves, so a phase whose memory training will not take again (validation,
the teacher's targets: OpenVINO's threads allocate from arenas of their own) ends with `release_freed_pages`. Nor
does jemalloc always find room in them for a step of another shape: the teacher's resident memory grew from 3 to
23 GB over 1,700 steps and the kernel killed it (2026-12-06), so training also hands them back whenever resident
memory passes a ceiling, half the machine's memory by default (`release_above`). Handing them back after every
step instead (a 60-second decay) held it at 3-7 GB but slowed the steps from 6-8 s to 10-13 s.

OpenVINO, which validation and teacher targets run on, aborts under a preloaded allocator unless oneTBB loads
its topology library without RTLD_DEEPBIND: `index.openvino_ir.bind_tbb_without_deepbind` sees to that.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LIBRARY_NAME = "libjemalloc.so.2"
# Never purge freed pages: resident memory stays at the run's peak instead of being faulted in again every step.
KEEP_FREED_PAGES = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
# jemalloc's MALLCTL_ARENAS_ALL: "arena.<this>.purge" purges every arena.
ALL_ARENAS = 4096


def library_candidates() -> list[Path]:
    """Where Debian/Ubuntu, Fedora/RHEL and plain installs put the shared library."""
    machine = platform.machine()
    return [
        Path(f"/usr/lib/{machine}-linux-gnu/{LIBRARY_NAME}"),
        Path(f"/usr/lib64/{LIBRARY_NAME}"),
        Path(f"/usr/lib/{LIBRARY_NAME}"),
        Path(f"/usr/local/lib/{LIBRARY_NAME}"),
    ]


def find_jemalloc(candidates: list[Path] | None = None) -> Path | None:
    return next((path for path in candidates or library_candidates() if path.is_file()), None)


def loaded_in_this_process(maps: str | None = None) -> bool:
    """Whether jemalloc is mapped into this process (so it, not glibc, serves malloc when preloaded)."""
    if maps is None:
        maps = _proc_text("/proc/self/maps")
    return maps is not None and "libjemalloc" in maps


def _proc_text(path: str) -> str | None:
    """A /proc file's text, or None where it cannot be read (no /proc)."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _kb_field_mb(text: str | None, key: str) -> int | None:
    """The `key:  N kB` line of a /proc file, in MB."""
    lines = text.splitlines() if text is not None else []
    return next((int(line.split()[1]) // 1024 for line in lines if line.startswith(f"{key}:")), None)


def resident_mb() -> int | None:
    """This process's resident memory in MB (None where /proc is missing)."""
    return _kb_field_mb(_proc_text("/proc/self/status"), "VmRSS")


def physical_mb(meminfo: str | None = None) -> int | None:
    """The machine's memory in MB (None where /proc is missing)."""
    return _kb_field_mb(meminfo if meminfo is not None else _proc_text("/proc/meminfo"), "MemTotal")


def memory_ceiling_mb(fraction: float = 0.5, meminfo: str | None = None) -> int | None:
    """Resident memory above which training hands kept pages back: `fraction` of the machine's memory."""
    total = physical_mb(meminfo)
    return None if total is None else int(total * fraction)


def release_above(ceiling_mb: int | None) -> tuple[int, int | None] | None:
    """Hand kept pages back when resident memory is above `ceiling_mb`.

    Returns resident MB before and after when it did, else None (below the ceiling, no ceiling, or no jemalloc).
    """
    before = resident_mb() if ceiling_mb is not None else None
    if before is None or ceiling_mb is None or before <= ceiling_mb or not release_freed_pages():
        return None
    return before, resident_mb()


def release_freed_pages() -> bool:
    """Hand the pages jemalloc keeps (freed, not yet returned) back to the kernel, in every arena.

    Returns whether it did; a no-op where jemalloc does not serve malloc. Measured 2026-12-03: one OpenVINO
    validation of the student under jemalloc left 1,279 MB resident, 666 MB after this.
    """
    if not loaded_in_this_process():
        return False
    mallctl = getattr(ctypes.CDLL(None), "mallctl", None)
    if mallctl is None:
        return False
    return mallctl(f"arena.{ALL_ARENAS}.purge".encode(), None, None, None, ctypes.c_size_t(0)) == 0


@dataclass(frozen=True)
class Plan:
    """What to do about the allocator: re-run under `env`, or go on (with `warning` said first, if any)."""

    env: dict[str, str] | None = None
    warning: str | None = None


def plan(env: Mapping[str, str], loaded: bool, library: Path | None, system: str = sys.platform) -> Plan:
    """Decide from the environment, whether jemalloc is already mapped, and where the library is (if anywhere)."""
    if loaded or not system.startswith("linux"):
        return Plan()
    preload = env.get("LD_PRELOAD", "")
    if library is None:
        return Plan(
            warning="jemalloc is not installed: training uses the system's malloc, whose resident memory can grow "
            "by many GB over a long CPU run (install it: apt-get install libjemalloc2)"
        )
    if str(library) in preload.split():  # asked for already, yet not mapped: the loader refused it
        return Plan(warning=f"LD_PRELOAD names {library} but it is not loaded: training uses the system's malloc")
    return Plan(env={"MALLOC_CONF": KEEP_FREED_PAGES, **env, "LD_PRELOAD": f"{library} {preload}".strip()})


def rerun_under_jemalloc() -> None:
    """Replace this process by the same command under jemalloc, when that is possible and not done yet.

    Call it before any work starts: nothing of this process survives the `exec`.
    """
    decision = plan(os.environ, loaded_in_this_process(), find_jemalloc())
    if decision.warning:
        log.warning(decision.warning)
    if decision.env is None:
        return
    log.info("running again under jemalloc (%s)", decision.env["LD_PRELOAD"].split()[0])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, decision.env)
