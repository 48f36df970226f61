import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

SCRIPT = Path(__file__).parents[2] / "tools" / "weights_int8.py"


@pytest.fixture(scope="module")
def int8():
    spec = importlib.util.spec_from_file_location("weights_int8", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def weights():
    torch.manual_seed(0)
    return {
        "encoder.weight": torch.randn(64, 32) * torch.logspace(-3, 0, 64).unsqueeze(1),  # rows of every scale
        "encoder.bias": torch.randn(64),
        "position_ids": torch.arange(16),
    }


def test_packed_weights_come_back_within_half_a_step_of_their_row(int8, tmp_path):
    original = weights()
    save_file(original, tmp_path / "model.safetensors")
    assert int8.main(["pack", str(tmp_path / "model.safetensors"), str(tmp_path / "packed.safetensors")]) == 0
    packed = load_file(tmp_path / "packed.safetensors")
    assert packed["encoder.weight"].dtype == torch.int8
    assert (tmp_path / "packed.safetensors").stat().st_size < (tmp_path / "model.safetensors").stat().st_size / 3
    assert int8.main(["unpack", str(tmp_path / "packed.safetensors"), str(tmp_path / "back.safetensors")]) == 0
    back = load_file(tmp_path / "back.safetensors")
    assert back.keys() == original.keys()
    w, restored = original["encoder.weight"], back["encoder.weight"]
    step = w.abs().amax(dim=1, keepdim=True) / 127
    assert ((restored - w).abs() <= step * 0.5 * 1.01).all()  # fp16 scales: a hair over half a step
    assert ((restored - w).abs() > 0).any()  # it is lossy: a copy would not test the bound
    assert torch.allclose(back["encoder.bias"], original["encoder.bias"], rtol=1e-3)  # vectors stay fp16
    assert torch.equal(back["position_ids"], original["position_ids"])


def test_a_wrong_command_line_prints_the_usage(int8, capsys):
    assert int8.main(["shrink", "a", "b"]) == 2
    assert "pack" in capsys.readouterr().err
