"""Sessions kept on the server and the limits on signing in, in PostGIS (migration 0007).

A session is a random token in the person's signed cookie and a row on the server, found by the
token's hash. Ending the row ends the session at once, whatever copies of the cookie exist. The
dashboards' role reaches the rows only through the migration's functions, which take who acts
from the session itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, text

SESSION_KINDS = ("person", "device", "oidc")
END_REASONS = ("sign_out", "ended_by_admin", "role_changed", "user_removed")


@dataclass(frozen=True)
class Identity:
    """Who a live session is."""

    session_id: int
    user: str
    role: str
    kind: str


def open_session(
    engine: Engine, user: str, role: str, kind: str, hours: float, address: str
) -> str:
    """Open a session (the sign-in is audited with it) and return its token.

    Parameters
    ----------
    engine
        The dashboards' engine.
    user, role
        Who signed in, in which role.
    kind
        One of ``SESSION_KINDS``.
    hours
        How long the session lasts unless it is ended.
    address
        The address signed in from.

    Returns
    -------
    str
        The token, for the person's cookie only: the server keeps its hash.
    """
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            text("SELECT session_open(:token, :user, :role, :kind, :hours, :address)"),
            {
                "token": token,
                "user": user,
                "role": role,
                "kind": kind,
                "hours": hours,
                "address": address,
            },
        )
    return token


def session_identity(engine: Engine, token: str) -> Identity | None:
    """Return who the live session of ``token`` is, or None when it ended or expired."""
    with engine.begin() as conn:
        found = conn.execute(text("SELECT * FROM session_who(:token)"), {"token": token}).first()
    return Identity(*found) if found else None


def close_session(engine: Engine, token: str, why: str) -> None:
    """End the session of ``token`` (audited), for one of ``END_REASONS``."""
    with engine.begin() as conn:
        conn.execute(text("SELECT session_close(:token, :why)"), {"token": token, "why": why})


def sign_in_wait(engine: Engine, user: str, address: str) -> int:
    """Return the seconds before ``user`` may try to sign in from ``address`` (0: now)."""
    with engine.connect() as conn:
        return conn.scalar(
            text("SELECT sign_in_wait(:user, :address)"), {"user": user, "address": address}
        )


def sign_in_failed(engine: Engine, user: str, address: str, detail: str = "") -> int:
    """Count (and audit) a failed sign-in; return the seconds it makes the next try wait."""
    with engine.begin() as conn:
        return conn.scalar(
            text("SELECT sign_in_failed(:user, :address, :detail)"),
            {"user": user, "address": address, "detail": detail},
        )
