"""The PostgreSQL fixtures of the desk's tests: one real server per test module, a fresh
database per test. Missing binaries or driver fail loudly (never a silent skip)."""

from __future__ import annotations

import itertools

import pytest

from hubdesk.db import Database

_names = itertools.count()


@pytest.fixture(scope="module")
def pg_server():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg 3 is not installed: pip install -e './desk[postgres]'", pytrace=False)
    from pg_server import PostgresMissing, PostgresServer
    try:
        server = PostgresServer().start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg_db(pg_server):
    db = Database.open_postgres(pg_server.create_database(f"desk{next(_names)}"))
    yield db
    db.close()
