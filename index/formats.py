"""The text of a document file: plain text and Markdown as written, HTML as rendered, PDF from its text layer,
Word (.docx) paragraph by paragraph.

The extracted text is what gets indexed and quoted: passage and answer offsets point into it.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
WORD_SUFFIXES = (".docx",)
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES + WORD_SUFFIXES

_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


# a .docx (a zip) that inflates past this, or by more than this ratio, is refused as a decompression bomb
MAX_INFLATED_BYTES = 256 * 1024 * 1024
MAX_INFLATION_RATIO = 200
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)


class UnreadableDocument(ValueError):
    """A file whose text cannot be read: not UTF-8, a broken or encrypted file, a PDF without a text layer."""


class UnsupportedFormat(ValueError):
    """A file of a kind that is not indexed, or whose content is not what its name says."""


def content_kind(raw: bytes) -> str:
    """What the bytes are, whatever the name says: "pdf", "docx", "zip" (another zip), "html", "text" (UTF-8
    without NUL bytes) or "binary"."""
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if raw.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in raw[:65536] or _zip_has(raw, "word/document.xml") else "zip"
    if _HTML_START.match(raw[:4096]):
        return "html"
    if b"\x00" in raw[:65536]:
        return "binary"
    return "text"


def _zip_has(raw: bytes, name: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return name in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


# the content kinds each suffix accepts: text may be named .html (a fragment), HTML may be named .txt/.md
_ACCEPTS = {
    **{suffix: {"text", "html"} for suffix in TEXT_SUFFIXES + HTML_SUFFIXES},
    ".pdf": {"pdf"},
    ".docx": {"docx"},
}


def check_format(name: str, raw: bytes) -> None:
    """Refuse (UnsupportedFormat) a name of a kind not indexed, or content that is not what the name says;
    refuse (UnreadableDocument) a .docx that would inflate like a decompression bomb."""
    suffix = Path(name).suffix.lower()
    if suffix not in _ACCEPTS:
        raise UnsupportedFormat(f"{name!r}: not an indexed format; send one of {', '.join(SUFFIXES)}")
    kind = content_kind(raw)
    if kind not in _ACCEPTS[suffix]:
        raise UnsupportedFormat(f"{name!r} is named {suffix} but its content is {_KIND_NAMES[kind]}")
    if kind == "docx":
        check_inflation(raw)


_KIND_NAMES = {
    "pdf": "a PDF",
    "docx": "a Word document",
    "zip": "a zip archive",
    "html": "HTML",
    "text": "plain text",
    "binary": "binary data",
}


def check_inflation(raw: bytes) -> None:
    """A zip whose members would inflate past `MAX_INFLATED_BYTES` or `MAX_INFLATION_RATIO` is refused unread."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableDocument(f"not a readable Word document ({exc})") from exc
    if inflated > MAX_INFLATED_BYTES or inflated > MAX_INFLATION_RATIO * max(len(raw), 1):
        raise UnreadableDocument(
            f"a Word document that would inflate from {len(raw):,} to {inflated:,} bytes: refused as a "
            "decompression bomb"
        )


def extract_text(suffix: str, raw: bytes) -> str:
    """The text of a file's bytes, by its suffix; any suffix not HTML, PDF or Word is read as UTF-8 text.

    A NUL character becomes a space (same length, so offsets hold): no database text column takes it."""
    return _extract(suffix.lower(), raw).replace("\x00", " ")


def _extract(suffix: str, raw: bytes) -> str:
    if suffix in HTML_SUFFIXES:
        return html_text(raw)
    if suffix in PDF_SUFFIXES:
        return pdf_text(raw)
    if suffix in WORD_SUFFIXES:
        check_inflation(raw)
        return docx_text(raw)
    return utf8_text(raw)


def utf8_text(raw: bytes) -> str:
    """Text and Markdown exactly as written: offsets into it are offsets into the file's characters."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); indexed formats: {', '.join(SUFFIXES)}"
        ) from exc


def html_text(raw: bytes) -> str:
    """The page as a browser would lay it out in plain text (inscriptis), without scripts, styles or markup."""
    from inscriptis import get_text

    return tidy(get_text(decode_html(raw)))


def decode_html(raw: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else the charset the page declares in a <meta> tag."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        declared = _DECLARED_CHARSET.search(raw[:4096])
        if declared is None:
            raise UnreadableDocument(
                f"HTML that is not UTF-8 and declares no charset ({exc.reason} at byte {exc.start})"
            ) from exc
        charset = declared.group(1).decode("ascii")
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError) as inner:
            raise UnreadableDocument(f"HTML that does not decode as its declared charset {charset}") from inner


def pdf_text(raw: bytes) -> str:
    """The PDF's text layer (pypdf), a page per paragraph: a line break inside a page becomes a space."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        locked = reader.is_encrypted and not reader.decrypt("")
        pages = [] if locked else [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # a damaged file makes pypdf raise many kinds; the message says which
        raise UnreadableDocument(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if locked:
        raise UnreadableDocument("an encrypted PDF: decrypt it first")
    text = "\n\n".join(" ".join(line.strip() for line in page.splitlines() if line.strip()) for page in pages)
    if not text.strip():
        raise UnreadableDocument(f"a PDF of {len(pages)} page(s) without a text layer (scanned?): OCR it first")
    return tidy(text)


def docx_text(raw: bytes) -> str:
    """A Word document's paragraphs and tables in their order (python-docx), a blank line between blocks."""
    import docx

    try:
        blocks = [block_text(block) for block in docx.Document(io.BytesIO(raw)).iter_inner_content()]
    except Exception as exc:  # not a zip, not Word's XML inside: python-docx raises many kinds
        raise UnreadableDocument(f"not a readable Word document ({type(exc).__name__}: {exc})") from exc
    return tidy("\n\n".join(block for block in blocks if block.strip()))


def block_text(block: Paragraph | Table) -> str:
    """A paragraph's text, or a table's rows one per line, cells two spaces apart (a merged cell once)."""
    from docx.table import Table

    if not isinstance(block, Table):
        return block.text
    rows = []
    for row in block.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
        rows.append("  ".join(cells))
    return "\n".join(rows)


def tidy(text: str) -> str:
    """Trailing spaces off each line and runs of blank lines down to one: the paragraphs stay apart."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip("\n") + "\n"
