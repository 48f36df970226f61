"""The HTTP contract of POST /ask, /health, /documents, the docs and security headers (reader is a double)."""

import pytest

from api.app import create_app
from qa.answer import Answer
from qa.settings import Settings

from ..conftest import ROOT


def test_ask_returns_the_documented_fields(client, canned):
    r = client.post("/ask", json={"question": "Where is Tencent based?"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {"answer", "score", "context", "answer_start", "answer_end", "source", "alternatives"}
    assert body["answer"] == "Shenzhen"
    assert body["context"][body["answer_start"] : body["answer_end"]] == "Shenzhen"
    assert set(body["source"]) == {"document", "passage", "start", "end"}
    assert body["source"]["document"] == "tencent-uk-partnership-2018.txt"
    document = (ROOT / "seeds" / body["source"]["document"]).read_text(encoding="utf-8")
    assert document[body["source"]["start"] : body["source"]["end"]] == "Shenzhen"  # offsets into the document
    assert 0.0 <= body["score"] <= 1.0
    assert canned.calls[-1] == ("Where is Tencent based?", None)


def test_top_k_is_passed_and_question_is_stripped(client, canned):
    assert client.post("/ask", json={"question": "  Where?  ", "top_k": 5}).status_code == 200
    assert canned.calls[-1] == ("Where?", 5)


def test_null_answer(client):
    body = client.post("/ask", json={"question": "What is the capital of France?"}).json()
    assert body["answer"] is None
    assert body["answer_start"] == body["answer_end"] == 0
    assert body["context"]


def test_nothing_retrieved_is_a_null_answer_not_a_500(canned):
    """An index of blank documents has no passages: the pipeline answers with no passage at all."""
    from fastapi.testclient import TestClient

    canned.answer = lambda question, top_k=None: Answer(question, None, 0.0, None)
    with TestClient(create_app(Settings(), answerer=canned)) as client:
        r = client.post("/ask", json={"question": "Where is Tencent based?"})
    assert r.status_code == 200
    assert r.json() | {"source": None} == {
        "answer": None,
        "score": 0.0,
        "context": "",
        "answer_start": 0,
        "answer_end": 0,
        "source": None,
        "alternatives": [],
        "retrieved": [],
        "interpreted_question": "Where is Tencent based?",
        "reader": "fast",
    }


@pytest.mark.parametrize("question", ["Où est basé Tencent ? 🤔", "腾讯总部在哪里\uff1f", "Tencent 👍🏽 based‽"])
def test_unicode_and_emoji_questions_work(client, question):
    assert client.post("/ask", json={"question": question}).status_code == 200


def test_health_and_documents(client):
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/documents").json()
    assert info["documents"][0]["id"] == "tencent-uk-partnership-2018.txt"
    assert info["documents"][0]["date"] == "2018-05-09"
    assert info["passages"] >= 1 and len(info["examples"]) >= 3
    assert info["reader_mode"] == "fast" and info["accurate_reader_model"] is None


def test_health_is_503_until_loaded_then_503_with_reason_on_failure(tmp_path):
    from fastapi.testclient import TestClient

    settings = Settings(reader_model=str(tmp_path / "no-reader"), index_dir=tmp_path / "index")
    with TestClient(create_app(settings)) as c:
        first = c.get("/health")
        assert first.status_code == 503
        import time

        for _ in range(200):
            r = c.get("/health")
            if r.json()["status"] == "error":
                break
            time.sleep(0.1)
        assert r.status_code == 503 and str(tmp_path / "no-reader") in r.json()["detail"]
        ask = c.post("/ask", json={"question": "Where?"})
        assert ask.status_code == 503 and "not ready" in ask.json()["detail"]


def test_openapi_and_offline_docs(client):
    schema = client.get("/openapi.json").json()
    assert "/ask" in schema["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("path", ["/", "/health", "/docs", "/nope"])
def test_security_headers_and_request_id_on_every_response(client, path):
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert len(r.headers["x-request-id"]) >= 8


def test_request_id_is_echoed_when_sane(client):
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert client.get("/health", headers={"x-request-id": "bad id\t"}).headers["x-request-id"] != "bad id\t"


def test_cors_is_off_by_default_and_allow_listed_when_set(canned):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(), answerer=canned)) as c:
        r = c.get("/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(Settings(cors_origins=["https://ok.example"]), answerer=canned)) as c:
        assert (
            c.get("/health", headers={"origin": "https://ok.example"}).headers["access-control-allow-origin"]
            == "https://ok.example"
        )
        assert "access-control-allow-origin" not in c.get("/health", headers={"origin": "https://evil.example"}).headers


def test_follow_ups_carry_their_history_and_the_reply_says_what_was_read(client, canned):
    history = [{"question": "Who is Lau Seng Yee?", "answer": "senior executive vice president"}]
    r = client.post("/ask", json={"question": "What did he say?", "history": history})
    assert r.status_code == 200, r.text
    assert r.json()["interpreted_question"] == "What did he say?"  # the double reads questions as they come
    [turn] = canned.asked[-1].history
    assert (turn.question, turn.answer) == ("Who is Lau Seng Yee?", "senior executive vice president")
    plain = client.post("/ask", json={"question": "Where is Tencent based?"}).json()
    assert plain["interpreted_question"] == "Where is Tencent based?" and canned.asked[-1].history == ()


@pytest.mark.parametrize(
    "history,said",
    [
        ([{"question": "Who?", "answer": None}] * 11, "history"),
        ([{"question": "Who?"}], "answer"),
        ([{"question": "", "answer": None}], "history.1.question"),
        ([{"question": "Who?", "answer": "x" * 1001}], "history.1.answer"),
        ([{"question": "Who?", "answer": None, "extra": 1}], "extra"),
        ([["Who?", None]], "history"),
        ({"question": "Who?", "answer": None}, "history"),
    ],
)
def test_a_bad_history_is_a_clear_422(client, history, said):
    r = client.post("/ask", json={"question": "What did he say?", "history": history})
    assert r.status_code == 422 and said in r.json()["detail"], r.text
