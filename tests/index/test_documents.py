from pathlib import Path

import pytest

from index.documents import DocumentError, load_documents, parse_document

from ..conftest import SEED


def test_seed_date_line_is_metadata_not_prose():
    doc = load_documents([SEED])[0]
    assert doc.date == "2018-05-09"
    assert doc.body.startswith("Chinese tech giant Tencent")
    assert doc.text.startswith(" date 2018-05-09 ")
    assert doc.id == SEED.name


def test_document_without_date_line_keeps_all_text():
    doc = parse_document("a.txt", Path("a.txt"), b"Plain text. Another sentence.")
    assert doc.date is None and doc.body_start == 0


def test_non_utf8_document_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(DocumentError, match="not UTF-8"):
        load_documents([bad])


def test_missing_path_and_empty_folder_are_errors(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        load_documents([tmp_path / "nope"])
    with pytest.raises(DocumentError, match=r"no documents \(\.txt, \.md, \.html"):
        load_documents([tmp_path])


def test_same_file_name_twice_is_refused(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text("Text.")
    with pytest.raises(DocumentError, match=r"two documents are named same\.txt"):
        load_documents([tmp_path])
