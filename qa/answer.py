"""What the pipeline returns: an answer quoted from a passage, or an honest 'not in the documents'."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.chunking import Passage


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

    @property
    def found(self) -> bool:
        return self.text is not None
