"""Backups and their restore: ``python -m etl.backup {create,restore,list}``.

``make backup`` writes a folder ``<GIS_BACKUP_DIR>/<UTC time>/`` (``.local/backups/`` unless told):

- ``database.dump``: the whole database in ``pg_dump``'s custom format, taken in one snapshot;
- ``users.json`` and ``app.env``: the users file and the cookie secret, which live outside it;
- ``manifest.json``: when, from which database, the schema version, and per table its rows and a
  checksum of its content (taken in the dump's own snapshot), and each file's size and sha256.

With ``GIS_BACKUP_KEY`` (a file holding the municipality's OpenPGP public key) the files are
encrypted to that key with gpg: the server cannot read its own backups; whoever holds the private
key restores them. The newest ``GIS_BACKUP_KEEP`` (14) backups are kept, older ones deleted.

``make restore FILE=<folder>`` checks the files against the manifest, restores into a new
database and compares every table's rows and checksum with the manifest. Only when all agree does
the restored database take the live one's name (the old one stays, renamed ``<name>_before_<time>``),
and the users file and secret are put back; otherwise nothing live is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, create_engine, make_url, text

from layers.db import database_urls, get_engine, quoted
from layers.errors import ConfigurationError, GisError
from layers.settings import read_settings

log = logging.getLogger(__name__)

APP_ENV_FILE = "app.env"  # beside the users file's default, in .local/
DUMP = "database.dump"
MANIFEST = "manifest.json"
TEMPLATE = "gis_template"  # an empty database with PostGIS, which the writer may copy
# Every base table but the extensions' own, in every schema of the database.
TABLES = """
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1
"""


class BackupError(GisError):
    """A backup that cannot be made or restored, and what to do."""


def libpq_url(url: str, database: str | None = None) -> tuple[str, dict[str, str]]:
    """``url`` as the PostgreSQL tools take it, and the environment carrying its password (so
    that it never shows in the process list).
    """
    parsed = make_url(url)
    if database:
        parsed = parsed.set(database=database)
    password = parsed.password
    plain = parsed.set(drivername="postgresql", password=None, query={})
    environment = {**os.environ, "PGPASSWORD": password or ""}
    return plain.render_as_string(hide_password=False), environment


def table_sums(conn: Connection) -> dict[str, dict[str, int | str]]:
    """Rows and an order-free checksum of the content of every table, as this connection sees
    them (in a backup: in the dump's snapshot).
    """
    conn.execute(text("SET LOCAL TimeZone = 'UTC'"))  # timestamps print the same everywhere
    conn.execute(text("SET LOCAL extra_float_digits = 1"))
    sums = {}
    for table in conn.scalars(text(TABLES)).all():
        rows, checksum = conn.execute(
            text(
                "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint), 0)"  # noqa: S608
                f" FROM {table} t"  # format('%I') in TABLES quoted it
            )
        ).one()
        sums[table] = {"rows": rows, "checksum": str(checksum)}
    return sums


def sha256(path: Path) -> str:
    """The sha256 of a file, read a MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(command: list[str], environment: dict[str, str] | None = None) -> str:
    """Run a PostgreSQL or gpg tool; its own message on failure."""
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if done.returncode:
        raise BackupError(
            f"{command[0]} failed: {done.stderr.strip()[-800:]}",
            f"{command[0]} ni uspel: {done.stderr.strip()[-800:]}",
        )
    return done.stdout


def encrypt(path: Path, key_file: Path) -> Path:
    """Encrypt ``path`` to the public key in ``key_file`` (gpg); the plain file is removed."""
    if not key_file.is_file():
        raise ConfigurationError(
            f"GIS_BACKUP_KEY names {key_file}, which does not exist",
            f"GIS_BACKUP_KEY kaže na {key_file}, ki ne obstaja",
            "point it at the municipality's exported OpenPGP public key (gpg --export --armor)",
            "nastavite ga na izvoženi javni ključ OpenPGP občine",
        )
    with tempfile.TemporaryDirectory() as home:  # no keyring of the server's is used or changed
        run(
            ["gpg", "--homedir", home, "--batch", "--yes", "--trust-model", "always",
             "--recipient-file", str(key_file), "--output", f"{path}.gpg", "--encrypt", str(path)]
        )  # fmt: skip
    path.unlink()
    return Path(f"{path}.gpg")


def create_backup(folder: Path | None = None, keep: int | None = None) -> Path:
    """Write a backup of the configured database; return its folder.

    Parameters
    ----------
    folder
        Where backups go (default ``GIS_BACKUP_DIR``).
    keep
        How many of the newest backups to keep (default ``GIS_BACKUP_KEEP``).
    """
    settings = read_settings()
    folder = folder or settings.backup_dir
    keep = keep if keep is not None else settings.backup_keep
    made = dt.datetime.now(dt.UTC)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)  # the backups hold the users file and the cookie secret
    target = folder / made.strftime("%Y%m%dT%H%M%SZ")
    for number in range(2, 100):  # a second backup within the same second
        if not target.exists():
            break
        target = folder / made.strftime(f"%Y%m%dT%H%M%SZ-{number}")
    target.mkdir(mode=0o700)
    writer_url = database_urls().writer
    url, environment = libpq_url(writer_url)
    engine = get_engine(writer_url, "backup")
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file",
             str(target / DUMP), url], environment)  # fmt: skip
        tables = table_sums(conn)
        schema_version = conn.scalar(text("SELECT max(version) FROM schema_migration"))
        database = conn.scalar(text("SELECT current_database()"))
    files = [target / DUMP]
    for source in (settings.users_file, settings.users_file.with_name(APP_ENV_FILE)):
        if source.is_file():
            shutil.copy2(source, target / source.name)
            os.chmod(target / source.name, 0o600)
            files.append(target / source.name)
    if settings.backup_key:
        files = [encrypt(path, settings.backup_key) for path in files]
    manifest = {
        "made_at": made.isoformat(timespec="seconds"),
        "made_at_ljubljana": made.astimezone(ZoneInfo("Europe/Ljubljana")).isoformat(
            timespec="seconds"
        ),
        "database": database,
        "schema_version": schema_version,
        "pg_dump": run(["pg_dump", "--version"]).strip(),
        "encrypted": bool(settings.backup_key),
        "files": {p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in files},
        "tables": tables,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    prune(folder, keep)
    return target


def backups(folder: Path) -> list[Path]:
    """The backups in ``folder``, oldest first."""
    return sorted(p.parent for p in folder.glob(f"*/{MANIFEST}"))


def prune(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` backups."""
    for old in backups(folder)[:-keep] if keep > 0 else []:
        log.info("removing the old backup %s", old)
        shutil.rmtree(old)


def checked_files(backup: Path, manifest: dict, plain: Path) -> dict[str, Path]:
    """The backup's files, each checked against the manifest and decrypted into ``plain``."""
    found = {}
    for name, expected in manifest["files"].items():
        path = backup / name
        if not path.is_file() or sha256(path) != expected["sha256"]:
            raise BackupError(
                f"{path} is missing or differs from its manifest: this backup cannot be trusted",
                f"{path} manjka ali se ne ujema z manifestom: tej varnostni kopiji ni mogoče zaupati",
                "restore an older backup",
                "obnovite starejšo varnostno kopijo",
            )
        if name.endswith(".gpg"):  # the operator's own keyring holds the private key
            name = name.removesuffix(".gpg")
            run(["gpg", "--batch", "--yes", "--output", str(plain / name), "--decrypt", str(path)])
            path = plain / name
        found[name] = path
    return found


def wanted_entry(line: str, tables: set[str]) -> bool:
    """Whether a line of ``pg_restore --list`` is ours to restore: not the extensions, nor the
    rows of their own tables (PostGIS's ``spatial_ref_sys``), which the template already has.
    """
    if " EXTENSION " in line:
        return False
    _, found, rest = line.partition(" TABLE DATA ")
    return not found or ".".join(rest.split()[:2]) in tables


def restore_dump(dump: Path, writer_url: str, database: str, tables: set[str]) -> None:
    """``pg_restore`` into ``database`` of our own entries (``wanted_entry``)."""
    url, environment = libpq_url(writer_url, database)
    listing = run(["pg_restore", "--list", str(dump)])
    wanted = "\n".join(line for line in listing.splitlines() if wanted_entry(line, tables))
    with tempfile.NamedTemporaryFile("w", suffix=".list") as entries:
        entries.write(wanted)
        entries.flush()
        run(["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner",
             "--use-list", entries.name, "--dbname", url, str(dump)], environment)  # fmt: skip


def engine_on(writer_url: str, database: str, **options: object) -> Engine:
    """The writer on another ``database`` of the same server (an engine of its own, to dispose)."""
    url = make_url(writer_url).set(drivername="postgresql+psycopg", database=database, query={})
    return create_engine(url, **options)


def server_engine(writer_url: str) -> Engine:
    """The writer on the server's ``postgres`` database, for creating and renaming databases."""
    return engine_on(writer_url, "postgres", isolation_level="AUTOCOMMIT")


def restore_backup(backup: Path) -> str:
    """Restore ``backup`` (a folder, or its manifest) over the configured database.

    Returns
    -------
    str
        The name the replaced database now has.
    """
    backup = backup.parent if backup.name == MANIFEST else backup
    if not (backup / MANIFEST).is_file():
        raise BackupError(
            f"{backup} is not a backup (no {MANIFEST})",
            f"{backup} ni varnostna kopija (ni {MANIFEST})",
            "name a folder that make backup wrote, e.g. .local/backups/20261201T120000Z",
            "navedite mapo, ki jo je zapisal make backup",
        )
    manifest = json.loads((backup / MANIFEST).read_text())
    writer_url = database_urls().writer
    live = make_url(writer_url).database
    restoring = f"{live}_restoring"
    server = server_engine(writer_url)
    with tempfile.TemporaryDirectory() as plain:
        files = checked_files(backup, manifest, Path(plain))
        drop_database(server, restoring)  # what a restore that broke off left
        with server.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {quoted(restoring)} TEMPLATE {TEMPLATE}"))
        try:
            restore_dump(files[DUMP], writer_url, restoring, set(manifest["tables"]))
            check_restored(writer_url, restoring, manifest)
        except GisError:
            drop_database(server, restoring)
            raise
        before = switch(server, live, restoring, manifest["made_at"])
        put_back_files(files)
    server.dispose()
    return before


def check_restored(writer_url: str, database: str, manifest: dict) -> None:
    """Every table of the restored database has the rows and the checksum the manifest says."""
    engine = engine_on(writer_url, database)
    with engine.connect() as conn, conn.begin():
        found = table_sums(conn)
    engine.dispose()
    differing = sorted(
        t for t in set(found) | set(manifest["tables"]) if found.get(t) != manifest["tables"].get(t)
    )
    if differing:
        raise BackupError(
            f"the restored database differs from the manifest in {', '.join(differing[:10])}",
            f"obnovljena baza se od manifesta razlikuje v {', '.join(differing[:10])}",
            "nothing live was changed; try an older backup",
            "živa baza ni spremenjena; poskusite starejšo kopijo",
        )


def drop_database(server: Engine, name: str) -> None:
    """Drop the database ``name`` if it exists."""
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {quoted(name)}"))


def switch(server: Engine, live: str, restored: str, made_at: str) -> str:
    """Give ``restored`` the name ``live`` and its database-wide grants; return the old one's
    new name. Sessions on the live database are ended (the dashboards reconnect by themselves).
    """
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    before = f"{live}_before_{stamp}"
    with server.connect() as conn:
        old, new = quoted(live), quoted(restored)
        grants = conn.execute(
            text(
                "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,"
                " a.privilege_type FROM pg_database d, aclexplode(d.datacl) a"
                " LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE d.datname = :live"
            ),
            {"live": live},
        ).all()
        conn.execute(text(f"REVOKE ALL ON DATABASE {new} FROM PUBLIC"))
        for grantee, privilege in grants:
            conn.execute(text(f"GRANT {privilege} ON DATABASE {new} TO {grantee}"))
        conn.execute(text(f"ALTER DATABASE {old} ALLOW_CONNECTIONS false"))
        # the clients only: an autovacuum worker is the server's own (a superuser's, which
        # this role may not end), and the rename below stops it by itself
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :live"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ),
            {"live": live},
        )
        conn.execute(text(f"ALTER DATABASE {old} RENAME TO {quoted(before)}"))
        conn.execute(text(f"ALTER DATABASE {new} RENAME TO {old}"))
        conn.execute(text(f"ALTER DATABASE {quoted(before)} ALLOW_CONNECTIONS true"))
    log.info("restored the backup of %s; the database it replaced is now %s", made_at, before)
    return before


def put_back_files(files: dict[str, Path]) -> None:
    """The backup's users file and secret in place of today's (kept beside as ``*.before-restore``)."""
    settings = read_settings()
    for source in (settings.users_file, settings.users_file.with_name(APP_ENV_FILE)):
        if source.name in files:
            if source.exists():
                source.replace(source.with_name(source.name + ".before-restore"))
            shutil.copy2(files[source.name], source)
            os.chmod(source, 0o600)


def main(argv: list[str] | None = None) -> int:
    """The command line; 2 on an error a person can act on."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="python -m etl.backup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="back up the database, the users file and the secret")
    restore = commands.add_parser("restore", help="restore a backup over the database")
    restore.add_argument("backup", type=Path, help="a backup's folder (or its manifest.json)")
    commands.add_parser("list", help="the backups kept, oldest first")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            made = create_backup()
            manifest = json.loads((made / MANIFEST).read_text())
            size = sum(f["bytes"] for f in manifest["files"].values())
            rows = sum(t["rows"] for t in manifest["tables"].values())
            print(f"backup / varnostna kopija: {made} ({size / 2**20:.1f} MiB, {rows} rows)")
        elif args.command == "restore":
            before = restore_backup(args.backup)
            print(f"restored / obnovljeno: {args.backup}; the replaced database: {before}")
        else:
            for backup in backups(read_settings().backup_dir):
                print(backup)
    except GisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
