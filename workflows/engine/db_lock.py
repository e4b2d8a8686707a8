"""A named lock across processes sharing one database (issue 16, point 8): what two servers started together
take around work only one of them may do, such as migrating an empty database (``migrations/env.py``).

PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on the given connection, keyed by the name;
it outlives the connection's transactions, is released on leaving the block, and by the server if the process
dies. SQLite: an exclusive ``flock`` on a file beside the database (an in-memory database belongs to one
process, so nothing to wait for). Other databases: no lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (``pg_advisory_lock`` takes a bigint)."""
    return int.from_bytes(hashlib.sha256(f"governance:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(connection: Connection, name: str) -> Iterator[None]:
    """Wait until no other process holds the lock ``name``, then hold it for the block. On PostgreSQL the
    connection's open transaction is committed first (the lock must not be rolled back with it) and any
    transaction the block leaves open is rolled back before releasing."""
    dialect = connection.dialect.name
    database = connection.engine.url.database
    if dialect == "postgresql":
        key = advisory_key(name)
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()  # a failed block may leave an aborted transaction behind
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
            connection.commit()
    elif dialect == "sqlite" and database not in (None, "", ":memory:"):
        import fcntl  # POSIX, as scripts/run is

        with open(f"{database}.{name}.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
    else:
        yield
