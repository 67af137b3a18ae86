"""The local users file and the mapping of a provider's groups to roles."""

from __future__ import annotations

import json
import stat

import pytest

from dashboards import users
from dashboards.access import Access, parse_role_map, role_from_groups
from layers.errors import ConfigurationError
from layers.settings import read_settings


@pytest.fixture
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "users.json"
    monkeypatch.setenv("GIS_USERS_FILE", str(path))
    return path


def test_passwords_are_stored_only_as_salted_hashes_in_a_private_file(users_file):
    users.add_user(users_file, "ana", "planner", "ana-geslo-2026")
    users.add_user(users_file, "bor", "planner", "ana-geslo-2026")
    raw = users_file.read_text()
    assert "ana-geslo-2026" not in raw
    stored = json.loads(raw)["users"]
    assert stored["ana"]["password"].startswith("scrypt$")
    assert stored["ana"]["password"] != stored["bor"]["password"]  # salted
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600


def test_only_the_right_password_authenticates(users_file):
    users.add_user(users_file, "ana", "planner", "ana-geslo-2026")
    assert users.authenticate("ana", "ana-geslo-2026", users_file).role == "planner"
    for name, password in [
        ("ana", "ana-geslo-2027"),
        ("ana", ""),
        ("Ana", "ana-geslo-2026"),
        ("ana' OR '1'='1", "x"),
        ("ana", "x" * 100_000),
        ("\u202eana", "ana-geslo-2026"),
    ]:
        assert users.authenticate(name, password, users_file) is None, (name, password[:20])


@pytest.mark.parametrize(
    ("name", "role", "password"),
    [
        ("ana", "public", "ana-geslo-2026"),  # the public does not sign in
        ("ana", "superuser", "ana-geslo-2026"),
        ("a b", "planner", "ana-geslo-2026"),
        ("ana;drop", "planner", "ana-geslo-2026"),
        ("x" * 65, "planner", "ana-geslo-2026"),
        ("ana", "planner", "short"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(users_file, name, role, password):
    with pytest.raises(ConfigurationError):
        users.add_user(users_file, name, role, password)
    assert not users_file.exists()


def test_the_command_manages_users_and_devices(users_file, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("zascita-geslo-1\n"))
    assert users.main(["add", "cz", "--role", "civil_protection", "--password-stdin"]) == 0
    assert users.main(["add-device", "stena-1"]) == 0
    link = capsys.readouterr().out.split("token=")[1].split()[0]
    assert users.authenticate("stena-1", link, users_file).device
    assert users.main(["set-role", "cz", "admin"]) == 0
    users.main(["list"])
    assert "cz\tadmin\tperson" in capsys.readouterr().out
    assert users.main(["remove", "cz"]) == 0
    assert "cz" not in users.load_users(users_file)


def test_demo_accounts_are_made_once_with_their_passwords_in_a_private_file(users_file):
    users.make_demo_accounts(users_file)
    listing = users_file.with_name("demo-accounts.txt")
    rows = [line.split("\t") for line in listing.read_text().splitlines()[1:]]
    assert {role for _, role, _ in rows} == {"planner", "civil_protection", "mayor_office", "admin"}
    assert all(users.authenticate(name, password, users_file) for name, _, password in rows)
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    before = users_file.read_text()
    users.make_demo_accounts(users_file)
    assert users_file.read_text() == before


def test_provider_groups_map_to_the_most_privileged_role():
    mapping = parse_role_map("gis-planerji=planner, gis-cz=civil_protection,gis-admin=admin,x=root")
    assert mapping == {
        "gis-planerji": "planner",
        "gis-cz": "civil_protection",
        "gis-admin": "admin",
    }
    assert role_from_groups(["gis-planerji", "gis-cz"], mapping) == "civil_protection"
    assert role_from_groups("gis-admin", mapping) == "admin"
    assert role_from_groups(["other"], mapping) == "public"
    assert role_from_groups(None, mapping) == "public"
    settings = read_settings(
        {
            "PANEL_OAUTH_PROVIDER": "generic",
            "GIS_OIDC_ROLES": "gis-cz=civil_protection",
            "GIS_OIDC_GROUPS_CLAIM": "roles",
        }
    )
    access = Access(settings, engine=None)  # roles need no database
    assert access.provider_role({"roles": ["gis-cz"]}) == "civil_protection"
    assert access.provider_role({"groups": ["gis-cz"]}) == "public"
    assert access.provider_role({}) == "public"
