import json

from bench.corpus import main
from index.documents import load_documents
from training.squad import load_squad

from ..training.test_trainer import tiny_squad


def test_articles_not_seen_become_documents_holding_every_gold_paragraph(tmp_path):
    squad = tiny_squad(tmp_path / "squad.json")
    data = json.loads(squad.read_text())
    other = json.loads(json.dumps(data["data"][0]).replace("Guilds", "Harbour: North/South").replace("guild", "dock"))
    squad.write_text(json.dumps({"version": "1.1", "data": [data["data"][0], other]}))
    seen = tmp_path / "seen.json"
    seen.write_text(json.dumps({"version": "1.1", "data": [data["data"][0]]}))

    assert main([str(squad), "--exclude-seen", str(seen), "--out", str(tmp_path / "corpus")]) == 0
    documents = load_documents([tmp_path / "corpus" / "documents"])
    assert [d.id for d in documents] == ["Harbour_North_South.txt"]
    gold = load_squad(tmp_path / "corpus" / "gold.json")
    assert gold and all(ex.title == "Harbour: North/South" for ex in gold)
    assert all(ex.context in documents[0].text for ex in gold)
