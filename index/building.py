"""Keeping the passage index in step with the documents and the embedding model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.documents import Document, load_documents
from index.embedding import Embedder
from index.passage_index import (
    Chunking,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    PassageIndex,
    build_lock,
)

if TYPE_CHECKING:
    from qa.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexReport:
    index: PassageIndex
    rebuilt: bool
    reason: str


def chunking_of(settings: Settings) -> Chunking:
    return Chunking(settings.passage_max_words, settings.passage_overlap_sentences)


def refresh_index(
    directory: Path, documents: list[Document], embedder: Embedder, chunking: Chunking, force: bool = False
) -> IndexReport:
    """Rebuild the index when forced, missing, unreadable or out of date; otherwise keep it."""
    reason = "forced" if force else None
    if reason is None:
        try:
            current = PassageIndex.load(directory)
            reason = current.mismatch(documents, embedder.name, chunking)
            if reason is None:
                return IndexReport(current, False, "up to date")
        except (IndexMissingError, IndexCorruptError, IndexMismatchError) as exc:
            reason = str(exc).partition("; run `qa index`")[0]  # the advice is for those who did not run it
    log.info("building index in %s: %s", directory, reason)
    with build_lock(directory):
        index = PassageIndex.build(documents, embedder, chunking)
        index.save(directory)
    return IndexReport(index, True, reason)


def open_index(settings: Settings, embedder: Embedder, rebuild: bool = True) -> PassageIndex:
    """The index for the service: checked against the documents, rebuilt from them when needed."""
    documents = _documents_if_present(settings.documents)
    if rebuild and documents:
        return refresh_index(settings.index_dir, documents, embedder, chunking_of(settings)).index
    index = PassageIndex.load(settings.index_dir)
    problem = index.mismatch(documents, embedder.name, chunking_of(settings))
    if problem:
        raise IndexMismatchError(f"{problem}; run `qa index`")
    return index


def _documents_if_present(paths: list[Path]) -> list[Document] | None:
    if not any(p.exists() for p in paths):
        return None
    return load_documents([p for p in paths if p.exists()])
