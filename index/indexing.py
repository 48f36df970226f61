"""Keeping a store in step with documents: chunk and embed what changed, remove what is gone, rebuild when the
embedding model or the chunking changes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from index.chunking import Passage, chunk_document
from index.documents import UPLOAD, Document
from index.store import Chunking, DocumentRecord, PassageStore, StoreManifest

log = logging.getLogger(__name__)

EMBED_STEP = 64  # passages an embedding call: small enough for a progress bar to move, large enough to batch


class TextEmbedder(Protocol):
    name: str
    label: str
    dimension: int

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def manifest_of(embedder: TextEmbedder, chunking: Chunking) -> StoreManifest:
    return StoreManifest(embedder.label, embedder.dimension, chunking)


@dataclass
class IndexReport:
    """What `index_documents` did: ids added, updated, unchanged (not re-embedded) and removed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    passages_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        rate = f", {self.passages_embedded / self.seconds:.0f} passages/s" if self.passages_embedded else ""
        return f"{', '.join(parts)}; {self.passages_embedded} passages embedded in {self.seconds:.1f} s{rate}"


def chunk(document: Document, chunking: Chunking) -> list[Passage]:
    passages = chunk_document(document, chunking.max_words, chunking.overlap_sentences)
    if not passages:
        log.warning("%s has no text to index: nothing in it can be retrieved", document.id)
    return passages


def embed_passages(
    embedder: TextEmbedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """The passages' vectors, `EMBED_STEP` at a time, calling `progress(n)` after each step."""
    vectors = [np.zeros((0, embedder.dimension), dtype=np.float32)]
    for lo in range(0, len(texts), EMBED_STEP):
        vectors.append(embedder.embed(list(texts[lo : lo + EMBED_STEP])))
        if progress:
            progress(len(vectors[-1]))
    return np.concatenate(vectors)


def is_current(record: DocumentRecord | None, document: Document) -> bool:
    """The store already holds this very content, indexed, under this name and with these examples."""
    return (
        record is not None
        and record.status == "indexed"
        and record.sha256 == document.checksum
        and record.name == document.name
        and record.examples == document.examples
    )


def index_document(
    store: PassageStore,
    document: Document,
    embedder: TextEmbedder,
    chunking: Chunking,
    progress: Callable[[int], None] | None = None,
) -> DocumentRecord:
    """Chunk, embed and upsert one document (all of it becomes searchable at once)."""
    passages = chunk(document, chunking)
    vectors = embed_passages(embedder, [p.text for p in passages], progress)
    return store.upsert(document, passages, vectors)


def index_documents(
    store: PassageStore, documents: Iterable[Document], embedder: TextEmbedder, chunking: Chunking, bar: bool = False
) -> IndexReport:
    """Add or update the documents whose content changed; the others are not re-embedded."""
    started = time.perf_counter()
    report = IndexReport()
    current = {d.id: d for d in store.documents()}
    todo = []
    for doc in documents:
        if is_current(current.get(doc.id), doc):
            report.unchanged.append(doc.id)
        else:
            todo.append((doc, chunk(doc, chunking)))
    with _Bar(sum(len(p) for _, p in todo), bar) as tick:
        for doc, passages in todo:
            vectors = embed_passages(embedder, [p.text for p in passages], tick)
            store.upsert(doc, passages, vectors)
            (report.updated if doc.id in current else report.added).append(doc.id)
            report.passages_embedded += len(passages)
    report.seconds = time.perf_counter() - started
    return report


def prune(store: PassageStore, folders: Sequence[Path], present: set[str]) -> list[str]:
    """Remove the documents read from files under `folders` that are no longer there (not in `present`, the
    ids just read); uploads and documents from elsewhere are kept."""
    roots = [folder.resolve() for folder in folders]
    gone = []
    for record in store.documents():
        if record.origin == UPLOAD or record.id in present:
            continue
        origin = Path(record.origin)
        if any(origin == root or root in origin.parents for root in roots) and not origin.exists():
            store.delete(record.id)
            gone.append(record.id)
    return gone


def documents_to_rebuild(store: PassageStore) -> list[Document]:
    """Every document a store holds, as read: indexed ones and those still queued."""
    kept = [store.source(record.id) for record in store.documents() if record.status == "indexed"]
    return [doc for doc in kept if doc is not None] + store.queued()


def rebuild(store: PassageStore, embedder: TextEmbedder, chunking: Chunking, bar: bool = False) -> IndexReport:
    """Index every document the store holds again, with this embedder and chunking, and swap them in at once."""
    started = time.perf_counter()
    documents = documents_to_rebuild(store)
    chunked = [(doc, chunk(doc, chunking)) for doc in documents]
    report = IndexReport(updated=[doc.id for doc in documents])
    with _Bar(sum(len(p) for _, p in chunked), bar) as tick:
        items = [
            (doc, passages, embed_passages(embedder, [p.text for p in passages], tick)) for doc, passages in chunked
        ]
    store.replace_all(manifest_of(embedder, chunking), items)
    report.passages_embedded = sum(len(p) for _, p in chunked)
    report.seconds = time.perf_counter() - started
    return report


class _Bar:
    """A progress bar on a terminal (tqdm decides), or a no-op; as a context manager it gives its `tick`."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = None
        if enabled and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="embedding passages", unit="passage", disable=None)

    def __enter__(self) -> Callable[[int], None]:
        return self.tick

    def tick(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.close()
