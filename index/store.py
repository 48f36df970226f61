"""The passage store: documents, their passages and vectors under stable document ids, behind one protocol.

Two backends implement `PassageStore`: the local one (`index.local_store`: SQLite as the source of truth, FAISS and
BM25 as caches rebuilt from it) and PostgreSQL with pgvector (`index.postgres_store`), picked by `open_store`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.chunking import SPLITTER_VERSION, Passage
from index.documents import Document

Status = Literal["indexing", "indexed", "failed"]
Indexed = tuple[Document, Sequence[Passage], np.ndarray]  # a document with its passages and their vectors


class StoreError(RuntimeError):
    """Base for store problems; messages say what to run."""


class StoreMismatchError(StoreError):
    """The store was built with another embedding model or chunking than the settings name."""


class StoreCorruptError(StoreError):
    """The store's files cannot be read."""


class DocumentNotFoundError(StoreError, KeyError):
    """No document has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "no such document"


@dataclass(frozen=True)
class Chunking:
    max_words: int = 120
    overlap_sentences: int = 1
    # the sentence splitter's rules: a store built by older rules is rebuilt, as when the sizes change
    splitter: int = SPLITTER_VERSION


@dataclass(frozen=True)
class StoreManifest:
    """What a store's vectors and passages were made with; checked whenever a store opens."""

    embedding_model: str
    dimension: int
    chunking: Chunking = field(default_factory=Chunking)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoreManifest:
        data = json.loads(text)
        return cls(data["embedding_model"], int(data["dimension"]), Chunking(**data["chunking"]))

    def mismatch(self, other: StoreManifest) -> str | None:
        """Why a store built as `self` does not serve settings asking for `other`, or None when it does."""
        if self.embedding_model != other.embedding_model:
            return f"built with embedding model {self.embedding_model}, settings name {other.embedding_model}"
        if self.dimension != other.dimension:
            return f"built with {self.dimension}-dimensional vectors, the embedding model gives {other.dimension}"
        if self.chunking != other.chunking:
            return f"built with chunking {asdict(self.chunking)}, settings give {asdict(other.chunking)}"
        return None


@dataclass(frozen=True)
class DocumentRecord:
    """A document as the store lists it: indexed, still indexing, or failed (with the reason)."""

    id: str
    name: str
    origin: str
    sha256: str
    characters: int
    passages: int
    status: Status
    added: str  # ISO 8601, UTC
    date: str | None = None
    reason: str | None = None
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScoredPassage:
    passage: Passage
    score: float


class PassageStore(Protocol):
    """Documents keyed by id, their passages and vectors; dense and keyword search over them.

    Writes are atomic per document: a search sees all of a document's passages or none of them.
    """

    manifest: StoreManifest

    def upsert(self, document: Document, passages: Sequence[Passage], vectors: np.ndarray) -> DocumentRecord:
        """Make `document` searchable as these passages and vectors, replacing any document of the same id."""
        ...

    def queue(self, document: Document) -> DocumentRecord:
        """Record a document as being indexed (status `indexing`); its text is kept so the work can be redone."""
        ...

    def fail(self, document_id: str, reason: str) -> None:
        """Mark a queued document as failed, with a reason the user can act on."""
        ...

    def queued(self) -> list[Document]:
        """Documents recorded as `indexing`: left so by a crash when nothing is indexing them now."""
        ...

    def delete(self, document_id: str) -> bool:
        """Remove a document (indexed, queued or failed) and its passages; False when there is none."""
        ...

    def documents(self) -> list[DocumentRecord]:
        """Every document, indexed ones first, each group by id."""
        ...

    def document(self, document_id: str) -> DocumentRecord | None: ...

    def source(self, document_id: str) -> Document | None:
        """The document an indexed one was made from (its text included)."""
        ...

    def passage_count(self) -> int: ...

    def dense_search(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        """The k passages most similar to a unit query vector (inner product), best first; only of `documents`
        when given."""
        ...

    def keyword_search(self, query: str, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        """The k passages best matching the query's words, best first; none when no word matches."""
        ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Hold a lock of this name across every process using the store (replicas included), for work that must
        happen once, such as adding the configured documents: re-check what is there inside it."""
        ...

    def replace_all(self, manifest: StoreManifest, items: Iterable[Indexed]) -> None:
        """Hold exactly these documents, made under a new manifest (a rebuild for another embedding model or
        chunking): all at once, or, should it fail, the store as it was."""
        ...

    def close(self) -> None: ...


class StoreMissingError(StoreError):
    """No store at the location given, and none was to be made."""


@dataclass(frozen=True)
class PostgresOptions:
    """How a PostgreSQL store uses its database (the `QA_PG_*` settings); the local store has no use for them."""

    ef_search: int = 100  # HNSW candidates per search: recall against speed
    statement_timeout_s: float = 30.0
    pool_size: int = 4  # connections this process keeps to the database, at most


def is_database_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def open_store(
    location: str | Path, manifest: StoreManifest | None, create: bool = True, postgres: PostgresOptions | None = None
) -> PassageStore:
    """The store at `location`: a `postgresql://` URL (used as `postgres` says), else a local directory.

    A store built with another manifest is refused (StoreMismatchError); `manifest=None` opens it as built (to
    read its documents back). `create=False` refuses a missing store (StoreMissingError) instead of making one.
    """
    if is_database_url(location):
        from index.postgres_store import PostgresStore

        return PostgresStore(str(location), manifest, create=create, options=postgres)
    from index.local_store import LocalStore

    return LocalStore(Path(location), manifest, create=create)
