"""BM25 keyword search and its fusion with the embedding search."""

import numpy as np

from index.chunking import Passage
from index.lexical import LexicalIndex, reciprocal_rank_fusion
from index.passage_index import PassageIndex
from index.store import VectorStore

TEXTS = [
    "Tencent signed a memorandum with the Department of International Trade in London.",
    "Blue Planet II drew 220 million views on Tencent Video.",
    "Lau Seng Yee is a senior executive vice president of Tencent.",
    "The pact deepens ties between the gaming giant and Britain.",
]


def test_bm25_ranks_passages_sharing_the_questions_rare_words_first():
    lexical = LexicalIndex(TEXTS)
    assert lexical.search("How many views did Blue Planet II get?", 4)[0] == 1
    assert lexical.search("Who is Lau Seng Yee?", 1) == [2]
    assert lexical.search("What is the weather like?", 4) == []  # no word shared, stopwords aside
    assert lexical.search("", 4) == [] and LexicalIndex([]).search("Tencent", 4) == []


def test_reciprocal_rank_fusion_rewards_agreement_and_keeps_what_either_found():
    assert reciprocal_rank_fusion([[1, 2, 3], [3, 1]], 3) == [1, 3, 2]
    assert reciprocal_rank_fusion([[5], []], 3) == [5]
    assert reciprocal_rank_fusion([[7, 8], [8, 7]], 1) == [7]  # a tie goes to the first ranking's order


class SameVector:
    """An embedder that cannot tell passages apart: the dense ranking is arbitrary."""

    name, dimension = "same-vector", 8

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.tile(np.eye(1, self.dimension, dtype=np.float32), (len(texts), 1))


def same_vector_index() -> tuple[list[Passage], PassageIndex]:
    """TEXTS as one document's passages, indexed by an embedder that cannot tell them apart."""
    passages = [Passage("d.txt", i, text, 0, len(text)) for i, text in enumerate(TEXTS)]
    store = VectorStore(SameVector.dimension)
    store.add(SameVector().embed(TEXTS))
    return passages, PassageIndex(passages, store, {"documents": {}})


def test_hybrid_search_finds_the_keyword_match_the_embedding_search_misses():
    passages, index = same_vector_index()
    question = "Who is Lau Seng Yee?"
    vector = SameVector().embed([question])[0]
    assert passages[2] not in [hit.passage for hit in index.search(vector, 1)]
    assert index.search_hybrid(question, vector, 1) == [passages[2]]
    assert len(index.search_hybrid(question, vector, 3)) == 3  # the rest filled from the embedding search


def test_the_pipeline_retrieves_by_the_configured_method():
    from qa.pipeline import Answerer
    from qa.settings import Settings

    passages, index = same_vector_index()
    question = "Who is Lau Seng Yee?"

    def top(retrieval: str) -> Passage:
        return Answerer(Settings(retrieval=retrieval), SameVector(), index, None).retrieve(question, 1)[0]

    assert Settings().retrieval == "hybrid"
    assert top("dense") == passages[0] and top("hybrid") == passages[2]
