"""The chat page's server without models: the real app, served in this process by uvicorn, over two documents
indexed with the hashing embedder and answered by the canned reader double. Tests read what the page sent from the
double, and the embedder can be slowed down or made to fail to show a large upload being indexed."""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn

from tests.doubles import CannedAnswerer, HashingEmbedder

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "tencent-uk-partnership-2018.txt"
SLOW = "slow-indexing-marker"  # a text holding this takes INDEXING_S to embed
BROKEN = "broken-embedder-marker"  # embedding a text holding this fails
INDEXING_S = 1.5
REMOTE_CLIENT = ("192.0.2.7", 50000)  # TEST-NET-1: a client that is not on the server's machine

# A second document with example questions of its own, so that the examples can follow the document asked.
ROVER = "lunar-rover-2031.txt"
ROVER_TEXT = (
    "The Lunar Rover Trials ran in 2031 near the Shackleton crater. Eleven teams entered.\n\n"
    "The winning rover, Tortoise, was built by students from Delft. It covered 42 kilometres in nine days.\n"
)
ROVER_EXAMPLES = ["Which rover won the trials?", "How far did Tortoise drive?"]


class PacedEmbedder(HashingEmbedder):
    """The hashing embedder, slow or failing on marked texts."""

    def embed(self, texts: list[str], batch_size: int = 32):
        if any(BROKEN in t for t in texts):
            raise RuntimeError("the embedder ran out of memory")
        if any(SLOW in t for t in texts):
            time.sleep(INDEXING_S)
        return super().embed(texts, batch_size)


class FollowUpAnswerer(CannedAnswerer):
    """The canned answerer, reading a follow-up against its history the way the real resolver reports it:
    "it" stands for the latest answer given, and the reply's `interpreted_question` says so."""

    def answer_batch(self, asked):
        answers = super().answer_batch(asked)
        return [replace(answer, question=standalone(a)) for answer, a in zip(answers, asked, strict=True)]


def standalone(asked) -> str:
    last = next((turn.answer for turn in reversed(asked.history) if turn.answer), None)
    return re.sub(r"\bit\b", lambda _: last, asked.question) if last else asked.question


def canned_answerer(folder: Path) -> FollowUpAnswerer:
    """The double over the seed article and the rover document, indexed into `folder`."""
    from index.documents import load_documents
    from index.indexing import index_documents, manifest_of
    from index.store import Chunking, open_store

    docs = folder / "docs"
    docs.mkdir(parents=True)
    for path in SEED.parent.glob(SEED.name + "*"):  # the article and its example questions
        shutil.copy(path, docs / path.name)
    (docs / ROVER).write_text(ROVER_TEXT)
    (docs / f"{ROVER}.questions.json").write_text(json.dumps(ROVER_EXAMPLES))
    embedder = PacedEmbedder()
    store = open_store(folder / "index", manifest_of(embedder, Chunking()))
    index_documents(store, load_documents([docs]), embedder, Chunking())
    return FollowUpAnswerer(store, embedder)


def as_remote(app: Callable) -> Callable:
    """The app as a client on another machine reaches it (GET /documents says `writes: closed`)."""

    async def remote(scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": REMOTE_CLIENT}
        await app(scope, receive, send)

    return remote


@dataclass
class CannedServer:
    """An app served by uvicorn on a thread of this process."""

    url: str
    answerer: FollowUpAnswerer
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: Callable, answerer: FollowUpAnswerer) -> CannedServer:
    """Serve `app` on a free loopback port and wait until it accepts connections."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"canned-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the canned server on port {port} did not start")
        time.sleep(0.02)
    return CannedServer(f"http://127.0.0.1:{port}/", answerer, server, thread)
