"""Numeric precision of a reader at inference: float32, bfloat16 weights, or int8 linear layers."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar, cast, get_args

if TYPE_CHECKING:  # torch loads only when a model is converted: settings and the CLI import this module
    import torch

Precision = Literal["auto", "fp32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
Resolved = Literal["fp32", "bf16", "int8"]


def bf16_supported() -> bool:
    """True where the CPU has native bf16 arithmetic (AVX-512 BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve(precision: Precision) -> Resolved:
    """`auto` is bf16 where the CPU computes it natively (1.6x faster, same answers), else fp32."""
    if precision == "auto":
        return "bf16" if bf16_supported() else "fp32"
    return precision


Model = TypeVar("Model", bound="torch.nn.Module")


def quantize_int8(model: Model) -> Model:
    """Linear layers with int8 weights (one scale per output channel) and int8 activations quantized on the fly.

    This is int8 on torch; OpenVINO's calibrated int8 (qa.quantization) is as accurate as float. fbgemm's
    dynamic quantized linear is the fastest eager int8 path on x86 CPUs (VNNI); per-channel scales keep
    the accuracy of the fp32 model far better than one scale per tensor.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the eager quantization API as deprecated
        # a copy of the same class, its Linear layers swapped for quantized ones
        return cast(Model, quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8))


def apply_precision(model: Model, precision: Resolved) -> Model:
    """The float32 `model` converted for inference (span decoding reads any logits as float32)."""
    if precision == "bf16":
        import torch

        return model.to(torch.bfloat16)
    if precision == "int8":
        return quantize_int8(model)
    return model
