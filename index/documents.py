"""Documents: read from files or uploads, with stable URL-safe ids, checksums and their example questions."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from index.formats import SUFFIXES, UnreadableDocument, extract_text

logger = logging.getLogger(__name__)

# Our seed articles open with " date YYYY-MM-DD " before the first sentence: metadata, not prose.
_DATE_PREFIX = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\s+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
EXAMPLES_SUFFIX = ".questions.json"  # beside a document: a JSON list of questions it answers, for the chat page
UPLOAD = "upload"


class DocumentError(ValueError):
    """A document cannot be read: a missing path, an unreadable file, two files of one id."""


@dataclass(frozen=True)
class Document:
    """A document's text as read (index.formats), with what it came from: enough to index it again.

    `text` is all its text; the body (what is indexed) starts at `body_start`, after a leading date line.
    """

    id: str
    name: str  # as the user knows it: the path below the folder indexed, or the uploaded file's name
    origin: str  # the file it was read from (absolute), or "upload"
    text: str
    checksum: str  # SHA-256 of the bytes it was read from
    date: str | None = None
    body_start: int = 0
    examples: tuple[str, ...] = ()  # questions this document answers, offered on the chat page

    @property
    def body(self) -> str:
        return self.text[self.body_start :]


def document_id(name: str | PurePosixPath) -> str:
    """A stable, URL-safe id from a relative path or an uploaded name: accents dropped, other characters outside
    [A-Za-z0-9._-] made "-", parts joined by "--" (`a/README.md` -> `a--README.md`). A name with no Latin
    letter or digit (报告.pdf) gets one from its hash (`document-1f3a9c0b2e.pdf`)."""
    path = PurePosixPath(name)
    parts = [_slug(part) for part in path.parts if part not in ("", ".", "..")]
    doc_id = "--".join(part for part in parts if part)
    if not any(ch.isalnum() for ch in doc_id.rsplit(".", 1)[0]):
        if not str(name).strip(" ./"):
            raise DocumentError(f"{str(name)!r} gives no usable document id: name the file")
        digest = hashlib.sha1(str(name).encode("utf-8")).hexdigest()[:10]
        doc_id = f"document-{digest}{_slug(path.suffix)}"
    return doc_id


def _slug(part: str) -> str:
    ascii_part = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub("-", ascii_part).strip("-")


def parse_document(
    doc_id: str, name: str, raw: bytes, origin: str = UPLOAD, examples: tuple[str, ...] = ()
) -> Document:
    """Read a document's text (by its name's suffix) and pull a leading date line out as metadata."""
    try:
        text = extract_text(PurePosixPath(name).suffix, raw)
    except UnreadableDocument as exc:
        raise DocumentError(f"{name}: {exc}") from exc
    match = _DATE_PREFIX.match(text)
    return Document(
        id=doc_id,
        name=name,
        origin=origin,
        text=text,
        checksum=hashlib.sha256(raw).hexdigest(),
        date=match.group(1) if match else None,
        body_start=match.end() if match else 0,
        examples=examples,
    )


def find_document_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(file, folder it was found under) for the document files named, folders expanded to the files of an
    indexed format (sorted); a file named directly counts as found under its own folder."""
    files: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not hidden(p.relative_to(path)))
            files.extend((p, path) for p in found if p.suffix.lower() in SUFFIXES)
            log_skipped([p for p in found if p.suffix.lower() not in SUFFIXES and not is_sidecar(p)], path)
        elif path.is_file():
            files.append((path, path.parent))
        else:
            raise DocumentError(f"{path}: no such file or directory")
    if not files:
        raise DocumentError(f"no documents ({', '.join(SUFFIXES)}) under {', '.join(map(str, paths))}")
    return files


def hidden(relative: Path) -> bool:
    """A dot file, or a file inside a dot folder (.git, editors' swap files): never a document."""
    return any(part.startswith(".") for part in relative.parts)


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(EXAMPLES_SUFFIX)


def log_skipped(skipped: list[Path], folder: Path) -> None:
    """Say which files of a folder are not indexed, by suffix, so that a missing document is not a mystery."""
    if skipped:
        kinds = Counter(p.suffix.lower() or "(no suffix)" for p in skipped)
        listed = ", ".join(f"{n} {suffix}" for suffix, n in kinds.most_common())
        logger.info("%s: skipped %d file(s) not in an indexed format: %s", folder, len(skipped), listed)


def read_document(file: Path, folder: Path) -> Document:
    """A document file; its id and name come from its path below `folder`."""
    name = file.relative_to(folder).as_posix()
    return parse_document(document_id(name), name, file.read_bytes(), str(file.resolve()), example_questions(file))


def example_questions(file: Path) -> tuple[str, ...]:
    """The questions in `<file>.questions.json` beside the document (a JSON list of strings), if any."""
    sidecar = file.with_name(file.name + EXAMPLES_SUFFIX)
    if not sidecar.exists():
        return ()
    try:
        questions = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentError(f"{sidecar}: not a JSON list of questions ({exc})") from exc
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        raise DocumentError(f"{sidecar}: expected a JSON list of questions (strings)")
    return tuple(q.strip() for q in questions)


def load_documents(paths: list[Path]) -> list[Document]:
    """Every document under the given files and folders; two of one id are refused."""
    documents: list[Document] = []
    seen: dict[str, Path] = {}
    for file, folder in find_document_files(paths):
        doc = read_document(file, folder)
        if doc.id in seen:
            raise DocumentError(f"two documents have the id {doc.id}: {seen[doc.id]} and {file}; rename one")
        seen[doc.id] = file
        documents.append(doc)
    return documents


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
