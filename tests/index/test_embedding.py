"""The embedder on OpenVINO: the same vectors as on torch, its IR cached and reused, and torch when it cannot run."""

import logging

import numpy as np
import pytest

import index.embedding as embedding_module
from index.embedding import Embedder, EmbedderBackendError, bundled_embedding_model

from ..conftest import SEED

pytestmark = pytest.mark.slow
MODEL = bundled_embedding_model()


@pytest.fixture(scope="module")
def on_torch() -> Embedder:
    return Embedder(MODEL, backend="torch")


def texts() -> list[str]:
    article = SEED.read_text(encoding="utf-8")
    return [
        "Where is Tencent based?",
        "Wer hat das Abkommen unterzeichnet? 🙂",
        "",
        article[:400],
        article,  # longer than the model's 256 tokens: cut as sentence-transformers cuts it
        *article.split(". ")[:40],  # more than a batch, of every length
    ]


def test_openvino_gives_the_vectors_torch_gives_and_keeps_their_order(tmp_path, on_torch):
    compiled = Embedder(MODEL, backend="openvino", cache_dir=tmp_path)
    assert compiled.backend == "openvino" and compiled.dimension == on_torch.dimension
    got, expected = compiled.embed(texts(), batch_size=8), on_torch.embed(texts(), batch_size=8)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert compiled.embed([]).shape == (0, compiled.dimension)


def test_the_converted_embedder_is_cached_and_reused(tmp_path, caplog):
    first = Embedder(MODEL, backend="openvino", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*/model.xml"))) == 1 and not list(tmp_path.glob(".*.tmp"))
    with caplog.at_level(logging.INFO, logger="index.embedding"):
        second = Embedder(MODEL, backend="openvino", cache_dir=tmp_path)
    assert "IR from" in caplog.text
    np.testing.assert_allclose(first.embed(texts()), second.embed(texts()), atol=1e-6)


def test_a_cache_that_cannot_be_written_costs_only_time(tmp_path, caplog):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory would go")
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        embedder = Embedder(MODEL, backend="openvino", cache_dir=blocked)
    assert embedder.backend == "openvino" and "not cached" in caplog.text


def test_auto_runs_on_torch_when_openvino_cannot_and_says_why(tmp_path, monkeypatch, caplog, on_torch):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operation aten::frobnicate")

    monkeypatch.setattr(embedding_module, "ov_core", lambda: type("Core", (), {"compile_model": broken})())
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        embedder = Embedder(MODEL, backend="auto", cache_dir=tmp_path)
    assert embedder.backend == "torch" and "running on torch instead" in caplog.text
    assert np.array_equal(embedder.embed(texts()), on_torch.embed(texts()))
    with pytest.raises(EmbedderBackendError, match="frobnicate"):
        Embedder(MODEL, backend="openvino", cache_dir=tmp_path / "another")
