"""Made unanswerable questions drawn beside the questions they were made from."""

from __future__ import annotations

import json

from training.cli import main
from training.pairing import paired


def originals() -> dict:
    return {
        "data": [
            {
                "title": "A",
                "paragraphs": [
                    {"context": "Ann lives in Rome.", "qas": [{"id": "A:0:0", "question": "Where does Ann live?"}]},
                    {"context": "Bob lives in Oslo.", "qas": [{"id": "A:1:0", "question": "Where does Bob live?"}]},
                ],
            },
            {"title": "B", "paragraphs": [{"context": "Cy is 3.", "qas": [{"id": "B:0:0", "question": "Age of Cy?"}]}]},
        ]
    }


def made(*ids: str) -> dict:
    qas = [{"id": f"{i}:swap", "question": i, "is_impossible": True, "swap": {"original_id": i}} for i in ids]
    return {"data": [{"title": "any", "paragraphs": [{"context": "c", "qas": qas}]}]}


def test_each_drawn_question_sits_beside_its_original_on_the_original_paragraph():
    result = paired(made("A:1:0", "B:0:0", "gone"), originals(), count=5, seed=0)
    assert [a["title"] for a in result["data"]] == ["A", "B"]
    first = result["data"][0]["paragraphs"]
    assert [p["context"] for p in first] == ["Bob lives in Oslo."]
    assert [q["id"] for q in first[0]["qas"]] == ["A:1:0", "A:1:0:swap"]
    assert [q["id"] for q in result["data"][1]["paragraphs"][0]["qas"]] == ["B:0:0", "B:0:0:swap"]


def test_a_count_draws_that_many_the_same_for_a_seed():
    one = paired(made("A:0:0", "A:1:0", "B:0:0"), originals(), count=2, seed=7)
    again = paired(made("A:0:0", "A:1:0", "B:0:0"), originals(), count=2, seed=7)
    swaps = [q for a in one["data"] for p in a["paragraphs"] for q in p["qas"] if q.get("is_impossible")]
    assert len(swaps) == 2 and one == again


def test_pair_negatives_writes_the_file(tmp_path, capsys):
    (tmp_path / "made.json").write_text(json.dumps(made("A:0:0")), encoding="utf-8")
    (tmp_path / "orig.json").write_text(json.dumps(originals()), encoding="utf-8")
    out = tmp_path / "out" / "paired.json"
    files = [str(tmp_path / "made.json"), str(tmp_path / "orig.json")]
    assert main(["pair-negatives", *files, "--count", "9", "--out", str(out)]) == 0
    assert "1 made unanswerable questions beside 1 originals" in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "v2.0"
