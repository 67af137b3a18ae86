"""Killing a load mid-way, for the tests that prove it changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

DEADLINE_S = 60


def is_running(database, statement: str) -> bool:
    """Whether an ETL process of this database runs a statement that starts with ``statement``."""
    with database.writer.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'etl'"
                    " AND datname = current_database() AND query LIKE :statement"
                ),
                {"statement": f"{statement}%"},
            )
        )


def start_load(database, path: Path, layer: str, *options: str) -> subprocess.Popen:
    """``python -m etl load path --layer layer *options``, against ``database``."""
    return subprocess.Popen(
        [sys.executable, "-m", "etl", "load", str(path), "--layer", layer, *options],
        env=database.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_load_during(database, path: Path, layer: str, statement: str) -> None:
    """Start ``python -m etl load path --layer layer`` and SIGKILL it once it runs ``statement``."""
    process = start_load(database, path, layer)
    deadline = time.monotonic() + DEADLINE_S
    while not is_running(database, statement):
        assert process.poll() is None and time.monotonic() < deadline, f"never ran {statement}"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def kill_load_before_commit(database, path: Path, layer: str, *options: str) -> set[str]:
    """Start a load, stop it at its catalogue entry, SIGKILL it there; the tables it wrote to.

    The entry is the last write of a load. A lock held here lets the load read the catalogue
    (its checksum test) but not add to it, so the load waits there with every other write done,
    however small the file: no race with a statement that may be over in a millisecond.
    """
    with database.writer.connect() as blocker:
        blocker.execute(text("LOCK TABLE dataset_load IN SHARE MODE"))
        process = start_load(database, path, layer, *options)
        try:
            backend = _waiting_for_the_catalogue(database, process)
            written = _tables_written_by(database, backend)
        finally:  # killed even when it failed: let go, it would commit
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        blocker.rollback()
    _wait_until_gone(database, backend)
    return written


def _waiting_for_the_catalogue(database, process: subprocess.Popen) -> int:
    """The server process of the load, once it waits to add its catalogue entry."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        with database.writer.connect() as conn:  # a new snapshot of the activity each time
            backend = conn.scalar(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE l.relation = CAST('dataset_load' AS regclass) AND NOT l.granted"
                    " AND a.query LIKE 'INSERT INTO dataset_load%'"
                )
            )
        if backend:
            return backend
        assert process.poll() is None, f"the load ended with {process.returncode} before its entry"
        assert time.monotonic() < deadline, "the load never came to its catalogue entry"
        time.sleep(0.01)


def _tables_written_by(database, backend: int) -> set[str]:
    with database.writer.connect() as conn:
        return set(
            conn.scalars(
                text(
                    "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                    " WHERE l.pid = :pid AND l.granted AND l.mode = 'RowExclusiveLock'"
                ),
                {"pid": backend},
            )
        )


def _wait_until_gone(database, backend: int) -> None:
    """Wait for the server to end the killed load's session, and with it its transaction."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        with database.writer.connect() as conn:
            if not conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}
            ):
                return
        assert time.monotonic() < deadline, f"server process {backend} outlived its client"
        time.sleep(0.01)
