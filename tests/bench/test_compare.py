"""The reader comparison: the right command per set, figures in the right cells, failures and gaps as notes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.compare import EvalFailed, Files, compare, main, run_command, table

V1 = {"exact_match": 73.63, "f1": 82.16, "questions": 5373, "ms_per_question": 20.4}
V2 = {"exact_match": 43.57, "f1": 48.4, "has_ans_f1": 82.17, "no_ans_accuracy": 13.67, "ms_per_question": 19.0}
GOLD = {"exact_match": 67.1, "f1": 72.3, "best_span_exact_match": 76.4, "recall_at_k": 100.0,
        "no_answer_accuracy": 53.3, "wrong_abstentions": 4, "p50_ms": 74.0, "p95_ms": 81.0}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> Files:
    paths = Files(tmp_path / "v1.json", tmp_path / "train.json", tmp_path / "v2.json", tmp_path / "gold.jsonl")
    for path in (paths.v1, paths.exclude, paths.v2, paths.gold):
        path.write_text("{}")
    return paths


class FakeRunner:
    """Answers each command with canned figures keyed by its set; records what it was asked to run."""

    def __init__(self, fail: set[tuple[str, str]] = frozenset()) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, argv: list[str]) -> dict[str, Any]:
        self.calls.append(argv)
        reader = argv[argv.index("--model" if "--model" in argv else "--reader") + 1]
        kind = "gold" if argv[1] == "eval" else ("v1" if "--exclude-seen" in argv else "v2")
        if (reader, kind) in self.fail:
            raise EvalFailed(f"`{argv[1]}` exited 1: boom")
        return {"v1": V1, "v2": V2, "gold": GOLD}[kind]


def test_every_reader_runs_every_set_with_its_own_command(files: Files) -> None:
    runner = FakeRunner()
    rows, notes = compare(["/r/a", "/r/b"], ["a", "b"], ["v1", "v2", "gold"], files, "bf16", runner, qa="qa")
    assert notes == []
    assert len(runner.calls) == 6
    v1 = runner.calls[0]
    assert v1[:3] == ["qa", "eval-reader", str(files.v1)]
    assert v1[v1.index("--exclude-seen") + 1] == str(files.exclude)
    assert v1[v1.index("--precision") + 1] == "bf16"
    gold = runner.calls[2]
    assert gold[:3] == ["qa", "eval", str(files.gold)] and gold[gold.index("--reader") + 1] == "/r/a"
    assert rows[1]["reader"] == "b"
    assert rows[1]["v1_f1"] == 82.16 and rows[1]["v2_no_ans_accuracy"] == 13.67
    assert rows[1]["gold_wrong_abstentions"] == 4 and rows[1]["gold_p50_ms"] == 74.0


def test_table_puts_each_figure_in_its_column(files: Files) -> None:
    rows, _ = compare(["/r/a"], ["a"], ["v1", "v2", "gold"], files, "auto", FakeRunner(), qa="qa")
    lines = table(rows).splitlines()
    assert len(lines) == 3
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells == ["a", "73.63 / 82.16", "20.4", "82.17 / 13.67", "67.1 / 72.3", "76.4", "53.3", "4", "100.0", "74"]


def test_a_missing_file_skips_its_set_and_says_so(files: Files) -> None:
    files.v2.unlink()
    runner = FakeRunner()
    rows, notes = compare(["/r/a"], ["a"], ["v1", "v2", "gold"], files, "auto", runner, qa="qa")
    assert len(runner.calls) == 2
    assert notes == [f"set v2 skipped: {files.v2} does not exist"]
    assert "v2_has_ans_f1" not in rows[0]
    cells = [c.strip() for c in table(rows).splitlines()[2].strip("|").split("|")]
    assert cells[3] == "—" and cells[1] == "73.63 / 82.16"


def test_a_failed_evaluation_is_a_note_and_the_rest_goes_on(files: Files) -> None:
    runner = FakeRunner(fail={("/r/a", "gold")})
    rows, notes = compare(["/r/a", "/r/b"], ["a", "b"], ["v1", "gold"], files, "auto", runner, qa="qa")
    assert len(runner.calls) == 4
    assert notes == ["a, set gold: `eval` exited 1: boom"]
    assert "gold_f1" not in rows[0] and rows[1]["gold_f1"] == 72.3


def test_run_command_reads_the_last_stdout_line_and_reports_failures() -> None:
    ok = [sys.executable, "-c", "print('progress'); print('{\"f1\": 1.5}')"]
    assert run_command(ok) == {"f1": 1.5}
    bad = [sys.executable, "-c", "import sys; print('no such reader', file=sys.stderr); sys.exit(2)"]
    with pytest.raises(EvalFailed, match="exited 2: no such reader"):
        run_command(bad)


def test_main_rejects_a_label_count_that_does_not_match(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["/r/a", "/r/b", "--names", "only-one"])
    assert exc.value.code == 2
    assert "--names gives 1 labels for 2 readers" in capsys.readouterr().err


def test_main_prints_table_and_json_for_a_reader_that_cannot_load(
    files: Files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = str(tmp_path / "no-reader")
    args = [absent, "--sets", "v2", "--v2", str(files.v2)]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["rows"] == [{"reader": "no-reader"}]
    assert result["notes"][0].startswith("no-reader, set v2: `eval-reader")
