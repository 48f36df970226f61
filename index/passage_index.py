"""The on-disk passage index: passages, their vectors and a manifest of what built them.

Layout of an index directory::

    CURRENT              name of the live build (replaced atomically)
    build-<stamp>/       manifest.json, passages.jsonl, vectors.faiss

A rebuild writes a new build directory and only then points CURRENT at it, so a crash at any
moment leaves the previous build complete and in use.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import numpy as np

from index.chunking import SPLITTER_VERSION, Passage, chunk_document
from index.documents import Document, file_sha256
from index.embedding import Embedder
from index.lexical import FUSION_DEPTH, LexicalIndex, reciprocal_rank_fusion
from index.store import VectorStore

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST, PASSAGES, VECTORS, CURRENT = "manifest.json", "passages.jsonl", "vectors.faiss", "CURRENT"


EMBED_STEP = 1024  # passages a progress step: large enough to sort by length within, small enough to show motion


def embed_passages(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """The passages' vectors, with a progress bar on a terminal when there are more than one step's worth."""
    if len(texts) <= EMBED_STEP:
        return embedder.embed(texts)
    from tqdm import tqdm

    vectors = []
    with tqdm(total=len(texts), desc="embedding passages", unit="passage", disable=None) as bar:
        for lo in range(0, len(texts), EMBED_STEP):
            vectors.append(embedder.embed(texts[lo : lo + EMBED_STEP]))
            bar.update(len(vectors[-1]))
    return np.concatenate(vectors)


class IndexError_(RuntimeError):
    """Base for index problems; messages say what to run."""


class IndexMissingError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    pass


@dataclass(frozen=True)
class Chunking:
    max_words: int = 120
    overlap_sentences: int = 1
    # the sentence splitter's rules: an index built by older rules is rebuilt, as when the sizes change
    splitter: int = SPLITTER_VERSION


@dataclass(frozen=True)
class SearchHit:
    passage: Passage
    similarity: float


def _fsync_write(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class PassageIndex:
    """Passages of a set of documents with their embeddings, searchable by question vector."""

    def __init__(self, passages: list[Passage], store: VectorStore, manifest: dict) -> None:
        self.passages = passages
        self.store = store
        self.manifest = manifest

    @property
    def documents(self) -> dict[str, dict]:
        return self.manifest["documents"]

    def search(self, query_vector: np.ndarray, k: int) -> list[SearchHit]:
        return [SearchHit(self.passages[row], score) for row, score in self.store.search(query_vector, k)]

    @cached_property
    def lexical(self) -> LexicalIndex:
        """BM25 over the passages, built in memory on first use (0.14 s for 1,603 passages)."""
        return LexicalIndex([p.text for p in self.passages])

    def search_hybrid(self, question: str, query_vector: np.ndarray, k: int) -> list[Passage]:
        """The k best passages by the embedding search and BM25 together (reciprocal rank fusion)."""
        dense = [row for row, _ in self.store.search(query_vector, FUSION_DEPTH)]
        rows = reciprocal_rank_fusion([dense, self.lexical.search(question, FUSION_DEPTH)], k)
        return [self.passages[row] for row in rows]

    def concerns(self, question: str, query_vector: np.ndarray, min_similarity: float) -> bool:
        """Whether the question is about these passages at all: its embedding is at least `min_similarity`
        similar to one of them, or it shares a word with one (BM25). "hello" or "?" is not."""
        best = self.store.search(query_vector, 1)
        if best and best[0][1] >= min_similarity:
            return True
        return bool(self.lexical.search(question, 1))

    # --- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, documents: list[Document], embedder: Embedder, chunking: Chunking) -> PassageIndex:
        passages: list[Passage] = []
        for doc in documents:
            chunks = chunk_document(doc, chunking.max_words, chunking.overlap_sentences)
            if not chunks:
                log.warning("%s has no text to index: nothing in it can be retrieved", doc.id)
            passages.extend(chunks)
        store = VectorStore(embedder.dimension)
        if passages:
            store.add(embed_passages(embedder, [p.text for p in passages]))
        manifest = {
            "format": FORMAT,
            "embedding_model": embedder.name,
            "dimension": embedder.dimension,
            "chunking": asdict(chunking),
            "documents": {
                d.id: {"path": str(d.path), "sha256": d.checksum, "date": d.date, "characters": len(d.text)}
                for d in documents
            },
            "passages": len(passages),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return cls(passages, store, manifest)

    def save(self, directory: Path) -> Path:
        """Write this index as a new build of `directory` and make it the live one; returns the build."""
        directory.mkdir(parents=True, exist_ok=True)
        build = directory / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        tmp = directory / f".tmp-{build.name}"
        tmp.mkdir()
        lines = "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in self.passages)
        _fsync_write(tmp / PASSAGES, lines.encode("utf-8"))
        self.store.save(tmp / VECTORS)
        files = {name: file_sha256(tmp / name) for name in (PASSAGES, VECTORS)}
        manifest = {**self.manifest, "files": files}
        _fsync_write(tmp / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))
        os.replace(tmp, build)
        pointer = directory / f".{CURRENT}.tmp"
        _fsync_write(pointer, build.name.encode())
        os.replace(pointer, directory / CURRENT)
        self.manifest = manifest
        _remove_old_builds(directory, keep=build.name)
        return build

    # --- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, directory: Path) -> PassageIndex:
        """Load the live build, checking every file against the manifest's checksums."""
        build = live_build(directory)
        try:
            manifest = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"index manifest {build / MANIFEST} is unreadable ({exc}); run `qa index`") from exc
        if manifest.get("format") != FORMAT:
            raise IndexMismatchError(
                f"index {build} has format {manifest.get('format')}, expected {FORMAT}; run `qa index`"
            )
        for name, digest in manifest.get("files", {}).items():
            path = build / name
            if not path.exists() or file_sha256(path) != digest:
                raise IndexCorruptError(f"index file {path} is missing or does not match its checksum; run `qa index`")
        try:
            passages = [
                Passage(**json.loads(line)) for line in (build / PASSAGES).read_text(encoding="utf-8").splitlines()
            ]
            store = VectorStore.load(build / VECTORS)
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise IndexCorruptError(f"index {build} cannot be read ({exc}); run `qa index`") from exc
        if len(store) != len(passages) or store.dimension != manifest["dimension"]:
            raise IndexCorruptError(f"index {build}: {len(store)} vectors for {len(passages)} passages; run `qa index`")
        return cls(passages, store, manifest)

    def mismatch(self, documents: list[Document] | None, embedding_model: str, chunking: Chunking) -> str | None:
        """Why this index no longer matches the documents and settings, or None when it does."""
        built_with = self.manifest["embedding_model"]
        if built_with != embedding_model:
            return f"index was built with embedding model {built_with}, settings name {embedding_model}"
        if self.manifest.get("chunking") != asdict(chunking):
            return f"index was built with chunking {self.manifest.get('chunking')}, settings give {asdict(chunking)}"
        if documents is not None:
            built = {doc_id: meta["sha256"] for doc_id, meta in self.documents.items()}
            now = {d.id: d.checksum for d in documents}
            if built != now:
                changed = sorted(set(built.items()) ^ set(now.items()))
                return f"documents changed since the index was built: {', '.join(sorted({c[0] for c in changed}))}"
        return None


def live_build(directory: Path) -> Path:
    pointer = directory / CURRENT
    if not pointer.exists():
        raise IndexMissingError(f"no index in {directory}; run `qa index` to build it")
    build = directory / pointer.read_text().strip()
    if not build.is_dir():
        raise IndexCorruptError(f"{pointer} names {build.name}, which is missing; run `qa index`")
    return build


def _remove_old_builds(directory: Path, keep: str) -> None:
    for child in directory.iterdir():
        if child.name != keep and (child.name.startswith("build-") or child.name.startswith(".tmp-build-")):
            shutil.rmtree(child, ignore_errors=True)


@contextlib.contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Only one rebuild of an index directory at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexError_(f"another `qa index` is rebuilding {directory}; wait for it to finish") from exc
        yield
