"""What the pipeline accepts as a question: visible text within a length, no control characters, valid Unicode.

One set of character classes says it, for the API's schema (clients, fuzzers) and for the check itself, so the
two agree (but on lone surrogates, which the schema cannot name portably). They are spelled out so that ECMA and
Python regexes read them alike.
"""

from __future__ import annotations

import re

# Control characters (Unicode Cc) but tab, newline and carriage return.
CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Halves of UTF-16 pairs: not text. JSON's "\ud800" decodes to one, and the tokenizers refuse it.
SURROGATE = r"\ud800-\udfff"
# Every character Python's str.isspace() counts.
SPACE = r"\s\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Invisible format characters (Unicode 14 Cf in the Basic Multilingual Plane: soft hyphen, zero-width space and
# joiners, direction marks, BOM…): a question made of them and spaces looks empty and is, to the reader. The few
# beyond it (tag characters, hieroglyph and musical format controls) count as visible: an ECMA regex without the
# u flag cannot hold them in a class.
INVISIBLE = (
    r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff\ufff9-\ufffb"
)
# Lone surrogates are refused by the check alone: a class excluding them would also exclude the halves of every
# character beyond the BMP in an ECMA regex without the u flag, and schema-driven generators misread such ranges.
VISIBLE = rf"[^{SPACE}{INVISIBLE}{CONTROL}]"
QUESTION_PATTERN = rf"^[^{CONTROL}]*{VISIBLE}[^{CONTROL}]*$"

_CONTROL_CHAR = re.compile(f"[{CONTROL}]")
_SURROGATE_CHAR = re.compile(f"[{SURROGATE}]")
_VISIBLE_CHAR = re.compile(VISIBLE)


class InvalidQuestionError(ValueError):
    """A question the pipeline cannot read; the message says what to change."""


def check_question(question: str, max_chars: int | None = None) -> str:
    """The question without surrounding whitespace, or InvalidQuestionError saying what is wrong with it."""
    if surrogate := _SURROGATE_CHAR.search(question):
        raise InvalidQuestionError(
            f"question: must be valid Unicode text, not a lone UTF-16 surrogate (U+{ord(surrogate.group()):04X})"
        )
    if _CONTROL_CHAR.search(question):
        raise InvalidQuestionError("question: must not contain control characters")
    if not _VISIBLE_CHAR.search(question):
        raise InvalidQuestionError("question: must not be empty or only whitespace and invisible characters")
    if max_chars is not None and len(question) > max_chars:
        raise InvalidQuestionError(f"question: must be at most {max_chars} characters (got {len(question)})")
    return question.strip()
