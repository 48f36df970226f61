"""Documents from the command line, with the real embedder: qa index (incremental, --prune), qa documents."""

import json

import pytest

from qa.cli import main

pytestmark = pytest.mark.slow


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_list_remove_and_prune(tmp_path, capsys):
    docs, store = tmp_path / "docs", str(tmp_path / "store")
    (docs / "guide").mkdir(parents=True)
    (docs / "notes.md").write_text("The pilot starts in March in Leeds. It runs for six weeks.")
    (docs / "guide" / "README.md").write_text("The guide explains how the harbour logs ships.")
    code, out, _ = run(capsys, "index", str(docs), "--index-dir", store)
    assert code == 0 and "2 added, 0 updated, 0 unchanged" in out

    code, out, _ = run(capsys, "documents", "--json", "--index-dir", store)
    assert code == 0 and sorted(d["id"] for d in json.loads(out)) == ["guide--README.md", "notes.md"]

    assert run(capsys, "documents", "remove", "notes.md", "--index-dir", store)[0] == 0
    code, _, err = run(capsys, "documents", "remove", "notes.md", "--index-dir", store)
    assert code == 1 and "no document has the id 'notes.md'" in err

    (docs / "guide" / "README.md").unlink()
    code, out, _ = run(capsys, "index", str(docs), "--prune", "--index-dir", store)
    assert code == 0 and "1 added, 0 updated, 0 unchanged, 1 removed;" in out  # notes.md back, the guide gone
    code, out, _ = run(capsys, "documents", "--index-dir", store)
    assert "notes.md" in out and "guide--README.md" not in out
