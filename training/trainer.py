"""Fine-tuning an encoder into an extractive reader on SQuAD-format data, resumable across sessions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tokenizers
import torch
import torch.nn.functional as F
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)

from index.documents import file_sha256
from index.embedding import ModelNotFoundError
from qa.openvino_reader import OpenVinoError, OpenVinoQA, openvino_available
from qa.precision import bf16_supported
from qa.settings import default_cache_dir
from training.allocator import memory_ceiling_mb, release_above, release_freed_pages, resident_mb
from training.features import FeatureSet, build_features
from training.interrupts import TrainingStopped, stop_requests
from training.squad import SquadExample, drop_seen_contexts, load_squad, unanswerable_examples, with_chosen_occurrences
from training.squad_eval import SpanModel, evaluate_reader, model_inputs, uses_token_types

log = logging.getLogger(__name__)

FEATURES_VERSION = "1"  # bump when build_features or occurrence choice changes
FUSED_ADAMW_DEVICES = ("cpu", "cuda")  # where torch has a fused AdamW kernel
MEMORY_CHECK_EVERY = 10  # steps between looks at resident memory against the ceiling (training.allocator.release_above)


@dataclass
class TrainConfig:
    """Everything that decides what a training run computes."""

    train: list[Path]
    validate: list[Path]
    base: str
    out: Path
    epochs: int = 1
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 256
    stride: int = 128
    seed: int = 42
    warmup: float = 0.1
    weight_decay: float = 0.01
    bf16: bool = field(default_factory=bf16_supported)
    choose_occurrence: bool = True
    max_train_examples: int | None = None
    negatives: float = 0.0  # share of answerable questions also paired with a paragraph that doesn't answer them
    negative_kind: str = "other-paragraph"  # or "answer-removed": their own paragraph less the answer's sentences
    buckets_of: int = 50  # batches per length-sorted bucket
    checkpoint_dir: Path | None = None
    checkpoint_every: int = 200
    # also checkpoint when this long has passed since the last one: a session that ends with SIGKILL loses at
    # most this much (an MPNet step takes ~13 s on 2 CPU cores, so 200 steps would be 43 minutes)
    checkpoint_minutes: float | None = 10.0
    # also keep the model's weights every this many steps of an epoch, as <run>/epoch-E-step-S (reader weights
    # to average along the run's path with `qa-train average-readers`); the training is the same with or without
    snapshot_every: int | None = None
    null_threshold: float = 0.0
    threads: int | None = None
    # SDPA attention with dropout falls back to a slow path on CPU: eager trains 2x faster here.
    attention: str = "eager"
    # Dropout on the [batch, heads, L, L] attention probabilities costs ~30% of a CPU step; off by default.
    attention_dropout: float = 0.0
    # distillation: soft start/end targets from a teacher reader, mixed with the gold labels
    teacher: str | None = None
    # or the targets a run with a teacher saved (its log names the file): distillation without the teacher at hand
    teacher_targets: str | None = None
    temperature: float = 2.0
    distill_weight: float = 0.5  # weight of the teacher's loss; 1 - weight goes to the gold labels
    # where the run computes: auto is a CUDA GPU when torch sees one (an epoch in minutes), else the CPU
    device: str = "auto"

    def run_dir(self) -> Path:
        if self.checkpoint_dir is not None:
            return self.checkpoint_dir
        return default_cache_dir() / "runs" / self.out.resolve().name

    def schedule_fields(self) -> dict[str, object]:
        """Settings a resumed run must share with the run it continues."""
        keys = (
            "epochs",
            "learning_rate",
            "batch_size",
            "max_length",
            "stride",
            "seed",
            "warmup",
            "base",
            "attention_dropout",
            "teacher",
            "teacher_targets",
            "temperature",
            "distill_weight",
            "negatives",
            "negative_kind",
        )
        return {k: str(getattr(self, k)) for k in keys}


def _negatives_key(cfg: TrainConfig) -> str:
    """What decides the made-up negatives: share, kind and seed (the seed draws which questions get one)."""
    kind = "" if cfg.negative_kind == "other-paragraph" else f",kind={cfg.negative_kind}"
    return f"negatives={cfg.negatives},seed={cfg.seed}{kind}"


def resolve_device(name: str) -> torch.device:
    """`auto` is the first CUDA GPU when torch sees one, else the CPU; anything else names a torch device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch sees no CUDA GPU here")
    return device


def _file_digest(path: Path) -> str:
    return file_sha256(path)[:16]


def tokenizer_key(tokenizer: PreTrainedTokenizerBase) -> str:
    """What decides how a tokenizer cuts text: its normaliser, pre-tokeniser and vocabulary, not where it lies,
    and the version of the tokenizers library that cuts it into windows.

    Features and teacher targets are keyed on this, so a run that starts from a trained reader reuses what a
    run from the reader's base computed (the same vocabulary gives the same windows). The version counts:
    tokenizers 0.23.2 cut 3,362 windows from the first 3,000 SQuAD training questions where 0.23.3 cuts 3,465
    (0.23.2 ends the last window of a long context early and drops its tail); transformers 5.17 and 5.25 over
    the same tokenizers cut the same windows (measured 2026-12-04 on 400 questions).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str())
        kept = {part: spec.get(part) for part in ("normalizer", "pre_tokenizer", "model", "added_tokens")}
        text = json.dumps(kept, sort_keys=True)
    else:  # a slow tokenizer: its class and vocabulary
        text = type(tokenizer).__name__ + json.dumps(sorted(tokenizer.get_vocab().items()))
    text += f"|tokenizers={tokenizers.__version__}"
    return "tokenizer=" + hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_features(
    examples: list[SquadExample],
    tokenizer: PreTrainedTokenizerBase,
    key_parts: list[str],
    max_length: int,
    stride: int,
    cache: Path,
) -> FeatureSet:
    """Build features once per (data, tokenizer, window) and keep them on disk."""
    key = hashlib.sha256("|".join([FEATURES_VERSION, *key_parts, str(max_length), str(stride)]).encode()).hexdigest()[
        :20
    ]
    path = cache / "features" / f"{key}.npz"
    if path.exists():
        log.info("features from cache %s", path)
        return FeatureSet.load(path)
    features = build_features(examples, tokenizer, max_length, stride, progress=True)
    features.save(path)
    return features


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, buckets_of: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffle, sort within buckets of `buckets_of` batches by length, then shuffle the batches."""
    order = rng.permutation(len(lengths))
    span = batch_size * buckets_of
    batches: list[np.ndarray] = []
    for lo in range(0, len(order), span):
        bucket = order[lo : lo + span]
        bucket = bucket[np.argsort(lengths[bucket], kind="stable")]
        batches.extend(bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size))
    rng.shuffle(batches)
    return batches


def span_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy of the gold start and end tokens, padding excluded."""
    neg = torch.finfo(torch.float32).min
    start_logits = start_logits.float().masked_fill(~mask, neg)
    end_logits = end_logits.float().masked_fill(~mask, neg)
    return (F.cross_entropy(start_logits, starts) + F.cross_entropy(end_logits, ends)) / 2


def _optimizer(model: PreTrainedModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        (no_decay if param.ndim == 1 or "LayerNorm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel makes one pass over each tensor where the default makes one per operation: on 2 CPU cores
    # an MPNet-base step of AdamW took 0.35 s instead of 3.7 s (beside training). The same update up to float
    # rounding, and the same state, so checkpoints of either kind resume in the other (`load_optimizer_state`).
    fused = decay[0].device.type in FUSED_ADAMW_DEVICES if decay else False
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, fused=fused)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, object]) -> None:
    """Load a checkpoint's moments and steps but keep this process's kernel: the saved groups name the kernel of
    the process that saved them (unfused before 2026-12-03; fused, resumed on a device without that kernel)."""
    kernels = [group.get("fused") for group in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, fused in zip(optimizer.param_groups, kernels, strict=True):
        group["fused"] = fused


def same_schedule(saved: dict[str, object], cfg: TrainConfig) -> bool:
    """A checkpoint fits `cfg` when every saved field matches; fields newer than the checkpoint must be defaults."""
    now = cfg.schedule_fields()
    defaults = {f.name: str(f.default) for f in dataclasses.fields(TrainConfig) if f.name in now}
    return all(saved[k] == v if k in saved else v == defaults.get(k) for k, v in now.items())


def check_inputs(cfg: TrainConfig) -> None:
    """Fail at once, with a clear message, on a missing data file or a model that cannot load, before hours of
    feature building; the teacher, say, is otherwise first read after the training features are made."""
    for path in [*cfg.train, *cfg.validate]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no SQuAD file at {path}")
    if cfg.teacher and cfg.teacher_targets:
        from training.distillation import TargetsError

        raise TargetsError("give --teacher or --teacher-targets, not both")
    if cfg.teacher_targets and not Path(cfg.teacher_targets).is_file():
        raise FileNotFoundError(f"no teacher targets at {cfg.teacher_targets} (--teacher-targets)")
    for role, model in (("base encoder (--base)", cfg.base), ("teacher (--teacher)", cfg.teacher)):
        if model is None:
            continue
        try:
            AutoConfig.from_pretrained(model)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                f"cannot load the {role} {model!r}: give a model directory, or a hub id with HF_HUB_OFFLINE=0 and "
                f"network access ({exc})"
            ) from exc


class Trainer:
    """One training run: data, model, optimiser state, and where it checkpoints."""

    def __init__(self, cfg: TrainConfig) -> None:
        check_inputs(cfg)
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.run_dir = cfg.run_dir()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.tokenizer = AutoTokenizer.from_pretrained(cfg.base)
        self.train_examples = self._load_train()
        cache = default_cache_dir()
        parts = [_file_digest(p) for p in cfg.train] + [
            tokenizer_key(self.tokenizer),
            str(cfg.choose_occurrence),
            str(cfg.max_train_examples),
            *([_negatives_key(cfg)] if cfg.negatives else []),
        ]
        self.features = cached_features(self.train_examples, self.tokenizer, parts, cfg.max_length, cfg.stride, cache)
        self.validation = self._load_validation(cache)
        self.targets = None
        target_parts = [*parts, f"windows={cfg.max_length},{cfg.stride}"]
        if cfg.teacher_targets:
            from training.distillation import targets_from_file, targets_key

            shape = (len(self.features), self.features.input_ids.shape[1])
            key = targets_key(cfg.temperature, target_parts)
            self.targets = targets_from_file(Path(cfg.teacher_targets), key, shape)
        elif cfg.teacher:
            from training.distillation import cached_targets

            self.targets = cached_targets(
                cfg.teacher,
                self.train_examples,
                self.features,
                cfg.temperature,
                target_parts,
                cache,
                cfg.bf16,
                self.device,
            )
            release_freed_pages()  # the teacher's (OpenVINO's) memory, when the targets were computed just now
        # float32 master weights even when the base was saved in half precision (a shipped reader, say)
        self.model = AutoModelForQuestionAnswering.from_pretrained(
            cfg.base,
            dtype=torch.float32,
            attn_implementation=cfg.attention,
            attention_probs_dropout_prob=cfg.attention_dropout,
        ).to(self.device)
        log.info("training on %s%s", self.device, " under bf16 autocast" if cfg.bf16 else "")
        self.memory_ceiling = memory_ceiling_mb()
        self.token_types = uses_token_types(self.model)
        self.steps_per_epoch = math.ceil(len(self.features) / cfg.batch_size)
        total = self.steps_per_epoch * cfg.epochs
        self.optimizer = _optimizer(self.model, cfg)
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, int(cfg.warmup * total), total)
        self.epoch, self.step = 0, 0
        self.batches: list[np.ndarray] | None = None  # this epoch's, in order; made when the epoch starts

    def _load_train(self) -> list[SquadExample]:
        examples = [ex for path in self.cfg.train for ex in load_squad(path)]
        if self.cfg.max_train_examples:
            examples = examples[: self.cfg.max_train_examples]
        if self.cfg.choose_occurrence:
            examples = with_chosen_occurrences(examples)
        negatives = unanswerable_examples(examples, self.cfg.negatives, self.cfg.seed, self.cfg.negative_kind)
        if negatives:
            log.info("%d unanswerable examples made up (%s)", len(negatives), self.cfg.negative_kind)
        examples = examples + negatives
        log.info("%d training questions (%d unanswerable)", len(examples), sum(ex.is_impossible for ex in examples))
        return examples

    def _load_validation(self, cache: Path) -> dict[str, tuple[list[SquadExample], FeatureSet]]:
        sets = {}
        for path in self.cfg.validate:
            examples = load_squad(path)
            kept = drop_seen_contexts(examples, self.train_examples)
            log.info(
                "validation %s: %d questions (%d dropped: their text is in training)",
                path.name,
                len(kept),
                len(examples) - len(kept),
            )
            parts = [_file_digest(path), "validate", *(_file_digest(p) for p in self.cfg.train)]
            parts.append(tokenizer_key(self.tokenizer))
            sets[path.name] = (
                kept,
                cached_features(kept, self.tokenizer, parts, self.cfg.max_length, self.cfg.stride, cache),
            )
        return sets

    # --- checkpoints -------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "batches": [b.astype(np.int32) for b in self.batches] if self.batches is not None else None,
            "torch_rng": torch.get_rng_state(),
            "schedule": self.cfg.schedule_fields(),
        }
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.checkpoint_path)

    def resume(self) -> bool:
        """Load the run's checkpoint if there is one; refuse one made with another schedule."""
        if not self.checkpoint_path.exists():
            return False
        state = torch.load(self.checkpoint_path, weights_only=False, map_location="cpu")
        if not same_schedule(state["schedule"], self.cfg):
            raise SystemExit(
                f"checkpoint {self.checkpoint_path} was made with {state['schedule']}, "
                f"not {self.cfg.schedule_fields()}: use the same options or another --checkpoint-dir"
            )
        self.model.load_state_dict(state["model"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step, self.batches = state["epoch"], state["step"], state["batches"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed %s at epoch %d step %d", self.checkpoint_path, self.epoch + 1, self.step)
        return True

    # --- training ----------------------------------------------------------------------------
    def train_step(self, rows: np.ndarray) -> float:
        self.model.train()
        inputs = model_inputs(self.features, rows, self.token_types, self.device)
        starts = torch.from_numpy(self.features.start_positions[rows].astype(np.int64)).to(self.device)
        ends = torch.from_numpy(self.features.end_positions[rows].astype(np.int64)).to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            out = self.model(**inputs)
        mask = inputs["attention_mask"].bool()
        loss = span_loss(out.start_logits, out.end_logits, mask, starts, ends)
        if self.targets is not None:
            from training.distillation import distillation_loss

            soft_start, soft_end = (t.to(self.device) for t in self.targets.rows(rows, mask.shape[1]))
            soft = distillation_loss(out.start_logits, out.end_logits, mask, soft_start, soft_end, self.cfg.temperature)
            loss = (1 - self.cfg.distill_weight) * loss + self.cfg.distill_weight * soft
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def run(self) -> list[dict[str, object]]:
        """Train the remaining epochs, validating after each; returns per-epoch validation figures.

        SIGTERM or SIGINT ends the current step, saves a checkpoint and raises `TrainingStopped`. Each epoch's
        end is checkpointed before its validation, which runs with the default signal handlers: a stop there
        loses only the validation, and the next run validates that epoch before it trains on.
        """
        history = self._history()
        while True:
            while len(history) < self.epoch:
                history.append({"epoch": len(history) + 1, **self.validate()})
                self._write_history(history)
                self.model.save_pretrained(self.run_dir / f"epoch-{len(history)}")
            if self.epoch >= self.cfg.epochs:
                break
            with stop_requests() as stop:
                self._train_epoch(stop)
        self.save_model(self.cfg.out, history)
        return history

    def _train_epoch(self, stop: list[int]) -> None:
        from tqdm import tqdm

        if self.batches is None:
            rng = np.random.default_rng(self.cfg.seed + self.epoch)
            self.batches = length_bucketed_batches(self.features.lengths, self.cfg.batch_size, self.cfg.buckets_of, rng)
        bar = tqdm(
            total=len(self.batches),
            initial=self.step,
            desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
            unit="step",
            mininterval=1 if sys.stderr.isatty() else 30,
            dynamic_ncols=True,
        )
        smoothed = None
        last_saved = time.monotonic()
        while self.step < len(self.batches):
            loss = self.train_step(self.batches[self.step])
            smoothed = loss if smoothed is None else 0.98 * smoothed + 0.02 * loss
            self.step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{smoothed:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}", refresh=False)
            if stop:
                self.save_checkpoint()
                bar.close()
                raise TrainingStopped(
                    f"stopped by signal {stop[0]} at epoch {self.epoch + 1} step {self.step}/{len(self.batches)}; "
                    f"checkpoint saved in {self.checkpoint_path}: run the same command again to resume"
                )
            if self.step % MEMORY_CHECK_EVERY == 0:
                self._keep_memory_down()
            if self._snapshot_due():
                self.model.save_pretrained(self.run_dir / f"epoch-{self.epoch + 1}-step-{self.step}")
            if self._checkpoint_due(last_saved):
                self.save_checkpoint()
                last_saved = time.monotonic()
                where = (self.epoch + 1, self.step, len(self.batches), smoothed, resident_mb())
                log.info("checkpoint at epoch %d step %d/%d loss %.4f resident %s MB", *where)
        bar.close()
        self.epoch, self.step, self.batches = self.epoch + 1, 0, None
        self.save_checkpoint()

    def _keep_memory_down(self) -> None:
        """Hand the allocator's kept pages back once resident memory passes the ceiling (see training.allocator)."""
        released = release_above(self.memory_ceiling)
        if released is not None:
            before, after = released
            log.info(
                "resident %d MB above the %d MB ceiling: freed pages released, now %s MB",
                before,
                self.memory_ceiling,
                after,
            )

    def _snapshot_due(self) -> bool:
        """Every `snapshot_every` steps inside an epoch; its end is kept anyway (epoch-E)."""
        every = self.cfg.snapshot_every
        return every is not None and self.step % every == 0 and self.step < len(self.batches or ())

    def _checkpoint_due(self, last_saved: float) -> bool:
        """Every `checkpoint_every` steps, and whenever `checkpoint_minutes` have passed since the last save."""
        if self.step % self.cfg.checkpoint_every == 0:
            return True
        minutes = self.cfg.checkpoint_minutes
        return minutes is not None and time.monotonic() - last_saved >= 60 * minutes

    def validate(self) -> dict[str, object]:
        figures: dict[str, object] = {}
        model, autocast = self._validation_model()
        for name, (examples, features) in self.validation.items():
            scores, _ = evaluate_reader(model, examples, features, self.cfg.null_threshold, bf16=autocast)
            log.info("validation %s: %s", name, json.dumps(scores))
            figures[name] = scores
        del model
        released = release_freed_pages()
        log.info("validation done: resident %s MB (freed pages %s)", resident_mb(), "released" if released else "kept")
        return figures

    def _validation_model(self) -> tuple[SpanModel, bool]:
        """What validation runs, and whether under bf16 autocast: the model as it stands, compiled by OpenVINO
        where it can be (about 1.3x faster); else the model itself, under autocast when training uses it. Its
        weights are never changed."""
        self.model.eval()
        if self.validation and self.device.type == "cpu" and openvino_available():
            precision = "bf16" if self.cfg.bf16 else "fp32"
            try:
                return OpenVinoQA(self.model, self.tokenizer, precision), False
            except OpenVinoError as exc:
                log.warning("validation: %s; on torch instead", exc)
        return self.model, self.cfg.bf16

    def _history(self) -> list[dict[str, object]]:
        path = self.run_dir / "validation.json"
        return json.loads(path.read_text()) if path.exists() else []

    def _write_history(self, history: list[dict[str, object]]) -> None:
        (self.run_dir / "validation.json").write_text(json.dumps(history, indent=2))

    def save_model(self, out: Path, history: list[dict[str, object]]) -> None:
        """Write a self-describing reader directory: fp16 weights, tokenizer, how it was trained."""
        out.mkdir(parents=True, exist_ok=True)
        self.model.to(torch.float16).save_pretrained(out)
        self.model.to(torch.float32)
        self.tokenizer.save_pretrained(out)
        config = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(self.cfg).items()}
        config["train"] = [str(p) for p in self.cfg.train]
        config["validate"] = [str(p) for p in self.cfg.validate]
        (out / "training.json").write_text(json.dumps({"config": config, "validation": history}, indent=2))
        log.info("reader saved to %s", out)


def train_reader(cfg: TrainConfig, resume: bool = True) -> list[dict[str, object]]:
    """Train (or continue training) a reader as configured."""
    trainer = Trainer(cfg)
    if resume:
        trainer.resume()
    return trainer.run()


def export_checkpoint(run_dir: Path, base: str, out: Path) -> Path:
    """Write the model of a run's latest checkpoint as a reader directory (e.g. to ship a mid-run model)."""
    state = torch.load(run_dir / "checkpoint.pt", weights_only=False, map_location="cpu")
    model = AutoModelForQuestionAnswering.from_pretrained(base, dtype=torch.float32)
    model.load_state_dict(state["model"])
    out.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    where = {"epoch": state["epoch"], "step": state["step"], "schedule": state["schedule"]}
    (out / "checkpoint.json").write_text(json.dumps(where, indent=2))
    return out
