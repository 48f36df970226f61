"""Test doubles: a hashing embedder and a canned answerer, for tests that need no model."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import numpy as np

from qa.answer import Answer


class HashingEmbedder:
    """Deterministic bag-of-words vectors: enough to test indexing and search without a model."""

    def __init__(self, name: str = "hashing-test-embedder", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class CannedAnswerer:
    """Answers 'Shenzhen' from the passage that holds it; null for questions about France."""

    def __init__(self, index, embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.reader = SimpleNamespace(name="canned-reader")
        self.calls: list[tuple[str, int | None]] = []
        self.batches: list[int] = []

    def answer_batch(self, asked: list[tuple[str, int | None]]) -> list[Answer]:
        self.batches.append(len(asked))
        return [self.answer(question, top_k) for question, top_k in asked]

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        self.calls.append((question, top_k))
        passage = next(p for p in self.index.passages if "Shenzhen" in p.text)
        if "France" in question:
            return Answer(question, None, 0.02, passage, retrieved=[passage])
        start = passage.text.index("Shenzhen")
        return Answer(question, "Shenzhen", 0.9, passage, start, start + len("Shenzhen"), [], [passage])
