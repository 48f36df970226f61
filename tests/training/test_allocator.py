"""training.allocator: training re-runs itself under jemalloc once, only on Linux, and warns when it cannot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training import allocator
from training.allocator import KEEP_FREED_PAGES, Plan, find_jemalloc, loaded_in_this_process, plan

LIB = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
needs_jemalloc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or find_jemalloc() is None, reason="needs libjemalloc2"
)


def test_reruns_with_jemalloc_first_in_ld_preload_keeping_the_rest():
    decision = plan({"PATH": "/bin", "LD_PRELOAD": "/opt/libfoo.so"}, loaded=False, library=LIB, system="linux")
    assert decision.env == {"PATH": "/bin", "LD_PRELOAD": f"{LIB} /opt/libfoo.so", "MALLOC_CONF": KEEP_FREED_PAGES}
    assert decision.warning is None


def test_keeps_a_malloc_conf_the_caller_chose():
    decision = plan({"MALLOC_CONF": "narenas:2"}, loaded=False, library=LIB, system="linux")
    assert decision.env is not None
    assert decision.env["MALLOC_CONF"] == "narenas:2"


def test_does_nothing_when_jemalloc_is_already_mapped_or_not_on_linux():
    assert plan({}, loaded=True, library=LIB, system="linux") == Plan()
    assert plan({}, loaded=False, library=LIB, system="darwin") == Plan()


def test_warns_and_goes_on_when_the_library_is_missing():
    decision = plan({}, loaded=False, library=None, system="linux")
    assert decision.env is None
    assert "apt-get install libjemalloc2" in decision.warning


def test_never_loops_when_the_loader_refused_the_preload():
    decision = plan({"LD_PRELOAD": str(LIB)}, loaded=False, library=LIB, system="linux")
    assert decision.env is None
    assert "not loaded" in decision.warning


def test_finds_the_first_installed_candidate(tmp_path):
    present = tmp_path / "lib64" / "libjemalloc.so.2"
    present.parent.mkdir()
    present.write_bytes(b"\x7fELF")
    assert find_jemalloc([tmp_path / "missing.so", present]) == present
    assert find_jemalloc([tmp_path / "missing.so"]) is None


def test_reads_the_process_memory_map():
    assert loaded_in_this_process("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n")
    assert not loaded_in_this_process("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n")


@needs_jemalloc
def test_a_real_process_runs_again_under_jemalloc_with_its_arguments():
    script = (
        "import sys; from training.allocator import rerun_under_jemalloc, loaded_in_this_process; "
        "import os; rerun_under_jemalloc(); "
        "print(loaded_in_this_process(), sys.argv[1:], os.environ['MALLOC_CONF'])"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script, "a b", "c"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == f"True ['a b', 'c'] {KEEP_FREED_PAGES}"


def test_resident_memory_is_read_from_proc():
    mb = allocator.resident_mb()
    assert mb is None or mb > 0


def test_releasing_freed_pages_is_a_no_op_without_jemalloc(monkeypatch):
    monkeypatch.setattr(allocator, "loaded_in_this_process", lambda maps=None: False)
    assert allocator.release_freed_pages() is False


def after_freeing_300_mb_under_jemalloc(then: str) -> list[int]:
    """In a process under jemalloc that keeps freed pages: resident MB before and after 300 MB were taken and
    freed (`before`, `kept`), then whatever the lines `then` print."""
    script = (
        "from training import allocator\n"
        "before = allocator.resident_mb()\n"
        'blocks = [b"x" * (1 << 20) for _ in range(300)]\n'
        "del blocks\n"
        "kept = allocator.resident_mb()\n"
        "print(before, kept)\n" + then
    )
    env = {**os.environ, "LD_PRELOAD": str(find_jemalloc()), "MALLOC_CONF": KEEP_FREED_PAGES}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return [int(word) for word in out.stdout.split()]


@needs_jemalloc
def test_releasing_freed_pages_under_jemalloc_hands_memory_back():
    before, kept, released = after_freeing_300_mb_under_jemalloc(
        "assert allocator.release_freed_pages() is True\nprint(allocator.resident_mb())\n"
    )
    assert kept - before > 200  # jemalloc kept the freed 300 MB
    assert released - before < 100  # and handed them back when told


def test_the_ceiling_is_a_fraction_of_the_machines_memory():
    meminfo = "MemTotal:       24576000 kB\nMemFree:         1024000 kB\n"
    assert allocator.physical_mb(meminfo) == 24000
    assert allocator.memory_ceiling_mb(0.5, meminfo) == 12000
    assert allocator.memory_ceiling_mb(0.5, "MemFree: 1 kB\n") is None


def test_nothing_is_released_below_the_ceiling_or_without_one(monkeypatch):
    released = []
    monkeypatch.setattr(allocator, "resident_mb", lambda: 5000)
    monkeypatch.setattr(allocator, "release_freed_pages", lambda: released.append(True) or True)
    assert allocator.release_above(None) is None
    assert allocator.release_above(5000) is None
    assert released == []
    assert allocator.release_above(4999) == (5000, 5000)
    assert released == [True]


@needs_jemalloc
def test_pages_kept_above_the_ceiling_are_handed_back_and_below_it_kept():
    before, kept, found, after = after_freeing_300_mb_under_jemalloc(
        "assert allocator.release_above(kept + 100) is None\n"
        "found, after = allocator.release_above(before + 100)\n"
        "print(found, after)\n"
    )
    assert kept - before > 200 and found >= kept - 5  # kept until asked, found above the ceiling
    assert after - before < 100  # then handed back
