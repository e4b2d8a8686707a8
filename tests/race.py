"""Two schedulers colliding, reproduced in one test process: the helpers the race tests share
(``test_concurrency.py``, ``test_background_pass_races.py``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.extensions import db


def needs_postgresql(sql_engine: SqlEngine, what: str) -> None:
    """Skip loudly on SQLite: free-running races need row locks across connections."""
    if sql_engine.dialect.name != "postgresql":
        pytest.skip(
            f"CONCURRENCY NOT TESTED: {what} needs PostgreSQL (row locks across connections); SQLite "
            "serialises writers with its file lock. Run with DATABASE_URL=postgresql://… to test it."
        )


def race(app: Flask, step: Callable[[Session], Any]) -> tuple[Any, Any]:
    """Run ``step`` in two sessions the way two schedulers collide: the first has flushed its rows but not
    committed when the second does the same work (nothing done yet, as far as it can see) and writes the
    same rows; it must wait for the first, skip what the first wrote, and commit without error. Returns
    both results. Works on SQLite too, whose writers wait for the file lock (its busy timeout)."""
    with app.app_context():
        factory = sessionmaker(bind=db.engine, expire_on_commit=False)
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            with factory() as s:
                outcome["second"] = step(s)
                s.commit()
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    with factory() as first:
        got = step(first)  # flushed, not committed: its rows are locked
        loser = threading.Thread(target=second)
        loser.start()
        time.sleep(0.5)
        assert loser.is_alive(), "the second pass did not wait for the first one's rows"
        first.commit()
    loser.join(timeout=60)
    assert not loser.is_alive()
    assert "error" not in outcome, outcome.get("error")
    return got, outcome["second"]


def together(app: Flask, step: Callable[[Session], Any], timeout: float = 300) -> list[Any]:
    """Run ``step`` in two sessions on two threads released at the same instant (free-running, as two
    schedulers started together), each committing what it did; both results, in the order they finished.
    Fails with the first error either raised."""
    with app.app_context():
        factory = sessionmaker(bind=db.engine, expire_on_commit=False)
    go, results, errors = threading.Barrier(2), list[Any](), list[BaseException]()

    def run() -> None:
        try:
            with factory() as s:
                go.wait()
                results.append(step(s))
                s.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    pair = [threading.Thread(target=run) for _ in range(2)]
    for t in pair:
        t.start()
    for t in pair:
        t.join(timeout=timeout)
    assert errors == [], errors[:2]
    assert len(results) == 2, "a thread did not finish in time"
    return results
