"""Shared fixtures: a fake embedder for fast tests, the real models once per session for slow ones."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "tencent-uk-partnership-2018.txt"


class HashingEmbedder:
    """Deterministic bag-of-words vectors: enough to test indexing and search without a model."""

    def __init__(self, name: str = "hashing-test-embedder", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


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


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory):
    from qa.settings import Settings

    return Settings(index_dir=tmp_path_factory.mktemp("index"), documents=[ROOT / "seeds"])


@pytest.fixture(scope="session")
def answerer(seed_settings):
    """The real pipeline (shipped reader, bundled embedder) over the seed article, loaded once."""
    from qa.pipeline import Answerer

    return Answerer.load(seed_settings)
