"""Turning start/end logits into answer spans."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.modeling_outputs import QuestionAnsweringModelOutput


def span_logits(out: QuestionAnsweringModelOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """The start and end logits of a reader's output, as float32 on the CPU."""
    if out.start_logits is None or out.end_logits is None:
        raise ValueError("the model gave no start/end logits: it is not an extractive question-answering model")
    return out.start_logits.float().cpu(), out.end_logits.float().cpu()


@dataclass(frozen=True)
class SpanCandidate:
    """A span inside one window: token positions, the logit sum and its probability."""

    feature: int
    start_token: int
    end_token: int
    logit: float
    probability: float


def span_scores(
    start_logits: torch.Tensor, end_logits: torch.Tensor, context_mask: torch.Tensor, max_answer_tokens: int
) -> torch.Tensor:
    """[F, L, L] start+end logit sums, -inf where the span is not a context span of allowed length."""
    length = start_logits.shape[1]
    scores = start_logits[:, :, None] + end_logits[:, None, :]
    band = torch.ones(length, length, dtype=torch.bool, device=scores.device)
    band = torch.triu(band) & ~torch.triu(band, diagonal=max_answer_tokens)
    valid = band[None] & context_mask[:, :, None] & context_mask[:, None, :]
    return scores.masked_fill(~valid, float("-inf"))


def top_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    context_mask: torch.Tensor,
    max_answer_tokens: int = 30,
    per_feature: int = 5,
) -> tuple[list[list[SpanCandidate]], torch.Tensor]:
    """Best spans of each window and each window's null ("no answer") logit sum.

    Probabilities are P(start) * P(end) under each window's own softmax, which includes the CLS
    token, so a window that prefers "no answer" gives its spans a low probability.
    """
    start_logits = start_logits.float()
    end_logits = end_logits.float()
    attention = context_mask.clone()
    attention[:, 0] = True  # CLS takes part in the softmax, as in training
    neg = torch.finfo(start_logits.dtype).min
    log_p_start = torch.log_softmax(start_logits.masked_fill(~attention, neg), dim=-1)
    log_p_end = torch.log_softmax(end_logits.masked_fill(~attention, neg), dim=-1)
    scores = span_scores(start_logits, end_logits, context_mask, max_answer_tokens)
    length = scores.shape[1]
    k = min(per_feature, length * length)
    best, flat = scores.flatten(1).topk(k, dim=1)
    candidates: list[list[SpanCandidate]] = []
    for f in range(scores.shape[0]):
        row = []
        for logit, index in zip(best[f].tolist(), flat[f].tolist(), strict=True):
            if logit == float("-inf"):
                break
            s, e = divmod(index, length)
            prob = float(torch.exp(log_p_start[f, s] + log_p_end[f, e]))
            row.append(SpanCandidate(f, s, e, logit, prob))
        candidates.append(row)
    null = start_logits[:, 0] + end_logits[:, 0]
    return candidates, null
