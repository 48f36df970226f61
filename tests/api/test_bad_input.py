"""Every kind of bad input gets a clear JSON 4xx, never a 500."""

import pytest


def ask_raw(client, content: bytes, content_type="application/json"):
    return client.post("/ask", content=content, headers={"content-type": content_type})


@pytest.mark.parametrize(
    "body,status,words",
    [
        ({}, 422, "question"),
        ({"question": ""}, 422, "empty"),
        ({"question": "   \n\t "}, 422, "whitespace"),
        ({"question": "\u200b\u200b \ufeff"}, 422, "invisible"),  # zero-width spaces and a BOM: nothing to read
        ({"question": 42}, 422, "string"),
        ({"question": ["Where?"]}, 422, "string"),
        ({"question": None}, 422, "string"),
        ({"question": "Where?", "top_k": 0}, 422, "top_k"),
        ({"question": "Where?", "top_k": 11}, 422, "top_k"),
        ({"question": "Where?", "top_k": "3"}, 422, "top_k"),
        ({"question": "Where?", "top_k": 2.5}, 422, "top_k"),
        ({"question": "Where?", "top_k": True}, 422, "top_k"),
        ({"question": "Where?", "colour": "red"}, 422, "colour"),
        ({"question": "x" * 1001}, 422, "1000"),
        ({"question": "Where\x00 is it?"}, 422, "control"),
        ([1, 2], 422, "object"),
        ("just a string", 422, ""),
    ],
)
def test_bad_bodies_are_422_with_a_message(client, body, status, words):
    r = client.post("/ask", json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and words.lower() in detail.lower()


def test_question_of_exactly_1000_characters_is_accepted(client):
    assert client.post("/ask", json={"question": "é" * 999 + "?"}).status_code == 200


@pytest.mark.parametrize(
    "raw,words",
    [
        (b'{"question": "Where?"', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"question": "caf\xe9"}', "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"question": "Where?"} trailing', "not valid JSON"),
    ],
)
def test_unparseable_bodies_are_400(client, raw, words):
    r = ask_raw(client, raw)
    assert r.status_code == 400 and words in r.json()["detail"]


def test_a_lone_surrogate_escape_is_422_not_a_crash(client):
    # valid JSON that decodes to a string no tokenizer takes (it made the reader raise: a 500 until 2026-12-05)
    r = ask_raw(client, b'{"question": "Where is \\ud800 Tencent based?"}')
    assert r.status_code == 422 and "Unicode" in r.json()["detail"]


def test_deeply_nested_object_inside_valid_json_is_4xx(client):
    nested = b'{"question": "Where?", "top_k": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    assert ask_raw(client, nested).status_code in (400, 422)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""]
)
def test_wrong_content_types_are_415(client, content_type):
    r = client.post("/ask", content=b"question=Where", headers={"content-type": content_type} if content_type else {})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]


def test_body_over_64_kib_is_413(client):
    r = client.post("/ask", json={"question": "Where?", "pad": "x" * 70_000})
    assert r.status_code == 413 and "bytes" in r.json()["detail"]


def test_wrong_method_and_unknown_path_are_json_4xx(client):
    assert client.get("/ask").status_code == 405
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json()["detail"]


def test_server_still_answers_after_abuse(client):
    for raw in (b"\xff", b"[" * 10000, b"{}"):
        ask_raw(client, raw)
    assert client.post("/ask", json={"question": "Where is Tencent based?"}).json()["answer"] == "Shenzhen"
