import json

import pytest

from qa.eval_report import write_report
from qa.evaluation import GoldQuestion, Reply, http_asker, load_gold, percentile, run_gold, summarize


def fake_ask(replies):
    def ask(question, history=()):
        return replies[question]

    return ask


GOLD = [
    GoldQuestion("where", ("Shenzhen",)),
    GoldQuestion("who", ("Lau Seng Yee",)),
    GoldQuestion("how much", ("US$150 billion", "nearly US$150 billion")),
    GoldQuestion("ceo", ()),
    GoldQuestion("founded", ()),
]
REPLIES = {
    "where": Reply("Shenzhen", 0.95, "The Shenzhen-based company", ("The Shenzhen-based company", "other")),
    # wrong abstention of a right span, retrieved
    "who": Reply(None, 0.1, "Lau Seng Yee said", ("Lau Seng Yee said",), guess="Lau Seng Yee"),
    "how much": Reply("150 billion", 0.55, "worth nearly US$150 billion", ("no", "worth nearly US$150 billion")),
    "ceo": Reply(None, 0.05, "x", ("x",), guess="x"),  # right abstention
    "founded": Reply("1998", 0.45, "y", ("y",)),  # answered an unanswerable question
}


def test_summary_figures_on_hand_made_outcomes():
    outcomes = run_gold(GOLD, fake_ask(REPLIES), progress=False)
    s = summarize(outcomes, top_k=2)
    assert s.questions == 5
    assert s.exact_match == 40.0  # where + ceo
    # F1: where 1, who 0, how much 2/3 ([150, billion] vs [us150, billion] -> 1/2; vs nearly us150 billion -> 2/3)
    assert s.f1 == pytest.approx(100 * (1 + 0 + 0.5 + 1 + 0) / 5, abs=0.01)
    assert s.recall_at_k == 100.0  # every answerable question had its answer in a retrieved passage
    assert s.no_answer_accuracy == 50.0 and s.abstained_unanswerable == 1 and s.unanswerable == 2
    assert s.no_answer_precision == 50.0 and s.wrong_abstentions == 1
    # abstention aside, the best span is exactly right for where and who, not how much: 2 of 3 answerable
    assert s.best_span_exact_match == pytest.approx(66.67)
    assert all(o.latency_ms >= 0 for o in outcomes)


def test_over_http_the_withheld_best_span_counts_abstention_aside(client):
    ask = http_asker("http://testserver", top_k=2, client=client)
    found, withheld = ask("Where is Tencent based?"), ask("What is the capital of France?")
    assert (found.answer, found.guess) == ("Shenzhen", "Shenzhen") and len(found.retrieved) >= 1
    assert (withheld.answer, withheld.guess) == (None, None)  # the canned reader offers no alternative


def test_over_http_a_null_answer_s_first_alternative_is_its_best_span():
    import httpx

    body = {"answer": None, "score": 0.1, "context": "Lau Seng Yee said", "alternatives": [{"answer": "Lau Seng Yee"}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    ask = http_asker("http://x", None, client=httpx.Client(base_url="http://x", transport=transport))
    reply = ask("Who?")
    assert (reply.answer, reply.guess, reply.retrieved) == (None, "Lau Seng Yee", ("Lau Seng Yee said",))


def test_recall_misses_when_no_retrieved_passage_holds_the_answer():
    outcomes = run_gold([GoldQuestion("q", ("Shenzhen",))], fake_ask({"q": Reply("x", 0.5, "c", ("London",))}), False)
    assert summarize(outcomes, 3).recall_at_k == 0.0


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0


def test_reliability_buckets_count_answers():
    s = summarize(run_gold(GOLD, fake_ask(REPLIES), progress=False), 2)
    by_bucket = {round(r["low"], 1): r for r in s.reliability}
    assert by_bucket[0.9]["answers"] == 1 and by_bucket[0.9]["accuracy"] == 1.0
    assert by_bucket[0.5]["answers"] == 1 and by_bucket[0.5]["accuracy"] == 0.0
    assert sum(r["answers"] for r in s.reliability) == 3  # abstentions have no score bucket


def test_gold_files_jsonl_and_squad(tmp_path):
    jsonl = tmp_path / "g.jsonl"
    jsonl.write_text('{"question": "q1", "answers": ["a"]}\n\n{"question": "q2", "answers": []}\n')
    assert load_gold(jsonl) == [GoldQuestion("q1", ("a",)), GoldQuestion("q2", ())]
    squad = tmp_path / "g.json"
    squad.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": "c a",
                                "qas": [{"id": "1", "question": "q", "answers": [{"text": "a", "answer_start": 2}]}],
                            }
                        ],
                    }
                ]
            }
        )
    )
    assert load_gold(squad) == [GoldQuestion("q", ("a",))]
    squad.write_text(squad.read_text().replace('"question": "q"', '"question": "\\u200b"'))
    with pytest.raises(ValueError, match=r"question 1 .*invisible"):
        load_gold(squad)
    jsonl.write_text('{"question": 3}\n')
    with pytest.raises(ValueError, match=":1:"):
        load_gold(jsonl)
    jsonl.write_text('{"question": "q1", "answers": []}\n{"question": "\\u200b ", "answers": ["a"]}\n')
    with pytest.raises(ValueError, match=r":2:.*invisible"):
        load_gold(jsonl)


def test_report_files_are_written(tmp_path):
    outcomes = run_gold(GOLD, fake_ask(REPLIES), progress=False)
    write_report(tmp_path, summarize(outcomes, 2), outcomes, {"gold": "test"})
    assert {p.name for p in tmp_path.iterdir()} == {
        "results.json",
        "report.md",
        "reliability.png",
        "latency.png",
        "risk_coverage.png",
    }
    report = (tmp_path / "report.md").read_text()
    assert "| who |" in report and "Misses (3)" in report
    assert "(no answer; best span: Lau Seng Yee)" in report and "| best span exactly right" in report
    assert json.loads((tmp_path / "results.json").read_text())["summary"]["exact_match"] == 40.0


def test_dialogues_are_asked_turn_by_turn_with_the_systems_own_answers(tmp_path):
    from qa.answer import Turn
    from qa.evaluation import is_dialogue_file, load_dialogues, run_dialogues

    gold = tmp_path / "dialogues.jsonl"
    gold.write_text(
        '{"turns": [{"question": "Who is Lau?", "answers": ["an executive"]}, {"question": "What did he say?", '
        '"answers": []}]}\n{"turns": [{"question": "Where?", "answers": ["Shenzhen"]}]}\n'
    )
    assert is_dialogue_file(gold) and not is_dialogue_file(tmp_path / "plain.json")
    seen = []

    def ask(question, history=()):
        seen.append((question, tuple(history)))
        if question == "What did he say?":
            return Reply(None, 0.1, "c", ("c",), interpreted="What did Lau say?")
        return Reply("a manager" if question == "Who is Lau?" else "Shenzhen", 0.9, "c", ("c",), interpreted=question)

    outcomes = run_dialogues(load_dialogues(gold), ask, progress=False)
    assert seen[1] == ("What did he say?", (Turn("Who is Lau?", "a manager"),))  # its own answer, not the gold
    assert seen[2] == ("Where?", ())
    assert [(o.turn, o.exact_match, o.interpreted) for o in outcomes] == [
        (1, 0.0, None),
        (2, 1.0, "What did Lau say?"),
        (1, 1.0, None),
    ]


@pytest.mark.parametrize(
    "line,said",
    [
        ('{"turns": []}', "1 to 11 turns"),
        ('{"turns": [{"question": "Who?"}]}', "answers"),
        ('{"turns": [{"question": "", "answers": []}]}', "turns"),
        ('{"turns": "Who?"}', "turns"),
    ],
)
def test_a_bad_dialogue_line_names_its_line(tmp_path, line, said):
    from qa.evaluation import GoldFormatError, load_dialogues

    gold = tmp_path / "bad.jsonl"
    gold.write_text('{"turns": [{"question": "Who?", "answers": []}]}\n' + line + "\n")
    with pytest.raises(GoldFormatError, match=rf"bad.jsonl:2: .*{said}"):
        load_dialogues(gold)


def test_calibration_error_and_risk_coverage_on_hand_made_outcomes():
    from qa.evaluation import Outcome, expected_calibration_error, risk_coverage

    def outcome(score, right, answered=True, answerable=True):
        return Outcome(
            "q", ("a",) if answerable else (), "a" if answered else None, score, "", (), 1.0, "a",
            exact_match=float(right), guess_exact_match=float(right),
        )  # fmt: skip

    calibrated = [outcome(0.75, i < 3) for i in range(4)]  # 0.75 and right 3 times in 4
    assert expected_calibration_error(calibrated) == 0.0
    overconfident = [outcome(0.95, i < 2) for i in range(4)]
    assert expected_calibration_error(overconfident) == 0.45
    assert expected_calibration_error([outcome(0.9, False, answered=False)]) == 0.0  # withheld: not counted
    curve = risk_coverage([outcome(0.9, True), outcome(0.6, False), outcome(0.2, False, answerable=False)], points=10)
    by = {round(r["threshold"], 1): r for r in curve}
    assert by[0.0]["coverage"] == 1.0 and round(by[0.0]["risk"], 3) == 0.667
    assert by[0.5] == {"threshold": 0.5, "coverage": 0.6667, "risk": 0.5}
    assert by[0.9]["coverage"] == 0.3333 and by[0.9]["risk"] == 0.0 and by[1.0]["coverage"] == 0.0
