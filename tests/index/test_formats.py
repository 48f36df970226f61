"""Document formats: HTML as rendered text, PDF from its text layer, clear errors for what cannot be read."""

import io

import pytest

from index.chunking import chunk_document
from index.documents import DocumentError, load_documents, parse_document
from index.formats import UnreadableDocument, extract_text

from ..conftest import SEED


def make_pdf(pages: list[list[str]]) -> bytes:
    """A PDF whose pages show these lines in Helvetica: a text layer, as a word processor would write it."""
    n, objects = len(pages), [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n))
    objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n))
    for i, lines in enumerate(pages):
        escaped = [line.encode("latin-1").replace(b"(", b"\\(").replace(b")", b"\\)") for line in lines]
        stream = b"BT /F1 12 Tf 72 720 Td " + b" 0 -16 Td ".join(b"(%s) Tj" % line for line in escaped) + b" ET"
        resources = b"<< /Font << /F1 %d 0 R >> >>" % (3 + 2 * n)
        objects.append(b"<< /Type /Page /Parent 2 0 R /Contents %d 0 R /Resources %s >>" % (4 + 2 * i, resources))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PAGE = b"""<!doctype html><html><head><title>Tab title</title><style>p { color: red }</style>
<script>document.write("never shown")</script></head><body>
<h1>Tencent &amp; the BBC</h1><p>Tencent is   based in <b>Shenzhen</b>.</p><p>It signed in London, caf\xc3\xa9 side.</p>
</body></html>"""


def test_html_is_read_as_its_rendered_text():
    text = extract_text(".html", PAGE)
    assert "Tencent & the BBC" in text and "Tencent is based in Shenzhen." in text and "caf\u00e9" in text
    assert "never shown" not in text and "color" not in text and "<" not in text
    assert "Shenzhen.\n\nIt signed" in text  # paragraphs stay apart, so sentences do not run together


def test_html_in_its_declared_charset_and_undeclared_bytes():
    latin = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\u00e9 au lait.</p></body></html>'
    assert extract_text(".htm", latin.encode("latin-1")) == "Caf\u00e9 au lait.\n"
    with pytest.raises(UnreadableDocument, match="declares no charset"):
        extract_text(".html", b"<p>caf\xe9</p>")


def test_pdf_text_layer_lines_join_and_pages_are_paragraphs():
    pdf = make_pdf([["Tencent is based in Shenzhen, a city in", "southern China (Guangdong)."], ["Page two."]])
    joined = "Tencent is based in Shenzhen, a city in southern China (Guangdong).\n\nPage two.\n"
    assert extract_text(".PDF", pdf) == joined


@pytest.mark.parametrize(
    "raw,message",
    [
        (b"plain words, not a PDF", "not a readable PDF"),
        (make_pdf([["cut short"]])[:150], "not a readable PDF"),
        (make_pdf([[], []]), "2 page.* without a text layer"),
    ],
)
def test_unreadable_pdfs_are_clear_errors(raw, message):
    with pytest.raises(UnreadableDocument, match=message):
        extract_text(".pdf", raw)


def test_a_folder_of_mixed_formats_is_indexed_and_offsets_point_into_the_extracted_text(tmp_path):
    (tmp_path / "page.html").write_bytes(PAGE)
    (tmp_path / "report.pdf").write_bytes(make_pdf([["The memorandum was signed in London.", "It runs to 2020."]]))
    (tmp_path / SEED.name).write_bytes(SEED.read_bytes())
    (tmp_path / "facts.docx").write_bytes(word_document())
    (tmp_path / "picture.png").write_bytes(b"\x89PNG not a document")
    documents = load_documents([tmp_path])
    assert [d.id for d in documents] == ["facts.docx", "page.html", "report.pdf", SEED.name]
    for document in documents:
        for passage in chunk_document(document, 15, 1):
            assert document.text[passage.start : passage.end] == passage.text
    pdf = documents[2]
    assert "signed in London" in pdf.text and pdf.name == "report.pdf" and len(pdf.checksum) == 64


def test_a_broken_file_is_named_in_the_error(tmp_path):
    (tmp_path / "good.txt").write_text("Fine text.")
    (tmp_path / "scan.pdf").write_bytes(make_pdf([[]]))
    with pytest.raises(DocumentError, match=r"scan\.pdf: a PDF of 1 page\(s\) without a text layer"):
        load_documents([tmp_path])


def test_a_file_named_alone_is_read_as_text_whatever_its_suffix():
    assert parse_document("notes.rst", "notes.rst", b"Plain words.").text == "Plain words."
    with pytest.raises(DocumentError, match=r"doc\.odt: not UTF-8 text .* indexed formats: \.txt, \.md"):
        parse_document("doc.odt", "doc.odt", b"PK\x03\x04\xff\xfe")


def encrypted(pdf: bytes, user_password: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_locked_by_a_password_is_refused_and_one_only_restricted_is_read():
    pdf = make_pdf([["Words behind a lock."]])
    with pytest.raises(UnreadableDocument, match="encrypted PDF"):
        extract_text(".pdf", encrypted(pdf, "secret"))
    assert extract_text(".pdf", encrypted(pdf, "")) == "Words behind a lock.\n"  # opens without a password


def test_files_of_other_formats_in_a_folder_are_skipped_and_said_so(tmp_path, caplog):
    (tmp_path / "a.txt").write_text("Kept.")
    (tmp_path / ".git").mkdir()
    for name in ("b.odt", "c.odt", "d.png", ".hidden.txt", ".git/HEAD", ".git/notes.txt"):
        (tmp_path / name).write_bytes(b"\x00")
    with caplog.at_level("INFO", logger="index.documents"):
        assert [d.id for d in load_documents([tmp_path])] == ["a.txt"]
    assert "skipped 3 file(s) not in an indexed format: 2 .odt, 1 .png" in caplog.text


def word_document() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Acme facts", 1)
    document.add_paragraph("Acme was founded in 1987 by Jane Doe.")
    document.add_paragraph("   ")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Merged head"
    table.cell(0, 2).text = "Year"
    for column, words in enumerate(("Staff", "450", "2018")):
        table.cell(1, column).text = words
    document.add_paragraph("After the table.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_word_paragraphs_and_tables_in_their_order():
    text = extract_text(".docx", word_document())
    table = "Merged head  Year\nStaff  450  2018"
    assert text == f"Acme facts\n\nAcme was founded in 1987 by Jane Doe.\n\n{table}\n\nAfter the table.\n"


@pytest.mark.parametrize("raw", [b"not a zip", make_pdf([["a PDF named .docx"]])])
def test_unreadable_word_documents_are_clear_errors(raw):
    with pytest.raises(UnreadableDocument, match="not a readable Word document"):
        extract_text(".docx", raw)
