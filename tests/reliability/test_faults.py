"""Faults: kill -9 while indexing or mid-upload, an unreadable or mismatched store, missing models."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from index.local_store import DATABASE

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


def store_rows(index_dir: Path) -> dict[str, tuple[int, int]]:
    """Each indexed document's (passages listed, passage rows), read straight from the database (none while the
    database has no tables yet)."""
    db = sqlite3.connect(index_dir / DATABASE)
    try:
        if not db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'passages'").fetchone()[0]:
            return {}
        listed = dict(db.execute("SELECT id, passages FROM documents"))
        rows = dict(db.execute("SELECT document, count(*) FROM passages GROUP BY document"))
    finally:
        db.close()
    return {doc_id: (n, rows.get(doc_id, 0)) for doc_id, n in listed.items()}


def test_kill_9_while_indexing_leaves_each_document_whole_or_absent_and_indexing_resumes(tmp_path):
    docs, index_dir = tmp_path / "docs", tmp_path / "index"
    write_corpus(docs, 30)
    proc = subprocess.Popen(
        [*QA, "index", str(docs), "--index-dir", str(index_dir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if (index_dir / DATABASE).exists() and len(store_rows(index_dir)) >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = store_rows(index_dir)
    assert 3 <= len(done) < 31, "the kill came before or after the indexing"
    assert all(listed == rows > 0 for listed, rows in done.values()), done  # no document half there

    again = qa("index", str(docs), "--index-dir", str(index_dir))
    assert again.returncode == 0, again.stderr
    assert f"{31 - len(done)} added, 0 updated, {len(done)} unchanged" in again.stdout
    assert len(store_rows(index_dir)) == 31


def test_kill_9_mid_upload_leaves_the_store_consistent_and_the_upload_is_finished_after_restart(tmp_path):
    index_dir = tmp_path / "index"
    big = " ".join(
        f"Section {s}: the harbour at Dunmore logged {s * 7 % 113} ships in week {s} of the survey."
        for s in range(4000)
    )
    command = [*QA, "serve", "--port", "{port}", "--index-dir", str(index_dir)]
    env = {"QA_DOCUMENTS": f'["{SEED}"]', "QA_UPLOAD_WAIT_PASSAGES": "50"}
    with server(command, env=env) as (url, proc):
        reply = httpx.post(f"{url}/documents", json={"name": "survey.txt", "text": big}, timeout=60)
        assert reply.status_code == 202, reply.text
        assert reply.json()["status"] == "indexing" and reply.headers["location"] == "/documents/survey.txt"
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    listed = store_rows(index_dir)
    assert "survey.txt" not in listed or listed["survey.txt"][0] == listed["survey.txt"][1]
    assert listed[SEED.name][0] == listed[SEED.name][1] > 0

    with server(command, env=env) as (url, _):
        deadline = time.monotonic() + 300
        status = None
        while time.monotonic() < deadline and status != "indexed":
            status = httpx.get(f"{url}/documents/survey.txt", timeout=10).json()["status"]
            time.sleep(0.5)
        assert status == "indexed"
        ask = {"question": "How many ships did the harbour log in week 12?", "documents": ["survey.txt"]}
        reply = httpx.post(f"{url}/ask", json=ask, timeout=30).json()
        assert reply["source"]["document"] == "survey.txt"
        listed = {d["id"]: d["status"] for d in httpx.get(f"{url}/documents", timeout=10).json()["documents"]}
        assert listed == {SEED.name: "indexed", "survey.txt": "indexed"}


def test_an_unreadable_store_is_set_aside_and_made_again_from_the_documents(tmp_path):
    index_dir = tmp_path / "index"
    assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    (index_dir / DATABASE).write_bytes(b"\x00\x01 not a database" * 500)
    for suffix in ("-wal", "-shm"):
        (index_dir / (DATABASE + suffix)).unlink(missing_ok=True)
    log = tmp_path / "server.log"
    env = {"QA_DOCUMENTS": f'["{SEED}"]'}
    with server([*QA, "serve", "--port", "{port}", "--index-dir", str(index_dir)], env=env, log=log) as (url, _):
        reply = httpx.post(f"{url}/ask", json={"question": "Where is Tencent based?"}, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json()["source"]["document"] == SEED.name
    text = log.read_text()
    assert "not a readable store" in text and "moved aside" in text, text
    assert list(index_dir.glob(f"{DATABASE}.unreadable-*"))


def test_a_store_made_with_another_embedding_model_is_rebuilt_with_its_uploads(tmp_path):
    index_dir = tmp_path / "index"
    assert qa("index", str(SEED), "--index-dir", str(index_dir)).returncode == 0
    from index.embedding import bundled_embedding_model

    copy = tmp_path / "minilm-copy"
    shutil.copytree(bundled_embedding_model(), copy)
    again = qa("index", str(SEED), "--index-dir", str(index_dir), env={"QA_EMBEDDING_MODEL": str(copy)})
    assert again.returncode == 0, again.stderr
    assert "rebuilding the document store" in again.stderr and "embedding model" in again.stderr
    assert "1 unchanged" in again.stdout  # rebuilt from its own text, then nothing left to do


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
