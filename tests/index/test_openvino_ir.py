"""index.openvino_ir: OpenVINO compiles in a process whose malloc is a preloaded allocator (jemalloc, in training)."""

import subprocess
import sys
from pathlib import Path

import pytest

from index.openvino_ir import bind_tbb_without_deepbind
from qa.allocator import find_jemalloc

JEMALLOC_MAPS = "7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n"
GLIBC_MAPS = "7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"


def test_tbb_loads_its_topology_library_without_deepbind_under_a_preloaded_allocator():
    environ: dict[str, str] = {}
    bind_tbb_without_deepbind(environ, JEMALLOC_MAPS)
    assert environ == {"TBB_ENABLE_SANITIZERS": "1"}


def test_nothing_changes_under_the_system_malloc_or_when_the_caller_chose():
    environ: dict[str, str] = {}
    bind_tbb_without_deepbind(environ, GLIBC_MAPS)
    assert environ == {}
    chosen = {"TBB_ENABLE_SANITIZERS": "0"}
    bind_tbb_without_deepbind(chosen, JEMALLOC_MAPS)
    assert chosen == {"TBB_ENABLE_SANITIZERS": "0"}


COMPILE_UNDER_JEMALLOC = """
import numpy as np, openvino as ov, openvino.opset13 as ops
from index.openvino_ir import ov_core
x = ops.parameter([1, 4], np.float32, name="x")
compiled = ov_core().compile_model(ov.Model([ops.relu(x)], [x], "relu"), "CPU")
print(compiled(np.array([[-1, 0, 1, 2]], np.float32))[0].tolist())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or find_jemalloc() is None, reason="needs libjemalloc2")
def test_a_process_under_jemalloc_compiles_and_runs_a_model():
    # Without the guard this process aborts in compile_model ("free(): invalid pointer"), as the teacher's
    # validation did on 2026-12-03.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env["LD_PRELOAD"] = str(find_jemalloc())
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_UNDER_JEMALLOC], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[[0.0, 0.0, 1.0, 2.0]]"
