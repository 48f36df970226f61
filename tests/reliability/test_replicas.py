"""Two `qa serve` replicas started together on one PostgreSQL database, through HTTP as a user has them: the seed
article embedded once, a document uploaded to one answered by the other, removed through the other and gone from
both, the seed answers as before. Needs the real models; a server that cannot start fails the test with its log."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from bench.load import BenchmarkError, started_servers

from ..conftest import ROOT
from ..postgres import fresh_database

pytestmark = pytest.mark.slow
SEED_ID = "tencent-uk-partnership-2018.txt"
GOLD = ("How many views did Blue Planet II get?", "220 million")
NOTE = {
    "name": "lighthouse-log.txt",
    "text": "The Eddystone lighthouse log of 1882 names its keeper. The keeper of the lighthouse in 1882 was Arthur "
    "Pengelly, who kept the lamp burning through the great storm of that winter.",
}
ABOUT_NOTE = "Who was the keeper of the lighthouse in 1882?"


def ask(url: str, question: str, documents: list[str] | None = None) -> dict:
    body: dict[str, object] = {"question": question} | ({"documents": documents} if documents is not None else {})
    reply = httpx.post(f"{url}/ask", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def listing(url: str) -> dict[str, dict]:
    reply = httpx.get(f"{url}/documents", timeout=30)
    assert reply.status_code == 200, reply.text
    return {d["id"]: d for d in reply.json()["documents"]}


def test_two_replicas_on_one_database_share_the_documents_and_embed_the_seed_once(tmp_path):
    with fresh_database() as database:
        env = {
            "QA_STORE_URL": database,
            "QA_DOCUMENTS": json.dumps([str(ROOT / "seeds")]),
            "QA_INDEX_DIR": str(tmp_path / "unused-local-index"),
            "QA_THREADS": "1",  # two servers on the test machine's cores
        }
        try:
            with started_servers(2, env, startup_timeout_s=300, logs=tmp_path) as [(a, _), (b, _)]:
                check_replicas(a, b, database, logs=[tmp_path / "server-0.log", tmp_path / "server-1.log"])
        except BenchmarkError as exc:  # the reason, with the server's log, instead of a bare traceback
            pytest.fail(f"a replica could not start: {exc}", pytrace=False)


def check_replicas(a: str, b: str, database: str, logs: list) -> None:
    # the seed article was embedded by one replica; the other found it current
    seeds_a, seeds_b = listing(a)[SEED_ID], listing(b)[SEED_ID]
    assert seeds_a == seeds_b and seeds_a["status"] == "indexed"
    reports = [line for log in logs for line in log.read_text().splitlines() if "documents from" in line]
    assert sorted(" 1 added" in r for r in reports) == [False, True], reports
    assert sorted(" 1 unchanged" in r for r in reports) == [False, True], reports
    with psycopg.connect(database, autocommit=True) as sql:
        assert sql.execute("SELECT generation FROM qa_meta").fetchone()[0] == 1  # one write: one embedding
        embedding_type = sql.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'qa_passages'::regclass AND attname = 'embedding'"
        ).fetchone()[0]
    assert embedding_type == "vector(384)"
    gold = {url: ask(url, GOLD[0]) for url in (a, b)}
    assert [g["answer"] for g in gold.values()] == [GOLD[1], GOLD[1]]

    # uploaded to A, answered by B from it alone
    added = httpx.post(f"{a}/documents", json=NOTE, timeout=120)
    assert added.status_code == 201, added.text
    note_id = added.json()["id"]
    answer = ask(b, ABOUT_NOTE, documents=[note_id])
    assert answer["answer"] == "Arthur Pengelly" and answer["source"]["document"] == note_id

    # removed through B: gone from A's listing and answers
    assert httpx.delete(f"{b}/documents/{note_id}", timeout=60).status_code == 204
    assert note_id not in listing(a)
    after = ask(a, ABOUT_NOTE)
    assert after["source"]["document"] != note_id and "Pengelly" not in json.dumps(after)
    assert httpx.post(f"{a}/ask", json={"question": ABOUT_NOTE, "documents": [note_id]}, timeout=30).status_code == 404

    # the seed's gold answer on both, as before
    for url, before in gold.items():
        again = ask(url, GOLD[0])
        assert (again["answer"], again["score"]) == (before["answer"], before["score"])
