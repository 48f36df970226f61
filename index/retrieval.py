"""Finding the passages to read: the embedding search alone, or fused with keyword search (hybrid)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import numpy as np

from index.chunking import Passage
from index.lexical import FUSION_DEPTH, reciprocal_rank_fusion
from index.store import PassageStore

Retrieval = Literal["dense", "hybrid"]


def retrieve(
    store: PassageStore,
    question: str,
    vector: np.ndarray,
    k: int,
    how: Retrieval = "hybrid",
    documents: Collection[str] | None = None,
) -> list[Passage]:
    """The k best passages for a question (of `documents` only, when given), best first.

    Hybrid fuses the top `FUSION_DEPTH` of the embedding search and of BM25 by reciprocal rank: dense vectors
    find paraphrases, BM25 the rare words a question shares with its passage (names, numbers, terms).
    """
    if how == "dense":
        return [hit.passage for hit in store.dense_search(vector, k, documents)]
    dense = [hit.passage for hit in store.dense_search(vector, FUSION_DEPTH, documents)]
    keyword = [hit.passage for hit in store.keyword_search(question, FUSION_DEPTH, documents)]
    return reciprocal_rank_fusion([dense, keyword], k)


def concerns(
    store: PassageStore,
    question: str,
    vector: np.ndarray,
    min_similarity: float,
    documents: Collection[str] | None = None,
) -> bool:
    """Whether the question is about these passages at all: its embedding is at least `min_similarity` similar
    to one of them, or it shares a word with one (BM25). "hello" or "?" is not."""
    best = store.dense_search(vector, 1, documents)
    if best and best[0].score >= min_similarity:
        return True
    return bool(store.keyword_search(question, 1, documents))
