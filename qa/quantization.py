"""Static int8 quantization of a reader on OpenVINO (NNCF), calibrated on plain text that needs no labels.

Post-training quantization needs inputs whose activations look like the real ones, not answers. The reader
reads a question and a passage, so the calibration inputs pair passages of the seed article with sentences
of the same article standing in for questions: it did as well as SQuAD training questions (docs/experiments.md),
and it is the one text every checkout has, so the quantized reader is the same on every machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.chunking import chunk_document, split_sentences
from index.documents import load_documents
from index.openvino_ir import bind_tbb_without_deepbind

if TYPE_CHECKING:
    import openvino as ov
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

CALIBRATION_SAMPLES = 300
# SmoothQuant's migration strength for matrix products: 0.8 kept held-out F1 closest to bf16 (docs/experiments.md)
SMOOTH_QUANT_ALPHA = 0.8
SCHEME = f"nncf-transformer-sq{SMOOTH_QUANT_ALPHA}"  # part of the cached IR's name
QUESTION_WORDS = 16  # a stand-in question: the first words of a sentence


@dataclass(frozen=True)
class Calibration:
    """What the quantizer reads: (stand-in question, passage) pairs."""

    pairs: tuple[tuple[str, str], ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr(self.pairs).encode()).hexdigest()[:16]


def calibration_from(paths: Sequence[Path], samples: int = CALIBRATION_SAMPLES, seed: int = 0) -> Calibration:
    """`samples` pairs drawn (seeded) from the passages and sentences of the documents under `paths`."""
    documents = load_documents(list(paths))
    passages = [p.text for d in documents for p in chunk_document(d)]
    sentences = [d.text[s.start : s.end] for d in documents for s in split_sentences(d.text)]
    if not passages:
        raise ValueError(f"no text to calibrate int8 on under {', '.join(map(str, paths))}")
    rng = np.random.default_rng(seed)
    pairs = tuple(
        (
            " ".join(sentences[rng.integers(len(sentences))].split()[:QUESTION_WORDS]),
            passages[rng.integers(len(passages))],
        )
        for _ in range(samples)
    )
    return Calibration(pairs)


def quantize(
    model: ov.Model, tokenizer: PreTrainedTokenizerBase, calibration: Calibration, max_length: int = 256
) -> ov.Model:
    """The OpenVINO model with int8 weights and activations where NNCF's transformer scheme puts them."""
    bind_tbb_without_deepbind()  # NNCF compiles the model to collect its statistics
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, AdvancedSmoothQuantParameters

    names = [port.get_any_name() for port in model.inputs]
    items = []
    for question, passage in calibration.pairs:
        enc = tokenizer(question, passage, truncation="only_second", max_length=max_length, return_tensors="np")
        items.append({name: enc[name] for name in names})
    log.info("reader: calibrating int8 on %d inputs (once per reader; about half a minute)", len(items))
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars; stdout may carry JSON
        return nncf.quantize(
            model,
            nncf.Dataset(items),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(items),
            advanced_parameters=AdvancedQuantizationParameters(
                smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=SMOOTH_QUANT_ALPHA)
            ),
        )


def seed_calibration() -> Calibration:
    """The default calibration: the seed article, which ships with every checkout."""
    from qa.settings import PROJECT_ROOT

    return calibration_from([PROJECT_ROOT / "seeds"])
