"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from qa.answer import Answer, Candidate
from qa.questions import QUESTION_PATTERN


class AskRequest(BaseModel):
    """A question about the indexed documents."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"question": "How many views did Blue Planet II get?"}]}
    )

    # The limits are checked in the handler, with clear messages; the schema states them for clients and fuzzers.
    question: StrictStr = Field(
        description=(
            "The question: 1 to 1,000 characters, not only whitespace or invisible characters, no control characters "
            "but tab/newline, valid Unicode."
        ),
        json_schema_extra={"minLength": 1, "maxLength": 1000, "pattern": QUESTION_PATTERN},
    )
    top_k: int | None = Field(None, ge=1, le=10, description="How many passages to read (default 3).")

    @field_validator("top_k", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        """JSON numbers like 3 or 3.0 (JSON Schema integers); not strings, booleans or fractions."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a whole number from 1 to 10")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be a whole number from 1 to 10")
        return int(value)


class Source(BaseModel):
    document: str = Field(description="Document id (its file name).")
    passage: int = Field(description="Passage number within the document.")
    start: int = Field(description="Offset of the answer (or, with no answer, of the passage) in the document.")
    end: int


class AnswerOut(BaseModel):
    answer: str | None = Field(description="The quoted answer, or null when the documents do not answer it.")
    score: float = Field(ge=0, le=1, description="Reader confidence in [0, 1] of the best span found.")
    context: str = Field(description="The passage the answer is quoted from.")
    answer_start: int = Field(description="Offset of the answer in `context` (0 when there is no answer).")
    answer_end: int
    source: Source


class RetrievedPassage(BaseModel):
    document: str
    passage: int
    start: int
    end: int
    text: str


class AskResponse(AnswerOut):
    alternatives: list[AnswerOut] = Field(description="Next-best distinct answers, best first.")
    retrieved: list[RetrievedPassage] = Field(default_factory=list, description="The passages the reader was given.")


class DocumentOut(BaseModel):
    id: str
    date: str | None
    characters: int
    passages: int


class InfoResponse(BaseModel):
    documents: list[DocumentOut]
    passages: int
    embedding_model: str
    reader_model: str
    examples: list[str]


class Health(BaseModel):
    status: str
    detail: str | None = None


class ErrorOut(BaseModel):
    detail: str


def _candidate_out(c: Candidate) -> AnswerOut:
    return AnswerOut(
        answer=c.text,
        score=c.score,
        context=c.passage.text,
        answer_start=c.answer_start,
        answer_end=c.answer_end,
        source=Source(document=c.passage.document, passage=c.passage.index, start=c.document_start, end=c.document_end),
    )


def answer_out(answer: Answer) -> AskResponse:
    alternatives = [_candidate_out(c) for c in answer.alternatives]
    retrieved = [
        RetrievedPassage(document=r.document, passage=r.index, start=r.start, end=r.end, text=r.text)
        for r in answer.retrieved
    ]
    p = answer.passage
    if p is None:
        source = Source(document="", passage=0, start=0, end=0)
        return AskResponse(
            answer=None,
            score=0.0,
            context="",
            answer_start=0,
            answer_end=0,
            source=source,
            alternatives=alternatives,
            retrieved=retrieved,
        )
    if answer.found:
        source = Source(
            document=p.document, passage=p.index, start=p.start + answer.answer_start, end=p.start + answer.answer_end
        )
    else:
        source = Source(document=p.document, passage=p.index, start=p.start, end=p.end)
    return AskResponse(
        answer=answer.text,
        score=answer.score,
        context=p.text,
        answer_start=answer.answer_start,
        answer_end=answer.answer_end,
        source=source,
        alternatives=alternatives,
        retrieved=retrieved,
    )
