"""Keeping a store in step with documents: only what changed is embedded, gone files pruned, rebuilds."""

from __future__ import annotations

import shutil

import pytest

from index.documents import DocumentError, load_documents
from index.indexing import EMBED_STEP, embed_passages, index_documents, manifest_of, prune, rebuild
from index.store import Chunking, StoreMismatchError, open_store

from ..conftest import SEED
from ..doubles import HashingEmbedder


@pytest.fixture
def store(tmp_path, fake_embedder):
    store = open_store(tmp_path / "store", manifest_of(fake_embedder, Chunking()))
    yield store
    store.close()


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_only_new_and_changed_documents_are_embedded(tmp_path, store, fake_embedder):
    docs = tmp_path / "docs"
    shutil.copytree(SEED.parent, docs)
    write(docs, "notes.md", "The pilot starts in March in Leeds. It runs for six weeks.")
    first = index_documents(store, load_documents([docs]), fake_embedder, Chunking())
    assert sorted(first.added) == ["notes.md", SEED.name] and fake_embedder.embedded == first.passages_embedded > 0

    fake_embedder.embedded = 0
    again = index_documents(store, load_documents([docs]), fake_embedder, Chunking())
    assert sorted(again.unchanged) == ["notes.md", SEED.name] and fake_embedder.embedded == 0

    write(docs, "notes.md", "The pilot starts in April in York.")
    changed = index_documents(store, load_documents([docs]), fake_embedder, Chunking())
    assert changed.updated == ["notes.md"] and changed.unchanged == [SEED.name] and fake_embedder.embedded == 1
    assert store.keyword_search("York", 3)[0].passage.document == "notes.md"
    assert not store.keyword_search("Leeds", 3)


def test_ids_come_from_the_path_below_the_folder_and_are_url_safe(tmp_path):
    docs = tmp_path / "docs"
    write(docs, "README.md", "Top level.")
    write(docs, "guide/README.md", "Inside the guide.")
    write(docs, "Annual report (2024)/summary v2.txt", "The summary.")
    documents = {d.id: d for d in load_documents([docs])}
    assert set(documents) == {"README.md", "guide--README.md", "Annual-report-2024--summary-v2.txt"}
    assert documents["guide--README.md"].name == "guide/README.md"
    assert documents["README.md"].origin == str((docs / "README.md").resolve())


def test_prune_removes_only_the_documents_gone_from_the_folders_named(tmp_path, store, fake_embedder):
    docs, other = tmp_path / "docs", tmp_path / "other"
    write(docs, "keep.txt", "Kept text here.")
    gone = write(docs, "gone.txt", "Soon removed text.")
    write(other, "elsewhere.txt", "From another folder.")
    index_documents(store, load_documents([docs, other]), fake_embedder, Chunking())
    from index.documents import parse_document

    upload = parse_document("upload.txt", "upload.txt", b"An uploaded note.")
    store.upsert(upload, *_indexed(upload, fake_embedder))
    gone.unlink()
    other_file = other / "elsewhere.txt"
    other_file.unlink()  # gone too, but its folder is not the one pruned
    present = {d.id for d in load_documents([docs])}
    assert prune(store, [docs], present) == ["gone.txt"]
    assert sorted(d.id for d in store.documents()) == ["elsewhere.txt", "keep.txt", "upload.txt"]


def _indexed(doc, embedder):
    from index.indexing import chunk

    passages = chunk(doc, Chunking())
    return passages, embed_passages(embedder, [p.text for p in passages])


def test_a_rebuild_re_embeds_every_document_uploads_included(tmp_path, store, fake_embedder):
    index_documents(store, load_documents([SEED]), fake_embedder, Chunking())
    from index.documents import parse_document

    upload = parse_document("upload.txt", "upload.txt", b"An uploaded note about Leeds.")
    store.upsert(upload, *_indexed(upload, fake_embedder))
    other = HashingEmbedder("another-embedder", dimension=32)
    with pytest.raises(StoreMismatchError):
        open_store(tmp_path / "store", manifest_of(other, Chunking()))
    report = rebuild(store, other, Chunking(max_words=40))
    assert sorted(report.updated) == [SEED.name, "upload.txt"]
    reopened = open_store(tmp_path / "store", manifest_of(other, Chunking(max_words=40)))
    assert reopened.keyword_search("Leeds", 1)[0].passage.document == "upload.txt"
    assert reopened.dense_search(other.embed(["Tencent"])[0], 1)
    reopened.close()


def test_a_blank_document_is_indexed_as_nothing_and_said_so(tmp_path, store, fake_embedder, caplog):
    write(tmp_path / "docs", "blank.txt", "  \n\n\t\n")
    report = index_documents(store, load_documents([tmp_path / "docs"]), fake_embedder, Chunking())
    assert report.added == ["blank.txt"] and store.document("blank.txt").passages == 0
    assert "blank.txt has no text to index" in caplog.text


def test_many_passages_are_embedded_in_steps_in_their_order(fake_embedder, monkeypatch):
    sizes = []
    real_embed = fake_embedder.embed
    monkeypatch.setattr(fake_embedder, "embed", lambda texts: sizes.append(len(texts)) or real_embed(texts))
    texts = [f"passage number {i} about topic {i % 3}" for i in range(EMBED_STEP * 2 + 5)]
    ticks = []
    vectors = embed_passages(fake_embedder, texts, ticks.append)
    assert sizes == ticks == [EMBED_STEP, EMBED_STEP, 5]
    assert (vectors == real_embed(texts)).all()


def test_two_files_of_one_id_are_refused(tmp_path):
    write(tmp_path, "a b.txt", "One.")
    write(tmp_path, "a-b.txt", "Two.")
    with pytest.raises(DocumentError, match=r"two documents have the id a-b\.txt"):
        load_documents([tmp_path])
