"""The FastAPI app: `POST /ask`, `GET /health`, `GET /documents`, the chat page and offline API docs."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.batching import Asked, Batcher
from api.guards import Backpressure, BodyGuard, RequestContext
from api.schemas import AskRequest, AskResponse, DocumentOut, ErrorOut, Health, InfoResponse, answer_out
from qa.answer import Answer
from qa.pipeline import Answerer
from qa.questions import InvalidQuestionError, check_question
from qa.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
SWAGGER = Path(fastapi_offline.__file__).resolve().parent / "static"
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (400, 408, 413, 415, 422, 503)}


class ServiceState:
    """What the app holds for its lifetime: the answerer once loaded, or why loading failed."""

    def __init__(self, max_batch: int = 1) -> None:
        self.answerer: Answerer | None = None
        self.error: str | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reader")
        self.batcher = Batcher(self._answer_batch, self.executor, max_batch)

    def _answer_batch(self, asked: Sequence[Asked]) -> list[Answer]:
        return self.ready().answer_batch(asked)

    def ready(self) -> Answerer:
        if self.answerer is None:
            detail = f"not ready: {self.error}" if self.error else "models and index are still loading; retry shortly"
            raise HTTPException(503, detail, headers={"Retry-After": "2"})
        return self.answerer


def _load_in_background(state: ServiceState, load: Callable[[], Answerer]) -> None:
    def run() -> None:
        try:
            answerer = load()
            state.answerer = answerer
            reader = answerer.reader
            log.info(
                "models and index loaded; ready (reader %s in %s on %s)", reader.name, reader.precision, reader.backend
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


def create_app(settings: Settings | None = None, answerer: Answerer | None = None) -> FastAPI:
    """Build the app; `answerer` skips loading (tests share one across apps)."""
    settings = settings or Settings()
    state = ServiceState(settings.max_batch)
    state.answerer = answerer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if answerer is None:
            _load_in_background(state, lambda: Answerer.load(settings))
        yield
        state.executor.shutdown(wait=True, cancel_futures=False)

    app = FastAPI(
        title="Document QA",
        description="Precise, quoted answers from your documents, or an honest 'the document does not say'.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = state

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(InvalidQuestionError)
    async def invalid_question(_: Request, exc: InvalidQuestionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.post("/ask", response_model=AskResponse, responses=ERRORS, summary="Answer a question from the documents")
    async def ask(body: AskRequest) -> AskResponse:
        question = check_question(body.question, settings.max_question_chars)
        state.ready()
        work = state.batcher.submit(question, body.top_k)
        try:
            answer = await asyncio.wait_for(asyncio.shield(work), settings.request_timeout_s)
        except TimeoutError:
            # Still queued behind other questions: drop it, nobody waits for it. Already running: it finishes.
            work.cancel()
            raise HTTPException(408, f"no answer within {settings.request_timeout_s:g} s; try again") from None
        return answer_out(answer)

    @app.get("/health", response_model=Health, responses={503: {"model": Health}}, summary="200 once ready")
    async def health() -> JSONResponse:
        if state.answerer is not None:
            return JSONResponse({"status": "ok"})
        status = "error" if state.error else "loading"
        return JSONResponse({"status": status, "detail": state.error}, status_code=503, headers={"Retry-After": "2"})

    @app.get(
        "/documents", response_model=InfoResponse, responses={503: {"model": ErrorOut}}, summary="What the bot knows"
    )
    async def documents() -> InfoResponse:
        ready = state.ready()
        counts: dict[str, int] = {}
        for p in ready.index.passages:
            counts[p.document] = counts.get(p.document, 0) + 1
        docs = [
            DocumentOut(
                id=doc_id, date=meta.get("date"), characters=meta.get("characters", 0), passages=counts.get(doc_id, 0)
            )
            for doc_id, meta in ready.index.documents.items()
        ]
        return InfoResponse(
            documents=docs,
            passages=len(ready.index.passages),
            embedding_model=Path(ready.embedder.name).name,
            reader_model=Path(ready.reader.name).name,
            examples=settings.example_questions,
        )

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
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, read_timeout_s=settings.request_timeout_s)
    app.add_middleware(Backpressure, paths=("/ask",), max_in_flight=settings.max_in_flight)
    app.add_middleware(RequestContext)
    return app
