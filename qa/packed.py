"""Reader weights stored as int8 in shards: how a larger reader fits in git (each file under 95 MB).

A matrix is stored as int8 with a float16 scale per group of GROUP weights of a row (symmetric: the group's
largest magnitude maps to 127; one scale per row when the row does not divide into groups);
vectors and small tensors stay float16. At load the weights are expanded back to float32, and the reader then runs
at the precision it is configured for (on OpenVINO, int8 is quantized again from them by NNCF, calibrated).
Groups rather than rows: one large weight no longer coarsens the grid of a whole row (the comparison with the
float16 reader: docs/benchmarks.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

PACKED_INDEX = "int8-weights.json"
FORMAT = "int8-groups-v1"
MIN_PACKED = 65_536  # matrices at least this large are stored as int8
GROUP = 64
SHARD_BYTES = 90 * 1024 * 1024


class PackedWeightsError(ValueError):
    """A packed reader directory that cannot be read."""


def is_packed(directory: Path) -> bool:
    return (directory / PACKED_INDEX).is_file()


def pack(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each large float matrix as `name.int8` and `name.scale`; other floats as float16, the rest as they are."""
    packed: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if tensor.is_floating_point() and tensor.ndim == 2 and tensor.numel() >= MIN_PACKED:
            rows, columns = tensor.shape
            groups = weights = tensor.detach().float().reshape(rows, -1, GROUP if columns % GROUP == 0 else columns)
            scale = groups.abs().amax(dim=2, keepdim=True).clamp(min=1e-6).half()
            quantized = (weights / scale.float() * 127.0).round().clamp(-127, 127).to(torch.int8)
            packed[f"{name}.int8"] = quantized.reshape(rows, columns).contiguous()
            packed[f"{name}.scale"] = scale.squeeze(2).contiguous()
        elif tensor.is_floating_point():
            packed[name] = tensor.detach().to(torch.float16).contiguous()
        else:
            packed[name] = tensor.detach().contiguous()
    return packed


def unpack(packed: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The float32 state dict `pack` was given (each int8 weight within half a step of its group's grid)."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in packed.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".int8"):
            base = name.removesuffix(".int8")
            scale = packed.get(f"{base}.scale")
            if scale is None:
                raise PackedWeightsError(f"{base} has int8 weights but no scale")
            rows, columns = tensor.shape
            grid = tensor.float().reshape(rows, scale.shape[1], -1) * (scale.float()[:, :, None] / 127.0)
            state[base] = grid.reshape(rows, columns)
        else:
            state[name] = tensor.float() if tensor.is_floating_point() else tensor
    return state


def shards(packed: Mapping[str, torch.Tensor], limit: int = SHARD_BYTES) -> list[dict[str, torch.Tensor]]:
    """The tensors in order, cut into groups of at most `limit` bytes (a larger tensor alone in its group)."""
    groups: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in packed.items():
        nbytes = tensor.numel() * tensor.element_size()
        if groups[-1] and size + nbytes > limit:
            groups.append({})
            size = 0
        groups[-1][name] = tensor
        size += nbytes
    return groups


def save_packed(state: Mapping[str, torch.Tensor], out: Path, limit: int = SHARD_BYTES) -> list[Path]:
    """Write `state` packed into shards under `out`, with the index that names them; returns the shard paths."""
    out.mkdir(parents=True, exist_ok=True)
    groups = shards(pack(state), limit)
    paths = [out / f"model-int8-{i:05d}-of-{len(groups):05d}.safetensors" for i in range(1, len(groups) + 1)]
    for group, path in zip(groups, paths, strict=True):
        save_file(group, str(path), metadata={"format": FORMAT})
    index = {"format": FORMAT, "shards": [p.name for p in paths]}
    (out / PACKED_INDEX).write_text(json.dumps(index, indent=2) + "\n")
    return paths


def load_packed(directory: Path) -> dict[str, torch.Tensor]:
    """The float32 state dict of a packed reader directory."""
    try:
        index = json.loads((directory / PACKED_INDEX).read_text(encoding="utf-8"))
        if index.get("format") != FORMAT:
            raise PackedWeightsError(f"{directory / PACKED_INDEX}: format {index.get('format')!r}, not {FORMAT}")
        packed: dict[str, torch.Tensor] = {}
        for shard in index["shards"]:
            packed |= load_file(str(directory / shard))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, PackedWeightsError):
            raise
        raise PackedWeightsError(f"cannot read the packed weights in {directory}: {exc}") from exc
    return unpack(packed)
