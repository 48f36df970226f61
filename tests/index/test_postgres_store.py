"""The PostgreSQL store (psycopg + pgvector) on a real server the tests start: the store contract, plus its schema,
processes sharing one database, dropped connections and passwords kept out of messages."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from index import postgres_store
from index.chunking import Passage
from index.documents import Document
from index.postgres_store import (
    DENSE_ANY,
    DENSE_WITHIN,
    KEYWORD_ANY,
    PostgresStore,
    StoreUnavailableError,
    StoreVersionError,
    any_of,
    public_url,
    secrets_of,
)
from index.store import (
    Chunking,
    PostgresOptions,
    StoreError,
    StoreManifest,
    StoreMismatchError,
    StoreMissingError,
    open_store,
)

from ..doubles import HashingEmbedder
from ..postgres import PASSWORD, PASSWORD_ROLE, admin_url, database_url, fresh_database
from .store_contract import MANIFEST, ContractTests, document, found, indexed, put, vector


@pytest.fixture
def url():
    with fresh_database() as made:
        yield made


@pytest.fixture
def make_store(url):
    opened = []

    def make(manifest=MANIFEST, options=None):
        store = open_store(url, manifest, postgres=options)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def sql(url):
    """A superuser's connection to the test's database, with pgvector's types."""
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        yield conn


def embedding_type(sql) -> str:
    """The SQL type of the passages' embedding column."""
    return sql.execute(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'qa_passages'::regclass AND attname = 'embedding'"
    ).fetchone()[0]


class TestPostgresStore(ContractTests):
    pass


def test_vectors_live_in_a_vector_column_that_the_hnsw_and_gin_indexes_serve(make_store, sql):
    put(make_store(), "tencent.txt")
    assert embedding_type(sql) == f"vector({MANIFEST.dimension})"
    indexes = {name: definition for name, definition in sql.execute("SELECT indexname, indexdef FROM pg_indexes")}
    assert "USING hnsw (embedding vector_ip_ops)" in indexes["qa_passages_embedding"]
    assert "USING gin (tsv)" in indexes["qa_passages_tsv"]
    sql.execute("SET enable_seqscan = off")  # a table this small is read whole unless told not to
    plan = sql.execute("EXPLAIN " + DENSE_ANY, {"vector": vector("Lau"), "k": 5}).fetchall()
    assert "qa_passages_embedding" in str(plan)  # the searches' own SQL is one the index can serve
    params = {"query": any_of(["lau", "seng"]), "lexemes": ["lau", "seng"], "candidates": 200}
    plan = sql.execute("EXPLAIN " + KEYWORD_ANY, params).fetchall()
    assert "qa_passages_tsv" in str(plan)


def test_replace_all_with_vectors_of_another_dimension_makes_a_new_vector_column(make_store, sql):
    store = make_store()
    put(store, "tencent.txt")
    small = HashingEmbedder("small-embedder", dimension=16)
    manifest = StoreManifest(small.label, 16, Chunking())
    doc = document("ocean.md")
    passages = [Passage("ocean.md", 0, doc.text, 0, len(doc.text))]
    store.replace_all(manifest, [(doc, passages, small.embed([doc.text]))])
    assert store.manifest == manifest and [d.id for d in store.documents()] == ["ocean.md"]
    hits = store.dense_search(small.embed(["Blue Planet"])[0], 5)
    assert found(hits) == {"ocean.md"} and hits[0].score > 0
    tables = {r[0] for r in sql.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'qa_passages%'")}
    assert tables == {"qa_passages"}
    assert embedding_type(sql) == "vector(16)"
    names = {r[0] for r in sql.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'qa_passages'")}
    assert names == {"qa_passages_pkey", "qa_passages_embedding", "qa_passages_tsv"}
    with pytest.raises(StoreMismatchError, match="small-embedder"):
        make_store()
    assert make_store(manifest).passage_count() == 1


def test_after_a_rebuild_elsewhere_searches_read_the_new_passages_and_writes_are_refused(make_store):
    stale, rebuilder = make_store(), make_store()
    put(stale, "tencent.txt")
    for _ in range(6):  # often enough for psycopg to prepare the statements, whose plans name the old table
        assert stale.dense_search(vector("Tencent"), 5) and stale.keyword_search("Tencent", 5)
    new = dataclasses.replace(MANIFEST, chunking=Chunking(max_words=400))
    rebuilder.replace_all(new, [indexed(document("weather.txt"), new.chunking)])
    assert found(stale.dense_search(vector("Tencent"), 5)) == {"weather.txt"}
    assert stale.keyword_search("Tencent", 5) == [] and stale.keyword_search("Leeds", 5)
    with pytest.raises(StoreMismatchError, match="rebuilt meanwhile"):
        put(stale, "tencent.txt")
    assert [d.id for d in rebuilder.documents()] == ["weather.txt"]
    rebuilder.replace_all(MANIFEST, [])  # down to nothing: another swap, the names free again
    assert rebuilder.documents() == [] and rebuilder.passage_count() == 0


def test_every_write_is_one_transaction_that_moves_the_generation_on(make_store, sql):
    store = make_store()
    generation = "SELECT generation FROM qa_meta"
    before = sql.execute(generation).fetchone()[0]
    put(store, "tencent.txt")
    store.delete("tencent.txt")
    assert sql.execute(generation).fetchone()[0] == before + 2
    assert sql.execute("SELECT count(*) FROM qa_passages").fetchone()[0] == 0


def test_a_database_without_a_store_is_refused_unless_one_is_to_be_made(url, sql):
    with pytest.raises(StoreMissingError, match="qa index"):
        open_store(url, MANIFEST, create=False)
    with pytest.raises(StoreMissingError):
        open_store(url, None)
    assert sql.execute("SELECT to_regclass('qa_meta')").fetchone()[0] is None


def test_a_schema_newer_than_this_app_is_refused(make_store, sql):
    make_store()
    sql.execute("UPDATE qa_meta SET schema_version = 2")
    message = "has schema version 2, this version of the app reads up to 1; upgrade the app"
    with pytest.raises(StoreVersionError, match=message):
        make_store()


def test_processes_laying_out_an_empty_database_at_once_all_succeed(url):
    start, stores, failures = threading.Barrier(3), [], []

    def open_at_once():
        start.wait()
        try:
            stores.append(open_store(url, MANIFEST))
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_at_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert failures == [] and len(stores) == 3
        put(stores[0], "weather.txt")
        assert [d.id for d in stores[2].documents()] == ["weather.txt"]
    finally:
        for store in stores:
            store.close()


def test_exclusive_lets_one_replica_at_a_time_index_the_seed_documents(make_store):
    replicas, indexed_by, spans = [make_store(), make_store()], [], []
    start = threading.Barrier(2)

    def start_replica(store: PostgresStore) -> None:
        start.wait()
        with store.exclusive("seed documents"):
            began = time.monotonic()
            if not store.documents():
                time.sleep(0.2)  # indexing takes a while: the other replica must wait, not index them too
                put(store, "tencent.txt")
                indexed_by.append(store)
            spans.append((began, time.monotonic()))

    threads = [threading.Thread(target=start_replica, args=(store,)) for store in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(indexed_by) == 1 and len(spans) == 2
    first, second = sorted(spans)
    assert first[1] <= second[0]  # one after the other
    with replicas[0].exclusive("seed documents"):  # let go at the end of each block
        assert [d.id for d in replicas[1].documents()] == ["tencent.txt"]


def test_a_filtered_search_through_the_hnsw_index_still_finds_k_passages(make_store, sql, monkeypatch):
    rng = np.random.default_rng(0)
    store = make_store(options=PostgresOptions(ef_search=10))
    for n in range(20):
        doc = Document(f"doc-{n:02}", f"doc-{n:02}", "upload", "0123456789", "sha")
        vectors = rng.normal(size=(10, MANIFEST.dimension)).astype(np.float32)
        passages = [Passage(doc.id, i, f"passage {i}", i, i + 1) for i in range(10)]
        store.upsert(doc, passages, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    # walk the graph, as over a corpus large enough to be worth it: no exact scan, no sorting a filtered set
    monkeypatch.setattr(postgres_store, "EXACT_BELOW", 0)
    for setting in ("enable_seqscan = off", "enable_sort = off"):
        sql.execute(f"ALTER DATABASE {sql.info.dbname} SET {setting}")  # for the store's new connections
        sql.execute(f"SET {setting}")
    store = make_store(options=PostgresOptions(ef_search=10))
    query = rng.normal(size=MANIFEST.dimension).astype(np.float32)
    query /= np.linalg.norm(query)
    params = {"vector": query, "k": 10, "documents": ["doc-07"]}
    assert "qa_passages_embedding" in str(sql.execute("EXPLAIN " + DENSE_WITHIN, params).fetchall())
    sql.execute("SET hnsw.ef_search = 10")
    assert len(sql.execute(DENSE_WITHIN, params).fetchall()) < 10  # 10 candidates, few of them of doc-07
    hits = store.dense_search(query, 10, ["doc-07"])
    assert len(hits) == 10 and found(hits) == {"doc-07"}  # the scan went on until it had 10 of doc-07
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_search_matches_any_of_the_questions_words_stemmed(make_store):
    store = make_store()
    put(store, "tencent.txt")
    put(store, "weather.txt")
    assert "Lau Seng Yee" in store.keyword_search("Who is Lau Seng Yee?", 5)[0].passage.text
    assert found(store.keyword_search("Where was the memorandum signing?", 5)) == {"tencent.txt"}  # sign(ed|ing)
    assert store.keyword_search("O'Brien's \\ 'path' | !& :* <->", 5) == []  # quoted, never parsed as operators


def test_a_wrong_password_is_refused_with_a_message_that_does_not_show_it(sql, caplog):
    caplog.set_level(logging.DEBUG)
    database = sql.info.dbname
    with psycopg.connect(database_url(admin_url(), database, PASSWORD_ROLE, PASSWORD)):
        pass  # the right one lets the role in: the rule is in force
    secret = "wr0ng-s3cret"
    with pytest.raises(StoreUnavailableError) as refused:
        open_store(database_url(admin_url(), database, PASSWORD_ROLE, secret), MANIFEST)
    message = str(refused.value)
    assert "password authentication failed" in message and f"{PASSWORD_ROLE}@/{database}" in message
    shown = "".join(traceback.format_exception(refused.value)) + caplog.text
    assert secret not in shown


def test_urls_in_messages_lose_their_passwords():
    url = "postgresql://qa:p%40ss@db.example:5432,db2:5433/corpus?sslmode=require&password=other"
    assert public_url(url) == "postgresql://qa@db.example:5432,db2:5433/corpus?sslmode=require"
    assert secrets_of(url) == {"p%40ss", "p@ss", "other"}
    assert public_url("postgresql://postgres:@/db?host=/tmp/x") == "postgresql://postgres@/db?host=/tmp/x"
    assert secrets_of("postgresql://postgres:@/db?host=/tmp/x") == set()
    with pytest.raises(StoreError) as malformed:  # libpq quotes the whole of a URL it cannot parse
        open_store("postgresql://qa:s3cret@[::1/corpus", MANIFEST)
    assert "s3cret" not in str(malformed.value)


def test_searches_and_writes_go_on_after_the_database_drops_every_connection(make_store, sql):
    store = make_store(options=PostgresOptions(pool_size=2))
    put(store, "tencent.txt")
    dropped = sql.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchone()[0]
    assert dropped >= 1
    assert found(store.dense_search(vector("Lau Seng Yee"), 5)) == {"tencent.txt"}
    put(store, "weather.txt")
    assert found(store.keyword_search("Leeds", 5)) == {"weather.txt"}


def test_work_on_a_connection_dropped_midway_is_done_once_more_on_another(make_store):
    store = make_store()
    tries = []

    def work(conn):
        tries.append(conn.info.backend_pid)
        if len(tries) == 1:
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return conn.execute("SELECT 1").fetchone()[0]

    assert store._run(work) == 1
    assert len(tries) == 2 and tries[0] != tries[1]
