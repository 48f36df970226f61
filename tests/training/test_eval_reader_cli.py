"""`qa-train eval-reader` with the shipped reader on a tiny SQuAD v2.0 file: JSON contract, predictions, held-out."""

import json
import subprocess
import sys

import pytest

from ..conftest import ROOT
from .test_squad import article, squad

pytestmark = pytest.mark.slow

ARTICLE = (
    "Tencent is a Chinese technology company. The Shenzhen-based company signed a memorandum of understanding "
    "with the UK Department of International Trade on Wednesday in London."
)
OTHER = "Blue Planet II is a nature documentary series. It drew a record-breaking 220 million views in China."


def squad_file(path, articles):
    path.write_text(json.dumps(squad(articles)), encoding="utf-8")
    return path


def qa_item(qid, question, answer, context):
    if answer is None:
        return {"id": qid, "question": question, "answers": [], "is_impossible": True}
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


def eval_reader(*args):
    result = subprocess.run(
        [sys.executable, "-m", "training.cli", "eval-reader", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_scores_predictions_and_held_out_articles(tmp_path):
    dev = squad_file(
        tmp_path / "dev.json",
        [
            article(
                "Tencent",
                ARTICLE,
                [
                    qa_item("t1", "In which city was the memorandum signed?", "London", ARTICLE),
                    qa_item("t2", "Who is the chief executive of Tencent?", None, ARTICLE),
                ],
            ),
            article("Planet", OTHER, [qa_item("p1", "How many views did Blue Planet II get?", "220 million", OTHER)]),
        ],
    )
    predictions = tmp_path / "predictions.json"
    scores, _ = eval_reader(dev, "--predictions", predictions)
    assert scores["questions"] == 3 and scores["backend"] == "openvino"  # the service's default runs it
    for key in ("exact_match", "f1", "ms_per_question", "has_ans_f1", "no_ans_accuracy"):
        assert key in scores
    texts = json.loads(predictions.read_text())
    assert set(texts) == {"t1", "t2", "p1"}
    assert texts["t1"] == "London" and "220 million" in texts["p1"]

    trained_qas = [qa_item("x1", "What is Blue Planet II?", "a nature documentary series", OTHER)]
    trained = squad_file(tmp_path / "train.json", [article("Planet", OTHER, trained_qas)])
    held_out, stderr = eval_reader(dev, "--exclude-seen", trained, "--precision", "int8")
    assert held_out["questions"] == 2 and "1 questions dropped" in stderr
    assert held_out["precision"] == "int8" and held_out["backend"] == "openvino"
