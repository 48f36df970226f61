"""An app over the seed article whose reader is a test double, for checks that need no model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from index.building import refresh_index
from index.documents import load_documents
from index.passage_index import Chunking
from qa.answer import Answer
from qa.settings import Settings

from ..conftest import ROOT


class CannedAnswerer:
    """Answers 'Shenzhen' from the passage that holds it; 'null' for questions about France."""

    def __init__(self, index, embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.reader = SimpleNamespace(name="canned-reader")
        self.calls: list[tuple[str, int | None]] = []

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        self.calls.append((question, top_k))
        passage = next(p for p in self.index.passages if "Shenzhen" in p.text)
        if "France" in question:
            return Answer(question, None, 0.02, passage, retrieved=[passage])
        start = passage.text.index("Shenzhen")
        return Answer(question, "Shenzhen", 0.9, passage, start, start + len("Shenzhen"), [], [passage])


@pytest.fixture
def canned(tmp_path, fake_embedder):
    index = refresh_index(tmp_path / "index", load_documents([ROOT / "seeds"]), fake_embedder, Chunking()).index
    return CannedAnswerer(index, fake_embedder)


@pytest.fixture
def client(canned):
    with TestClient(create_app(Settings(), answerer=canned)) as c:
        yield c
