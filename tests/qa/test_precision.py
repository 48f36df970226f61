import torch

from qa import precision


def test_auto_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(precision, "bf16_supported", lambda: True)
    assert precision.resolve("auto") == "bf16"
    monkeypatch.setattr(precision, "bf16_supported", lambda: False)
    assert precision.resolve("auto") == "fp32"
    assert precision.resolve("int8") == "int8" and precision.resolve("fp32") == "fp32"


def test_apply_precision_converts_the_weights():
    def model():
        return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))

    assert next(precision.apply_precision(model(), "fp32").parameters()).dtype == torch.float32
    assert all(p.dtype == torch.bfloat16 for p in precision.apply_precision(model(), "bf16").parameters())
    int8 = precision.apply_precision(model(), "int8")
    assert type(int8[0]).__module__.startswith("torch.ao.nn.quantized")
    x = torch.randn(2, 4)
    assert int8(x).shape == (2, 3)
