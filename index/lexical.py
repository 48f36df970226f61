"""Keyword retrieval: BM25 over the passages (bm25s), to fuse with the embedding search.

Dense vectors find paraphrases; BM25 finds the rare words a question shares with its passage (names, numbers,
terms). Over 20 held-out SQuAD articles (1,603 passages, 5,373 questions) the right passage was in the top 3 for
81.9 % of the questions by embedding alone, 88.1 % by BM25 alone and 89.5 % with both fused.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s

# candidates each ranking contributes to the fusion; the constant of reciprocal rank fusion (Cormack et al. 2009)
FUSION_DEPTH = 50
RRF_K = 60


class LexicalIndex:
    """BM25 (English stopwords out, no stemming) over passage texts; built in memory from the passages."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            self._bm25.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)

    def search(self, query: str, k: int) -> list[int]:
        """Rows of the k best passages sharing a word with the query, best first (none when no word is shared)."""
        terms = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        if not self.size or not terms or not terms[0]:
            return []
        rows, scores = self._bm25.retrieve(terms, k=min(k, self.size), show_progress=False)
        return [int(r) for r, s in zip(rows[0], scores[0], strict=True) if s > 0]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int, constant: int = RRF_K) -> list[int]:
    """The k best rows by summed 1 / (constant + rank) over the rankings (ties: first seen first)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (constant + rank)
    return sorted(scores, key=lambda row: -scores[row])[:k]  # sorted is stable: ties keep first-seen order
