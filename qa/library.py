"""The documents the bot knows: the store for the settings, kept in step with `QA_DOCUMENTS`, and changed one
write at a time (uploads, replacements, removals) while questions go on being answered."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from index.chunking import Passage
from index.documents import DocumentError, document_id, load_documents, parse_document
from index.formats import UnreadableDocument, check_format
from index.indexing import TextEmbedder, chunk, embed_passages, index_documents, is_current, manifest_of, rebuild
from index.local_store import DATABASE
from index.store import (
    Chunking,
    DocumentRecord,
    PassageStore,
    PostgresOptions,
    StoreCorruptError,
    StoreMismatchError,
    is_database_url,
    open_store,
)
from qa.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def chunking_of(settings: Settings) -> Chunking:
    return Chunking(settings.passage_max_words, settings.passage_overlap_sentences)


def store_location(settings: Settings) -> str | Path:
    return settings.store_url.get_secret_value() if settings.store_url else settings.index_dir


def describe_location(settings: Settings) -> str:
    """Where the store is, for messages and logs: a database URL without its password."""
    if settings.store_url is None:
        return str(settings.index_dir)
    from index.postgres_store import public_url

    return public_url(settings.store_url.get_secret_value())


def open_library_store(settings: Settings, embedder: TextEmbedder, create: bool = True) -> PassageStore:
    """The store the settings name, rebuilt from its own documents when it was made with another embedding model
    or chunking (uploads included); a local store whose database is unreadable is set aside and started anew."""
    location, manifest = store_location(settings), manifest_of(embedder, chunking_of(settings))
    options = PostgresOptions(settings.pg_ef_search, settings.pg_statement_timeout_s, settings.pg_pool_size)
    try:
        return open_store(location, manifest, create=create, postgres=options)
    except StoreMismatchError as exc:
        log.warning("rebuilding the document store %s: %s", describe_location(settings), exc)
        store = open_store(location, None, postgres=options)
        rebuild(store, embedder, chunking_of(settings))
        return store
    except StoreCorruptError as exc:
        if is_database_url(location):
            raise
        aside = Path(location) / f"{DATABASE}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}"
        log.error("%s; moved aside to %s, starting an empty store", exc, aside)
        shutil.move(Path(location) / DATABASE, aside)
        for suffix in ("-wal", "-shm"):
            (Path(location) / (DATABASE + suffix)).unlink(missing_ok=True)
        return open_store(location, manifest)


def configured_documents(settings: Settings) -> list[Path]:
    """The `QA_DOCUMENTS` paths that exist (a missing one is logged, not fatal: the store may hold the rest)."""
    present = [p for p in settings.documents if p.exists()]
    for missing in set(settings.documents) - set(present):
        log.warning("QA_DOCUMENTS names %s, which does not exist", missing)
    return present


def add_configured_documents(store: PassageStore, settings: Settings, embedder: TextEmbedder) -> None:
    """Add or update the `QA_DOCUMENTS` in the store (nothing is removed: uploads stay). Replicas starting at once
    take turns, so each document is embedded once: the later ones find it current."""
    paths = configured_documents(settings)
    if not paths:
        return
    documents = load_documents(paths)
    with store.exclusive("configured documents"):
        report = index_documents(store, documents, embedder, chunking_of(settings))
    log.info("documents from %s: %s", ", ".join(map(str, paths)), report.summary())


def upload_document(name: str, raw: bytes) -> tuple[str, bytes]:
    """The uploaded file's name, made safe (its last path part, no control characters), after checking that its
    content is of an indexed kind and what the name says (index.formats)."""
    safe = "".join(ch for ch in name.replace("\\", "/").rsplit("/", 1)[-1] if ch.isprintable()).strip()
    if not safe or safe.startswith("."):
        raise DocumentError(f"{name!r} is not a usable file name: give the file a name such as report.pdf")
    try:
        check_format(safe, raw)
    except UnreadableDocument as exc:
        raise DocumentError(f"{safe}: {exc}") from exc
    return safe, raw


@dataclass(frozen=True)
class Added:
    """An upload's outcome: the document as listed, and whether it is searchable yet (else indexing)."""

    record: DocumentRecord
    searchable: bool


class Library:
    """Writes to the store, one at a time on their own thread; reads go straight to the store."""

    def __init__(self, store: PassageStore, embedder: TextEmbedder, chunking: Chunking, wait_passages: int) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking = chunking
        self.wait_passages = wait_passages
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="writer")

    def add(self, name: str, raw: bytes) -> Added:
        """Index an uploaded file under an id from its name (replacing the document of that id): before
        returning when it is small, in the background (status `indexing`) when it is large."""
        safe, raw = upload_document(name, raw)
        document = parse_document(document_id(safe), safe, raw)
        current = self.store.document(document.id)
        if is_current(current, document):
            assert current is not None
            return Added(current, True)
        passages = chunk(document, self.chunking)
        if not passages:
            raise DocumentError(f"{safe}: no text to index in it")
        if len(passages) <= self.wait_passages:
            record = self._write(lambda: self.store.upsert(document, passages, self._embed(passages))).result()
            return Added(record, True)
        queued = self._write(lambda: self.store.queue(document)).result()
        self._writer.submit(self._index_queued, document.id)
        return Added(queued, False)

    def remove(self, doc_id: str) -> bool:
        return self._write(lambda: self.store.delete(doc_id)).result()

    def resume_queued(self) -> int:
        """Index again the uploads a crash left as `indexing`; how many there were."""
        queued = self.store.queued()
        for document in queued:
            log.info("indexing %s again: its indexing was interrupted", document.id)
            self._writer.submit(self._index_queued, document.id)
        return len(queued)

    def close(self) -> None:
        self._writer.shutdown(wait=True, cancel_futures=True)

    def _embed(self, passages: Sequence[Passage]) -> np.ndarray:
        return embed_passages(self.embedder, [p.text for p in passages])

    def _write(self, work: Callable[[], T]) -> Future[T]:
        return self._writer.submit(work)

    def _index_queued(self, doc_id: str) -> None:
        """Index a queued document (on the writer thread); a failure is recorded with its reason."""
        document = next((d for d in self.store.queued() if d.id == doc_id), None)
        if document is None:  # removed or replaced meanwhile
            return
        try:
            passages = chunk(document, self.chunking)
            started = time.perf_counter()
            self.store.upsert(document, passages, embed_passages(self.embedder, [p.text for p in passages]))
            log.info("indexed %s: %d passages in %.1f s", doc_id, len(passages), time.perf_counter() - started)
        except Exception as exc:  # the upload stays listed as failed, with the reason, until removed or re-sent
            log.error("indexing %s failed: %s", doc_id, exc)
            self.store.fail(doc_id, f"{type(exc).__name__}: {exc}")
