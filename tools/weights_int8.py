"""Int8 weights for carrying a model where bytes are scarce (the device tool's 64 MiB a call), and back.

Every floating-point matrix is stored as int8 rows with one fp16 scale each (symmetric, round to nearest: the
error of a weight is at most half a step of its row's largest magnitude / 127); vectors (biases, LayerNorm)
stay fp16. Half the bytes of fp16. `unpack` writes fp32 again. Only for carrying weights: nothing in the
project loads the packed form.

    python tools/weights_int8.py pack model.safetensors packed.safetensors
    python tools/weights_int8.py unpack packed.safetensors model.safetensors
"""

from __future__ import annotations

import sys

import torch
from safetensors.torch import load_file, save_file

SCALE = ".int8_scale"


def pack(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    packed: dict[str, torch.Tensor] = {}
    for name, tensor in weights.items():
        if tensor.is_floating_point() and tensor.dim() == 2:
            w = tensor.float()
            scale = (w.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12).half()
            packed[name] = torch.round(w / scale.float()).clamp(-127, 127).to(torch.int8).contiguous()
            packed[name + SCALE] = scale.contiguous()
        elif tensor.is_floating_point():
            packed[name] = tensor.half().contiguous()
        else:
            packed[name] = tensor.contiguous()
    return packed


def unpack(packed: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = {}
    for name, tensor in packed.items():
        if name.endswith(SCALE):
            continue
        if name + SCALE in packed:
            weights[name] = (tensor.float() * packed[name + SCALE].float()).contiguous()
        elif tensor.is_floating_point():
            weights[name] = tensor.float().contiguous()
        else:
            weights[name] = tensor
    return weights


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("pack", "unpack"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, src, dst = argv
    convert = pack if mode == "pack" else unpack
    save_file(convert(load_file(src)), dst, metadata={"format": "pt"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
