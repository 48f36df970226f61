"""What the pipeline returns: an answer quoted from a passage, or an honest 'not in the documents'."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.chunking import Passage


@dataclass(frozen=True)
class Turn:
    """An earlier turn of a conversation: its question and the system's answer, None when it abstained."""

    question: str
    answer: str | None


@dataclass(frozen=True)
class Asked:
    """A question as asked: how many passages to read (None: the default), of which documents (None: all), and
    the earlier turns of its conversation, oldest first (follow-ups are resolved against them)."""

    question: str
    top_k: int | None = None
    documents: tuple[str, ...] | None = None
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A quoted span: offsets into the passage (`answer_start/end`) and into its document."""

    text: str
    score: float
    passage: Passage
    answer_start: int
    answer_end: int

    @property
    def document_start(self) -> int:
        return self.passage.start + self.answer_start

    @property
    def document_end(self) -> int:
        return self.passage.start + self.answer_end


@dataclass(frozen=True)
class Answer:
    """The best candidate, or `text=None` when the documents do not answer the question.

    For a null answer, `passage` is the most relevant passage retrieved and the offsets are 0.
    """

    question: str
    text: str | None
    score: float
    passage: Passage | None
    answer_start: int = 0
    answer_end: int = 0
    alternatives: list[Candidate] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    reader: str = "fast"  # which reader of the cascade read it (qa/cascade.py): fast or accurate

    @property
    def found(self) -> bool:
        return self.text is not None


def _source(document: str, passage: int, start: int, end: int) -> dict[str, Any]:
    return {"document": document, "passage": passage, "start": start, "end": end}


def candidate_json(c: Candidate) -> dict[str, Any]:
    """A quoted span as JSON; passage numbers count from 1, as people read them."""
    return {
        "answer": c.text,
        "score": c.score,
        "context": c.passage.text,
        "answer_start": c.answer_start,
        "answer_end": c.answer_end,
        "source": _source(c.passage.document, c.passage.index + 1, c.document_start, c.document_end),
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer as `POST /ask` and `qa ask --json` give it."""
    p = answer.passage
    if p is None:
        head: dict[str, Any] = {"answer": None, "score": 0.0, "context": "", "answer_start": 0, "answer_end": 0}
        source = _source("", 0, 0, 0)
    else:
        head = {
            "answer": answer.text,
            "score": answer.score,
            "context": p.text,
            "answer_start": answer.answer_start,
            "answer_end": answer.answer_end,
        }
        start, end = (p.start + answer.answer_start, p.start + answer.answer_end) if answer.found else (p.start, p.end)
        source = _source(p.document, p.index + 1, start, end)
    retrieved = [{**_source(r.document, r.index + 1, r.start, r.end), "text": r.text} for r in answer.retrieved]
    return {
        **head,
        "interpreted_question": answer.question,
        "source": source,
        "alternatives": [candidate_json(c) for c in answer.alternatives],
        "retrieved": retrieved,
        "reader": answer.reader,
    }
