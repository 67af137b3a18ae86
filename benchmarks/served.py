"""The dashboards served for a benchmark: ``app.py`` on a free port, with one planner ("planer")
and one wall display ("stena"), their password and token made up for the run, stopped on the way
out however the benchmark ends."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dashboards.users import User, hash_password, save_users
from layers.db import ROOT

START_S = 120  # the longest a server may take to answer: it checks the database first


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:port
    password: str  # the planner's
    pid: int
    device_link: str  # the wall display's sign-in link, from the site's root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(database: dict[str, str]) -> Iterator[Served]:
    """The server over ``database`` (the variables pointing it there; none: the project's own
    database), once it answers."""
    password, token, port = secrets.token_urlsafe(12), secrets.token_urlsafe(32), free_port()
    with tempfile.TemporaryDirectory() as folder:
        users = Path(folder) / "users.json"
        accounts = {
            "planer": User("planer", "planner", hash_password(password)),
            "stena": User("stena", "mayor_office", hash_password(token), device=True),
        }
        save_users(accounts, users)
        server = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(port)],
            cwd=ROOT,
            env={
                **os.environ,
                **database,
                "GIS_USERS_FILE": str(users),
                "GIS_COOKIE_SECRET": secrets.token_urlsafe(32),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server)
            link = "/device?" + urllib.parse.urlencode({"name": "stena", "token": token})
            yield Served(base, password, server.pid, link)
        finally:
            server.terminate()
            server.wait(timeout=60)


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    """Until the server answers, which it does once it has checked its database."""
    deadline = time.monotonic() + START_S
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=5)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server at {base} did not start") from None
            time.sleep(0.5)
