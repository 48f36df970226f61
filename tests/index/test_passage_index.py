import json

import numpy as np
import pytest

from index.building import refresh_index
from index.documents import load_documents
from index.passage_index import (
    CURRENT,
    MANIFEST,
    Chunking,
    IndexCorruptError,
    IndexMissingError,
    PassageIndex,
    live_build,
)
from index.store import VectorStore

from ..conftest import SEED


def build(docs, embedder, directory, **kw):
    return refresh_index(directory, load_documents([docs]), embedder, Chunking(**kw) if kw else Chunking())


def test_round_trip_keeps_passages_vectors_and_manifest(seed_copy, fake_embedder, tmp_path):
    directory = tmp_path / "index"
    report = build(seed_copy, fake_embedder, directory)
    assert report.rebuilt and report.reason == f"no index in {directory}"  # not "run `qa index`" while it runs
    loaded = PassageIndex.load(directory)
    assert loaded.passages == report.index.passages
    assert len(loaded.store) == len(loaded.passages) > 0
    manifest = loaded.manifest
    assert manifest["embedding_model"] == fake_embedder.name
    assert manifest["dimension"] == fake_embedder.dimension
    assert manifest["documents"]["tencent-uk-partnership-2018.txt"]["date"] == "2018-05-09"
    assert "created_at" in manifest and len(manifest["documents"]["tencent-uk-partnership-2018.txt"]["sha256"]) == 64
    query = fake_embedder.embed(["Blue Planet II documentary views Tencent Video"])[0]
    assert "Blue Planet II" in loaded.search(query, 1)[0].passage.text


def test_unchanged_documents_and_model_do_not_rebuild(seed_copy, fake_embedder, tmp_path):
    directory = tmp_path / "index"
    build(seed_copy, fake_embedder, directory)
    again = build(seed_copy, fake_embedder, directory)
    assert not again.rebuilt and again.reason == "up to date"


def test_changed_document_model_or_chunking_rebuilds(seed_copy, fake_embedder, tmp_path):
    from ..doubles import HashingEmbedder

    directory = tmp_path / "index"
    build(seed_copy, fake_embedder, directory)
    assert build(seed_copy, fake_embedder, directory, max_words=50).rebuilt
    assert build(seed_copy, HashingEmbedder(name="other-model"), directory, max_words=50).rebuilt
    (seed_copy / "extra.txt").write_text("A new document about penguins.", encoding="utf-8")
    report = build(seed_copy, HashingEmbedder(name="other-model"), directory, max_words=50)
    assert report.rebuilt and "extra.txt" in report.reason
    assert len(list(directory.glob("build-*"))) == 1, "old builds are cleaned up"


def test_an_index_split_by_older_sentence_rules_is_rebuilt(seed_copy, fake_embedder, tmp_path):
    directory = tmp_path / "index"
    build(seed_copy, fake_embedder, directory)
    manifest_path = live_build(directory) / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    del manifest["chunking"]["splitter"]  # as written before the splitter had a version
    manifest_path.write_text(json.dumps(manifest))
    report = build(seed_copy, fake_embedder, directory)
    assert report.rebuilt and "chunking" in report.reason
    assert not build(seed_copy, fake_embedder, directory).rebuilt


def test_rebuild_interrupted_half_way_leaves_old_index_in_use(seed_copy, fake_embedder, tmp_path, monkeypatch):
    directory = tmp_path / "index"
    old = build(seed_copy, fake_embedder, directory).index
    (seed_copy / "extra.txt").write_text("Another document.", encoding="utf-8")

    def crash(self, path):
        path.write_bytes(b"half a faiss file")
        raise KeyboardInterrupt("simulated crash while writing vectors")

    monkeypatch.setattr(VectorStore, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        build(seed_copy, fake_embedder, directory)
    monkeypatch.undo()
    survivor = PassageIndex.load(directory)
    assert survivor.passages == old.passages
    assert list(survivor.documents) == ["tencent-uk-partnership-2018.txt"]
    # the next run notices the new document and finishes the job
    report = build(seed_copy, fake_embedder, directory)
    assert report.rebuilt and "extra.txt" in PassageIndex.load(directory).documents
    assert not list(directory.glob(".tmp-*"))


def test_truncated_vectors_file_is_detected_and_rebuilt(seed_copy, fake_embedder, tmp_path):
    directory = tmp_path / "index"
    build(seed_copy, fake_embedder, directory)
    vectors = live_build(directory) / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match="checksum"):
        PassageIndex.load(directory)
    report = build(seed_copy, fake_embedder, directory)
    assert report.rebuilt and "checksum" in report.reason and "run `qa index`" not in report.reason
    assert len(PassageIndex.load(directory).passages) == len(report.index.passages)


def test_corrupt_manifest_and_dangling_pointer_are_clear_errors(seed_copy, fake_embedder, tmp_path):
    directory = tmp_path / "index"
    with pytest.raises(IndexMissingError, match="qa index"):
        PassageIndex.load(directory)
    build(seed_copy, fake_embedder, directory)
    (live_build(directory) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        PassageIndex.load(directory)
    (directory / CURRENT).write_text("build-gone")
    with pytest.raises(IndexCorruptError, match="missing"):
        PassageIndex.load(directory)


def test_vector_store_round_trip_and_search(tmp_path):
    store = VectorStore(4)
    vectors = np.eye(4, dtype=np.float32)
    store.add(vectors)
    store.save(tmp_path / "v.faiss")
    loaded = VectorStore.load(tmp_path / "v.faiss")
    hits = loaded.search(np.array([0, 0, 1, 0], dtype=np.float32), 2)
    assert hits[0] == (2, pytest.approx(1.0))
    assert len(hits) == 2
    with pytest.raises(ValueError):
        store.add(np.zeros((1, 3), dtype=np.float32))
    assert json.dumps(hits)  # plain Python numbers


def test_a_blank_document_is_indexed_as_nothing_and_said_so(seed_copy, fake_embedder, tmp_path, caplog):
    (seed_copy / "blank.txt").write_text("  \n\n\t\n", encoding="utf-8")
    report = build(seed_copy, fake_embedder, tmp_path / "index")
    assert {p.document for p in report.index.passages} == {SEED.name}
    assert "blank.txt has no text to index" in caplog.text


def test_many_passages_are_embedded_in_steps_in_their_order(fake_embedder, monkeypatch):
    import index.passage_index as passage_index

    sizes = []
    real_embed = fake_embedder.embed
    monkeypatch.setattr(fake_embedder, "embed", lambda texts: sizes.append(len(texts)) or real_embed(texts))
    monkeypatch.setattr(passage_index, "EMBED_STEP", 4)
    texts = [f"passage number {i} about topic {i % 3}" for i in range(10)]
    vectors = passage_index.embed_passages(fake_embedder, texts)
    assert sizes == [4, 4, 2]
    np.testing.assert_array_equal(vectors, real_embed(texts))


def test_a_question_concerns_the_passages_by_a_shared_word_or_a_similar_embedding(seed_copy, fake_embedder, tmp_path):
    index = build(seed_copy, fake_embedder, tmp_path / "index").index
    unrelated = fake_embedder.embed(["zzz"])[0]  # hashes to a coordinate no passage word may share

    assert index.concerns("Where is Tencent based?", unrelated, min_similarity=0.99)  # "Tencent" is in the text
    assert not index.concerns("hello?", unrelated, min_similarity=0.2)  # nothing shared: a greeting, not a question
    assert not index.concerns("What is it?", unrelated, min_similarity=0.2)  # stopwords only
    own = fake_embedder.embed([index.passages[0].text])[0]
    assert index.concerns("hello?", own, min_similarity=0.2)  # as similar to a passage as can be
    assert index.concerns("hello?", unrelated, min_similarity=-1.0)  # the floor off: every question is read
