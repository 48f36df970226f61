"""A reader compiled with OpenVINO: the same weights and answers, a faster forward pass on the CPU.

The model is converted from its transformers form once and kept as OpenVINO IR under the cache directory, so
later start-ups only compile it. `int8` is quantized from it by NNCF (qa.quantization) and cached beside it.
Speed and accuracy against torch: docs/benchmarks.md.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from index.embedding import ModelNotFoundError
from index.openvino_ir import IrKey, cached_ir, convert, openvino_installed, ov_core, weights_key
from qa.precision import Resolved, apply_precision, bf16_supported
from qa.quantization import SCHEME, Calibration, quantize, seed_calibration

if TYPE_CHECKING:
    import openvino as ov
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)

IR_VERSION = "2"  # bump when the conversion below changes


class OpenVinoError(ModelNotFoundError):
    """The reader cannot run on OpenVINO (not installed, or the model does not convert)."""


def openvino_available(precision: str = "fp32") -> bool:
    """OpenVINO is installed, and for int8 NNCF too, which quantizes for it."""
    if not openvino_installed():
        return False
    if precision == "int8":
        try:
            import nncf  # noqa: F401
        except ImportError:
            return False
    return True


class OpenVinoQA:
    """A transformers question-answering model compiled by OpenVINO, called like the model itself.

    What the model's tokenizer gives for one question and passage names the inputs and fixes their types;
    lengths and batch size stay dynamic. int8 is quantized from the float model by NNCF, calibrated on
    `calibration` (default: the seed article), once per reader: the result is cached with the float IR.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        precision: str,
        cache_dir: Path | None = None,
        threads: int | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        if not openvino_available(precision):
            needs = "openvino nncf" if precision == "int8" else "openvino"
            raise OpenVinoError(f"{precision} on OpenVINO needs: pip install {needs}; or QA_READER_BACKEND=torch")
        self.config = model.config
        if precision == "int8" and calibration is None:
            calibration = seed_calibration()
        try:
            example = dict(tokenizer(["A question?"], ["A passage."], return_tensors="pt"))
            converted = _converted(model, example, cache_dir, tokenizer, calibration)
            float_part = precision == "bf16" or (precision == "int8" and bf16_supported())
            properties: dict[str, object] = {
                "INFERENCE_PRECISION_HINT": "bf16" if float_part else "f32",
                "PERFORMANCE_HINT": "LATENCY",
            }
            if threads:
                properties["INFERENCE_NUM_THREADS"] = threads
            self._compiled = ov_core().compile_model(converted, "CPU", properties)
        except Exception as exc:  # conversion raises many kinds; the message says which model and why
            raise OpenVinoError(f"OpenVINO could not compile {model.name_or_path}: {exc}") from exc
        self.input_names = [port.get_any_name() for port in self._compiled.inputs]
        self._start, self._end = self._compiled.outputs[:2]
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: calls from several threads take turns

    def eval(self) -> OpenVinoQA:
        return self

    def __call__(self, **inputs: torch.Tensor) -> QuestionAnsweringModelOutput:
        feed = {name: inputs[name].numpy() for name in self.input_names}
        with self._lock:
            result = self._request.infer(feed)
            start, end = np.array(result[self._start]), np.array(result[self._end])  # copies: buffers are reused
        return QuestionAnsweringModelOutput(start_logits=torch.from_numpy(start), end_logits=torch.from_numpy(end))


def for_inference(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    precision: Resolved,
    backend: str = "auto",
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> tuple[PreTrainedModel | OpenVinoQA, str]:
    """The float32 `model` ready to answer, and what runs it: OpenVINO where asked or available, else torch.

    `auto` falls back to torch (with a warning) when OpenVINO is missing or cannot compile the model; int8
    on torch is dynamic quantization, which loses more accuracy than OpenVINO's calibrated int8.
    """
    if backend == "torch" or (backend == "auto" and not openvino_available(precision)):
        return apply_precision(model, precision), "torch"
    try:
        return OpenVinoQA(model, tokenizer, precision, cache_dir, threads), "openvino"
    except OpenVinoError as exc:
        if backend == "openvino":
            raise
        log.warning("reader: %s; running on torch instead", exc)
        return apply_precision(model, precision), "torch"


def _converted(
    model: PreTrainedModel,
    example: dict[str, torch.Tensor],
    cache_dir: Path | None,
    tokenizer: PreTrainedTokenizerBase | None = None,
    calibration: Calibration | None = None,
) -> ov.Model:
    """The model as OpenVINO IR, int8 when given a calibration: from the cache when made before, else made now."""

    def make() -> ov.Model:
        log.info("reader: converting %s to OpenVINO", model.name_or_path)
        converted = convert(model, example)
        if calibration is None:
            return converted
        if tokenizer is None:
            raise OpenVinoError("int8 calibration needs the reader's tokenizer")
        return quantize(converted, tokenizer, calibration)

    return cached_ir(cache_dir, _cache_key(model, example, calibration), make, log, "reader")


def _cache_key(
    model: PreTrainedModel, example: dict[str, torch.Tensor], calibration: Calibration | None = None
) -> IrKey | None:
    """Names the IR after the weights (and calibration) it came from; None (no caching) for a hub model."""
    parts = [IR_VERSION, *sorted(example)]
    if calibration is not None:
        import nncf

        parts += ["int8", SCHEME, nncf.__version__, calibration.digest]
    return weights_key(Path(str(model.name_or_path)), *parts)
