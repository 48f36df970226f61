"""Faults: kill -9 during a rebuild, corrupt or mismatched index files, missing models."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.passage_index import PassageIndex, live_build

from ..conftest import ROOT, SEED
from .conftest import server

pytestmark = pytest.mark.slow
QA = [sys.executable, "-m", "qa.cli"]


def qa(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*QA, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def write_corpus(folder: Path, documents: int) -> None:
    """The seed article plus generated documents, enough for a rebuild that takes a few seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, folder / SEED.name)
    for d in range(documents):
        sentences = [
            f"Report {d} notes that station {d}-{s} measured {d * s % 97} units of rain in week {s}." for s in range(60)
        ]
        (folder / f"report-{d:04d}.txt").write_text(" ".join(sentences), encoding="utf-8")


def test_kill_9_during_a_rebuild_leaves_the_previous_index_complete_and_served(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, 0)
    first = qa("index", str(docs), "--index-dir", str(index_dir))
    assert first.returncode == 0, first.stderr
    before = PassageIndex.load(index_dir)
    write_corpus(docs, 20)

    killed = False
    for _attempt in range(3):
        proc = subprocess.Popen(
            [*QA, "index", str(docs), "--index-dir", str(index_dir), "--force"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while proc.poll() is None:
            if any(index_dir.glob(".tmp-build-*/passages.jsonl")):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.001)
        proc.wait()
        if killed:
            break
        # the rebuild finished before we saw it: put the old index back and try again
        shutil.rmtree(index_dir)
        assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    assert killed, "never caught the rebuild half-way"
    assert list(index_dir.glob(".tmp-build-*")), "the half-written build was left behind, unused"

    survivor = PassageIndex.load(index_dir)  # checksums verified
    assert [p.text for p in survivor.passages] == [p.text for p in before.passages]
    with server(
        [*QA, "serve", "--port", "{port}", "--index-dir", str(index_dir)],
        env={"QA_DOCUMENTS": f'["{SEED}"]', "QA_REBUILD_INDEX_ON_START": "false"},
    ) as (url, _):
        reply = httpx.post(f"{url}/ask", json={"question": "Where is Tencent based?"}, timeout=30).json()
        assert reply["source"]["document"] == SEED.name

    again = qa("index", str(docs), "--index-dir", str(index_dir))
    assert again.returncode == 0 and "built" in again.stdout
    assert not list(index_dir.glob(".tmp-build-*"))
    assert len(PassageIndex.load(index_dir).documents) == 21


def corrupt(index_dir: Path, how: str) -> None:
    build = live_build(index_dir)
    if how == "truncated vectors":
        data = (build / "vectors.faiss").read_bytes()
        (build / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif how == "flipped byte in passages":
        data = bytearray((build / "passages.jsonl").read_bytes())
        data[len(data) // 2] ^= 0x20
        (build / "passages.jsonl").write_bytes(bytes(data))
    elif how == "garbage manifest":
        (build / "manifest.json").write_text("\x00\x01 not json")


@pytest.mark.parametrize("how", ["truncated vectors", "flipped byte in passages", "garbage manifest"])
def test_corrupt_index_is_detected_at_start_up_and_rebuilt_from_the_documents(tmp_path, how):
    index_dir = tmp_path / "index"
    assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    healthy = [p.text for p in PassageIndex.load(index_dir).passages]
    corrupt(index_dir, how)
    log = tmp_path / "server.log"
    env = {"QA_DOCUMENTS": f'["{SEED}"]'}
    with server([*QA, "serve", "--port", "{port}", "--index-dir", str(index_dir)], env=env, log=log) as (url, _):
        reply = httpx.post(f"{url}/ask", json={"question": "Where is Tencent based?"}, timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        # served from the rebuilt index: a passage of the seed article as a healthy build cut it, whatever the answer
        assert body["source"]["document"] == SEED.name and body["context"] in healthy
    text = log.read_text()
    assert "building index" in text and ("checksum" in text or "unreadable" in text), text
    PassageIndex.load(index_dir)  # healthy again


def test_corrupt_index_without_documents_says_why_and_does_not_crash(tmp_path):
    index_dir = tmp_path / "index"
    assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    corrupt(index_dir, "truncated vectors")
    env = {"QA_DOCUMENTS": f'["{tmp_path / "gone"}"]'}
    proc = subprocess.Popen(
        [*QA, "serve", "--port", "0", "--index-dir", str(index_dir)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "loading failed" in line:
                break
        assert "checksum" in lines[-1] and "qa index" in lines[-1], "".join(lines)
        assert proc.poll() is None, "the server stays up and reports the problem on /health"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_manifest_naming_another_embedding_model_is_rebuilt(tmp_path):
    index_dir = tmp_path / "index"
    assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    from index.embedding import bundled_embedding_model

    copy = tmp_path / "minilm-copy"
    shutil.copytree(bundled_embedding_model(), copy)
    again = qa("index", str(SEED), "--index-dir", str(index_dir), env={"QA_EMBEDDING_MODEL": str(copy)})
    assert again.returncode == 0 and "built" in again.stdout and "embedding model" in again.stdout


@pytest.mark.parametrize("variable", ["QA_READER_MODEL", "QA_EMBEDDING_MODEL"])
def test_missing_model_names_the_path_and_the_fix(tmp_path, variable):
    missing = tmp_path / "no-such-model"
    result = qa("ask", "Where is Tencent based?", "--index-dir", str(tmp_path / "index"), env={variable: str(missing)})
    assert result.returncode == 2
    assert str(missing) in result.stderr and variable in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["ask", "Where is Tencent based?"], ["serve", "--port", "0"]])
def test_an_invalid_setting_is_named_without_a_traceback(tmp_path, command):
    env = {"QA_READER_PRECISION": "fp8", "QA_TOP_K": "zero"}
    result = qa(*command, "--index-dir", str(tmp_path / "index"), env=env, timeout=120)
    assert result.returncode == 2
    assert "QA_READER_PRECISION='fp8'" in result.stderr and "QA_TOP_K='zero'" in result.stderr
    assert "Traceback" not in result.stderr


def test_int8_on_openvino_without_nncf_is_refused_with_the_reason(tmp_path):
    broken = tmp_path / "site" / "nncf"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('nncf is broken in this test')\n")
    env = {
        "QA_READER_PRECISION": "int8",
        "QA_READER_BACKEND": "openvino",
        "PYTHONPATH": os.pathsep.join([str(broken.parent), os.environ.get("PYTHONPATH", "")]),
    }
    result = qa("ask", "Where is Tencent based?", "--index-dir", str(tmp_path / "index"), env=env, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "int8 on OpenVINO needs: pip install openvino nncf" in result.stderr
