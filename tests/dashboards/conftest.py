"""Shared by the dashboard tests: the app served on a free port with its users, and Chromium."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboards.users import User, hash_password, save_users
from layers.db import ROOT
from tests.dashboards.browser import CHROMIUM, CHROMIUM_ARGS

# one person per role that signs in: (name, password)
ACCOUNTS = {
    "planner": ("ana", "ana-geslo-2026"),
    "civil_protection": ("civil", "civil-geslo-2026"),
    "mayor_office": ("zupan", "zupan-geslo-2026"),
    "admin": ("boss", "boss-geslo-2026"),
}
DEVICE = ("stena-1", secrets.token_urlsafe(32))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_users(path: Path) -> Path:
    users = {
        name: User(name, role, hash_password(password))
        for role, (name, password) in ACCOUNTS.items()
    }
    users[DEVICE[0]] = User(DEVICE[0], "mayor_office", hash_password(DEVICE[1]), device=True)
    save_users(users, path)
    return path


@dataclass
class Server:
    """A running app: its address, its log, and the secrets it was given."""

    url: str
    log: Path
    secrets: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(database, folder: Path, port: int | None = None, **extra_env: str) -> Server:
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    cookie_secret = secrets.token_urlsafe(32)
    environment = {
        **database.environment(),
        "GIS_USERS_FILE": str(write_users(folder / "users.json")),
        "GIS_COOKIE_SECRET": cookie_secret,
        **extra_env,
    }
    log = folder / "app.log"
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", log, {"cookie": cookie_secret}, process)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited: {server.log_text()}")
        try:
            urllib.request.urlopen(server.url + "/public", timeout=5)
            return server
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail("the app did not answer within 90 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=20)


@pytest.fixture(scope="session")
def server(sample_database, tmp_path_factory):
    """The app on the Ptuj sample, with one account per role and a wall display's device."""
    # every test asks from 127.0.0.1: the OGC API's limit per address is tested on a server
    # of its own (tests/dashboards/test_ogc_api.py)
    folder = tmp_path_factory.mktemp("server")
    running = start_server(sample_database, folder, GIS_OGC_REQUESTS_PER_MINUTE="1000000")
    yield running
    stop_server(running)


@pytest.fixture
def fresh_limits(sample_database):
    """A test's failed sign-ins forgiven after it: they all come from 127.0.0.1, whose limit
    would otherwise hold back the tests that follow."""
    yield
    with sample_database.writer.begin() as conn:
        conn.execute(text("DELETE FROM sign_in_throttle"))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
