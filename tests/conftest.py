"""Shared fixtures: test doubles for fast tests, the real models once per session for slow ones."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .doubles import CannedAnswerer, HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "tencent-uk-partnership-2018.txt"


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """Features, teacher targets and runs go to a temporary cache, never into the user's (QA_CACHE_DIR)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("QA_CACHE_DIR", str(path))
    return path


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A documents folder holding a copy of the seed article."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    return docs


LOOPBACK_CLIENT = ("127.0.0.1", 50000)  # writes without a token are allowed from the server's own machine only


def seed_store(directory: Path, embedder):
    """A local store holding the seed article, indexed with `embedder`."""
    from index.documents import load_documents
    from index.indexing import index_documents, manifest_of
    from index.store import Chunking, open_store

    store = open_store(directory, manifest_of(embedder, Chunking()))
    index_documents(store, load_documents([ROOT / "seeds"]), embedder, Chunking())
    return store


@pytest.fixture
def canned(tmp_path, fake_embedder) -> CannedAnswerer:
    store = seed_store(tmp_path / "index", fake_embedder)
    yield CannedAnswerer(store, fake_embedder)
    store.close()


@pytest.fixture
def client(canned):
    """A TestClient of the app over the seed article, its reader a canned double."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.settings import Settings

    with TestClient(create_app(Settings(), answerer=canned), client=LOOPBACK_CLIENT) as c:
        yield c


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory):
    from qa.settings import Settings

    return Settings(index_dir=tmp_path_factory.mktemp("index"), documents=[ROOT / "seeds"])


@pytest.fixture(scope="session")
def answerer(seed_settings):
    """The real pipeline (shipped reader, bundled embedder) over the seed article, loaded once."""
    from qa.pipeline import Answerer

    return Answerer.load(seed_settings)
