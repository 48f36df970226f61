"""Packed readers: int8 weights in shards that load back as the reader they came from."""

import json
from pathlib import Path

import pytest
import torch

from qa.packed import (
    GROUP,
    PACKED_INDEX,
    PackedWeightsError,
    is_packed,
    load_packed,
    pack,
    save_packed,
    shards,
    unpack,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "reader"


def state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "dense.weight": torch.randn(512, 256, generator=generator),
        "odd.weight": torch.randn(300, 250, generator=generator),  # rows that do not divide into groups
        "dense.bias": torch.randn(512, generator=generator),
        "ids": torch.arange(10),
    }


def test_a_large_matrix_is_stored_as_int8_within_half_a_step_of_its_groups_grid():
    original = state()
    packed = pack(original)
    assert packed["dense.weight.int8"].dtype == torch.int8 and packed["dense.weight.scale"].shape == (512, 256 // GROUP)
    assert packed["odd.weight.scale"].shape == (300, 1)
    restored = unpack(packed)
    for name in ("dense.weight", "odd.weight"):
        rows = original[name].shape[0]
        step = packed[f"{name}.scale"].float() / 127
        error = (restored[name] - original[name]).abs().reshape(rows, step.shape[1], -1)
        assert bool((error <= step[:, :, None] * 0.5 + 1e-3).all())
    assert packed["dense.bias"].dtype == torch.float16 and restored["dense.bias"].dtype == torch.float32
    assert torch.equal(restored["ids"], original["ids"])


def test_shards_keep_the_order_and_stay_under_the_limit_unless_one_tensor_is_larger():
    tensors = {f"t{i}": torch.zeros(100, dtype=torch.int8) for i in range(5)} | {
        "big": torch.zeros(500, dtype=torch.int8)
    }
    groups = shards(tensors, limit=250)
    assert [list(g) for g in groups] == [["t0", "t1"], ["t2", "t3"], ["t4"], ["big"]]


def test_saved_shards_load_back_and_a_broken_directory_is_a_clear_error(tmp_path):
    paths = save_packed(state(), tmp_path, limit=200_000)
    assert len(paths) > 1 and all(p.stat().st_size < 300_000 for p in paths) and is_packed(tmp_path)
    assert torch.allclose(load_packed(tmp_path)["dense.bias"], state()["dense.bias"], atol=1e-2)
    paths[-1].unlink()
    with pytest.raises(PackedWeightsError, match="cannot read"):
        load_packed(tmp_path)
    (tmp_path / PACKED_INDEX).write_text(json.dumps({"format": "other", "shards": []}))
    with pytest.raises(PackedWeightsError, match="format"):
        load_packed(tmp_path)


def test_the_shipped_reader_packed_reads_as_the_shipped_reader(tmp_path):
    from index.chunking import chunk_document
    from index.documents import load_documents
    from qa.reader import Reader, ReaderNotFoundError
    from training.cli import main

    out = tmp_path / "packed"
    assert main(["pack-reader", str(SHIPPED), "--out", str(out), "--shard-mb", "15"]) == 0
    assert not (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert (out / "calibration.json").exists()  # what decides and scores its answers travels with it
    assert len(list(out.glob("model-int8-*.safetensors"))) == 2
    assert (
        sum(p.stat().st_size for p in out.glob("model-int8-*")) < 0.6 * (SHIPPED / "model.safetensors").stat().st_size
    )
    passages = [p for d in load_documents([ROOT / "seeds"]) for p in chunk_document(d)]
    questions = ["How many views did Blue Planet II get?", "Who is Lau Seng Yee?", "When was the deal announced?"]
    shipped, packed = (Reader(str(m), precision="fp32", backend="torch") for m in (SHIPPED, out))
    for question in questions:
        a, b = shipped.read(question, passages)[0], packed.read(question, passages)[0]
        assert a.text == b.text and a.score == pytest.approx(b.score, abs=0.05)
    (out / "config.json").write_text(
        (out / "config.json").read_text().replace('"hidden_size": 384', '"hidden_size": 768')
    )
    with pytest.raises(ReaderNotFoundError):
        Reader(str(out), precision="fp32", backend="torch")
    assert main(["pack-reader", str(out), "--out", str(out)]) == 2
