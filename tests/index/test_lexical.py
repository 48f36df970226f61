"""BM25 keyword search and its fusion with the embedding search."""

import numpy as np

from index.chunking import Passage
from index.documents import Document
from index.indexing import manifest_of
from index.lexical import LexicalIndex, reciprocal_rank_fusion
from index.retrieval import retrieve
from index.store import Chunking, open_store

TEXTS = [
    "Tencent signed a memorandum with the Department of International Trade in London.",
    "Blue Planet II drew 220 million views on Tencent Video.",
    "Lau Seng Yee is a senior executive vice president of Tencent.",
    "The pact deepens ties between the gaming giant and Britain.",
]


def test_bm25_ranks_passages_sharing_the_questions_rare_words_first():
    lexical = LexicalIndex(TEXTS)
    assert lexical.search("How many views did Blue Planet II get?", 4)[0][0] == 1
    assert [row for row, _ in lexical.search("Who is Lau Seng Yee?", 1)] == [2]
    assert [row for row, _ in lexical.search("Tencent", 4, allowed=np.array([0, 1]))] == [0, 1]
    assert lexical.search("What is the weather like?", 4) == []  # no word shared, stopwords aside
    assert lexical.search("", 4) == [] and LexicalIndex([]).search("Tencent", 4) == []


def test_reciprocal_rank_fusion_rewards_agreement_and_keeps_what_either_found():
    assert reciprocal_rank_fusion([[1, 2, 3], [3, 1]], 3) == [1, 3, 2]
    assert reciprocal_rank_fusion([[5], []], 3) == [5]
    assert reciprocal_rank_fusion([[7, 8], [8, 7]], 1) == [7]  # a tie goes to the first ranking's order


class SameVector:
    """An embedder that cannot tell passages apart: the dense ranking is arbitrary."""

    name = label = "same-vector"
    dimension = 8

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return np.tile(np.eye(1, self.dimension, dtype=np.float32), (len(texts), 1))


def same_vector_store(tmp_path):
    """TEXTS as one document's passages (one sentence each), in a store whose embedder cannot tell them apart."""
    text = " ".join(TEXTS)
    doc = Document("d.txt", "d.txt", "upload", text, "sha")
    passages = [Passage("d.txt", i, t, text.index(t), text.index(t) + len(t)) for i, t in enumerate(TEXTS)]
    store = open_store(tmp_path, manifest_of(SameVector(), Chunking()))
    store.upsert(doc, passages, SameVector().embed(TEXTS))
    return passages, store


def test_hybrid_search_finds_the_keyword_match_the_embedding_search_misses(tmp_path):
    passages, store = same_vector_store(tmp_path)
    question = "Who is Lau Seng Yee?"
    vector = SameVector().embed([question])[0]
    assert passages[2] not in retrieve(store, question, vector, 1, "dense")
    assert retrieve(store, question, vector, 1, "hybrid") == [passages[2]]
    assert len(retrieve(store, question, vector, 3, "hybrid")) == 3  # the rest filled from the embedding search


def test_the_pipeline_retrieves_by_the_configured_method(tmp_path):
    from qa.pipeline import Answerer
    from qa.settings import Settings

    passages, store = same_vector_store(tmp_path)
    question = "Who is Lau Seng Yee?"

    def top(retrieval: str) -> Passage:
        return Answerer(Settings(retrieval=retrieval), SameVector(), store, None).retrieve(question, 1)[0]

    assert Settings().retrieval == "hybrid"
    assert top("dense") == passages[0] and top("hybrid") == passages[2]
