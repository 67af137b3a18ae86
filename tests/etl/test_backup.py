"""The restore drill: back up, change and delete data, restore, and prove every row is back."""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from dashboards.users import User, hash_password, load_users, save_users
from etl.backup import TABLES, BackupError, create_backup, restore_backup
from etl.load import LoadOptions, load_file
from etl.schema import migrate
from layers.sessions import open_session
from tests import conftest

DRILL = "gis_drill"
FILES = {"buildings": "stavbe.shp", "roads": "ceste.shp", "wifi_hotspots": "wifi_tocke.geojson"}


def at(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql+psycopg", database=database, query={})
    return parsed.render_as_string(hide_password=False)


def server(url: str):
    return create_engine(at(url, "postgres"), isolation_level="AUTOCOMMIT")


def drop_drill_databases(writer_url: str) -> None:
    with server(writer_url).connect() as conn:
        names = conn.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :drill"),
            {"drill": DRILL + "%"},
        ).all()
        for name in names:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def every_row(url: str) -> dict[str, collections.Counter]:
    """Each table's rows (as md5s of their text), counted: what a restore must give back."""
    engine = create_engine(url)
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
        rows = {
            table: collections.Counter(
                conn.scalars(text(f"SELECT md5(t::text) FROM {table} t")).all()  # noqa: S608
            )
            for table in conn.scalars(text(TABLES)).all()
        }
    engine.dispose()
    return rows


@pytest.fixture
def drill(ptuj_sample: Path, tmp_path: Path, monkeypatch):
    """A database of its own with three layers, a session and its audit trail, a users file."""
    writer, reader = conftest.test_urls()
    drop_drill_databases(writer)
    with server(writer).connect() as conn:
        conn.execute(text(f"CREATE DATABASE {DRILL} TEMPLATE gis_template"))
        conn.execute(text(f"GRANT CONNECT ON DATABASE {DRILL} TO {make_url(reader).username}"))
    urls = at(writer, DRILL), at(reader, DRILL)
    users = tmp_path / "users.json"
    save_users({"ana": User("ana", "planner", hash_password("ana-geslo-2026"))}, users)
    (tmp_path / "app.env").write_text("GIS_COOKIE_SECRET=drill-secret\n")
    for name, value in {
        "DATABASE_URL": urls[0],
        "DATABASE_READER_URL": urls[1],
        "GIS_USERS_FILE": str(users),
        "GIS_BACKUP_DIR": str(tmp_path / "backups"),
    }.items():
        monkeypatch.setenv(name, value)
    engine = create_engine(urls[0])
    migrate(engine, urls[1])
    for layer, name in FILES.items():
        load_file(engine, ptuj_sample / name, layer, LoadOptions(progress=False, rejects_dir=None))
    reading = create_engine(urls[1])
    open_session(reading, "ana", "planner", "person", 1, "127.0.0.1")
    engine.dispose()
    reading.dispose()
    yield urls[0], users
    drop_drill_databases(writer)


def test_a_restore_brings_every_row_back(drill):
    url, users = drill
    before = every_row(url)
    assert before["public.building"] and before["public.app_session"]
    made = create_backup()
    manifest = json.loads((made / "manifest.json").read_text())
    assert manifest["tables"]["public.building"]["rows"] == sum(before["public.building"].values())
    assert set(manifest["files"]) == {"database.dump", "users.json", "app.env"}
    engine = create_engine(url)
    with engine.begin() as conn:  # a bad day: rows changed, deleted, the trail wiped
        conn.execute(text("UPDATE building SET occupants = occupants + 1 WHERE id % 3 = 0"))
        conn.execute(text("DELETE FROM road_segment WHERE id % 2 = 0"))
        conn.execute(text("DELETE FROM wifi_hotspot"))
        conn.execute(text("DELETE FROM audit_event"))
    engine.dispose()
    save_users({}, users)
    assert every_row(url) != before

    replaced = restore_backup(made)

    assert every_row(url) == before  # every row of every table, none more
    assert set(load_users(users)) == {"ana"}
    assert replaced.startswith("gis_drill_before_")
    assert every_row(at(url, replaced))["public.wifi_hotspot"] == collections.Counter()


def test_a_damaged_backup_replaces_nothing(drill):
    url, _ = drill
    made = create_backup()
    with (made / "database.dump").open("r+b") as dump:
        dump.seek(2000)
        dump.write(b"\0\0\0\0")
    before = every_row(url)
    with pytest.raises(BackupError, match="differs from its manifest"):
        restore_backup(made)
    assert every_row(url) == before


@pytest.fixture
def keyring():
    """The municipality's own keyring. Not in pytest's folders: gpg's agent listens on a socket
    in it, whose path a Unix socket keeps under 108 bytes, past which gpg finds no agent."""
    folder = Path(tempfile.mkdtemp(prefix="keyring-"))
    yield folder
    subprocess.run(["gpgconf", "--homedir", str(folder), "--kill", "gpg-agent"], check=False)
    shutil.rmtree(folder)


def test_an_encrypted_backup_restores_with_the_municipalitys_key(
    drill, keyring, tmp_path, monkeypatch
):
    url, _ = drill
    gpg = ["gpg", "--homedir", str(keyring), "--batch", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-gen-key", "Občina Ptuj <it@ptuj.si>", "default",
         "default", "never"], check=True, capture_output=True,
    )  # fmt: skip
    public_key = tmp_path / "obcina.asc"
    public_key.write_bytes(subprocess.run([*gpg, "--export", "--armor"], check=True,
                                          capture_output=True).stdout)  # fmt: skip
    monkeypatch.setenv("GIS_BACKUP_KEY", str(public_key))
    made = create_backup()
    names = {p.name for p in made.iterdir()}
    assert names == {"manifest.json", "database.dump.gpg", "users.json.gpg", "app.env.gpg"}
    assert b"ana" not in (made / "users.json.gpg").read_bytes()
    before = every_row(url)
    with create_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM building"))
    monkeypatch.setenv("GNUPGHOME", str(keyring))  # the operator's own keyring
    restore_backup(made)
    assert every_row(url) == before


def test_only_the_newest_backups_are_kept(drill, monkeypatch):
    monkeypatch.setenv("GIS_BACKUP_KEEP", "2")
    made = [create_backup() for _ in range(3)]
    assert [p.exists() for p in made] == [False, True, True]


def test_make_clean_asks_first_and_without_a_terminal_needs_force(tmp_path):
    """In a copy of the project's Makefile and a .local/ of its own: nothing of ours at stake."""
    import os
    import pty
    import shutil

    from layers.db import ROOT

    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / ".local" / "pgdata").mkdir(parents=True)
    refused = subprocess.run(
        ["make", "clean"], cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "FORCE=1" in refused.stdout
    pid, terminal = pty.fork()
    if pid == 0:  # the child: `make clean` at a terminal, answered "n"
        os.chdir(tmp_path)
        os.execvp("make", ["make", "clean"])
    asked = b""
    while b"[y/N]" not in asked:
        asked += os.read(terminal, 1024)
    os.write(terminal, b"n\n")
    answer = b""
    while True:
        try:
            answer += os.read(terminal, 1024)
        except OSError:  # the child is gone
            break
    assert os.waitpid(pid, 0)[1] != 0 and b"nothing deleted" in answer
    assert (tmp_path / ".local" / "pgdata").is_dir()
