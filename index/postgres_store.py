"""The PostgreSQL passage store: one database shared by every app process (replicas), pgvector for the embedding
search and PostgreSQL's full-text search for keywords.

Tables, laid out and migrated by the app itself (schema version 1)::

    qa_meta       one row: the schema version, the manifest (JSON), a generation that every write moves on
    qa_documents  indexed documents: their text, metadata and passage count
    qa_passages   their passages, keyed by (document, position): an embedding (vector(dimension), HNSW index on
                  inner product) and a tsvector generated from the text (GIN index)
    qa_queue      uploads being indexed or failed, their text kept so the work can be redone

Every write is one transaction that first takes the qa_meta row, so writers in every process take turns and a
search anywhere sees a document's passages all or none. Unlike the local store there is no cache to keep in step:
searches read the tables.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from index.chunking import Passage
from index.documents import Document
from index.store import (
    DocumentRecord,
    PostgresOptions,
    ScoredPassage,
    Status,
    StoreError,
    StoreManifest,
    StoreMismatchError,
    StoreMissingError,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # the layout this code writes and reads
# statements bringing the schema from version N-1 to N, run under the schema lock; none yet, 1 being the first
MIGRATIONS: dict[int, list[str]] = {}
SCHEMA_LOCK = "qa schema"  # advisory lock: one process at a time lays out or migrates the tables
PASSAGES, NEXT_PASSAGES = "qa_passages", "qa_passages_next"  # the live table; a rebuild's, until swapped in
EXACT_BELOW = 10_000  # passages in the documents a search is kept to: below this, an exact scan is cheap and sure
CONNECT_DEFAULTS = {"application_name": "qa-chatbot", "connect_timeout": "10"}  # unless the URL says otherwise

Connection = psycopg.Connection[tuple[Any, ...]]
T = TypeVar("T")

# Keyword search's words as the local store's BM25 takes them: English stopwords out, no stemming (so that
# "documentaries" does not match "documentary" here and not there, and both stores rank alike)
WORDS = "qa_words"
SCHEMA = f"""
CREATE TEXT SEARCH DICTIONARY qa_words_stop (TEMPLATE = pg_catalog.simple, STOPWORDS = english);
CREATE TEXT SEARCH CONFIGURATION {WORDS} (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION {WORDS} ALTER MAPPING FOR asciiword, word, numword, asciihword, hword,
    numhword, hword_asciipart, hword_part, hword_numpart WITH qa_words_stop;
CREATE TABLE qa_meta (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    schema_version integer NOT NULL,
    manifest jsonb NOT NULL,
    generation bigint NOT NULL DEFAULT 0
);
CREATE TABLE qa_documents (
    id text PRIMARY KEY, name text NOT NULL, origin text NOT NULL, sha256 text NOT NULL, date text,
    body_start integer NOT NULL, text text NOT NULL, characters integer NOT NULL, examples jsonb NOT NULL,
    passages integer NOT NULL, added timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE qa_queue (
    id text PRIMARY KEY, name text NOT NULL, origin text NOT NULL, sha256 text NOT NULL, date text,
    body_start integer NOT NULL, text text NOT NULL, characters integer NOT NULL, examples jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('indexing', 'failed')), reason text,
    added timestamptz NOT NULL DEFAULT now()
);
"""


def passages_table(table: str, dimension: int) -> str:
    return f"""
CREATE TABLE {table} (
    document text NOT NULL CONSTRAINT {table}_document_fkey REFERENCES qa_documents (id) ON DELETE CASCADE,
    position integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL, text text NOT NULL,
    embedding vector({dimension}) NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('{WORDS}', text)) STORED,
    CONSTRAINT {table}_pkey PRIMARY KEY (document, position)
)"""


def passage_indexes(table: str) -> list[str]:
    # inner product: the vectors are unit length, so it ranks as cosine does and costs less
    return [
        f"CREATE INDEX {table}_embedding ON {table} USING hnsw (embedding vector_ip_ops)",
        f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)",
    ]


SOURCE_COLUMNS = "id, name, origin, sha256, date, body_start, text, characters, examples"
PUT_DOCUMENT = f"""
INSERT INTO qa_documents ({SOURCE_COLUMNS}, passages) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, origin = excluded.origin, sha256 = excluded.sha256,
    date = excluded.date, body_start = excluded.body_start, text = excluded.text, characters = excluded.characters,
    examples = excluded.examples, passages = excluded.passages
RETURNING added
"""
PUT_QUEUED = f"""
INSERT INTO qa_queue ({SOURCE_COLUMNS}, status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'indexing')
ON CONFLICT (id) DO UPDATE SET name = excluded.name, origin = excluded.origin, sha256 = excluded.sha256,
    date = excluded.date, body_start = excluded.body_start, text = excluded.text, characters = excluded.characters,
    examples = excluded.examples, status = 'indexing', reason = NULL, added = now()
"""
# uploads in progress or failed (a replacement with the passages and date added of the version it replaces), and
# indexed documents with no upload in progress
LISTING = """
SELECT id, name, origin, sha256, characters, passages, status, added, date, reason, examples, indexed FROM (
    SELECT q.id, q.name, q.origin, q.sha256, q.characters, coalesce(d.passages, 0) AS passages, q.status,
        coalesce(d.added, q.added) AS added, q.date, q.reason, q.examples, d.id IS NOT NULL AS indexed
    FROM qa_queue q LEFT JOIN qa_documents d ON d.id = q.id
    UNION ALL
    SELECT d.id, d.name, d.origin, d.sha256, d.characters, d.passages, 'indexed', d.added, d.date, NULL,
        d.examples, true
    FROM qa_documents d WHERE NOT EXISTS (SELECT FROM qa_queue q WHERE q.id = d.id)
) listed
"""
PASSAGE_COLUMNS = 'document, position, text, start, "end"'
# the ORDER BY is the index's own operator on a constant, so the HNSW index serves it
DENSE = f"SELECT {PASSAGE_COLUMNS}, embedding <#> %(vector)s AS distance FROM qa_passages {{within}} ORDER BY distance"
DENSE_ANY = DENSE.format(within="") + " LIMIT %(k)s"
DENSE_WITHIN = DENSE.format(within="WHERE document = ANY(%(documents)s)") + " LIMIT %(k)s"
# a materialised set of candidates cannot be read through the HNSW index: an exact ranking of just those
DENSE_EXACT_WITHIN = f"""
WITH candidates AS MATERIALIZED (
    SELECT {PASSAGE_COLUMNS}, embedding FROM qa_passages WHERE document = ANY(%(documents)s)
)
SELECT {PASSAGE_COLUMNS}, embedding <#> %(vector)s AS distance FROM candidates ORDER BY distance LIMIT %(k)s
"""
# candidates for BM25: the passages holding any of the question's words, the likeliest first (ts_rank), each with
# how often it holds each of them and how many words it has (from its tsvector's positions)
KEYWORD = f"""
WITH candidates AS (
    SELECT {PASSAGE_COLUMNS}, tsv FROM qa_passages WHERE tsv @@ %(query)s::tsquery {{within}}
    ORDER BY ts_rank(tsv, %(query)s::tsquery, 1) DESC, document, position LIMIT %(candidates)s
)
SELECT {PASSAGE_COLUMNS},
    (SELECT coalesce(sum(coalesce(array_length(t.positions, 1), 1)), 0) FROM unnest(tsv) t) AS words,
    ARRAY(SELECT CASE WHEN t.lexeme IS NULL THEN 0 ELSE coalesce(array_length(t.positions, 1), 1) END
          FROM unnest(%(lexemes)s::text[]) q(lexeme)
          LEFT JOIN unnest(tsv) t ON t.lexeme = q.lexeme ORDER BY q.lexeme) AS counts
FROM candidates
"""
# in how many passages of the whole store each word is (BM25's inverse document frequency), and how many there are
KEYWORD_FREQUENCIES = """
SELECT (SELECT coalesce(sum(passages), 0) FROM qa_documents),
    ARRAY(SELECT (SELECT count(*) FROM qa_passages WHERE tsv @@ quote_literal(q.lexeme)::tsquery)
          FROM unnest(%(lexemes)s::text[]) q(lexeme) ORDER BY q.lexeme)
"""
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, as the local store ranks
KEYWORD_ANY = KEYWORD.format(within="")
KEYWORD_WITHIN = KEYWORD.format(within="AND document = ANY(%(documents)s)")


class StoreVersionError(StoreError):
    """The database was laid out by a newer version of the app."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached, or refuses this app's user."""


class PostgresStore:
    """`PassageStore` in a PostgreSQL database with pgvector (see the module's docstring)."""

    def __init__(
        self, url: str, manifest: StoreManifest | None, create: bool = True, options: PostgresOptions | None = None
    ) -> None:
        self.where = public_url(url)  # for messages and logs: never the password
        self._secrets = secrets_of(url)
        self._options = options or PostgresOptions()
        self._conninfo = self._with_defaults(url)
        self.manifest = self._open(manifest, create)
        # the pool comes after the schema: pgvector's types are looked up on each new connection, so the extension
        # must be there first
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._options.pool_size,
            kwargs={"autocommit": True},
            configure=self._configure,
            check=ConnectionPool.check_connection,  # a connection dropped while idle is replaced, not handed out
            name="qa-store",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=30)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailableError(f"no connection to the document store database {self.where}") from exc

    # --- connections ----------------------------------------------------------------------------------------
    def _with_defaults(self, url: str) -> str:
        try:
            given = conninfo_to_dict(url)
            return make_conninfo(url, **{k: v for k, v in CONNECT_DEFAULTS.items() if k not in given})
        except psycopg.ProgrammingError as exc:  # libpq may quote the URL, password and all
            raise StoreError(f"{self.where} is not a usable database URL: {self._scrub(str(exc))}") from None

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _connect(self) -> Connection:
        """A connection of this store's own, outside the pool."""
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            reason = self._scrub(str(exc).strip())
            raise StoreUnavailableError(
                f"cannot connect to the document store database {self.where}: {reason}"
            ) from None

    def _configure(self, conn: Connection) -> None:
        """Set up each new pooled connection: pgvector's types, the statement timeout, the HNSW search depth."""
        register_vector(conn)
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('hnsw.ef_search', %s, false), "
            # pgvector 0.8: a search kept to some documents walks on through the graph until it has k of them
            "set_config('hnsw.iterative_scan', 'relaxed_order', false)",
            (str(round(self._options.statement_timeout_s * 1000)), str(self._options.ef_search)),
        )

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StoreUnavailableError(f"no connection to the document store database {self.where}") from exc

    def _run(self, work: Callable[[Connection], T]) -> T:
        """`work` on a pooled connection; once more on another when that one turns out dropped (a database restart
        or failover, an idle connection cut by a proxy). `work` must be safe to redo."""
        with self._connection() as conn:
            try:
                return work(conn)
            except psycopg.OperationalError:
                if not conn.broken:  # a timeout or a refusal: the same again would fail the same way
                    raise
        log.warning("a connection to %s was dropped; trying once more", self.where)
        with self._connection() as conn:
            return work(conn)

    def _write(self, work: Callable[[Connection], T]) -> T:
        """`work` as one transaction, in turn with every other writer on this database."""

        def transaction(conn: Connection) -> T:
            with conn.transaction():
                self._take_turn(conn)
                return work(conn)

        return self._run(transaction)

    def _take_turn(self, conn: Connection) -> None:
        """Take the meta row for this transaction and move the generation on; refuse to write when another process
        has rebuilt the store under another manifest since this one opened it."""
        built = StoreManifest.from_json(
            scalar(conn, "UPDATE qa_meta SET generation = generation + 1 RETURNING manifest::text")
        )
        problem = built.mismatch(self.manifest)
        if problem:
            raise StoreMismatchError(f"the store in {self.where} was rebuilt meanwhile ({problem}); restart the app")

    def close(self) -> None:
        self._pool.close()

    # --- schema ---------------------------------------------------------------------------------------------
    def _open(self, manifest: StoreManifest | None, create: bool) -> StoreManifest:
        with self._connect() as conn:
            version = schema_version(conn)
            if version == 0 and (not create or manifest is None):
                raise StoreMissingError(
                    f"no document store in the database {self.where}; run `qa index PATH` to make one"
                )
            if version < SCHEMA_VERSION:
                version = self._lay_out(conn, manifest)
            if version > SCHEMA_VERSION:
                raise StoreVersionError(
                    f"the database {self.where} has schema version {version}, this version of the app reads up to "
                    f"{SCHEMA_VERSION}; upgrade the app"
                )
            built = StoreManifest.from_json(scalar(conn, "SELECT manifest::text FROM qa_meta"))
        problem = manifest and built.mismatch(manifest)
        if problem:
            raise StoreMismatchError(f"the store in {self.where} was {problem}; run `qa index --rebuild`")
        return built

    def _lay_out(self, conn: Connection, manifest: StoreManifest | None) -> int:
        """Make the tables, or migrate them to this version; the schema version they have then."""
        with conn.transaction():
            # replicas starting together on an empty database: one lays it out, the others then find it done
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK,))
            version = schema_version(conn)
            if version == 0:
                assert manifest is not None  # a new store is only made with a manifest (see _open)
                self._create_extension(conn)
                conn.execute(SCHEMA)
                conn.execute(passages_table(PASSAGES, manifest.dimension))
                for statement in passage_indexes(PASSAGES):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO qa_meta (schema_version, manifest) VALUES (%s, %s::jsonb)",
                    (SCHEMA_VERSION, manifest.to_json()),
                )
                log.info("laid out a document store in %s (schema version %d)", self.where, SCHEMA_VERSION)
                return SCHEMA_VERSION
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute("UPDATE qa_meta SET schema_version = %s", (step,))
                log.info("migrated the document store in %s to schema version %d", self.where, step)
            return max(version, SCHEMA_VERSION)

    def _create_extension(self, conn: Connection) -> None:
        if scalar(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'"):
            return
        try:
            conn.execute("CREATE EXTENSION vector")
        except (errors.InsufficientPrivilege, errors.UndefinedFile) as exc:
            raise StoreError(
                f"the database {self.where} lacks the pgvector extension and cannot add it ({str(exc).strip()}); "
                "have its owner run CREATE EXTENSION vector"
            ) from None

    # --- writes ---------------------------------------------------------------------------------------------
    def upsert(self, document: Document, passages: Sequence[Passage], vectors: np.ndarray) -> DocumentRecord:
        vectors = checked_vectors(vectors, len(passages), self.manifest.dimension)

        def write(conn: Connection) -> datetime:
            conn.execute("DELETE FROM qa_passages WHERE document = %s", (document.id,))
            added = put_document(conn, document, len(passages))
            copy_passages(conn, PASSAGES, document.id, passages, vectors)
            conn.execute("DELETE FROM qa_queue WHERE id = %s", (document.id,))
            return added

        added = self._write(write)
        return DocumentRecord(
            document.id, document.name, document.origin, document.checksum, len(document.text), len(passages),
            "indexed", iso(added), document.date, None, document.examples,
        )  # fmt: skip

    def queue(self, document: Document) -> DocumentRecord:
        self._write(lambda conn: conn.execute(PUT_QUEUED, source_columns(document)))
        record = self.document(document.id)
        assert record is not None
        return record

    def fail(self, document_id: str, reason: str) -> None:
        self._write(
            lambda conn: conn.execute(
                "UPDATE qa_queue SET status = 'failed', reason = %s WHERE id = %s", (reason, document_id)
            )
        )

    def delete(self, document_id: str) -> bool:
        def write(conn: Connection) -> bool:
            gone = conn.execute("DELETE FROM qa_documents WHERE id = %s", (document_id,)).rowcount  # passages too
            return bool(gone + conn.execute("DELETE FROM qa_queue WHERE id = %s", (document_id,)).rowcount)

        return self._write(write)

    def replace_all(
        self, manifest: StoreManifest, items: Iterable[tuple[Document, Sequence[Passage], np.ndarray]]
    ) -> None:
        """Hold exactly `items`, under a new manifest, in one transaction: the passages go to a table of their own
        (vectors of the new dimension) that replaces the live one at the end, so searches in every process read
        the old passages until then. Not retried: `items` may be read only once."""
        with self._connection() as conn, conn.transaction():
            conn.execute("SET LOCAL statement_timeout = 0")  # a whole corpus written and its vector index built
            conn.execute(
                "UPDATE qa_meta SET generation = generation + 1, manifest = %s::jsonb", (manifest.to_json(),)
            )  # first, so that writers elsewhere wait, then find the new manifest and refuse (see _take_turn)
            conn.execute(f"DROP TABLE IF EXISTS {NEXT_PASSAGES}")
            conn.execute(passages_table(NEXT_PASSAGES, manifest.dimension))
            kept = []
            for document, passages, vectors in items:
                vectors = checked_vectors(vectors, len(passages), manifest.dimension)
                put_document(conn, document, len(passages))
                copy_passages(conn, NEXT_PASSAGES, document.id, passages, vectors)
                kept.append(document.id)
            for statement in passage_indexes(NEXT_PASSAGES):  # built once over all rows: faster than row by row
                conn.execute(statement)
            conn.execute(f"DROP TABLE {PASSAGES}")
            rename_passages(conn, NEXT_PASSAGES, PASSAGES)
            conn.execute("DELETE FROM qa_documents WHERE NOT (id = ANY(%s))", (kept,))
            conn.execute("DELETE FROM qa_queue")
        self.manifest = manifest

    # --- reads ----------------------------------------------------------------------------------------------
    def queued(self) -> list[Document]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT id, name, origin, text, sha256, date, body_start, examples FROM qa_queue "
                "WHERE status = 'indexing' ORDER BY added, id"
            ).fetchall()
        )
        return [source_of(row) for row in rows]

    def documents(self) -> list[DocumentRecord]:
        # indexed ones first, each group by id in byte order (as the local store's SQLite sorts)
        rows = self._run(lambda conn: conn.execute(LISTING + ' ORDER BY NOT indexed, id COLLATE "C"').fetchall())
        return [record_of(row) for row in rows]

    def document(self, document_id: str) -> DocumentRecord | None:
        row = self._run(lambda conn: conn.execute(LISTING + " WHERE id = %s", (document_id,)).fetchone())
        return record_of(row) if row else None

    def source(self, document_id: str) -> Document | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT id, name, origin, text, sha256, date, body_start, examples FROM qa_documents WHERE id = %s",
                (document_id,),
            ).fetchone()
        )
        return source_of(row) if row else None

    def passage_count(self) -> int:
        # the counts kept with the documents: counting the passages themselves reads the whole table
        return int(self._run(lambda conn: scalar(conn, "SELECT coalesce(sum(passages), 0) FROM qa_documents")))

    def dense_search(self, vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        if k <= 0 or (documents is not None and not documents):
            return []
        params: dict[str, Any] = {"vector": np.asarray(vector, dtype=np.float32).reshape(-1), "k": k}

        def search(conn: Connection) -> list[tuple[Any, ...]]:
            if documents is None:
                return conn.execute(DENSE_ANY, params).fetchall()
            within = {**params, "documents": list(documents)}
            few = scalar(
                conn, "SELECT coalesce(sum(passages), 0) FROM qa_documents WHERE id = ANY(%(documents)s)", within
            )
            return conn.execute(DENSE_EXACT_WITHIN if few < EXACT_BELOW else DENSE_WITHIN, within).fetchall()

        hits = [ScoredPassage(Passage(*row[:5]), -float(row[5])) for row in self._run(search)]
        return sorted(hits, key=lambda hit: -hit.score)  # an iterative index scan gives them in nearly this order

    def keyword_search(self, query: str, k: int, documents: Collection[str] | None = None) -> list[ScoredPassage]:
        if k <= 0 or (documents is not None and not documents):
            return []

        def search(conn: Connection) -> list[ScoredPassage]:
            # the question's words as the passages' tsvectors hold them (stopwords out), any one of them enough:
            # "Who is Lau Seng Yee?" -> 'lau' | 'seng' | 'yee'; ranked by BM25 over the whole store, as the local
            # store ranks, so that a word every passage has ("Tencent") weighs little
            words = scalar(conn, f"SELECT tsvector_to_array(to_tsvector('{WORDS}', %s))", (query,))
            lexemes = sorted(set(words))
            if not lexemes:
                return []
            params: dict[str, Any] = {"query": any_of(lexemes), "lexemes": lexemes, "candidates": max(200, 4 * k)}
            sql = KEYWORD_ANY if documents is None else KEYWORD_WITHIN
            if documents is not None:
                params["documents"] = list(documents)
            rows = conn.execute(sql, params).fetchall()
            if not rows:
                return []
            total, frequencies = conn.execute(KEYWORD_FREQUENCIES, {"lexemes": lexemes}).fetchone() or (0, [])
            scored = bm25(rows, int(total), list(frequencies))
            return [ScoredPassage(Passage(*row[:5]), score) for row, score in scored[:k]]

        return self._run(search)

    # --- work done once among replicas ------------------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Run the block while no other process on this database runs one under the same `name`.

        For work to be done once however many replicas start together: check inside the block whether it is
        still to do, since another process may have done it while this one waited::

            with store.exclusive("seed documents"):
                if not store.documents():
                    index_documents(store, seeds, embedder, chunking)

        The lock (`pg_advisory_lock`) is held by a connection of its own, so the block uses the store freely,
        and waits with no statement timeout, however long the holder works; it is let go when the block ends,
        or by the database when the holding process dies.
        """
        with self._connect() as conn:
            conn.execute("SET statement_timeout = 0")
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):  # a lost connection has let go of it already
                    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))


def schema_version(conn: Connection) -> int:
    """The schema version of the tables in the database; 0 when there are none."""
    # pg_tables read as of this statement: to_regclass's catalog cache may not show a table another process has
    # just made (as when waiting for the schema lock)
    if not scalar(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'qa_meta'"):
        return 0
    return int(scalar(conn, "SELECT schema_version FROM qa_meta"))


def rename_passages(conn: Connection, old: str, new: str) -> None:
    """Rename a passages table with its constraints and indexes, so that the next rebuild finds the names free."""
    conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
    for part in ("pkey", "document_fkey"):
        conn.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {old}_{part} TO {new}_{part}")
    for part in ("embedding", "tsv"):
        conn.execute(f"ALTER INDEX {old}_{part} RENAME TO {new}_{part}")


def scalar(conn: Connection, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None  # only for statements that give one row
    return row[0]


def checked_vectors(vectors: np.ndarray, passages: int, dimension: int) -> np.ndarray:
    if vectors.shape != (passages, dimension):
        raise ValueError(f"expected {passages} vectors of {dimension}, got {vectors.shape}")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def put_document(conn: Connection, document: Document, passages: int) -> datetime:
    """Write a document's row (keeping the date it was first added); that date."""
    return scalar(conn, PUT_DOCUMENT, (*source_columns(document), passages))


def copy_passages(
    conn: Connection, table: str, document_id: str, passages: Sequence[Passage], vectors: np.ndarray
) -> None:
    """Write passages with their vectors by binary COPY (pgvector's binary format: no float-to-text round trip)."""
    columns = 'document, position, start, "end", text, embedding'
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN BINARY") as copy:
        copy.set_types(["text", "int4", "int4", "int4", "text", "vector"])
        for passage, vector in zip(passages, vectors, strict=True):
            copy.write_row((document_id, passage.index, passage.start, passage.end, passage.text, vector))


def source_columns(document: Document) -> tuple[Any, ...]:
    return (
        document.id, document.name, document.origin, document.checksum, document.date, document.body_start,
        document.text, len(document.text), Jsonb(list(document.examples)),
    )  # fmt: skip


def source_of(row: tuple[Any, ...]) -> Document:
    doc_id, name, origin, text, sha256, date, body_start, examples = row
    return Document(doc_id, name, origin, text, sha256, date, body_start, tuple(examples))


def record_of(row: tuple[Any, ...]) -> DocumentRecord:
    doc_id, name, origin, sha256, characters, passages, status, added, date, reason, examples, _ = row
    status_: Status = status
    return DocumentRecord(
        doc_id, name, origin, sha256, characters, passages, status_, iso(added), date, reason, tuple(examples)
    )


def iso(moment: datetime) -> str:
    """As the local store writes dates: ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def bm25(rows: Sequence[tuple[Any, ...]], total: int, frequencies: Sequence[int]) -> list[tuple[Any, float]]:
    """Candidate rows (passage columns, word count, count of each query word) ranked by BM25, best first; the
    average length is the candidates' own (the store keeps no running total of words)."""
    idf = [math.log(1 + (total - df + 0.5) / (df + 0.5)) for df in frequencies]
    average = sum(row[5] for row in rows) / len(rows) or 1.0
    scored = []
    for row in rows:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * row[5] / average)
        counts = row[6]
        score = sum(w * tf * (BM25_K1 + 1) / (tf + norm) for w, tf in zip(idf, counts, strict=True) if tf)
        scored.append((row, score))
    return sorted(scored, key=lambda pair: (-pair[1], pair[0][0], pair[0][1]))


def any_of(lexemes: Sequence[str]) -> str:
    """A tsquery matching any of these lexemes, each quoted (so none is parsed or stemmed again)."""
    quoted = ("'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes)
    return " | ".join(quoted)


def public_url(url: str) -> str:
    """The database URL without its password (in the user part or a `password=` parameter): for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unmatched "[" of an IPv6 host: not a URL to quote at all
        return "(a malformed database URL)"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}@{hosts}" if at else hosts
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "password"]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/"), ""))


def secrets_of(url: str) -> set[str]:
    """The password a database URL holds, as written and decoded: what no message may show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    userinfo, at, _ = parts.netloc.rpartition("@")
    found = {userinfo.split(":", 1)[1]} if at and ":" in userinfo else set()
    found |= {value for key, value in parse_qsl(parts.query) if key == "password"}
    found |= {unquote(secret) for secret in found}
    return {secret for secret in found if secret}
