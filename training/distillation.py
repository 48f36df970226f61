"""Knowledge distillation: a big teacher reader's start/end distributions as soft targets for the student.

Teacher and student tokenise differently, so the teacher reads exactly the text of each student window
(question + the window's context characters) and its probabilities are moved onto the student's tokens
through character offsets: the mass of a teacher token goes to the student token holding its first
character (start) or its last character (end); "no answer" (CLS) maps to CLS. Targets are computed
once per (teacher, data, temperature), in chunks that survive a stop, and cached as float16 arrays.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, PreTrainedTokenizerBase

from qa.decoding import span_logits
from qa.openvino_reader import for_inference
from qa.reader import truncate_questions
from training.features import FeatureSet, save_npz
from training.interrupts import TrainingStopped, stop_requests
from training.squad import SquadExample
from training.squad_eval import SpanModel, model_device

log = logging.getLogger(__name__)

TARGETS_VERSION = "3"  # 2: bf16 weights instead of autocast; 3: OpenVINO where installed
TEACHER_MAX_LENGTH = 512


def window_span(offsets: np.ndarray) -> tuple[int, int]:
    """Character span [start, end) of a window's context tokens."""
    ctx = offsets[offsets[:, 0] >= 0]
    return int(ctx[:, 0].min()), int(ctx[:, 1].max())


def project_rows(teacher_probs: np.ndarray, teacher_chars: np.ndarray, student_offsets: np.ndarray) -> np.ndarray:
    """Move teacher probabilities onto student tokens, for a batch of windows at once; each row renormalised
    to sum to 1.

    teacher_probs [B, T] (index 0 = CLS, whose mass goes to the student's CLS); teacher_chars [B, T]: the
    character of the document each teacher token stands for, -1 outside the context; student_offsets [B, W, 2]:
    the student's character spans, -1 outside the context, in text order. A teacher token's mass goes to the
    student context token whose span holds its character, or is dropped when none does. One sorted search
    over every row's tokens, each row's characters lifted past the previous row's, instead of one per row:
    256 windows in 9 ms instead of about 100 (2 cores, 2026-12-04).
    """
    batch, width = student_offsets.shape[:2]
    starts = student_offsets[..., 0].astype(np.int64)
    ends = student_offsets[..., 1].astype(np.int64)
    out = np.zeros((batch, width), dtype=np.float64)
    out[:, 0] = teacher_probs[:, 0]
    token_row, token_col = np.nonzero(starts >= 0)  # context tokens, row by row, in text order within a row
    chars = np.asarray(teacher_chars[:, 1:], dtype=np.int64)
    if len(token_row):
        lift = int(max(ends.max(), chars.max(), 0)) + 1
        keys = token_row * lift + starts[token_row, token_col]
        rows = np.broadcast_to(np.arange(batch)[:, None], chars.shape)
        found = np.searchsorted(keys, rows * lift + chars, side="right") - 1
        at = np.clip(found, 0, len(keys) - 1)
        row, col = token_row[at], token_col[at]
        inside = (chars >= 0) & (found >= 0) & (row == rows) & (chars < ends[row, col])
        mass = np.bincount(row[inside] * width + col[inside], weights=teacher_probs[:, 1:][inside], minlength=out.size)
        out += mass.reshape(batch, width)
    total = out.sum(1, keepdims=True)
    return np.divide(out, total, out=out, where=total > 0)


class TargetsError(ValueError):
    """Teacher targets that were not made for this run's training windows."""


def targets_key(temperature: float, key_parts: list[str]) -> str:
    """What targets depend on besides the teacher: the student's windows (data, tokenizer, sizes) and the
    temperature. Saved with them, so that a run elsewhere can check that a targets file is its own."""
    return hashlib.sha256("|".join([TARGETS_VERSION, f"{temperature:g}", *key_parts]).encode()).hexdigest()[:20]


class TeacherTargets:
    """Soft start/end targets on student tokens for every student feature (float16 [N, L] each)."""

    def __init__(
        self, start: np.ndarray, end: np.ndarray, temperature: float, key: str = "", teacher: str = ""
    ) -> None:
        self.start = start
        self.end = end
        self.temperature = temperature
        self.key = key  # targets_key of the windows they were made for; "" in files saved before keys were kept
        self.teacher = teacher  # which teacher made them, for the record
        self.path: Path | None = None  # the file they were loaded from or saved to

    def rows(self, rows: np.ndarray, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.from_numpy(self.start[rows, :width].astype(np.float32))
        end = torch.from_numpy(self.end[rows, :width].astype(np.float32))
        return start, end

    def save(self, path: Path) -> None:
        self.path = path
        save_npz(
            path,
            start=self.start,
            end=self.end,
            temperature=np.float32(self.temperature),
            key=np.str_(self.key),
            teacher=np.str_(self.teacher),
        )

    @classmethod
    def load(cls, path: Path) -> TeacherTargets:
        with np.load(path) as data:
            text = {k: str(data[k]) if k in data.files else "" for k in ("key", "teacher")}
            targets = cls(data["start"], data["end"], float(data["temperature"]), **text)
        targets.path = path
        return targets


class PartialTargets:
    """Targets computed so far, saved every few batches so that a stopped computation goes on where it was."""

    def __init__(self, path: Path | None, shape: tuple[int, int]) -> None:
        self.path = path
        self.done = 0  # batches finished, in the fixed length-sorted order
        self.start = np.zeros(shape, dtype=np.float16)
        self.end = np.zeros(shape, dtype=np.float16)
        if path is not None and path.exists():
            with np.load(path) as data:
                if data["start"].shape == shape:
                    self.start, self.end, self.done = data["start"], data["end"], int(data["done"])
                    log.info("teacher targets: resuming after %d batches from %s", self.done, path)

    def save(self) -> None:
        if self.path is not None:
            save_npz(self.path, start=self.start, end=self.end, done=np.int64(self.done))


@torch.inference_mode()
def compute_targets(
    teacher_dir: str,
    examples: list[SquadExample],
    features: FeatureSet,
    temperature: float,
    batch_size: int = 32,
    bf16: bool = False,
    progress: bool = True,
    partial: Path | None = None,
    save_every: int = 100,
    device: torch.device | None = None,
) -> TeacherTargets:
    """Run the teacher over every student window and project its softened distributions.

    With `partial`, progress is saved there every `save_every` batches and picked up again on the next call;
    SIGTERM or SIGINT saves it after the current batch and raises `TrainingStopped`.
    """
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    loaded = AutoModelForQuestionAnswering.from_pretrained(teacher_dir, dtype=torch.float32).eval()
    if device is not None and device.type != "cpu":  # a GPU: bf16 weights there, 8x the windows per batch
        model, backend = loaded.to(device, torch.bfloat16 if bf16 else torch.float32), str(device)
        batch_size *= 8
    else:
        # Compiled by OpenVINO where installed (1.37x faster than torch on MPNet-base here), else bf16 weights
        # on torch (4.4 s instead of 5.0 s under autocast per 32 windows of MPNet-base on 2 cores).
        model, backend = for_inference(loaded, tokenizer, "bf16" if bf16 else "fp32")
    log.info("teacher targets: %s on %s", teacher_dir, backend)
    n, width = features.input_ids.shape
    state = PartialTargets(partial, (n, width))
    order = np.argsort(features.lengths, kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    todo = range(state.done, len(batches))
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc="teacher targets", unit="batch", initial=state.done, total=len(batches), mininterval=30)
    with stop_requests() as stop:
        for b in todo:
            rows = batches[b]
            start, end = _teacher_batch(tokenizer, model, examples, features, rows, temperature)
            state.start[rows], state.end[rows] = start, end
            state.done = b + 1
            if state.done % save_every == 0 or stop:
                state.save()
            if stop:
                kept = f"; kept in {partial}" if partial is not None else ""
                raise TrainingStopped(f"teacher targets stopped after batch {state.done}/{len(batches)}{kept}")
    return TeacherTargets(state.start, state.end, temperature)


def _teacher_batch(
    tokenizer: PreTrainedTokenizerBase,
    model: SpanModel,
    examples: list[SquadExample],
    features: FeatureSet,
    rows: np.ndarray,
    temperature: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's softened start/end distributions for some student windows, on student tokens."""
    questions, contexts, spans = [], [], []
    for row in rows:
        ex = examples[int(features.example_index[row])]
        lo, hi = window_span(features.offsets[row])
        questions.append(ex.question)
        contexts.append(ex.context[lo:hi])
        spans.append(lo)
    questions = truncate_questions(tokenizer, questions)
    enc = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=TEACHER_MAX_LENGTH,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="np",  # torch.tensor of the tokenizer's lists took a quarter of a batch outside the model
    )
    offsets = enc.pop("offset_mapping")
    # None (special tokens, padding) reads as NaN: a C-level conversion, not one comparison per token in Python
    context_mask = torch.from_numpy(np.array([enc.sequence_ids(i) for i in range(len(rows))], dtype=float) == 1)
    device = model_device(model)
    start_logits, end_logits = span_logits(model(**{k: torch.from_numpy(v).to(device) for k, v in enc.items()}))
    valid = context_mask.clone()
    valid[:, 0] = True
    neg = torch.finfo(torch.float32).min
    p_start = torch.softmax(start_logits.masked_fill(~valid, neg) / temperature, -1).numpy()
    p_end = torch.softmax(end_logits.masked_fill(~valid, neg) / temperature, -1).numpy()
    ctx = context_mask.numpy()
    window_start = np.asarray(spans)[:, None]
    first = np.where(ctx, offsets[..., 0] + window_start, -1)
    last = np.where(ctx, offsets[..., 1] - 1 + window_start, -1)
    student = features.offsets[rows]
    start_out = project_rows(p_start, first, student).astype(np.float16)
    end_out = project_rows(p_end, last, student).astype(np.float16)
    return start_out, end_out


def cached_targets(
    teacher_dir: str,
    examples: list[SquadExample],
    features: FeatureSet,
    temperature: float,
    key_parts: list[str],
    cache: Path,
    bf16: bool,
    device: torch.device | None = None,
) -> TeacherTargets:
    """Teacher targets from the cache, computed (and cached) the first time."""
    weights = Path(teacher_dir) / "model.safetensors"
    stamp = f"{weights.stat().st_size}:{weights.stat().st_mtime_ns}" if weights.exists() else teacher_dir
    key = targets_key(temperature, key_parts)  # the windows and temperature; the file name adds the teacher
    digest = hashlib.sha256("|".join([key, teacher_dir, stamp]).encode()).hexdigest()[:20]
    path = cache / "teacher-targets" / f"{digest}.npz"
    if path.exists():
        log.info("teacher targets from cache %s", path)
        return TeacherTargets.load(path)
    log.info("computing teacher targets with %s for %d windows", teacher_dir, len(features))
    partial = path.with_name(f"{digest}.partial.npz")
    targets = compute_targets(teacher_dir, examples, features, temperature, bf16=bf16, partial=partial, device=device)
    targets.key, targets.teacher = key, f"{teacher_dir} ({stamp})"
    targets.save(path)
    partial.unlink(missing_ok=True)
    log.info("teacher targets saved to %s (--teacher-targets takes them to a machine without the teacher)", path)
    return targets


def targets_from_file(path: Path, key: str, shape: tuple[int, int]) -> TeacherTargets:
    """Targets that a run elsewhere computed (`--teacher-targets`), checked to be this run's own."""
    targets = TeacherTargets.load(path)
    if not targets.key:
        raise TargetsError(
            f"{path} does not say which windows it was made for: compute the targets again with --teacher"
        )
    if targets.key != key or targets.start.shape != shape:
        raise TargetsError(
            f"{path} holds targets for other windows or another temperature than this run's (key {targets.key}, "
            f"{targets.start.shape[0]} windows; this run: key {key}, {shape[0]} windows): use the same --train files, "
            "base tokenizer, --max-length, --stride, --negatives, --seed and --temperature as the run that made them"
        )
    log.info("teacher targets from %s, made by %s", path, targets.teacher or "an unrecorded teacher")
    return targets


def distillation_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    mask: torch.Tensor,
    teacher_start: torch.Tensor,
    teacher_end: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """KL(teacher || student) of the softened start and end distributions, scaled by T² (Hinton et al.)."""
    neg = torch.finfo(torch.float32).min

    def kl(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        log_q = torch.log_softmax(student.float().masked_fill(~mask, neg) / temperature, -1)
        return F.kl_div(log_q, teacher, reduction="batchmean")

    return (kl(start_logits, teacher_start) + kl(end_logits, teacher_end)) / 2 * temperature**2
