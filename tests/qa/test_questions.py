"""qa.questions: a question must hold visible text, in valid Unicode, without control characters."""

import json
import re
import shutil
import subprocess
import unicodedata

import pytest

from qa.questions import QUESTION_PATTERN, InvalidQuestionError, check_question

HIDDEN = {"Cc", "Cf"}  # control, format (zero-width, direction marks, BOM)


def test_visible_means_what_unicode_says():
    """The pattern's "at least one visible character" class is exactly: not whitespace, control or format, over
    the Basic Multilingual Plane but surrogates (Unicode as this Python knows it)."""
    visible = re.compile(QUESTION_PATTERN)
    disagree = [
        hex(code)
        for code in [*range(0xD800), *range(0xE000, 0x10000)]
        if bool(visible.match(chr(code))) == (chr(code).isspace() or unicodedata.category(chr(code)) in HIDDEN)
    ]
    assert disagree == []


@pytest.mark.parametrize(
    "question,words",
    [
        ("", "empty"),
        ("  \n\t\u3000", "whitespace"),
        ("\u200b\u200b ", "invisible"),  # zero-width spaces
        ("\ufeff\u200d\u2060", "invisible"),  # BOM, zero-width joiner, word joiner
        ("Where is \ud800 Tencent based?", "U+D800"),  # what JSON's "\ud800" decodes to
        ("Where\x00 is it?", "control"),
        ("Where\x85 is it?", "control"),  # C1 next line
        ("x" * 11, "at most 10 characters (got 11)"),
    ],
)
def test_unreadable_questions_are_refused_with_the_reason(question, words):
    with pytest.raises(InvalidQuestionError, match=re.escape(words)):
        check_question(question, max_chars=10)
    if "U+D800" not in words:  # the schema says the same, but of lone surrogates
        assert not re.match(QUESTION_PATTERN, question) or len(question) > 10


@pytest.mark.parametrize(
    "question",
    ["Where?", " Where is\tTencent\nbased? ", "Wo ist \u200bTencent?", "🐧 \U0001f1ec\U0001f1e7?", "Co\u00adoperation"],
)
def test_readable_questions_pass_stripped(question):
    assert check_question(question, max_chars=100) == question.strip()
    assert re.match(QUESTION_PATTERN, question)


@pytest.mark.parametrize("question", ["", "\u200b", "Where\udcff?"])  # argv's undecodable bytes arrive as \udcXX
def test_qa_ask_refuses_an_unreadable_question_before_loading_anything(question, capsys):
    from qa.cli import main

    assert main(["ask", question]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa ask: question: must") and "Traceback" not in err


SAMPLES = ["Where?", "\u200b \ufeff", "a\u200bb", "🐧?", "\x00", "🐧", "\u00ad\u2060"]
JS = """
const [pattern, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(["", "u"].map((flags) => samples.map((s) => new RegExp(pattern, flags).test(s)))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_an_ecma_regex_reads_the_pattern_as_python_does_with_and_without_the_u_flag():
    # JSON Schema patterns are ECMA 262; clients compile them with or without the u flag
    payload = json.dumps([QUESTION_PATTERN, SAMPLES])
    done = subprocess.run(["node", "-e", JS], input=payload, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    python = [bool(re.match(QUESTION_PATTERN, s)) for s in SAMPLES]
    assert python == [True, False, True, True, False, True, False]
    assert json.loads(done.stdout) == [python, python]
