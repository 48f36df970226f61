"""Weight averaging of readers fine-tuned from one another ("model soup"): one reader, no extra inference cost."""

from __future__ import annotations

import functools
import json
import operator
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, PreTrainedModel

from index.embedding import ModelNotFoundError


class AveragingError(ValueError):
    """The readers cannot be averaged: too few, different architectures, or bad weights."""


def _load(reader: Path) -> PreTrainedModel:
    try:
        return AutoModelForQuestionAnswering.from_pretrained(reader, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"cannot load the reader {reader}: {exc}") from exc


def _check_compatible(states: Sequence[dict[str, torch.Tensor]], readers: Sequence[Path]) -> None:
    first = states[0]
    for state, reader in zip(states[1:], readers[1:], strict=True):
        if state.keys() != first.keys():
            raise AveragingError(f"{reader} has other layers than {readers[0]}: not the same architecture")
        for name, tensor in state.items():
            if tensor.shape != first[name].shape:
                raise AveragingError(f"{reader}: {name} is {tuple(tensor.shape)}, not {tuple(first[name].shape)}")


def average_state(states: Sequence[dict[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """Weighted mean of every floating-point tensor (in float32); other tensors (ids, counters) from the first."""
    total = sum(weights)
    averaged: dict[str, torch.Tensor] = {}
    for name, tensor in states[0].items():
        if tensor.is_floating_point():
            weighted = [w * s[name].float() for w, s in zip(weights, states, strict=True)]
            averaged[name] = functools.reduce(operator.add, weighted) / total
        else:
            averaged[name] = tensor
    return averaged


def average_readers(
    readers: Sequence[Path], out: Path, weights: Sequence[float] | None = None, dtype: torch.dtype = torch.float16
) -> Path:
    """Write the weighted average of `readers` to `out`, all at once: `out` appears complete or not at all."""
    if len(readers) < 2:
        raise AveragingError("give at least two readers to average")
    weights = list(weights) if weights is not None else [1.0] * len(readers)
    if len(weights) != len(readers) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise AveragingError(f"{len(readers)} readers need as many non-negative weights with a positive sum")
    models = [_load(reader) for reader in readers]
    states = [model.state_dict() for model in models]
    _check_compatible(states, readers)
    merged = models[0]
    merged.load_state_dict(average_state(states, weights))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        merged.to(dtype).save_pretrained(staging)  # type: ignore[arg-type]  # transformers @wraps Module.to
        AutoTokenizer.from_pretrained(readers[0]).save_pretrained(staging)
        recipe = {"averaged": [str(r) for r in readers], "weights": weights, "sources": [_training(r) for r in readers]}
        (staging / "training.json").write_text(json.dumps(recipe, indent=2))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide the reader from other users
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def _training(reader: Path) -> dict | None:
    """How a source reader was made, when it says so."""
    path = reader / "training.json"
    return json.loads(path.read_text()) if path.is_file() else None
