"""The extractive reader: finds the span of a passage that answers a question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from index.chunking import Passage
from index.embedding import ModelNotFoundError
from qa.decoding import span_logits, top_spans
from qa.metrics import normalize_answer
from qa.openvino_reader import for_inference
from qa.packed import PackedWeightsError, is_packed, load_packed
from qa.precision import Precision, resolve
from qa.settings import Backend, default_cache_dir

MAX_QUESTION_TOKENS = 64  # a longer question is cut, so the passage always gets most of the window


def truncate_questions(
    tokenizer: PreTrainedTokenizerBase, questions: Sequence[str], max_tokens: int = MAX_QUESTION_TOKENS
) -> list[str]:
    """Cut each question to its first `max_tokens` tokens so the context always gets room (one tokenizer call)."""
    if not questions:
        return []
    enc = tokenizer(list(questions), add_special_tokens=False, return_offsets_mapping=True)
    return [
        question if len(offsets) <= max_tokens else question[: offsets[max_tokens - 1][1]]
        for question, offsets in zip(questions, enc["offset_mapping"], strict=True)
    ]


def truncate_question(tokenizer: PreTrainedTokenizerBase, question: str, max_tokens: int = MAX_QUESTION_TOKENS) -> str:
    """Cut a question to its first `max_tokens` tokens so the context always gets room."""
    return truncate_questions(tokenizer, [question], max_tokens)[0]


class ReaderNotFoundError(ModelNotFoundError):
    """The configured reader is neither a local model directory nor reachable on the hub."""


@dataclass(frozen=True)
class Span:
    """A candidate answer: `start`/`end` are character offsets into `passage.text`."""

    passage: Passage
    start: int
    end: int
    score: float  # P(start) * P(end) in its window, "no answer" included: comparable across questions
    logit: float
    null_logit: float  # how strongly the same window prefers "no answer"

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def distinct_spans(spans: list[Span]) -> list[Span]:
    """Drop repeats: overlapping passages yield the same document span, and the same words recur."""
    seen_offsets: set[tuple[str, int, int]] = set()
    seen_texts: set[str] = set()
    kept = []
    for span in spans:
        where = (span.passage.document, span.passage.start + span.start, span.passage.start + span.end)
        text = normalize_answer(span.text)
        if where in seen_offsets or text in seen_texts or not text:
            continue
        seen_offsets.add(where)
        seen_texts.add(text)
        kept.append(span)
    return kept


def ranked(spans: list[Span]) -> list[Span]:
    """Best first, each document span and text once."""
    return distinct_spans(sorted(spans, key=lambda s: s.score, reverse=True))


def _load_failure(model: str, exc: Exception) -> ReaderNotFoundError:
    where = (
        f"the directory {model} does not hold a model"
        if Path(model).is_absolute()
        else f"{model!r} is not a local directory"
    )
    return ReaderNotFoundError(
        f"cannot load the reader: {where}. Set QA_READER_MODEL to a directory with config.json, weights and "
        f"tokenizer (the project ships one in models/reader), or to a hub id such as "
        f"distilbert/distilbert-base-cased-distilled-squad with HF_HUB_OFFLINE=0 and network access. ({exc})"
    )


def load_model(model: str) -> PreTrainedModel:
    """The question-answering model in float32: from a packed directory (`qa.packed`: int8 shards, a reader too
    large for git otherwise), or as transformers loads it (a directory or a hub id)."""
    directory = Path(model)
    if not (directory.is_dir() and is_packed(directory)):
        return AutoModelForQuestionAnswering.from_pretrained(model, dtype=torch.float32)
    config = AutoConfig.from_pretrained(model)
    config.name_or_path = model  # names the compiled model's cache entry after this directory's weights
    loaded = AutoModelForQuestionAnswering.from_config(config).float()
    try:
        missing, unexpected = loaded.load_state_dict(load_packed(directory), strict=False)
    except RuntimeError as exc:  # shapes that differ from config.json's
        raise PackedWeightsError(f"the packed weights in {model} do not fit its config.json: {exc}") from exc
    buffers = {name for name, _ in loaded.named_buffers()}
    if unexpected or set(missing) - buffers:
        raise PackedWeightsError(
            f"the packed weights in {model} do not fit its config.json: missing {sorted(set(missing) - buffers)[:3]}"
            f", unexpected {sorted(unexpected)[:3]}"
        )
    return loaded


class Reader:
    """A Hugging Face question-answering model with its tokenizer, loaded once."""

    def __init__(
        self,
        model: str,
        max_length: int = 256,
        stride: int = 128,
        max_answer_tokens: int = 30,
        precision: Precision = "auto",
        backend: Backend = "auto",
        threads: int | None = None,
    ) -> None:
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            loaded = load_model(model)
        except (OSError, ValueError) as exc:
            raise _load_failure(model, exc) from exc
        self.precision = resolve(precision)
        self.model, self.backend = for_inference(
            loaded.eval(), self.tokenizer, self.precision, backend, threads, default_cache_dir() / "openvino"
        )
        self.name = model
        self.max_length = min(max_length, self.tokenizer.model_max_length)
        self.stride = min(stride, self.max_length // 2)
        self.max_answer_tokens = max_answer_tokens

    def read(self, question: str, passages: Sequence[Passage], per_window: int = 5) -> list[Span]:
        """Candidate spans from every passage, read in one batch, best first, each document span and text once."""
        return self.read_batch([(question, passages)], per_window)[0]

    @torch.inference_mode()
    def read_batch(self, asked: Sequence[tuple[str, Sequence[Passage]]], per_window: int = 5) -> list[list[Span]]:
        """`read` for several questions, each over its own passages, in one forward pass.

        One pass over many windows keeps both cores busier than one pass per question: the HTTP service
        answers the questions that queue up while it reads, together.
        """
        pairs = [(number, passage) for number, (_, passages) in enumerate(asked) for passage in passages]
        found: list[list[Span]] = [[] for _ in asked]
        if not pairs:
            return found
        questions = [truncate_question(self.tokenizer, question) for question, _ in asked]
        enc = self.tokenizer(
            [questions[number] for number, _ in pairs],
            [passage.text for _, passage in pairs],
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )
        owners = enc.pop("overflow_to_sample_mapping").tolist()
        offsets = enc.pop("offset_mapping").tolist()
        context = torch.tensor([[s == 1 for s in enc.sequence_ids(i)] for i in range(len(owners))], dtype=torch.bool)
        start_logits, end_logits = span_logits(self.model(**enc))
        candidates, nulls = top_spans(start_logits, end_logits, context, self.max_answer_tokens, per_window)
        for window, row in enumerate(candidates):
            number, passage = pairs[owners[window]]
            for cand in row:
                start, end = offsets[window][cand.start_token][0], offsets[window][cand.end_token][1]
                found[number].append(Span(passage, start, end, cand.probability, cand.logit, float(nulls[window])))
        return [ranked(spans) for spans in found]
