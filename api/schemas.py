"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from index.store import DocumentRecord
from qa.answer import Answer, answer_json
from qa.questions import QUESTION_PATTERN

MAX_DOCUMENT_FILTER = 100
MAX_HISTORY_TURNS = 10


class AskRequest(BaseModel):
    """A question about the indexed documents."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "How many views did Blue Planet II get?"},
                {"question": "Who is Lau Seng Yee?", "top_k": 5, "documents": ["tencent-uk-partnership-2018.txt"]},
                {
                    "question": "What did he say?",
                    "history": [{"question": "Who is Lau Seng Yee?", "answer": "senior executive vice president"}],
                },
            ]
        },
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
    documents: list[StrictStr] | None = Field(
        None,
        min_length=1,
        max_length=MAX_DOCUMENT_FILTER,
        description="Read only these documents (ids from GET /documents); all of them when absent.",
    )
    history: list[HistoryTurn] | None = Field(
        None,
        max_length=MAX_HISTORY_TURNS,
        description="The earlier turns of the conversation, oldest first (at most 10): a follow-up such as "
        "'What did he say?' is read as a standalone question against them (see `interpreted_question`).",
    )

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


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation: its question and the answer the system gave (null: it abstained)."""

    model_config = ConfigDict(extra="forbid")

    question: StrictStr = Field(
        description="The earlier question, limited like a question.",
        json_schema_extra={"minLength": 1, "maxLength": 1000, "pattern": QUESTION_PATTERN},
    )
    answer: StrictStr | None = Field(
        description="The system's answer to it, at most 1,000 characters; null if none.",
        json_schema_extra={"maxLength": 1000},
    )


class Source(BaseModel):
    document: str = Field(description="Document id (see GET /documents).")
    passage: int = Field(description="Passage number within the document, counting from 1 (0: no passage).")
    start: int = Field(description="Offset of the answer (or, with no answer, of the passage) in the document's text.")
    end: int = Field(description="Offset just past the answer (or the passage) in the document's text.")


class AnswerOut(BaseModel):
    answer: str | None = Field(description="The quoted answer, or null when the documents do not answer it.")
    score: float = Field(
        ge=0,
        le=1,
        description="Calibrated probability in [0, 1] that the answer (when withheld: the best guess) is right.",
    )
    context: str = Field(description="The passage the answer is quoted from.")
    answer_start: int = Field(description="Offset of the answer in `context` (0 when there is no answer).")
    answer_end: int
    source: Source


class RetrievedPassage(BaseModel):
    document: str = Field(description="Document id.")
    passage: int = Field(description="Passage number within the document, counting from 1.")
    start: int = Field(description="Offset of the passage in the document's text.")
    end: int
    text: str


ASK_EXAMPLE: dict[str, Any] = {
    "answer": "220 million",
    "score": 0.8774,
    "context": "Tencent already has a prior working relationship with the BBC.\n\n\n\nBlue Planet II, an award-winning "
    "documentary co-produced by\n\nTencent Video and the British broadcaster, amassed a record-breaking 220 million "
    "views on Tencent\u2019s video streaming site Tencent Video.",
    "answer_start": 196,
    "answer_end": 207,
    "interpreted_question": "How many views did Blue Planet II get?",
    "source": {"document": "tencent-uk-partnership-2018.txt", "passage": 4, "start": 1991, "end": 2002},
    "alternatives": [],
    "retrieved": [],
    "reader": "fast",
}


class AskResponse(AnswerOut):
    model_config = ConfigDict(json_schema_extra={"examples": [ASK_EXAMPLE]})

    interpreted_question: str = Field(
        description="The standalone question that was retrieved and read: `question` itself unless a follow-up "
        "was resolved against `history`."
    )
    alternatives: list[AnswerOut] = Field(description="Next-best distinct answers, best first.")
    retrieved: list[RetrievedPassage] = Field(default_factory=list, description="The passages the reader was given.")
    reader: Literal["fast", "accurate"] = Field(
        "fast",
        description="Which reader read the answer: the small one, or the accurate one (`QA_READER_MODE` accurate, "
        "or auto when the small one was unsure).",
    )


class DocumentOut(BaseModel):
    """A document the bot knows, or is still indexing, or failed to index."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "tencent-uk-partnership-2018.txt",
                    "name": "tencent-uk-partnership-2018.txt",
                    "status": "indexed",
                    "reason": None,
                    "source": "file",
                    "passages": 4,
                    "characters": 2069,
                    "date": "2018-05-09",
                    "added": "2026-12-07T16:30:00+00:00",
                    "sha256": "9f2c…",
                    "examples": ["Who is Lau Seng Yee?"],
                }
            ]
        }
    )

    id: str = Field(description="Stable, URL-safe id: from the path below the folder indexed, or the uploaded name.")
    name: str = Field(description="The file name as given (path below the folder indexed, or the uploaded name).")
    status: Literal["indexing", "indexed", "failed"] = Field(
        description="indexed: searchable; indexing: not yet (a large upload); failed: see `reason`."
    )
    reason: str | None = Field(None, description="Why indexing failed.")
    source: Literal["file", "upload"] = Field(description="Read from a file (QA_DOCUMENTS, `qa index`) or uploaded.")
    passages: int = Field(description="Passages searchable now.")
    characters: int = Field(description="Length of the document's text.")
    date: str | None = Field(None, description="The date line the document opens with, if any.")
    added: str = Field(description="When it was first added (ISO 8601, UTC).")
    sha256: str = Field(description="SHA-256 of the bytes it was read from: the same content is never re-embedded.")
    examples: list[str] = Field(default_factory=list, description="Questions this document answers.")


class InfoResponse(BaseModel):
    """What the bot knows: its documents, models and example questions, and whether this client may write."""

    documents: list[DocumentOut]
    passages: int = Field(description="Passages searchable in all documents.")
    embedding_model: str
    reader_model: str
    reader_mode: Literal["fast", "accurate", "auto"] = Field(
        "fast", description="Which readers read (QA_READER_MODE): the small one, the accurate one, or both in cascade."
    )
    accurate_reader_model: str | None = Field(None, description="The accurate reader, when the mode reads with it.")
    examples: list[str] = Field(description="Example questions of the indexed documents.")
    writes: Literal["open", "token", "closed"] = Field(
        description="Whether this client may add or remove documents: open (from this machine, no token set), "
        "token (with `Authorization: Bearer <QA_API_TOKEN>`), closed (only from the server's own machine)."
    )


class UploadText(BaseModel):
    """A document sent as text: its name decides the id and how the text is read (.txt, .md, .html)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "notes.md", "text": "# Notes\n\nThe pilot starts in March in Leeds."}]
        },
    )

    name: StrictStr = Field(min_length=1, max_length=255, description="File name with a suffix: .txt, .md, .html.")
    text: StrictStr = Field(min_length=1, description="The document's text.")


class IndexingOut(DocumentOut):
    """A large upload, accepted and being indexed: poll GET /documents/{id} until `status` is indexed."""


def document_out(record: DocumentRecord) -> DocumentOut:
    return DocumentOut(
        id=record.id,
        name=record.name,
        status=record.status,
        reason=record.reason,
        source="upload" if record.origin == "upload" else "file",
        passages=record.passages,
        characters=record.characters,
        date=record.date,
        added=record.added,
        sha256=record.sha256,
        examples=list(record.examples),
    )


class Health(BaseModel):
    status: str
    detail: str | None = None


class ErrorOut(BaseModel):
    detail: str


def answer_out(answer: Answer) -> AskResponse:
    """The answer as `POST /ask` gives it (its shape is `qa.answer.answer_json`'s, checked here)."""
    return AskResponse.model_validate(answer_json(answer))
