"""The local users file: names, roles and scrypt password hashes, for development and small sites.

A municipality signs in through its OpenID Connect provider instead (see ``dashboards/access.py``).
The file is JSON, written whole and atomically with mode 600; passwords are never stored, only
their scrypt hashes (salted, n=2**14, r=8, p=1). A *device* is an account for a wall display: its
token is a long random password shown once, and its sign-in lasts a year instead of a shift.

    python -m dashboards.users add ana --role planner         # asks for the password twice
    python -m dashboards.users add-device stena-1             # prints the device's sign-in link once
    python -m dashboards.users list | remove ana | set-role ana admin
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from layers.errors import ConfigurationError
from layers.roles import ROLES
from layers.settings import read_settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
SIGN_IN_ROLES = tuple(r for r in ROLES if r != "public")  # the public never signs in
MIN_PASSWORD = 10
MAX_PASSWORD = 256
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password: str  # "scrypt$n$r$p$salt$hash", base64
    device: bool = False


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT)
    encoded = (base64.b64encode(v).decode("ascii") for v in (salt, digest))
    return "scrypt${n}${r}${p}$".format(**SCRYPT) + "$".join(encoded)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, in constant time; malformed input is False."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode("utf-8", "surrogatepass"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
        )
    except (ValueError, UnicodeError):
        return False
    return hmac.compare_digest(found, base64.b64decode(digest))


_cache: dict[Path, tuple[float, dict[str, User]]] = {}


def load_users(path: Path) -> dict[str, User]:
    """The users of the file (none when it does not exist), re-read when it changes."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return {}
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        users = {name: User(name=name, **entry) for name, entry in raw["users"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"the users file {path} cannot be read ({exc})",
            f"datoteke uporabnikov {path} ni mogoče prebrati ({exc})",
            "fix it, or remove it and add the users again with python -m dashboards.users",
            "popravite jo ali jo odstranite in uporabnike dodajte znova",
        ) from None
    _cache[path] = (stamp, users)
    return users


def save_users(users: dict[str, User], path: Path) -> None:
    """Write the file whole, readable by its owner only, replacing the old one atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = {u.name: {k: v for k, v in asdict(u).items() if k != "name"} for u in users.values()}
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".users.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"users": entries}, out, indent=2, ensure_ascii=False)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ConfigurationError(
            f"user name {name!r} is not allowed",
            f"uporabniško ime {name!r} ni dovoljeno",
            "use 1-64 letters, digits and . _ @ -",
            "uporabite 1-64 črk, števk in . _ @ -",
        )
    return name


def check_role(role: str) -> str:
    if role not in SIGN_IN_ROLES:
        raise ConfigurationError(
            f"role {role!r} cannot sign in",
            f"vloga {role!r} se ne more prijaviti",
            f"use one of: {', '.join(SIGN_IN_ROLES)}",
            f"uporabite eno od: {', '.join(SIGN_IN_ROLES)}",
        )
    return role


def add_user(path: Path, name: str, role: str, password: str, device: bool = False) -> User:
    """Add a person (or a device) to the users file at ``path``, or change their password."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigurationError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            f"geslo mora imeti {MIN_PASSWORD} do {MAX_PASSWORD} znakov",
            "choose a longer password",
            "izberite daljše geslo",
        )
    user = User(check_name(name), check_role(role), hash_password(password), device)
    users = dict(load_users(path))
    users[name] = user
    save_users(users, path)
    return user


@cache
def _stand_in_hash() -> str:
    """A hash checked when the name is unknown, so that it costs what a known name costs."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(name: str, password: str, path: Path) -> User | None:
    """The user of the file at ``path`` whose name and password these are, else None (the same
    work either way, so the time taken tells no one whether the name exists)."""
    user = load_users(path).get(name) if NAME_PATTERN.match(name or "") else None
    ok = verify_password(password or "", user.password if user else _stand_in_hash())
    return user if user and ok else None


DEMO_ACCOUNTS = {
    "planer": "planner",
    "zascita": "civil_protection",
    "zupan": "mayor_office",
    "admin": "admin",
}


def make_demo_accounts(path: Path) -> None:
    """Where no users file exists yet (a fresh ``make run``): one account per role, with random
    passwords written to ``demo-accounts.txt`` beside it (mode 600), never to the terminal."""
    if path.exists():
        return
    lines = []
    for name, role in DEMO_ACCOUNTS.items():
        password = secrets.token_urlsafe(12)
        add_user(path, name, role, password)
        lines.append(f"{name}\t{role}\t{password}")
    listing = path.with_name("demo-accounts.txt")
    descriptor = os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(
            "# user\trole\tpassword (sign in at /login; change them with python -m dashboards.users add)\n"
        )
        out.write("\n".join(lines) + "\n")
    print(f"demo accounts, one per role: {listing} / demo računi: {listing}")


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Geslo · Password: ")
    if first != getpass.getpass("Ponovite · Repeat: "):
        raise SystemExit("the passwords differ / gesli se razlikujeta")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.users", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a person, or change their password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=SIGN_IN_ROLES)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    device = commands.add_parser("add-device", help="a wall display: prints its sign-in link once")
    device.add_argument("name")
    device.add_argument("--role", default="mayor_office", choices=SIGN_IN_ROLES)
    commands.add_parser("list", help="names and roles")
    remove = commands.add_parser("remove", help="remove a user or device")
    remove.add_argument("name")
    commands.add_parser(
        "demo", help="on a machine without users: one account per role, passwords in a file"
    )
    role = commands.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=SIGN_IN_ROLES)
    args = parser.parse_args(argv)
    try:
        path = read_settings().users_file
        if args.command == "add":
            add_user(path, args.name, args.role, _password(args))
            print(f"{args.name}: {args.role} ({path})")
        elif args.command == "add-device":
            token = secrets.token_urlsafe(32)
            add_user(path, args.name, args.role, token, device=True)
            print(f"{args.name}: open once on the device / enkrat odprite na napravi:")
            print(f"  http://<server>:5006/device?name={args.name}&token={token}")
        elif args.command == "demo":
            make_demo_accounts(path)
        elif args.command == "list":
            for user in load_users(path).values():
                print(f"{user.name}\t{user.role}\t{'device' if user.device else 'person'}")
        elif args.command == "remove":
            users = dict(load_users(path))
            if users.pop(args.name, None) is None:
                raise SystemExit(f"no user {args.name!r} / uporabnika ni")
            save_users(users, path)
        elif args.command == "set-role":
            users = dict(load_users(path))
            if args.name not in users:
                raise SystemExit(f"no user {args.name!r} / uporabnika ni")
            users[args.name] = User(**{**asdict(users[args.name]), "role": args.role})
            save_users(users, path)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
