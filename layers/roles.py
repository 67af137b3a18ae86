"""The roles a person signs in with, and the sets of them layer specs name."""

from __future__ import annotations

ROLES = ("public", "planner", "civil_protection", "mayor_office", "admin")
STAFF = frozenset({"planner", "civil_protection", "mayor_office", "admin"})
EVERYONE = frozenset(ROLES)
