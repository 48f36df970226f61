"""Test doubles: a hashing embedder and a canned answerer, for tests that need no model."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import numpy as np

from qa.answer import Answer, Asked


class HashingEmbedder:
    """Deterministic bag-of-words vectors: enough to test indexing and search without a model."""

    def __init__(self, name: str = "hashing-test-embedder", dimension: int = 64) -> None:
        self.name = name
        self.label = name
        self.dimension = dimension
        self.embedded = 0  # texts embedded so far: incremental indexing is tested by counting them

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.embedded += len(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class CannedAnswerer:
    """Answers 'Shenzhen' from the passage that holds it; null for questions about France."""

    def __init__(self, store, embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.reader = SimpleNamespace(name="canned-reader")
        self.calls: list[tuple[str, int | None]] = []
        self.asked: list[Asked] = []
        self.batches: list[int] = []

    def answer_batch(self, asked: list[Asked]) -> list[Answer]:
        self.batches.append(len(asked))
        self.asked.extend(asked)
        return [self.answer(a.question, a.top_k) for a in asked]

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        self.calls.append((question, top_k))
        passage = next(h.passage for h in self.store.keyword_search("Shenzhen", 10) if "Shenzhen" in h.passage.text)
        if "France" in question:
            return Answer(question, None, 0.02, passage, retrieved=[passage])
        start = passage.text.index("Shenzhen")
        return Answer(question, "Shenzhen", 0.9, passage, start, start + len("Shenzhen"), [], [passage])
