"""`qa-train average-readers`: the weighted mean of readers' weights, written whole or not at all."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

from index.embedding import bundled_embedding_model
from training.averaging import AveragingError, average_readers
from training.cli import main


def tiny_reader(path, seed, layers=2):
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64
    )
    BertForQuestionAnswering(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(bundled_embedding_model()).save_pretrained(path)
    (path / "training.json").write_text(json.dumps({"seed": seed}))
    return path


def weights(path):
    return {k: v.float() for k, v in load_file(path / "model.safetensors").items()}


def test_the_average_is_the_weighted_mean_of_every_tensor(tmp_path):
    a, b = tiny_reader(tmp_path / "a", 1), tiny_reader(tmp_path / "b", 2)
    out = average_readers([a, b], tmp_path / "avg", [3.0, 1.0], dtype=torch.float32)
    wa, wb, avg = weights(a), weights(b), weights(out)
    assert avg.keys() == wa.keys()
    for name in ("qa_outputs.weight", "bert.encoder.layer.1.output.dense.weight"):
        assert torch.allclose(avg[name], (3 * wa[name] + wb[name]) / 4, atol=1e-6)
    assert not torch.allclose(avg["qa_outputs.weight"], wa["qa_outputs.weight"])
    recipe = json.loads((out / "training.json").read_text())
    assert recipe["weights"] == [3.0, 1.0] and [s["seed"] for s in recipe["sources"]] == [1, 2]
    assert AutoTokenizer.from_pretrained(out)("a question")["input_ids"]


def test_different_architectures_are_refused_and_nothing_is_written(tmp_path):
    a, b = tiny_reader(tmp_path / "a", 1), tiny_reader(tmp_path / "b", 2, layers=3)
    with pytest.raises(AveragingError, match="other layers"):
        average_readers([a, b], tmp_path / "avg")
    assert not (tmp_path / "avg").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_command_reports_bad_input_clearly(tmp_path, capsys):
    a = tiny_reader(tmp_path / "a", 1)
    assert main(["average-readers", str(a), "--out", str(tmp_path / "avg")]) == 2
    assert "at least two readers" in capsys.readouterr().err
    assert main(["average-readers", str(a), str(a), "--weights", "1", "--out", str(tmp_path / "avg")]) == 2
    assert "weights" in capsys.readouterr().err
    assert main(["average-readers", str(a), str(tmp_path / "missing"), "--out", str(tmp_path / "avg")]) == 2
    assert "cannot load the reader" in capsys.readouterr().err
    assert main(["average-readers", str(a), str(a), "--out", str(tmp_path / "avg")]) == 0
    assert torch.allclose(weights(tmp_path / "avg")["qa_outputs.weight"], weights(a)["qa_outputs.weight"], atol=1e-3)
