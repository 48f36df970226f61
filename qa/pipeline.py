"""The answer pipeline: embed the question, retrieve passages, read them, pick the best span."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from index.chunking import Passage
from index.embedding import Embedder
from index.retrieval import concerns, retrieve
from index.store import PassageStore
from qa.answer import Answer, Asked, Candidate
from qa.library import add_configured_documents, open_library_store
from qa.reader import Reader, Span, ranked
from qa.settings import Settings, default_cache_dir

log = logging.getLogger(__name__)


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedding model, on the configured backend (OpenVINO IR cached with the reader's)."""
    return Embedder(
        settings.embedding_model_path(),
        backend=settings.embedding_backend,
        cache_dir=default_cache_dir() / "openvino",
        threads=settings.threads,
    )


def load_reader(settings: Settings) -> Reader:
    """The configured reader, at the configured precision and on the configured backend."""
    return Reader(
        settings.reader_model,
        settings.reader_max_length,
        settings.reader_stride,
        settings.max_answer_tokens,
        settings.reader_precision,
        settings.reader_backend,
        settings.threads,
    )


def load_models(settings: Settings) -> tuple[Embedder, Reader]:
    """The embedder and the reader, on `settings.threads` CPU threads when set."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    return load_embedder(settings), load_reader(settings)


def _candidate(span: Span) -> Candidate:
    return Candidate(span.text, round(span.score, 4), span.passage, span.start, span.end)


def open_documents(settings: Settings, embedder: Embedder, add_documents: bool) -> PassageStore:
    """The document store for the settings; `QA_DOCUMENTS` added or updated in it first when `add_documents`, or
    when it holds no document yet (a first start)."""
    store = open_library_store(settings, embedder)
    if add_documents or not store.documents():
        add_configured_documents(store, settings, embedder)
    return store


class Answerer:
    """Wires embedder, passage store and reader; models load once, in `load`."""

    def __init__(self, settings: Settings, embedder: Embedder, store: PassageStore, reader: Reader) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.reader = reader

    @classmethod
    def load(cls, settings: Settings, add_documents: bool | None = None) -> Answerer:
        """Load the models, then open the store (`add_documents`: QA_DOCUMENTS added or updated in it first;
        by default as `QA_REBUILD_INDEX_ON_START` says)."""
        embedder, reader = load_models(settings)
        add = settings.rebuild_index_on_start if add_documents is None else add_documents
        return cls(settings, embedder, open_documents(settings, embedder, add), reader)

    def retrieve(self, question: str, top_k: int, documents: Sequence[str] | None = None) -> list[Passage]:
        vector = self.embedder.embed([question])[0]
        return retrieve(self.store, question, vector, top_k, self.settings.retrieval, documents)

    def answer(self, question: str, top_k: int | None = None, documents: Sequence[str] | None = None) -> Answer:
        """The best answer to `question` from the top-k passages (of `documents` only, when given), or null."""
        return self.answer_batch([Asked(question, top_k, tuple(documents) if documents is not None else None)])[0]

    def answer_batch(self, asked: Sequence[Asked]) -> list[Answer]:
        """`answer` for several questions at once: one embedding call and at most two reader passes for all.

        A question that is not about the documents at all (`index.retrieval.concerns`) gets a null answer unread.
        """
        questions = [a.question.strip() for a in asked]
        vectors = self.embedder.embed(questions)
        how, floor = self.settings.retrieval, self.settings.min_relevance
        retrieved = [
            retrieve(self.store, q, v, a.top_k or self.settings.top_k, how, a.documents)
            for q, v, a in zip(questions, vectors, asked, strict=True)
        ]
        read = [
            i
            for i, (q, v, a) in enumerate(zip(questions, vectors, asked, strict=True))
            if concerns(self.store, q, v, floor, a.documents)
        ]
        spans: list[list[Span]] = [[] for _ in questions]
        for i, found in zip(read, self.read([questions[i] for i in read], [retrieved[i] for i in read]), strict=True):
            spans[i] = found
        return [self._answer(*parts) for parts in zip(questions, retrieved, spans, strict=True)]

    def read(self, questions: Sequence[str], retrieved: Sequence[list[Passage]]) -> list[list[Span]]:
        """Each question's spans, best first: its top passage read alone first (one pass for all questions), the
        rest in a second pass only for the questions the top passage did not settle (`_settled`).

        Trusting a confident top passage is faster and also more accurate than the best span over all passages:
        a lower-ranked passage's confident span is more often a distractor (figures in `Settings`).
        """
        if self.settings.early_exit_score >= 1.0:
            return self.reader.read_batch(list(zip(questions, retrieved, strict=True)))
        spans = self.reader.read_batch([(q, passages[:1]) for q, passages in zip(questions, retrieved, strict=True)])
        unsettled = [i for i, passages in enumerate(retrieved) if len(passages) > 1 and not self._settled(spans[i])]
        more = self.reader.read_batch([(questions[i], retrieved[i][1:]) for i in unsettled])
        for i, extra in zip(unsettled, more, strict=True):
            spans[i] = ranked(spans[i] + extra)
        return spans

    def _settled(self, spans: list[Span]) -> bool:
        """The best span would be given as the answer, with a score of at least `early_exit_score`."""
        return bool(spans) and self._answers(spans[0]) and spans[0].score >= self.settings.early_exit_score

    def _answers(self, best: Span) -> bool:
        """The span is given as the answer, not withheld: it scores at least `min_score` and beats "no answer" by
        at least `null_margin`."""
        return best.score >= self.settings.min_score and best.logit - best.null_logit >= self.settings.null_margin

    def _answer(self, question: str, passages: list[Passage], spans: list[Span]) -> Answer:
        alternatives = [_candidate(s) for s in spans[1 : 1 + self.settings.alternatives]]
        if not spans:
            return Answer(question, None, 0.0, passages[0] if passages else None, retrieved=passages)
        best = spans[0]
        if not self._answers(best):
            # The reader prefers no span: keep its best guess visible as the first alternative.
            return Answer(
                question,
                None,
                round(best.score, 4),
                passages[0],
                alternatives=[_candidate(best), *alternatives][: max(1, self.settings.alternatives)],
                retrieved=passages,
            )
        return Answer(
            question, best.text, round(best.score, 4), best.passage, best.start, best.end, alternatives, passages
        )
