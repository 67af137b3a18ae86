"""Killing a load mid-way, for the tests that prove it changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text


def copy_is_running(database, stage: str) -> bool:
    """Whether an ETL process of this database is COPYing into the staging table ``stage``."""
    with database.writer.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'etl'"
                    " AND datname = current_database() AND query LIKE :copy"
                ),
                {"copy": f"COPY {stage}%"},
            )
        )


def kill_load_during_copy(database, path: Path, layer: str, stage: str) -> None:
    """Start ``python -m etl load path --layer layer`` and SIGKILL it once its COPY runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "load", str(path), "--layer", layer],
        env=database.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not copy_is_running(database, stage):
        assert process.poll() is None and time.monotonic() < deadline, "the load never reached COPY"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
