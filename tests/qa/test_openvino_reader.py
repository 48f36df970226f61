"""The OpenVINO backend: the converted reader is cached and reused, and trouble falls back to torch under auto."""

import logging
import os

import pytest
import torch

import qa.openvino_reader as openvino_module
from qa.openvino_reader import OpenVinoError, OpenVinoQA
from qa.reader import Reader
from qa.settings import Settings

pytestmark = pytest.mark.slow
MODEL = Settings().reader_model


def logits(reader: Reader) -> torch.Tensor:
    enc = reader.tokenizer(["Where is Tencent based?"], ["The Shenzhen-based company is Tencent."], return_tensors="pt")
    return reader.model(**enc).start_logits


def test_the_converted_reader_is_cached_and_reused(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    first = Reader(MODEL, precision="fp32", backend="openvino")
    assert isinstance(first.model, OpenVinoQA)
    cached = list((tmp_path / "openvino").glob("*/model.xml"))
    assert len(cached) == 1 and not list((tmp_path / "openvino").glob(".*.tmp"))
    with caplog.at_level(logging.INFO, logger="qa.openvino_reader"):
        second = Reader(MODEL, precision="fp32", backend="openvino")
    assert "IR from" in caplog.text
    assert torch.equal(logits(first), logits(second))
    torch_reader = Reader(MODEL, precision="fp32", backend="torch")
    with torch.inference_mode():
        assert torch.allclose(logits(first), logits(torch_reader), atol=1e-3)


def test_a_cache_that_cannot_be_written_costs_only_time(tmp_path, monkeypatch, caplog):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory would go")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocked))
    with caplog.at_level(logging.WARNING, logger="qa.openvino_reader"):
        reader = Reader(MODEL, precision="fp32", backend="openvino")
    assert reader.backend == "openvino" and "not cached" in caplog.text


def test_auto_falls_back_to_torch_when_openvino_fails_and_openvino_says_why(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OpenVinoError("OpenVINO could not compile this model: unsupported operation")

    monkeypatch.setattr(openvino_module, "OpenVinoQA", broken)
    with caplog.at_level(logging.WARNING, logger="qa.openvino_reader"):
        reader = Reader(MODEL, precision="fp32", backend="auto")
    assert reader.backend == "torch" and "running on torch instead" in caplog.text
    with pytest.raises(OpenVinoError, match="unsupported operation"):
        Reader(MODEL, precision="fp32", backend="openvino")


SIGNAL_AFTER_A_READER_IS_GONE = """
import gc, os, signal, sys
import torch
from qa.reader import Reader
first = Reader(sys.argv[1], precision="fp32", backend="openvino")
second = Reader(sys.argv[1], precision="fp32", backend="openvino")  # from the cached IR
del first, second
gc.collect()
caught = []
signal.signal(signal.SIGTERM, lambda number, frame: caught.append(number))
weights = torch.randn(512, 512, requires_grad=True)
for step in range(30):  # training goes on after a validation; the session ends during a step
    if step == 5:
        os.kill(os.getpid(), signal.SIGTERM)
    (weights @ weights).sum().backward()
print("caught", len(caught))
"""


def test_a_signal_after_an_openvino_reader_is_gone_is_handled_not_fatal(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "QA_CACHE_DIR": str(tmp_path)}
    command = [sys.executable, "-c", SIGNAL_AFTER_A_READER_IS_GONE, MODEL]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])  # -11 was a segmentation fault
    assert "caught 1" in result.stdout
