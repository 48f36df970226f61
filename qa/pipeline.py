"""The answer pipeline: embed the question, retrieve passages, read them, pick the best span."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from index.chunking import Passage
from index.embedding import Embedder
from index.retrieval import concerns, retrieve
from index.store import PassageStore
from qa.answer import Answer, Asked, Candidate
from qa.cascade import ReaderRule, Reading, accurate_reading, uncertain
from qa.confidence import IDENTITY, Calibration, configured_calibration
from qa.context import contexts
from qa.conversation import ConversationResolver, better_supported
from qa.library import add_configured_documents, open_library_store
from qa.reader import Reader, Span, ranked
from qa.settings import Settings, default_cache_dir
from qa.verifier import Verifier, load_verifier

log = logging.getLogger(__name__)


def load_embedder(settings: Settings) -> Embedder:
    """The configured embedding model, on the configured backend (OpenVINO IR cached with the reader's)."""
    return Embedder(
        settings.embedding_model_path(),
        backend=settings.embedding_backend,
        cache_dir=default_cache_dir() / "openvino",
        threads=settings.threads,
    )


def load_reader(settings: Settings, accurate: bool = False) -> Reader:
    """The configured reader (or the cascade's accurate one), at its precision, on the configured backend."""
    return Reader(
        settings.accurate_reader_model if accurate else settings.reader_model,
        settings.reader_max_length,
        settings.reader_stride,
        settings.max_answer_tokens,
        settings.accurate_reader_precision if accurate else settings.reader_precision,
        settings.reader_backend,
        settings.threads,
    )


def load_models(settings: Settings) -> tuple[Embedder, Reader]:
    """The embedder and the reader, on `settings.threads` CPU threads when set."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    return load_embedder(settings), load_reader(settings)


def load_accurate_reading(settings: Settings) -> Reading | None:
    """The cascade's accurate reader with its rule and calibration, when the reader mode reads with it."""
    if settings.reader_mode == "fast":
        return None
    model = settings.accurate_reader_model
    reading = accurate_reading(load_reader(settings, accurate=True), Path(model) if Path(model).is_dir() else None)
    log.info("reader mode %s (escalating under a score of %s)", settings.reader_mode, settings.escalate_below)
    return reading


def _candidate(span: Span, confidence: float) -> Candidate:
    return Candidate(span.text, round(confidence, 4), span.passage, span.start, span.end)


def load_configured_verifier(settings: Settings) -> Verifier | None:
    """The verifier the settings name (by default the reader's own `verifier.json`), its calibration refitted by
    `qa calibrate` when `QA_CALIBRATION` is a refit of the verifier's; None when there is none (the reader's rule
    decides)."""
    path = settings.verifier_path()
    if path is None:
        return None
    verifier = load_verifier(path)
    refit = configured_calibration(settings.calibration, None, "verifier")
    if refit is not IDENTITY:
        verifier = verifier.with_calibration(refit.scale, refit.shift, refit.fitted_on)
    log.info(
        "answers are verified (%s)%s",
        path,
        f", calibrated on {verifier.calibrated_on}" if verifier.calibrated_on else "",
    )
    return verifier


def load_configured_calibration(settings: Settings) -> Calibration:
    """How the reader's span probability becomes an answer's `score` when there is no verifier: the user's refit
    (`qa calibrate`, QA_CALIBRATION), else the reader's own `calibration.json`, else the probability as it is."""
    reader_dir = Path(settings.reader_model)
    return configured_calibration(settings.calibration, reader_dir if reader_dir.is_dir() else None, "span_score")


def open_documents(settings: Settings, embedder: Embedder, add_documents: bool) -> PassageStore:
    """The document store for the settings; `QA_DOCUMENTS` added or updated in it first when `add_documents`, or
    when it holds no document yet (a first start)."""
    store = open_library_store(settings, embedder)
    if add_documents or not store.documents():
        add_configured_documents(store, settings, embedder)
    return store


class Answerer:
    """Wires embedder, passage store, reader and the resolver of follow-up questions; models load once, in `load`."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: PassageStore,
        reader: Reader,
        resolver: ConversationResolver | None = None,
        verifier: Verifier | None = None,
        calibration: Calibration = IDENTITY,
        accurate: Reading | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.reader = reader
        self.resolver = resolver or ConversationResolver()  # spaCy loads with the first follow-up, unless warmed up
        self.verifier = verifier
        self.calibration = calibration  # of the span probability; a verifier carries its own
        self.accurate = accurate  # the cascade's second reader (qa/cascade.py); None in `fast` mode
        if settings.reader_mode != "fast" and accurate is None:
            raise ValueError(f"reader mode {settings.reader_mode} needs the accurate reader")

    @classmethod
    def load(cls, settings: Settings, add_documents: bool | None = None) -> Answerer:
        """Load the models, then open the store (`add_documents`: QA_DOCUMENTS added or updated in it first;
        by default as `QA_REBUILD_INDEX_ON_START` says)."""
        embedder, reader = load_models(settings)
        add = settings.rebuild_index_on_start if add_documents is None else add_documents
        resolver = ConversationResolver()
        resolver.warm_up()
        store = open_documents(settings, embedder, add)
        verifier = load_configured_verifier(settings)
        calibration = IDENTITY if verifier else load_configured_calibration(settings)
        accurate = load_accurate_reading(settings)
        return cls(settings, embedder, store, reader, resolver, verifier, calibration, accurate)

    def scoring(self) -> str:
        """What an answer's score is, in words (for reports): which calibration makes it a probability."""
        if self.verifier is not None:
            on = self.verifier.calibrated_on
            return f"the verifier's probability, calibrated on {on}" if on else "the verifier's probability"
        if self.calibration is IDENTITY:
            return "the reader's span probability, not calibrated"
        return f"the reader's span probability and margin, calibrated on {self.calibration.fitted_on or 'unknown'}"

    def retrieve(self, question: str, top_k: int, documents: Sequence[str] | None = None) -> list[Passage]:
        vector = self.embedder.embed([question])[0]
        return retrieve(self.store, question, vector, top_k, self.settings.retrieval, documents)

    def answer(self, question: str, top_k: int | None = None, documents: Sequence[str] | None = None) -> Answer:
        """The best answer to `question` from the top-k passages (of `documents` only, when given), or null."""
        return self.answer_batch([Asked(question, top_k, tuple(documents) if documents is not None else None)])[0]

    def answer_batch(self, asked: Sequence[Asked]) -> list[Answer]:
        """`answer` for several questions at once: one embedding call and at most two reader passes for all.

        A follow-up (one with `history`) is first rewritten into its standalone readings (`ConversationResolver`);
        each is answered and the better-supported answer kept, its `question` the reading it answers. A question
        that is not about the documents at all (`index.retrieval.concerns`) gets a null answer unread.
        """
        readings = [self.readings(a) for a in asked]
        flat = [
            replace(a, question=reading, history=()) for a, rs in zip(asked, readings, strict=True) for reading in rs
        ]
        answers = iter(self._answer_standalone(flat))
        return [better_supported([next(answers) for _ in rs]) for rs in readings]

    def readings(self, asked: Asked) -> list[str]:
        """The standalone readings of a question, best first: itself alone when it has no history."""
        question = asked.question.strip()
        if not asked.history:
            return [question]
        return self.resolver.candidates(question, asked.history)

    def _answer_standalone(self, asked: Sequence[Asked]) -> list[Answer]:
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
        first = self.accurate if self.settings.reader_mode == "accurate" and self.accurate else self.fast
        spans: list[list[Span]] = [[] for _ in questions]
        readings = [first] * len(questions)
        for i, found in zip(
            read, self.read([questions[i] for i in read], [retrieved[i] for i in read], first), strict=True
        ):
            spans[i] = found
        if self.settings.reader_mode == "auto" and self.accurate is not None:
            again = [i for i in read if spans[i] and self.escalates(questions[i], spans[i])]
            reread = self.read([questions[i] for i in again], [retrieved[i] for i in again], self.accurate)
            for i, again_found in zip(again, reread, strict=True):
                spans[i], readings[i] = again_found, self.accurate
        return [self._answer(*parts) for parts in zip(questions, retrieved, spans, readings, strict=True)]

    @property
    def fast(self) -> Reading:
        """The small reader with its rule (QA_MIN_SCORE, QA_NULL_MARGIN), calibration and verifier, as they are now
        (`qa calibrate` and tests set them after construction)."""
        rule = ReaderRule(self.settings.min_score, self.settings.null_margin)
        return Reading(self.reader, rule, self.calibration, "fast", self.verifier)

    def escalates(self, question: str, spans: Sequence[Span]) -> bool:
        """In `auto` mode: the small reader gives an answer it is unsure of, so the accurate reader reads again."""
        score, given = self.judge(question, spans)
        return uncertain(score, given, self.settings.escalate_below)

    def read(
        self, questions: Sequence[str], retrieved: Sequence[list[Passage]], reading: Reading | None = None
    ) -> list[list[Span]]:
        """Each question's spans, best first, by `reading` (default the small reader): its top passage read alone
        first (one pass for all questions), the rest in a second pass only for the questions the top passage did
        not settle (`_settled`).

        Trusting a confident top passage is faster and also more accurate than the best span over all passages:
        a lower-ranked passage's confident span is more often a distractor (figures in `Settings`).
        """
        reading = reading or self.fast
        reader = reading.reader
        if not questions:
            return []
        if self.settings.read_in_context:
            return self.read_in_context(questions, retrieved, reader)
        if self.settings.early_exit_score >= 1.0:
            return reader.read_batch(list(zip(questions, retrieved, strict=True)))
        spans = reader.read_batch([(q, passages[:1]) for q, passages in zip(questions, retrieved, strict=True)])
        unsettled = [
            i for i, passages in enumerate(retrieved) if len(passages) > 1 and not self._settled(spans[i], reading)
        ]
        more = reader.read_batch([(questions[i], retrieved[i][1:]) for i in unsettled])
        for i, extra in zip(unsettled, more, strict=True):
            spans[i] = ranked(spans[i] + extra)
        return spans

    def read_in_context(
        self, questions: Sequence[str], retrieved: Sequence[list[Passage]], reader: Reader | None = None
    ) -> list[list[Span]]:
        """Each question's spans from its passages read as one context per document (`qa.context`), all at once."""
        joined = [contexts(passages) for passages in retrieved]
        found = (reader or self.reader).read_batch(
            [(q, [c.passage for c in cs]) for q, cs in zip(questions, joined, strict=True)]
        )
        spans = []
        for cs, candidates in zip(joined, found, strict=True):
            by_document = {c.passage.document: c for c in cs}
            located = (by_document[s.passage.document].locate(s) for s in candidates)
            spans.append(ranked([s for s in located if s is not None]))
        return spans

    def _settled(self, spans: list[Span], reading: Reading) -> bool:
        """The reader's rule would give the best span, with a score of at least `early_exit_score`."""
        return bool(spans) and reading.rule.gives(spans[0]) and spans[0].score >= self.settings.early_exit_score

    def reader_rule(self, best: Span) -> bool:
        """The small reader's own rule (QA_MIN_SCORE, QA_NULL_MARGIN): what decides when there is no verifier."""
        return self.fast.rule.gives(best)

    def judge(self, question: str, spans: Sequence[Span], reading: Reading | None = None) -> tuple[float, bool]:
        """How sure the pipeline is that `spans[0]` is right, and whether it is given: without a verifier, the
        reader's span probability calibrated (`qa.confidence`) and the reader's rule; with one, its calibrated
        probability, and the reader's rule unless the verifier finds the question probably unanswered by the
        documents (QA_MIN_ANSWERABLE). Each reading by its own rule and calibration (by default the small reader's,
        the one a verifier is for)."""
        reading = reading or self.fast
        if reading.verifier is None:
            return reading.calibration.score(spans[0]), reading.rule.gives(spans[0])
        right, answerable = reading.verifier.judge(question, spans)
        return right, reading.rule.gives(spans[0]) and answerable >= self.settings.min_answerable

    def _answer(
        self, question: str, passages: list[Passage], spans: list[Span], reading: Reading | None = None
    ) -> Answer:
        reading = reading or self.fast
        if not spans:
            return Answer(
                question, None, 0.0, passages[0] if passages else None, retrieved=passages, reader=reading.name
            )
        best, shown = spans[0], 1 + self.settings.alternatives
        judged = [self.judge(question, spans[i:], reading) for i in range(min(len(spans), shown))]
        candidates = [_candidate(s, right) for s, (right, _) in zip(spans, judged, strict=False)]
        answered = judged[0][1]
        if not answered:
            # withheld: the best guess stays visible as the first alternative
            return Answer(
                question,
                None,
                candidates[0].score,
                passages[0],
                alternatives=candidates[: max(1, self.settings.alternatives)],
                retrieved=passages,
                reader=reading.name,
            )
        return Answer(
            question,
            best.text,
            candidates[0].score,
            best.passage,
            best.start,
            best.end,
            candidates[1:],
            passages,
            reading.name,
        )
