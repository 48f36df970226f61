"""The local store (SQLite + FAISS): the store contract, plus its caches, crash safety and corrupt files."""

from __future__ import annotations

import sqlite3

import pytest

from index.local_store import DATABASE, VECTORS, LocalStore
from index.store import StoreCorruptError, StoreMissingError, open_store

from .store_contract import MANIFEST, ContractTests, put, vector


@pytest.fixture
def make_store(tmp_path):
    opened = []

    def make(manifest=MANIFEST):
        store = open_store(tmp_path / "store", manifest)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


class TestLocalStore(ContractTests):
    pass


def test_a_missing_store_is_made_only_when_asked(tmp_path):
    with pytest.raises(StoreMissingError, match="qa index"):
        open_store(tmp_path / "none", MANIFEST, create=False)
    with pytest.raises(StoreMissingError):
        open_store(tmp_path / "none", None)
    assert not (tmp_path / "none" / DATABASE).exists()


def test_the_faiss_cache_is_kept_and_caught_up_with_changes_made_without_it(tmp_path):
    first = LocalStore(tmp_path, MANIFEST)
    put(first, "tencent.txt")
    put(first, "weather.txt")
    first.close()  # writes the cache
    assert (tmp_path / VECTORS).exists()
    writer = LocalStore(tmp_path, MANIFEST)
    writer.delete("weather.txt")
    put(writer, "ocean.md")
    put(writer, "tencent.txt", "Tencent moved to Manchester.")
    del writer  # as if killed: its cache is not saved
    again = LocalStore(tmp_path, MANIFEST)
    hits = again.dense_search(vector("Tencent Manchester"), 10)
    assert {h.passage.document for h in hits} == {"tencent.txt", "ocean.md"}
    assert len(hits) == again.passage_count() == 3
    assert not again.keyword_search("memorandum", 5) and not again.keyword_search("Leeds", 5)


def test_a_corrupt_cache_is_rebuilt_from_the_database(tmp_path):
    store = LocalStore(tmp_path, MANIFEST)
    put(store, "tencent.txt")
    store.close()
    (tmp_path / VECTORS).write_bytes(b"not faiss")
    again = LocalStore(tmp_path, MANIFEST)
    assert again.dense_search(vector("Lau Seng Yee"), 1)[0].passage.document == "tencent.txt"


def test_a_database_that_is_not_sqlite_is_a_clear_error(tmp_path):
    tmp_path.joinpath(DATABASE).write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreCorruptError, match="not a readable store"):
        LocalStore(tmp_path, MANIFEST)


def test_the_old_positional_index_is_cleared_away(tmp_path):
    (tmp_path / "build-20261201T000000-abcd").mkdir()
    (tmp_path / "CURRENT").write_text("build-20261201T000000-abcd")
    LocalStore(tmp_path, MANIFEST).close()
    assert not (tmp_path / "CURRENT").exists() and not list(tmp_path.glob("build-*"))


def test_a_write_is_one_transaction(tmp_path):
    store = LocalStore(tmp_path, MANIFEST)
    put(store, "tencent.txt")
    db = sqlite3.connect(tmp_path / DATABASE)
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == 2
    generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
    store.delete("tencent.txt")
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == 0
    assert int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]) == generation + 1
