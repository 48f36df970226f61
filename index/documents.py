"""Reading documents from disk, with their metadata and checksums."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from index.formats import SUFFIXES, UnreadableDocument, extract_text

logger = logging.getLogger(__name__)

# Our seed articles open with " date YYYY-MM-DD " before the first sentence: metadata, not prose.
_DATE_PREFIX = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\s+")


class DocumentError(ValueError):
    """A document cannot be read: a missing path, an unreadable file, two files of one name."""


@dataclass(frozen=True)
class Document:
    """A document file: `text` is all its text (index.formats); the body (what is indexed) starts at `body_start`."""

    id: str
    path: Path
    text: str
    checksum: str
    date: str | None = None
    body_start: int = 0

    @property
    def body(self) -> str:
        return self.text[self.body_start :]


def parse_document(doc_id: str, path: Path, raw: bytes) -> Document:
    """Read a document's text (by its suffix) and pull a leading date line out as metadata."""
    try:
        text = extract_text(path.suffix, raw)
    except UnreadableDocument as exc:
        raise DocumentError(f"{path}: {exc}") from exc
    match = _DATE_PREFIX.match(text)
    return Document(
        id=doc_id,
        path=path,
        text=text,
        checksum=hashlib.sha256(raw).hexdigest(),
        date=match.group(1) if match else None,
        body_start=match.end() if match else 0,
    )


def find_document_files(paths: list[Path]) -> list[Path]:
    """The document files named, with directories expanded to the files of an indexed format (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not hidden(p.relative_to(path)))
            files.extend(p for p in found if p.suffix.lower() in SUFFIXES)
            log_skipped([p for p in found if p.suffix.lower() not in SUFFIXES], path)
        elif path.is_file():
            files.append(path)
        else:
            raise DocumentError(f"{path}: no such file or directory")
    if not files:
        raise DocumentError(f"no documents ({', '.join(SUFFIXES)}) under {', '.join(map(str, paths))}")
    return files


def hidden(relative: Path) -> bool:
    """A dot file, or a file inside a dot folder (.git, editors' swap files): never a document."""
    return any(part.startswith(".") for part in relative.parts)


def log_skipped(skipped: list[Path], folder: Path) -> None:
    """Say which files of a folder are not indexed, by suffix, so that a missing document is not a mystery."""
    if skipped:
        kinds = Counter(p.suffix.lower() or "(no suffix)" for p in skipped)
        listed = ", ".join(f"{n} {suffix}" for suffix, n in kinds.most_common())
        logger.info("%s: skipped %d file(s) not in an indexed format: %s", folder, len(skipped), listed)


def load_documents(paths: list[Path]) -> list[Document]:
    """Load every document under the given files and directories; ids are the file names."""
    documents = []
    seen: dict[str, Path] = {}
    for path in find_document_files(paths):
        doc_id = path.name
        if doc_id in seen:
            raise DocumentError(f"two documents are named {doc_id}: {seen[doc_id]} and {path}; rename one")
        seen[doc_id] = path
        documents.append(parse_document(doc_id, path, path.read_bytes()))
    return documents


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
