"""int8 on OpenVINO: calibration text drawn from documents, a quantized reader that is cached and still reads."""

import logging

import pytest
import torch

import qa.openvino_reader as openvino_module
from qa.openvino_reader import OpenVinoQA
from qa.quantization import QUESTION_WORDS, calibration_from, seed_calibration
from qa.reader import Reader
from qa.settings import PROJECT_ROOT, Settings

SEEDS = PROJECT_ROOT / "seeds"


def test_calibration_pairs_passages_with_sentences_standing_in_for_questions():
    calibration = calibration_from([SEEDS], samples=40, seed=3)
    article = (SEEDS / "tencent-uk-partnership-2018.txt").read_text(encoding="utf-8")
    assert len(calibration.pairs) == 40
    for question, passage in calibration.pairs:
        assert 0 < len(question.split()) <= QUESTION_WORDS
        assert " ".join(question.split()) in " ".join(article.split())
        assert passage in article
    assert len({passage for _, passage in calibration.pairs}) > 1
    assert calibration_from([SEEDS], samples=40, seed=3) == calibration  # seeded: the same IR everywhere
    assert calibration_from([SEEDS], samples=40, seed=4).digest != calibration.digest
    assert seed_calibration().digest == calibration_from([SEEDS]).digest


def test_calibration_needs_text(tmp_path):
    with pytest.raises(ValueError, match=r"no documents \(\.txt, \.md, \.html, \.htm, \.pdf, \.docx\) under"):
        calibration_from([tmp_path])


@pytest.mark.slow
def test_the_int8_reader_is_quantized_cached_apart_from_float_and_still_reads(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(openvino_module, "seed_calibration", lambda: calibration_from([SEEDS], samples=24))
    model = Settings().reader_model
    int8 = Reader(model, precision="int8", backend="openvino")
    assert isinstance(int8.model, OpenVinoQA) and int8.backend == "openvino"
    cached = [path.read_text() for path in (tmp_path / "openvino").glob("*/model.xml")]
    assert len(cached) == 1 and "FakeQuantize" in cached[0]
    with caplog.at_level(logging.INFO, logger="qa.openvino_reader"):
        again = Reader(model, precision="int8", backend="openvino")
    assert "IR from" in caplog.text
    Reader(model, precision="fp32", backend="openvino")
    assert len(list((tmp_path / "openvino").glob("*/model.xml"))) == 2  # float and int8 apart

    question, passage = "Who signed the memorandum?", "Tencent signed the memorandum with the UK in London."
    enc = int8.tokenizer([question], [passage], return_tensors="pt")
    fp32 = Reader(model, precision="fp32", backend="torch")
    with torch.inference_mode():
        reference = fp32.model(**enc)
    out, out_again = int8.model(**enc), again.model(**enc)
    assert torch.equal(out.start_logits, out_again.start_logits)
    assert out.start_logits.argmax() == reference.start_logits.argmax()
    assert out.end_logits.argmax() == reference.end_logits.argmax()


@pytest.mark.slow
def test_int8_under_auto_falls_back_to_torch_without_nncf(monkeypatch, caplog):
    monkeypatch.setattr(openvino_module, "openvino_available", lambda precision="fp32": precision != "int8")
    reader = Reader(Settings().reader_model, precision="int8", backend="auto")
    assert reader.backend == "torch"
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in reader.model.modules())
    with pytest.raises(openvino_module.OpenVinoError, match="pip install openvino nncf"):
        Reader(Settings().reader_model, precision="int8", backend="openvino")
