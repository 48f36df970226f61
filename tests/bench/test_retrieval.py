import json

import pytest

from bench.retrieval import main

from ..training.test_trainer import tiny_squad


@pytest.fixture
def two_articles(tmp_path):
    squad = tiny_squad(tmp_path / "squad.json")
    data = json.loads(squad.read_text())
    docks = json.loads(json.dumps(data["data"][0]).replace("Guilds", "Harbour").replace("guild", "dock"))
    docks = json.loads(json.dumps(docks).replace("workshop", "quay").replace("make", "load"))
    squad.write_text(json.dumps({"version": "1.1", "data": [data["data"][0], docks]}))
    return squad


def test_both_layouts_and_modes_ask_every_question_of_the_same_passages(two_articles, capsys, monkeypatch):
    import qa.pipeline

    hybrid_searches = []
    real_retrieve = qa.pipeline.retrieve

    def spy(store, question, vector, k, how, documents=None):
        if how == "hybrid":
            hybrid_searches.append((store.passage_count(), k))
        return real_retrieve(store, question, vector, k, how, documents)

    monkeypatch.setattr(qa.pipeline, "retrieve", spy)
    assert main([str(two_articles), "--top-k", "1"]) == 0
    out = capsys.readouterr().out
    rows = json.loads(out.strip().splitlines()[-1])
    assert "| layout | retrieval |" in out
    assert [(r["layout"], r["retrieval"]) for r in rows] == [
        ("article", "dense"),
        ("article", "hybrid"),
        ("corpus", "dense"),
        ("corpus", "hybrid"),
    ]
    assert [r["indexes"] for r in rows] == [2, 2, 1, 1]
    assert {r["questions"] for r in rows} == {48}
    assert len({r["passages"] for r in rows}) == 1
    for r in rows:
        assert 0 <= r["exact_match"] <= r["f1"] <= 100
        assert 0 <= r["recall_at_k"] <= 100
    # the hybrid rows alone searched with BM25: 48 questions of a 2-passage index each, then 48 of the 4-passage one
    assert hybrid_searches == [(2, 1)] * 48 + [(4, 1)] * 48


def test_seen_articles_are_left_out_and_bad_settings_refused(two_articles, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main([str(two_articles), "--exclude-seen", str(two_articles)])
    assert exited.value.code == 2
    assert "no articles left" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main([str(two_articles), "--top-k", "0"])
    assert exited.value.code == 2
    assert "top_k" in capsys.readouterr().err
