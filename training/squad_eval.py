"""Scoring a reader model on SQuAD-format questions (used by training and `qa-train eval-reader`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from qa.decoding import span_logits, top_spans
from qa.metrics import squad_scores
from training.features import FeatureSet
from training.squad import SquadExample


class SpanModel(Protocol):
    """What reading needs of a model: a transformers QA model on torch, or OpenVINO's compiled one."""

    @property
    def config(self) -> Any: ...

    def eval(self) -> Any: ...

    def __call__(self, **inputs: torch.Tensor) -> QuestionAnsweringModelOutput: ...


@dataclass(frozen=True)
class SquadPrediction:
    """The reader's best span for one question, and how much it prefers 'no answer' over it."""

    text: str
    logit: float
    null_margin: float  # null logit minus best span logit; > threshold means abstain


def model_inputs(
    features: FeatureSet, rows: np.ndarray, use_token_types: bool, device: torch.device | None = None
) -> dict[str, torch.Tensor]:
    """Tensors for a batch of feature rows, padded only to the longest of them (on `device`, default the CPU)."""
    width = int(features.lengths[rows].max())
    ids = torch.from_numpy(features.input_ids[rows, :width].astype(np.int64))
    mask = torch.arange(width)[None, :] < torch.from_numpy(features.lengths[rows].astype(np.int64))[:, None]
    inputs = {"input_ids": ids, "attention_mask": mask.long()}
    if use_token_types:
        inputs["token_type_ids"] = torch.from_numpy(features.token_type_ids[rows, :width].astype(np.int64))
    return inputs if device is None else {k: v.to(device) for k, v in inputs.items()}


def model_device(model: SpanModel) -> torch.device:
    """Where a reader's inputs go: a torch model's device; OpenVINO's compiled reader runs on the CPU."""
    return getattr(model, "device", torch.device("cpu"))


def uses_token_types(model: SpanModel) -> bool:
    return getattr(model.config, "type_vocab_size", 0) > 1


@torch.inference_mode()
def predict_squad(
    model: SpanModel,
    examples: Sequence[SquadExample],
    features: FeatureSet,
    batch_size: int = 64,
    bf16: bool = False,
    max_answer_tokens: int = 30,
) -> dict[str, SquadPrediction]:
    """Best span per question over all its windows (highest start+end logit sum)."""
    model.eval()
    device = model_device(model)
    token_types = uses_token_types(model)
    order = np.argsort(features.lengths, kind="stable")
    best: dict[int, SquadPrediction] = {}
    null: dict[int, float] = {}
    for lo in range(0, len(order), batch_size):
        rows = order[lo : lo + batch_size]
        inputs = model_inputs(features, rows, token_types, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(**inputs)
        start_logits, end_logits = span_logits(out)
        width = start_logits.shape[1]
        offsets = features.offsets[rows, :width]
        context = torch.from_numpy(offsets[:, :, 0] >= 0)
        spans, nulls = top_spans(start_logits, end_logits, context, max_answer_tokens, per_feature=1)
        for j, row in enumerate(rows):
            owner = int(features.example_index[row])
            null[owner] = min(null.get(owner, float("inf")), float(nulls[j]))
            if not spans[j]:
                continue
            cand = spans[j][0]
            if owner not in best or cand.logit > best[owner].logit:
                ex = examples[owner]
                text = ex.context[offsets[j, cand.start_token, 0] : offsets[j, cand.end_token, 1]]
                best[owner] = SquadPrediction(text, cand.logit, 0.0)
    return {ex.id: _with_margin(best.get(i), null.get(i, 0.0)) for i, ex in enumerate(examples)}


def _with_margin(pred: SquadPrediction | None, null_logit: float) -> SquadPrediction:
    if pred is None:
        return SquadPrediction("", float("-inf"), float("inf"))
    return SquadPrediction(pred.text, pred.logit, null_logit - pred.logit)


def answer_texts(predictions: dict[str, SquadPrediction], null_threshold: float | None) -> dict[str, str]:
    """Final answers: '' (no answer) where the null margin exceeds the threshold; None never abstains."""
    if null_threshold is None:
        return {qid: p.text for qid, p in predictions.items()}
    return {qid: "" if p.null_margin > null_threshold else p.text for qid, p in predictions.items()}


def evaluate_reader(
    model: SpanModel,
    examples: Sequence[SquadExample],
    features: FeatureSet,
    null_threshold: float | None = 0.0,
    bf16: bool = False,
    batch_size: int = 64,
) -> tuple[dict[str, float], dict[str, str]]:
    """Official EM/F1 (with has/no-answer breakdown when the data has unanswerable questions)."""
    started = time.perf_counter()
    predictions = predict_squad(model, examples, features, batch_size=batch_size, bf16=bf16)
    elapsed = time.perf_counter() - started
    texts = answer_texts(predictions, null_threshold)
    scores = squad_scores(texts, {ex.id: list(ex.answers) for ex in examples})
    scores["ms_per_question"] = round(1000 * elapsed / max(1, len(examples)), 2)
    return scores, texts
