"""The store benchmark's size sweep on a tiny synthetic corpus, against a real PostgreSQL (no models needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.stores import main, recall, source_found, synthetic_corpus, with_build_memory

from ..postgres import fresh_database


@pytest.fixture
def url():
    with fresh_database() as made:
        yield made


def test_the_synthetic_corpus_is_seeded_unit_vectors_with_passages_that_point_into_its_text():
    corpus = synthetic_corpus(300, queries=5, words=8, seed=3)
    again = synthetic_corpus(300, queries=5, words=8, seed=3)
    assert corpus.vectors.shape == (300, 384) and corpus.queries.shape == (5, 384)
    assert np.allclose(np.linalg.norm(corpus.vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(corpus.vectors, again.vectors) and np.array_equal(corpus.queries, again.queries)
    assert not np.array_equal(corpus.vectors, synthetic_corpus(300, queries=5, words=8, seed=4).vectors)
    last = corpus.passages[-1]
    assert corpus.document.text[last.start : last.end] == last.text and len(last.text.split()) == 8 + 3
    # each query is made from one passage: much nearer to it than passages are to each other
    to_source = np.sum(corpus.queries * corpus.vectors[corpus.sources], axis=1)
    assert 0.6 < to_source.mean() < 0.8 and abs(float(np.mean(corpus.vectors[:100] @ corpus.vectors[100]))) < 0.3


def test_recall_is_the_share_of_the_exact_neighbours_found_and_of_the_sources_found():
    exact = [{("d", 1), ("d", 2)}, {("d", 3), ("d", 4)}]
    found = [{("d", 1), ("d", 2)}, {("d", 3), ("d", 9)}]
    assert recall(found, exact, k=2) == 0.75
    assert source_found(found, "d", np.array([2, 4])) == 0.5


def test_build_settings_ride_on_the_url_as_libpq_options():
    assert with_build_memory("postgresql://u@/db?host=/tmp", "1GB") == (
        "postgresql://u@/db?host=/tmp&options=-c%20maintenance_work_mem%3D1GB%20-c%20max_parallel_maintenance_workers%3D1"
    )


def test_a_tiny_sweep_puts_both_stores_side_by_side_and_says_the_data_is_synthetic(url, capsys):
    sizes = [
        "--sizes",
        "200",
        "400",
        "--queries",
        "10",
        "--warmup",
        "2",
        "--ef-search",
        "40",
        "--faiss-threads",
        "1",
        "2",
    ]
    assert main(["sizes", "--url", url, *sizes]) == 0
    out = capsys.readouterr().out
    assert "Synthetic data" in out and "| 400 | pgvector HNSW, ef_search 40 |" in out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["synthetic"] is True
    rows = {(r["passages"], r["store"]): r for r in report["rows"]}
    stores = ["FAISS flat (exact), 1 thread", "FAISS flat (exact), 2 threads", "pgvector HNSW, ef_search 40"]
    assert list(rows) == [(n, store) for n in (200, 400) for store in stores]
    for row in rows.values():
        assert row["p50_ms"] > 0 and row["build_s"] >= 0
        assert row["recall_at_10"] >= 0.9 and row["source_at_10"] >= 0.9  # so few vectors: the graph finds them
    assert rows[(400, "FAISS flat (exact), 2 threads")]["recall_at_10"] == 1.0
    assert "HNSW index" in rows[(400, "pgvector HNSW, ef_search 40")]["note"]
