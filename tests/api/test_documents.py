"""Documents through HTTP: upload (multipart or JSON), replace, list, delete, the filter on /ask, write guards
and the limits on what may be uploaded (the reader is a double; the store and embedder are real enough)."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qa.settings import Settings

from ..conftest import LOOPBACK_CLIENT, SEED
from ..index.test_formats import make_pdf, word_document

NOTE = "The pilot programme starts in March in Leeds. It runs for six weeks and ends with a report."


def make_client(canned, **settings) -> TestClient:
    return TestClient(create_app(Settings(**settings), answerer=canned), client=LOOPBACK_CLIENT)


def upload(client, name, raw, **kw):
    return client.post("/documents", files={"file": (name, raw, "application/octet-stream")}, **kw)


def ids(client) -> list[str]:
    return [d["id"] for d in client.get("/documents").json()["documents"]]


def test_a_file_uploaded_is_listed_searchable_and_removable(client, canned):
    r = upload(client, "notes/pilot plan.txt", NOTE.encode())
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["id"] == "pilot-plan.txt" and doc["name"] == "pilot plan.txt"  # the path part is dropped
    assert doc["status"] == "indexed" and doc["source"] == "upload" and doc["passages"] == 1
    assert len(doc["sha256"]) == 64 and doc["characters"] == len(NOTE)
    assert ids(client) == ["pilot-plan.txt", SEED.name]
    assert canned.store.keyword_search("Leeds pilot", 1)[0].passage.document == "pilot-plan.txt"
    assert client.get("/documents/pilot-plan.txt").json() == doc

    assert client.delete("/documents/pilot-plan.txt").status_code == 204
    assert ids(client) == [SEED.name] and not canned.store.keyword_search("Leeds", 1)
    assert client.delete("/documents/pilot-plan.txt").status_code == 404
    assert client.get("/documents/pilot-plan.txt").status_code == 404


def test_json_uploads_and_re_uploading_the_same_name_replaces_it(client, canned):
    first = client.post("/documents", json={"name": "plan.md", "text": NOTE})
    assert first.status_code == 201 and first.json()["id"] == "plan.md"
    second = client.post("/documents", json={"name": "plan.md", "text": "The pilot moved to York in April."})
    assert second.status_code == 201 and second.json()["added"] == first.json()["added"]
    assert second.json()["sha256"] != first.json()["sha256"]
    assert ids(client).count("plan.md") == 1
    assert canned.store.keyword_search("York", 1) and not canned.store.keyword_search("Leeds", 1)


def test_the_same_content_again_is_not_embedded_again(client, canned):
    assert upload(client, "note.txt", NOTE.encode()).status_code == 201
    before = canned.embedder.embedded
    again = upload(client, "note.txt", NOTE.encode())
    assert again.status_code == 201 and canned.embedder.embedded == before


@pytest.mark.parametrize(
    "name,raw",
    [
        ("report.pdf", make_pdf([["The memorandum was signed in London."]])),
        ("facts.docx", word_document()),
        ("page.html", b"<!doctype html><html><body><p>The pilot starts in Leeds.</p></body></html>"),
        ("notes.md", b"# Notes\n\nThe pilot starts in Leeds."),
    ],
)
def test_every_indexed_format_uploads(client, name, raw):
    r = upload(client, name, raw)
    assert r.status_code == 201, r.text
    assert r.json()["passages"] >= 1


@pytest.mark.parametrize(
    "name,raw,status,said",
    [
        ("picture.png", b"\x89PNG\r\n\x1a\n", 415, "not an indexed format"),
        ("report.pdf", NOTE.encode(), 415, "its content is plain text"),
        ("notes.txt", make_pdf([["a PDF named .txt"]]), 415, "its content is a PDF"),
        ("facts.docx", b"PK\x03\x04 not really", 415, "zip archive"),
        ("notes.txt", b"caf\xe9 au lait", 422, "not UTF-8"),
        ("scan.pdf", b"%PDF-1.4\n%broken", 422, "PDF"),
        ("empty.txt", b"", 422, "empty"),
        ("blank.txt", b"   \n\n  ", 422, "no text"),
        (".hidden.txt", NOTE.encode(), 422, "not a usable file name"),
    ],
)
def test_what_cannot_be_indexed_is_a_clear_4xx_and_changes_nothing(client, canned, name, raw, status, said):
    before = canned.store.documents()
    r = upload(client, name, raw)
    assert r.status_code == status, r.text
    assert said in r.json()["detail"]
    assert canned.store.documents() == before


def test_an_encrypted_pdf_is_refused(client):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([["Secret plans."]]))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    r = upload(client, "locked.pdf", out.getvalue())
    assert r.status_code == 422 and "encrypted" in r.json()["detail"]


def test_a_docx_decompression_bomb_is_refused_unread(client):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (300 * 1024 * 1024))
    r = upload(client, "bomb.docx", out.getvalue())
    assert r.status_code == 422 and "decompression bomb" in r.json()["detail"]


def test_uploads_over_the_size_limit_are_413(canned):
    with make_client(canned, max_upload_mb=0.01) as small:
        r = upload(small, "big.txt", b"word " * 30000)
        assert r.status_code == 413 and "QA_MAX_UPLOAD_MB" in r.json()["detail"]


def test_a_form_without_the_file_field_and_bad_json_are_422(client):
    r = client.post("/documents", files={"document": ("a.txt", b"text", "text/plain")})
    assert r.status_code == 422 and "field `file`" in r.json()["detail"]
    r = client.post("/documents", json={"name": "a.txt"})
    assert r.status_code == 422 and "text" in r.json()["detail"]
    r = client.post("/documents", json={"name": "a.txt", "text": "x", "extra": 1})
    assert r.status_code == 422
    r = client.post("/documents", content=b"plain", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]


def test_large_uploads_are_accepted_at_once_and_indexed_in_the_background(canned):
    text = " ".join(f"Week {i}: the harbour logged {i * 3} ships." for i in range(400))
    with make_client(canned, upload_wait_passages=3) as client:
        r = client.post("/documents", json={"name": "harbour.txt", "text": text})
        assert r.status_code == 202 and r.json()["status"] == "indexing"
        assert r.headers["location"] == "/documents/harbour.txt"
        client.app.state.service.library._writer.submit(lambda: None).result(timeout=60)  # the write is done
        done = client.get("/documents/harbour.txt").json()
        assert done["status"] == "indexed" and done["passages"] > 3


def test_ask_reads_only_the_documents_named(client, canned):
    upload(client, "note.txt", NOTE.encode())
    assert client.post("/ask", json={"question": "Where?", "documents": ["note.txt"]}).status_code == 200
    assert canned.asked[-1].documents == ("note.txt",)
    assert client.post("/ask", json={"question": "Where?"}).status_code == 200
    assert canned.asked[-1].documents is None
    r = client.post("/ask", json={"question": "Where?", "documents": ["note.txt", "nope.pdf"]})
    assert r.status_code == 404 and "'nope.pdf'" in r.json()["detail"]
    assert client.post("/ask", json={"question": "Where?", "documents": []}).status_code == 422
    assert client.post("/ask", json={"question": "Where?", "documents": "note.txt"}).status_code == 422


def test_the_listing_says_what_the_seed_article_answers_and_who_may_write(client):
    info = client.get("/documents").json()
    [seed] = info["documents"]
    assert seed["examples"] and info["examples"] == seed["examples"] and seed["source"] == "file"
    assert info["writes"] == "open" and info["embedding_model"] == "hashing-test-embedder"


def test_without_a_token_only_the_servers_own_machine_may_write(canned):
    with TestClient(create_app(Settings(), answerer=canned), client=("203.0.113.9", 4000)) as remote:
        r = upload(remote, "note.txt", NOTE.encode())
        assert r.status_code == 403 and "QA_API_TOKEN" in r.json()["detail"]
        assert remote.delete(f"/documents/{SEED.name}").status_code == 403
        assert remote.get("/documents").json()["writes"] == "closed"
        assert remote.post("/ask", json={"question": "Where?"}).status_code == 200  # reads stay open
    assert [d.id for d in canned.store.documents()] == [SEED.name]


def test_with_a_token_writes_need_it_from_anywhere(canned):
    app = create_app(Settings(api_token="s3cret-token"), answerer=canned)
    with TestClient(app, client=("203.0.113.9", 4000)) as remote, TestClient(app, client=LOOPBACK_CLIENT) as local:
        for client in (remote, local):
            r = upload(client, "note.txt", NOTE.encode())
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            bad = {"Authorization": "Bearer s3cret-tokem"}
            assert upload(client, "note.txt", NOTE.encode(), headers=bad).status_code == 401
            assert client.get("/documents").json()["writes"] == "token"
        good = {"Authorization": "Bearer s3cret-token"}
        assert upload(remote, "note.txt", NOTE.encode(), headers=good).status_code == 201
        assert remote.delete("/documents/note.txt", headers=good).status_code == 204
