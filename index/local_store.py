"""The local passage store: SQLite holds documents, passages and vectors; FAISS and BM25 are caches of it.

Layout of a store directory::

    store.sqlite3     the truth: manifest, documents, passages with their vectors, queued uploads, removals
    vectors.faiss     the FAISS index as of a generation (vectors.generation): a cache, rebuilt when missing

Every write is one SQLite transaction that bumps the store's generation, so a crash at any moment leaves each
document wholly there or absent. Searches read an in-memory snapshot (FAISS ids, passages, BM25) that catches up
with the database when its generation moves on, document by document, so another process's writes (`qa index`
beside a running server) show on the next question without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Passage
from index.documents import Document
from index.lexical import LexicalIndex
from index.store import (
    DocumentRecord,
    ScoredPassage,
    Status,
    StoreCorruptError,
    StoreManifest,
    StoreMismatchError,
    StoreMissingError,
)

log = logging.getLogger(__name__)

FORMAT = 2  # 1 was the positional index of builds (CURRENT, build-*/), replaced by this store
DATABASE, VECTORS, VECTORS_GENERATION = "store.sqlite3", "vectors.faiss", "vectors.generation"
LEGACY = ("CURRENT", "build-", ".tmp-build-", ".CURRENT.tmp")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, origin TEXT NOT NULL, sha256 TEXT NOT NULL, date TEXT,
    body_start INTEGER NOT NULL, text TEXT NOT NULL, examples TEXT NOT NULL, passages INTEGER NOT NULL,
    added TEXT NOT NULL, generation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY, document TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    vector BLOB NOT NULL, UNIQUE (document, position)
);
CREATE TABLE IF NOT EXISTS queue (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, origin TEXT NOT NULL, sha256 TEXT NOT NULL, date TEXT,
    body_start INTEGER NOT NULL, text TEXT NOT NULL, examples TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, added TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS removed (document TEXT NOT NULL, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_generation ON removed (generation);
CREATE INDEX IF NOT EXISTS documents_generation ON documents (generation);
"""


def _faiss() -> Any:
    """FAISS, loaded with the first store (training runs where it is not installed); typed loosely, since its
    stubs do not know the Python wrappers (ids as arrays, SearchParameters(sel=...))."""
    import faiss

    # one query at a time: OpenMP's threads cost more than they save, and on a busy machine far more
    # (docs/scaling.md: flat search 1.4 to 8.6 times slower with 2 threads than with 1)
    faiss.omp_set_num_threads(1)
    return faiss


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Snapshot:
    """What searches read: the FAISS index, passages by id and BM25, as of one generation of the database."""

    generation: int
    vectors: Any
    passages: dict[int, Passage] = field(default_factory=dict)
    by_document: dict[str, np.ndarray] = field(default_factory=dict)  # document id -> its passage ids
    lexical: LexicalIndex = field(default_factory=lambda: LexicalIndex([]))
    lexical_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # BM25 row -> passage id

    def ids_of(self, documents: Collection[str]) -> np.ndarray:
        found = [self.by_document[d] for d in documents if d in self.by_document]
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


class LocalStore:
    """`PassageStore` on one machine's disk (see the module's docstring)."""

    def __init__(self, directory: Path, manifest: StoreManifest | None, create: bool = True) -> None:
        self.directory = directory
        self.path = directory / DATABASE
        if not self.path.exists() and (not create or manifest is None):
            raise StoreMissingError(f"no document store in {directory}; run `qa index PATH` to make one")
        directory.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._search_lock = threading.Lock()  # FAISS is mutated in place: searches and mutations take turns
        self._sync_lock = threading.Lock()  # one catch-up with the database at a time
        try:
            self.manifest = self._open(manifest)
        except BaseException:
            self.close_connections()
            raise
        self._snapshot = Snapshot(0, self._empty_vectors())
        self._load_snapshot()

    # --- connections and schema -----------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """This thread's connection (sqlite3 connections are not to be shared between threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise StoreCorruptError(f"{self.path} is not a readable store ({exc})") from exc
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[sqlite3.Connection, int]]:
        """One write transaction, serialised with every other writer (other processes too), and the
        generation it makes."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            generation = self._generation(db) + 1
            yield db, generation
            db.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(generation),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _open(self, manifest: StoreManifest | None) -> StoreManifest:
        try:
            db = self._db()
            db.executescript(SCHEMA)
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreCorruptError(f"{self.path} is not a readable store ({exc})") from exc
        if not rows:
            assert manifest is not None  # a new database is only made with a manifest (see __init__)
            with contextlib.suppress(sqlite3.IntegrityError):  # another process made it first
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [
                        ("format", str(FORMAT)),
                        ("manifest", manifest.to_json()),
                        ("generation", "0"),
                        ("store", uuid.uuid4().hex),  # ties the FAISS cache to this very database
                    ],
                )
            _remove_legacy_builds(self.directory)
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if rows.get("format") != str(FORMAT):
            raise StoreMismatchError(f"{self.path} has format {rows.get('format')}, this version reads {FORMAT}")
        self.store_id = rows["store"]
        built = StoreManifest.from_json(rows["manifest"])
        problem = manifest and built.mismatch(manifest)
        if problem:
            raise StoreMismatchError(f"the store in {self.directory} was {problem}; run `qa index --rebuild`")
        return built

    @staticmethod
    def _generation(db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def close(self) -> None:
        """Keep the FAISS cache for the next start, and close every connection."""
        with contextlib.suppress(OSError, RuntimeError, AttributeError):  # AttributeError: closed before loading
            self._save_vectors()
        self.close_connections()

    def close_connections(self) -> None:
        with self._connections_lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # --- writes -------------------------------------------------------------------------------------------
    def upsert(self, document: Document, passages: Sequence[Passage], vectors: np.ndarray) -> DocumentRecord:
        if vectors.shape != (len(passages), self.manifest.dimension):
            raise ValueError(f"expected {len(passages)} vectors of {self.manifest.dimension}, got {vectors.shape}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._write() as (db, generation):
            row = db.execute("SELECT added FROM documents WHERE id = ?", (document.id,)).fetchone()
            added = row[0] if row else now()
            db.execute("DELETE FROM passages WHERE document = ?", (document.id,))
            db.execute(
                "INSERT OR REPLACE INTO documents (id, name, origin, sha256, date, body_start, text, examples, "
                "passages, added, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_source_columns(document), len(passages), added, generation),
            )
            db.executemany(
                "INSERT INTO passages (document, position, start, end, text, vector) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (document.id, p.index, p.start, p.end, p.text, v.tobytes())
                    for p, v in zip(passages, vectors, strict=True)
                ],
            )
            db.execute("DELETE FROM queue WHERE id = ?", (document.id,))
        self.refresh(wait=True)
        return self._record(document, len(passages), "indexed", added)

    def queue(self, document: Document) -> DocumentRecord:
        with self._write() as (db, _):
            db.execute(
                "INSERT OR REPLACE INTO queue (id, name, origin, sha256, date, body_start, text, examples, status, "
                "reason, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'indexing', NULL, ?)",
                (*_source_columns(document), now()),
            )
        record = self.document(document.id)
        assert record is not None
        return record

    def fail(self, document_id: str, reason: str) -> None:
        with self._write() as (db, _):
            db.execute("UPDATE queue SET status = 'failed', reason = ? WHERE id = ?", (reason, document_id))

    def queued(self) -> list[Document]:
        rows = self._db().execute(
            "SELECT id, name, origin, text, sha256, date, body_start, examples FROM queue "
            "WHERE status = 'indexing' ORDER BY added"
        )
        return [_source(row) for row in rows]

    def delete(self, document_id: str) -> bool:
        with self._write() as (db, generation):
            gone = db.execute("DELETE FROM documents WHERE id = ?", (document_id,)).rowcount
            gone += db.execute("DELETE FROM queue WHERE id = ?", (document_id,)).rowcount
            if gone:
                db.execute("INSERT INTO removed (document, generation) VALUES (?, ?)", (document_id, generation))
        self.refresh(wait=True)
        return bool(gone)

    def replace_all(
        self, manifest: StoreManifest, items: Iterable[tuple[Document, Sequence[Passage], np.ndarray]]
    ) -> None:
        """Make this store hold exactly `items`, under a new manifest: built aside, then swapped in by one rename
        (a crash before it leaves the old store as it was)."""
        aside = self.directory / f".rebuild-{uuid.uuid4().hex[:8]}"
        new = LocalStore(aside, manifest)
        try:
            for document, passages, vectors in items:
                new.upsert(document, passages, vectors)
            new._db().execute("PRAGMA journal_mode=DELETE")  # all of it in the one file that is moved
        finally:
            new.close()
        self.close()
        # the old database's write-ahead log must not outlive it: SQLite would read it into the new one
        for name in (VECTORS, VECTORS_GENERATION, DATABASE + "-wal", DATABASE + "-shm"):
            (self.directory / name).unlink(missing_ok=True)
        os.replace(aside / DATABASE, self.path)
        shutil.rmtree(aside, ignore_errors=True)
        self.manifest = self._open(manifest)
        self._snapshot = Snapshot(0, self._empty_vectors())
        self._load_snapshot()

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A lock file of this name in the store's folder, held across processes (fcntl)."""
        with (self.directory / f".{name.replace(' ', '-')}.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- reads --------------------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        return self._listing()

    def document(self, document_id: str) -> DocumentRecord | None:
        return next(iter(self._listing(document_id)), None)

    def _listing(self, document_id: str | None = None) -> list[DocumentRecord]:
        """Every document (or the one of this id): indexed ones by id, then those only queued."""
        db = self._db()
        where, params = ("WHERE id = ?", (document_id,)) if document_id is not None else ("", ())
        queued_rows = db.execute(f"SELECT {QUEUE_COLUMNS} FROM queue {where} ORDER BY id", params)
        queued = {r.id: r for r in map(_queued_record, queued_rows)}
        indexed_rows = db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents {where} ORDER BY id", params)
        indexed = [_document_record(row) for row in indexed_rows]
        # a document being replaced is listed once, as the upload in progress, with the passages it has now
        merged = [_replacing(d, queued.pop(d.id)) if d.id in queued else d for d in indexed]
        return merged + list(queued.values())

    def source(self, document_id: str) -> Document | None:
        row = (
            self._db()
            .execute(
                "SELECT id, name, origin, text, sha256, date, body_start, examples FROM documents WHERE id = ?",
                (document_id,),
            )
            .fetchone()
        )
        return _source(row) if row else None

    def passage_count(self) -> int:
        return len(self._fresh().passages)

    def dense_search(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        faiss = _faiss()

        snapshot = self._fresh()
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        params = None
        if documents is not None:
            allowed = snapshot.ids_of(documents)
            if not len(allowed):
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            k = min(k, len(allowed))
        k = min(k, len(snapshot.passages))
        if k <= 0:
            return []
        with self._search_lock:
            scores, ids = snapshot.vectors.search(query, k, params=params)
        found = zip(ids[0], scores[0], strict=True)
        return [ScoredPassage(snapshot.passages[int(i)], float(s)) for i, s in found if i >= 0]

    def keyword_search(self, query: str, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        snapshot = self._fresh()
        allowed = None
        if documents is not None:
            allowed = np.flatnonzero(np.isin(snapshot.lexical_ids, snapshot.ids_of(documents)))
        hits = snapshot.lexical.search(query, k, allowed)
        return [ScoredPassage(snapshot.passages[int(snapshot.lexical_ids[row])], score) for row, score in hits]

    # --- the snapshot searches read -----------------------------------------------------------------------
    def _fresh(self) -> Snapshot:
        """The snapshot, caught up with the database first when another writer moved it on (unless a catch-up
        is already running: then the last complete snapshot serves)."""
        if self._generation(self._db()) != self._snapshot.generation:
            self.refresh(wait=False)
        return self._snapshot

    def refresh(self, wait: bool) -> None:
        """Bring the snapshot up to the database's generation, one changed document at a time."""
        if not self._sync_lock.acquire(blocking=wait):
            return
        try:
            self._catch_up()
        finally:
            self._sync_lock.release()

    def _catch_up(self) -> None:
        db = self._db()
        old = self._snapshot
        db.execute("BEGIN")  # one read transaction: the changes and the generation agree
        try:
            generation = self._generation(db)
            if generation == old.generation:
                return
            changed = [r[0] for r in db.execute("SELECT id FROM documents WHERE generation > ?", (old.generation,))]
            removed = [r[0] for r in db.execute("SELECT document FROM removed WHERE generation > ?", (old.generation,))]
            rows = db.execute(
                f"SELECT id, document, position, start, end, text, vector FROM passages "
                f"WHERE document IN ({','.join('?' * len(changed))})",
                changed,
            ).fetchall()
        finally:
            db.execute("COMMIT")
        self._apply(old, generation, set(changed) | set(removed), rows)

    def _apply(self, old: Snapshot, generation: int, touched: set[str], rows: list[tuple]) -> None:
        """A new snapshot: `old` less the touched documents' passages, plus `rows` (their passages now)."""
        stale = old.ids_of(touched)
        passages = {i: p for i, p in old.passages.items() if p.document not in touched}
        by_document = {d: ids for d, ids in old.by_document.items() if d not in touched}
        new_ids, new_vectors = _add_rows(rows, passages, by_document, self.manifest.dimension)
        lexical_ids = np.fromiter(passages, dtype=np.int64, count=len(passages))
        lexical = LexicalIndex([passages[int(i)].text for i in lexical_ids])  # BM25 has no in-place update
        with self._search_lock:
            if len(stale):
                old.vectors.remove_ids(stale)
            if len(new_ids):
                old.vectors.add_with_ids(new_vectors, new_ids)
            self._snapshot = Snapshot(generation, old.vectors, passages, by_document, lexical, lexical_ids)

    def _load_snapshot(self) -> Snapshot:
        """The FAISS cache as saved at some generation, with the documents changed since re-read; or built from
        every vector when there is no usable cache."""
        faiss = _faiss()

        db = self._db()
        db.execute("BEGIN")  # one read transaction: passages, vectors and generation agree
        try:
            generation = self._generation(db)
            rows = db.execute("SELECT id, document, position, start, end, text FROM passages").fetchall()
            cached = self._read_vectors(generation)
            if cached is None:
                vectors, reread = self._empty_vectors(), [r[0] for r in rows]
            else:
                vectors, changed = cached[1], self._changed_since(cached[0])
                keep = np.asarray([r[0] for r in rows if r[1] not in changed], dtype=np.int64)
                vectors.remove_ids(np.setdiff1d(faiss.vector_to_array(vectors.id_map), keep))
                reread = [r[0] for r in rows if r[1] in changed]
            fresh = self._vectors_of(reread, everything=cached is None)
        finally:
            db.execute("COMMIT")
        if len(reread):
            vectors.add_with_ids(fresh, np.asarray(reread, dtype=np.int64))
        passages, by_document = _passages_of(rows)
        lexical_ids = np.fromiter(passages, dtype=np.int64, count=len(passages))
        lexical = LexicalIndex([passages[int(i)].text for i in lexical_ids])
        self._snapshot = Snapshot(generation, vectors, passages, by_document, lexical, lexical_ids)
        if cached is None or cached[0] != generation:
            with contextlib.suppress(OSError, RuntimeError):
                self._save_vectors()
        return self._snapshot

    def _vectors_of(self, ids: list[int], everything: bool) -> np.ndarray:
        """The vectors of these passages, in their order."""
        db, dimension = self._db(), self.manifest.dimension
        if everything:
            found = dict(db.execute("SELECT id, vector FROM passages"))
        else:
            found = {}
            for lo in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
                part = ids[lo : lo + 500]
                marks = ",".join("?" * len(part))
                found.update(db.execute(f"SELECT id, vector FROM passages WHERE id IN ({marks})", part))
        return np.frombuffer(b"".join(found[i] for i in ids), dtype=np.float32).reshape(len(ids), dimension)

    def _changed_since(self, generation: int) -> set[str]:
        db = self._db()
        changed = {r[0] for r in db.execute("SELECT id FROM documents WHERE generation > ?", (generation,))}
        return changed | {r[0] for r in db.execute("SELECT document FROM removed WHERE generation > ?", (generation,))}

    def _empty_vectors(self) -> Any:
        faiss = _faiss()

        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.manifest.dimension))

    def _read_vectors(self, newest: int) -> tuple[int, Any] | None:
        """The FAISS cache and its generation, or None when it is missing, unreadable, of other vectors or newer
        than the database (`newest`)."""
        faiss = _faiss()

        try:
            store_id, generation_text = (self.directory / VECTORS_GENERATION).read_text().split()
            generation = int(generation_text)
            vectors = faiss.read_index(str(self.directory / VECTORS))
        except (OSError, ValueError, RuntimeError):
            return None
        if store_id != self.store_id:
            return None
        if vectors.d != self.manifest.dimension or generation > newest or not isinstance(vectors, faiss.IndexIDMap2):
            return None
        return generation, vectors

    def _save_vectors(self) -> None:
        """Write the FAISS cache and the generation it reflects (each through a temporary file and a rename)."""
        faiss = _faiss()

        with self._search_lock:
            snapshot = self._snapshot
            tmp = self.directory / f".{VECTORS}.{os.getpid()}.tmp"
            faiss.write_index(snapshot.vectors, str(tmp))
        os.replace(tmp, self.directory / VECTORS)
        marker = self.directory / f".{VECTORS_GENERATION}.{os.getpid()}.tmp"
        marker.write_text(f"{self.store_id} {snapshot.generation}")
        os.replace(marker, self.directory / VECTORS_GENERATION)

    def _record(self, document: Document, passages: int, status: Status, added: str) -> DocumentRecord:
        return DocumentRecord(
            document.id, document.name, document.origin, document.checksum, len(document.text), passages, status, added,
            document.date, None, document.examples,
        )  # fmt: skip


def _source_columns(source: Document) -> tuple:
    examples = json.dumps(list(source.examples), ensure_ascii=False)
    return (
        source.id,
        source.name,
        source.origin,
        source.checksum,
        source.date,
        source.body_start,
        source.text,
        examples,
    )


def _source(row: tuple) -> Document:
    doc_id, name, origin, text, sha256, date, body_start, examples = row
    return Document(doc_id, name, origin, text, sha256, date, body_start, tuple(json.loads(examples)))


DOCUMENT_COLUMNS = "id, name, origin, sha256, length(text), passages, added, date, examples"
QUEUE_COLUMNS = "id, name, origin, sha256, length(text), status, added, date, examples, reason"


def _document_record(row: tuple) -> DocumentRecord:
    doc_id, name, origin, sha256, characters, passages, added, date, examples = row
    return DocumentRecord(
        doc_id, name, origin, sha256, characters, passages, "indexed", added, date, None, tuple(json.loads(examples))
    )


def _queued_record(row: tuple) -> DocumentRecord:
    doc_id, name, origin, sha256, characters, status, added, date, examples, reason = row
    return DocumentRecord(
        doc_id, name, origin, sha256, characters, 0, status, added, date, reason, tuple(json.loads(examples))
    )


def _replacing(indexed: DocumentRecord, upload: DocumentRecord) -> DocumentRecord:
    return DocumentRecord(
        upload.id, upload.name, upload.origin, upload.sha256, upload.characters, indexed.passages, upload.status,
        indexed.added, upload.date, upload.reason, upload.examples,
    )  # fmt: skip


def _passages_of(rows: Sequence[tuple]) -> tuple[dict[int, Passage], dict[str, np.ndarray]]:
    passages = {int(r[0]): Passage(r[1], r[2], r[5], r[3], r[4]) for r in rows}
    grouped: dict[str, list[int]] = {}
    for i, p in passages.items():
        grouped.setdefault(p.document, []).append(i)
    return passages, {d: np.asarray(ids, dtype=np.int64) for d, ids in grouped.items()}


def _add_rows(
    rows: list[tuple], passages: dict[int, Passage], by_document: dict[str, np.ndarray], dimension: int
) -> tuple[np.ndarray, np.ndarray]:
    """Add passage rows (with vectors) to the maps; their ids and vectors, for FAISS."""
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    vectors = np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float32).reshape(len(rows), dimension)
    added, grouped = _passages_of([r[:6] for r in rows])
    passages.update(added)
    by_document.update(grouped)
    return ids, vectors


def _remove_legacy_builds(directory: Path) -> None:
    """The positional index of earlier versions (CURRENT, build-*/): derived files, replaced by this store."""
    for child in directory.iterdir():
        if child.name.startswith(LEGACY):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
