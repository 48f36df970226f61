import pytest

from index.documents import DocumentError, document_id, load_documents, parse_document

from ..conftest import SEED


def test_seed_date_line_is_metadata_not_prose():
    doc = load_documents([SEED])[0]
    assert doc.date == "2018-05-09"
    assert doc.body.startswith("Chinese tech giant Tencent")
    assert doc.text.startswith(" date 2018-05-09 ")
    assert doc.id == SEED.name


def test_document_without_date_line_keeps_all_text():
    doc = parse_document("a.txt", "a.txt", b"Plain text. Another sentence.")
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


def test_same_file_name_in_two_folders_is_two_documents(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text("Text.")
    assert [d.id for d in load_documents([tmp_path])] == ["a--same.txt", "b--same.txt"]


def test_document_ids_are_url_safe_and_refuse_names_without_letters():
    assert document_id("Annual Report (final).pdf") == "Annual-Report-final-.pdf"
    assert document_id("../../etc/passwd") == "etc--passwd"
    assert document_id("caf\u00e9 notes.md") == "cafe-notes.md"
    assert document_id("\u62a5\u544a.pdf").startswith("document-") and document_id("\u62a5\u544a.pdf").endswith(".pdf")
    assert document_id("\u62a5\u544a.pdf") != document_id("\u6587\u4ef6.pdf")
    with pytest.raises(DocumentError, match="no usable document id"):
        document_id("..")


def test_example_questions_come_from_a_file_beside_the_document(tmp_path):
    (tmp_path / "a.txt").write_text("Some text.")
    (tmp_path / "a.txt.questions.json").write_text('["What is it?"]')
    (tmp_path / "b.txt").write_text("Other text.")
    (tmp_path / "b.txt.questions.json").write_text('{"not": "a list"}')
    with pytest.raises(DocumentError, match="JSON list of questions"):
        load_documents([tmp_path])
    (tmp_path / "b.txt.questions.json").unlink()
    assert [d.examples for d in load_documents([tmp_path])] == [("What is it?",), ()]
