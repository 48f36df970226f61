"""The FastAPI app: `POST /ask`, the document endpoints, `GET /health`, the chat page and offline API docs."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.batching import Batcher
from api.guards import Backpressure, BodyGuard, RequestContext, WriteGuard, write_access
from api.schemas import (
    AskRequest,
    AskResponse,
    DocumentOut,
    ErrorOut,
    Health,
    InfoResponse,
    UploadText,
    answer_out,
    document_out,
)
from index.documents import DocumentError
from index.formats import UnsupportedFormat
from index.store import StoreError
from qa.answer import Answer, Asked, Turn
from qa.library import Library, chunking_of
from qa.pipeline import Answerer
from qa.questions import InvalidQuestionError, check_question
from qa.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = Path(fastapi_offline.__file__).resolve().parent / "static"
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 408, 413, 415, 422, 503)}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorOut, "description": "QA_API_TOKEN is set and the request lacks `Authorization: Bearer`."},
    403: {"model": ErrorOut, "description": "No QA_API_TOKEN is set and the client is not on the server's machine."},
}


class ServiceState:
    """What the app holds for its lifetime: the answerer and the library once loaded, or why loading failed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.answerer: Answerer | None = None
        self.library: Library | None = None
        self.error: str | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reader")
        self.batcher = Batcher(self._answer_batch, self.executor, settings.max_batch)

    def _answer_batch(self, asked: Sequence[Asked]) -> list[Answer]:
        return self.ready().answer_batch(asked)

    def ready(self) -> Answerer:
        if self.answerer is None:
            detail = (
                f"not ready: {self.error}" if self.error else "models and documents are still loading; retry shortly"
            )
            raise HTTPException(503, detail, headers={"Retry-After": "2"})
        return self.answerer

    def ready_library(self) -> Library:
        self.ready()
        assert self.library is not None  # set with the answerer
        return self.library

    def serve(self, answerer: Answerer) -> None:
        """Start answering and taking writes; uploads a crash left half-indexed are indexed again meanwhile."""
        library = Library(
            answerer.store, answerer.embedder, chunking_of(self.settings), self.settings.upload_wait_passages
        )
        self.library, self.answerer = library, answerer
        library.resume_queued()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)
        if self.library is not None:
            self.library.close()


def _load_in_background(state: ServiceState, load: Callable[[], Answerer]) -> None:
    def run() -> None:
        try:
            answerer = load()
            state.serve(answerer)
            reader = answerer.reader
            log.info(
                "models and documents loaded; ready (reader %s in %s on %s)",
                reader.name,
                reader.precision,
                reader.backend,
            )
        except Exception as exc:  # the service stays up and says why on /health
            state.error = f"{type(exc).__name__}: {exc}"
            log.error("loading failed: %s", state.error)

    threading.Thread(target=run, name="loader", daemon=True).start()


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


DESCRIPTION = """Precise, quoted answers from your documents, or an honest "the documents do not say".

Ask with `POST /ask`; list, add, replace and remove documents with `/documents`. Writes need
`Authorization: Bearer <QA_API_TOKEN>` when the server has a token, else come from the server's own machine.
"""


def create_app(settings: Settings | None = None, answerer: Answerer | None = None) -> FastAPI:
    """Build the app; `answerer` skips loading (tests share one across apps)."""
    settings = settings or Settings()
    state = ServiceState(settings)
    if answerer is not None:
        state.serve(answerer)
    token = settings.api_token.get_secret_value() if settings.api_token else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if answerer is None:
            _load_in_background(state, lambda: Answerer.load(settings))
        yield
        state.close()

    app = FastAPI(
        title="Document QA",
        description=DESCRIPTION,
        version="0.2.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = state

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    for kind, status in STATUS_OF.items():
        app.add_exception_handler(kind, _detail_handler(status))

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"the document store failed: {exc}"}, status_code=503, headers={"Retry-After": "5"}
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.post(
        "/ask",
        response_model=AskResponse,
        responses={**ERRORS, 404: {"model": ErrorOut, "description": "A document named in `documents` is unknown."}},
        summary="Answer a question from the documents",
        description="The best span of the retrieved passages that answers the question, quoted with its score, "
        "passage and offsets; `answer` is null when the documents do not say. `documents` restricts the search "
        "to some documents; `history` (the earlier turns) lets a follow-up refer back to them.",
    )
    async def ask(body: AskRequest) -> AskResponse:
        question = check_question(body.question, settings.max_question_chars)
        history = _history(body, settings.max_question_chars)
        ready = state.ready()
        documents = _known_documents(ready, body.documents)
        work = state.batcher.submit(Asked(question, body.top_k, documents, history))
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), settings.request_timeout_s)
        except TimeoutError:
            # Still queued behind other questions: drop it, nobody waits for it. Already running: it finishes.
            work.cancel()
            raise HTTPException(408, f"no answer within {settings.request_timeout_s:g} s; try again") from None
        return answer_out(answer)

    @app.get(
        "/health",
        response_model=Health,
        responses={503: {"model": Health}},
        summary="Whether the service is ready",
        description="200 once the models and documents are loaded; 503 with the reason while loading or if "
        "loading failed.",
    )
    async def health() -> JSONResponse:
        if state.answerer is not None:
            return JSONResponse({"status": "ok"})
        status = "error" if state.error else "loading"
        return JSONResponse({"status": status, "detail": state.error}, status_code=503, headers={"Retry-After": "2"})

    @app.get(
        "/documents",
        response_model=InfoResponse,
        responses={503: {"model": ErrorOut}},
        summary="List the documents",
        description="Every document with its status (indexed, indexing, failed), the models in use, the example "
        "questions of the documents, and whether this client may add or remove documents (`writes`).",
    )
    async def documents(request: Request) -> InfoResponse:
        ready = state.ready()
        records = await run_in_threadpool(ready.store.documents)
        docs = [document_out(r) for r in records]
        examples = list(dict.fromkeys(q for d in docs if d.status == "indexed" for q in d.examples))
        return InfoResponse(
            documents=docs,
            passages=sum(d.passages for d in docs),
            embedding_model=ready.embedder.label,
            reader_model=Path(ready.reader.name).name,
            reader_mode=settings.reader_mode,
            accurate_reader_model=Path(settings.accurate_reader_model).name if settings.reader_mode != "fast" else None,
            examples=examples,
            writes=write_access(request.scope, token),
        )

    @app.get(
        "/documents/{doc_id}",
        response_model=DocumentOut,
        responses={404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
        summary="One document",
        description="A document's record: poll it after a `202` upload until `status` is `indexed` (or `failed`).",
    )
    async def document(doc_id: str) -> DocumentOut:
        record = await run_in_threadpool(state.ready().store.document, doc_id)
        if record is None:
            raise HTTPException(404, f"no document has the id {doc_id!r}; GET /documents lists them")
        return document_out(record)

    @app.post(
        "/documents",
        status_code=201,
        response_model=DocumentOut,
        responses={**WRITE_ERRORS, 202: {"model": DocumentOut, "description": "Large: accepted, being indexed."}},
        summary="Add or replace a document",
        description="A file as `multipart/form-data` in the field `file` (.txt .md .html .htm .pdf .docx, its "
        "content checked against its name), or JSON `{name, text}`. `201` with the document once it is "
        "searchable; `202` with `status: indexing` when it is large (poll GET /documents/{id}). A document of "
        "the same name is replaced; the same content again is not re-indexed.",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                    "application/json": {"schema": UploadText.model_json_schema()},
                },
            }
        },
    )
    async def add_document(request: Request) -> JSONResponse:
        library = state.ready_library()
        name, raw = await _upload(request)
        added = await run_in_threadpool(library.add, name, raw)
        out = document_out(added.record).model_dump(mode="json")
        if added.searchable:
            return JSONResponse(out, status_code=201)
        return JSONResponse(out, status_code=202, headers={"Location": f"/documents/{added.record.id}"})

    @app.delete(
        "/documents/{doc_id}",
        status_code=204,
        responses={**WRITE_ERRORS, 404: {"model": ErrorOut}},
        summary="Remove a document",
        description="Removes the document and its passages at once (one transaction); `404` for an unknown id.",
    )
    async def remove_document(doc_id: str) -> Response:
        library = state.ready_library()
        if not await run_in_threadpool(library.remove, doc_id):
            raise HTTPException(404, f"no document has the id {doc_id!r}; GET /documents lists them")
        return Response(status_code=204)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> FileResponse:
        return FileResponse(STATIC / "docs.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER), name="docs-assets")

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["content-type", "authorization"],
        )
    app.add_middleware(
        BodyGuard,
        max_bytes=settings.max_body_bytes,
        read_timeout_s=settings.request_timeout_s,
        upload_paths=("/documents",),
        max_upload_mb=settings.max_upload_mb,
    )
    app.add_middleware(WriteGuard, paths=("/documents",), token=token)
    app.add_middleware(Backpressure, paths=("/ask",), max_in_flight=settings.max_in_flight)
    app.add_middleware(RequestContext)
    return app


# the domain errors a request can meet, and the status each answers with (the message is the detail)
STATUS_OF: dict[type[Exception], int] = {InvalidQuestionError: 422, UnsupportedFormat: 415, DocumentError: 422}


def _detail_handler(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handler


def _history(body: AskRequest, max_chars: int) -> tuple[Turn, ...]:
    """The earlier turns, each question checked like a question and each answer limited alike (422 otherwise)."""
    turns = []
    for number, turn in enumerate(body.history or [], 1):
        try:
            question = check_question(turn.question, max_chars)
        except InvalidQuestionError as exc:
            raise HTTPException(422, f"history.{number}.question: {exc}") from None
        if turn.answer is not None and len(turn.answer) > max_chars:
            raise HTTPException(422, f"history.{number}.answer: longer than {max_chars} characters")
        turns.append(Turn(question, turn.answer))
    return tuple(turns)


def _known_documents(answerer: Answerer, ids: list[str] | None) -> tuple[str, ...] | None:
    """The ids to read, checked to exist (404 naming the unknown ones: the request is well formed, the documents
    are not there)."""
    if ids is None:
        return None
    unknown = [i for i in dict.fromkeys(ids) if answerer.store.document(i) is None]
    if unknown:
        listed = ", ".join(map(repr, unknown))
        raise HTTPException(404, f"documents: no document has the id(s) {listed}; GET /documents lists them")
    return tuple(dict.fromkeys(ids))


async def _upload(request: Request) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, from multipart (field `file`) or JSON {name, text}."""
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=20)
        except Exception as exc:  # python-multipart's errors for a malformed body have no common base
            raise HTTPException(422, f"not a readable multipart form ({exc})") from exc
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise HTTPException(422, "send the document as a file in the form field `file`")
        raw = await file.read()
        await form.close()
        name = file.filename or ""
    else:
        try:
            body = UploadText.model_validate_json(await request.body())
        except ValidationError as exc:
            where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise HTTPException(422, f'expected {{"name": str, "text": str}} ({where})') from None
        name, raw = body.name, body.text.encode("utf-8")
    if not raw:
        raise HTTPException(422, f"{name!r} is empty: nothing to index")
    return name, raw
