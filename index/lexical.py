"""Keyword retrieval: BM25 over the passages (bm25s), to fuse with the embedding search.

Dense vectors find paraphrases; BM25 finds the rare words a question shares with its passage (names, numbers,
terms). Fused by reciprocal rank, the two find the right passage more often than either alone
(docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

import bm25s
import numpy as np

# candidates each ranking contributes to the fusion; the constant of reciprocal rank fusion (Cormack et al. 2009)
FUSION_DEPTH = 50
RRF_K = 60
Item = TypeVar("Item", bound=Hashable)


class LexicalIndex:
    """BM25 (English stopwords out, no stemming) over passage texts; built in memory from the passages."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, score) of the k best passages sharing a word with the query, best first (none when no word is
        shared); only rows in `allowed` when given."""
        terms = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        if not self.size or not terms or not terms[0]:
            return []
        if allowed is not None:
            return self._search_within(terms[0], k, allowed)
        rows, scores = self._bm25.retrieve(terms, k=min(k, self.size), show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]

    def _search_within(self, terms: list[str], k: int, allowed: np.ndarray) -> list[tuple[int, float]]:
        if not len(allowed):
            return []
        scores = np.asarray(self._bm25.get_scores(terms))[allowed]
        best = np.argsort(-scores, kind="stable")[:k]
        return [(int(allowed[i]), float(scores[i])) for i in best if scores[i] > 0]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Item]], k: int, constant: int = RRF_K) -> list[Item]:
    """The k best items by summed 1 / (constant + rank) over the rankings (ties: first seen first)."""
    scores: dict[Item, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (constant + rank)
    return sorted(scores, key=lambda row: -scores[row])[:k]  # sorted is stable: ties keep first-seen order
