"""Killing a load mid-way, for the tests that prove it changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text


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


def kill_load_during(database, path: Path, layer: str, statement: str) -> None:
    """Start ``python -m etl load path --layer layer`` and SIGKILL it once it runs ``statement``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "load", str(path), "--layer", layer],
        env=database.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not is_running(database, statement):
        assert process.poll() is None and time.monotonic() < deadline, f"never ran {statement}"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
