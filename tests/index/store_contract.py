"""What every `PassageStore` must do: the same tests run on the local store and on PostgreSQL + pgvector.

A backend's test module imports `ContractTests` and supplies a `make_store(manifest=None)` fixture that opens a
store at one location (the same location each call within a test), so that two calls stand for two processes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from index.chunking import Passage
from index.documents import Document
from index.indexing import chunk, embed_passages, manifest_of
from index.store import Chunking, StoreManifest, StoreMismatchError

from ..doubles import HashingEmbedder

EMBEDDER = HashingEmbedder()
MANIFEST = manifest_of(EMBEDDER, Chunking())

TEXTS = {
    "tencent.txt": (
        "Tencent signed a memorandum in London. Lau Seng Yee is a senior executive vice president of Tencent."
    ),
    "ocean.md": "Blue Planet II drew 220 million views on Tencent Video. The documentary was co-produced by the BBC.",
    "weather.txt": "Rain is expected over Leeds on Tuesday. Winds will ease by the evening.",
}


def document(doc_id: str, text: str | None = None, name: str | None = None) -> Document:
    text = TEXTS[doc_id] if text is None else text
    return Document(doc_id, name or doc_id, "upload", text, f"sha-{hash(text)}", examples=("A question?",))


SMALL = Chunking(max_words=12, overlap_sentences=0)


def indexed(doc: Document, chunking: Chunking = SMALL):
    passages = chunk(doc, chunking)
    return doc, passages, embed_passages(EMBEDDER, [p.text for p in passages])


def put(store, doc_id: str, text: str | None = None):
    return store.upsert(*indexed(document(doc_id, text)))


def found(hits) -> set[str]:
    return {h.passage.document for h in hits}


def vector(text: str) -> np.ndarray:
    return EMBEDDER.embed([text])[0]


class ContractTests:
    def test_upsert_makes_a_document_searchable_and_listed(self, make_store):
        store = make_store()
        record = put(store, "tencent.txt")
        assert record.id == "tencent.txt" and record.status == "indexed" and record.passages == 2
        assert record.examples == ("A question?",) and record.characters == len(TEXTS["tencent.txt"])
        [listed] = store.documents()
        assert dataclasses.replace(listed, added=record.added) == record
        hits = store.dense_search(vector("Lau Seng Yee executive vice president"), 1)
        assert hits[0].passage.document == "tencent.txt" and "Lau Seng Yee" in hits[0].passage.text
        assert -1.0 <= hits[0].score <= 1.0001
        assert store.keyword_search("memorandum London", 5)[0].passage.text.startswith("Tencent signed")
        assert store.passage_count() == 2
        assert store.source("tencent.txt").text == TEXTS["tencent.txt"]

    def test_upsert_of_the_same_id_replaces_the_document_whole(self, make_store):
        store = make_store()
        put(store, "tencent.txt")
        put(store, "tencent.txt", "Tencent moved its offices to Manchester last spring.")
        assert [d.id for d in store.documents()] == ["tencent.txt"]
        assert store.passage_count() == 1
        assert store.keyword_search("memorandum", 5) == []
        assert "Manchester" in store.keyword_search("Manchester offices", 5)[0].passage.text

    def test_delete_removes_a_document_and_its_passages(self, make_store):
        store = make_store()
        put(store, "tencent.txt")
        put(store, "ocean.md")
        assert store.delete("tencent.txt") is True
        assert store.delete("tencent.txt") is False and store.delete("never-was") is False
        assert [d.id for d in store.documents()] == ["ocean.md"]
        assert found(store.dense_search(vector("Lau Seng Yee"), 10)) == {"ocean.md"}
        assert store.keyword_search("Lau Seng Yee", 10) == []

    def test_searches_can_be_kept_to_some_documents(self, make_store):
        store = make_store()
        for doc_id in TEXTS:
            put(store, doc_id)
        q = vector("Tencent")
        assert found(store.dense_search(q, 10)) == set(TEXTS)
        assert found(store.dense_search(q, 10, ["ocean.md"])) == {"ocean.md"}
        assert found(store.dense_search(q, 10, ["ocean.md", "weather.txt"])) == {"ocean.md", "weather.txt"}
        assert store.dense_search(q, 10, []) == [] and store.dense_search(q, 10, ["unknown"]) == []
        assert found(store.keyword_search("Tencent", 10)) == {"tencent.txt", "ocean.md"}
        assert found(store.keyword_search("Tencent", 10, ["ocean.md"])) == {"ocean.md"}
        assert store.keyword_search("Tencent", 10, ["weather.txt"]) == []

    def test_keyword_search_needs_a_shared_word(self, make_store):
        store = make_store()
        put(store, "weather.txt")
        assert store.keyword_search("What is it?", 5) == []  # stopwords only
        assert store.keyword_search("", 5) == []
        assert store.keyword_search("Leeds", 5)[0].score > 0

    def test_an_empty_store_finds_nothing(self, make_store):
        store = make_store()
        assert store.documents() == [] and store.passage_count() == 0
        assert store.dense_search(vector("anything"), 5) == [] and store.keyword_search("anything", 5) == []

    def test_queued_documents_are_listed_as_indexing_then_failed_or_indexed(self, make_store):
        store = make_store()
        put(store, "ocean.md")
        big = document("tencent.txt")
        assert store.queue(big).status == "indexing"
        assert [d.id for d in store.queued()] == ["tencent.txt"] and store.queued()[0].text == big.text
        assert {d.id: d.status for d in store.documents()} == {"ocean.md": "indexed", "tencent.txt": "indexing"}
        assert store.keyword_search("memorandum", 5) == []  # not searchable while indexing
        store.fail("tencent.txt", "MemoryError: out of memory")
        failed = store.document("tencent.txt")
        assert failed.status == "failed" and failed.reason == "MemoryError: out of memory" and store.queued() == []
        store.queue(big)
        store.upsert(*indexed(big))
        assert store.document("tencent.txt").status == "indexed" and store.queued() == []
        assert store.keyword_search("memorandum", 5)

    def test_a_replacement_in_progress_keeps_the_old_version_searchable(self, make_store):
        store = make_store()
        put(store, "tencent.txt")
        store.queue(document("tencent.txt", "Tencent moved to Manchester."))
        listed = store.document("tencent.txt")
        assert listed.status == "indexing" and listed.passages == 2
        assert store.keyword_search("memorandum", 5)  # the indexed version answers until the new one is in
        assert store.delete("tencent.txt") and store.documents() == [] and store.queued() == []

    def test_another_instance_sees_writes_on_its_next_search(self, make_store):
        first, second = make_store(), make_store()
        assert second.dense_search(vector("Lau"), 5) == []
        put(first, "tencent.txt")
        assert found(second.dense_search(vector("Lau Seng Yee"), 5)) == {"tencent.txt"}
        assert found(second.keyword_search("Lau", 5)) == {"tencent.txt"}
        put(second, "tencent.txt", "Tencent moved to Manchester.")
        assert first.keyword_search("memorandum", 5) == [] and first.keyword_search("Manchester", 5)
        second.delete("tencent.txt")
        assert first.dense_search(vector("Tencent"), 5) == [] and first.documents() == []

    def test_a_store_made_with_another_model_or_chunking_is_refused_or_opened_as_built(self, make_store):
        put(make_store(), "weather.txt")
        other = StoreManifest("another-model", MANIFEST.dimension, MANIFEST.chunking)
        with pytest.raises(StoreMismatchError, match="another-model"):
            make_store(other)
        with pytest.raises(StoreMismatchError, match="chunking"):
            make_store(dataclasses.replace(MANIFEST, chunking=Chunking(max_words=50)))
        as_built = make_store(None)
        assert as_built.manifest == MANIFEST and [d.id for d in as_built.documents()] == ["weather.txt"]

    def test_replace_all_swaps_every_document_and_the_manifest_at_once(self, make_store):
        store = make_store()
        put(store, "weather.txt")
        put(store, "tencent.txt")
        new = dataclasses.replace(MANIFEST, chunking=Chunking(max_words=400))
        store.replace_all(new, [indexed(document(d), new.chunking) for d in ("weather.txt", "ocean.md")])
        assert store.manifest == new and {d.id for d in store.documents()} == {"weather.txt", "ocean.md"}
        assert store.passage_count() == 2  # one passage each at 400 words
        assert found(store.keyword_search("Tencent", 5)) == {"ocean.md"}
        assert make_store(new).passage_count() == 2

    def test_a_failed_write_changes_nothing(self, make_store):
        store = make_store()
        put(store, "tencent.txt")
        doc, passages, vectors = indexed(
            document(
                "tencent.txt",
                "Tencent moved to Manchester last spring. Its new offices stand near the station in the city centre.",
            )
        )
        assert len(passages) == 2
        with pytest.raises(ValueError):
            store.upsert(doc, passages, vectors[:1])  # one vector short
        broken = [Passage("tencent.txt", 0, "x", 0, 1), Passage("tencent.txt", 0, "y", 0, 1)]  # one position twice
        with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
            store.upsert(doc, broken, embed_passages(EMBEDDER, ["x", "y"]))
        assert store.keyword_search("memorandum", 5) and store.passage_count() == 2
        assert store.source("tencent.txt").text == TEXTS["tencent.txt"]
