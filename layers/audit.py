"""The audit trail and what an admin sees of sessions: through migration 0007's functions only.

The dashboards' role cannot read these tables, nor write them but through the functions. A
session's actions are recorded under the identity its server-side record holds, and only an
admin's session may read the trail, list the live sessions or end one.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from layers.errors import LayerAccessError
from layers.settings import LJUBLJANA

log = logging.getLogger(__name__)

INSUFFICIENT_PRIVILEGE = "42501"


def record_action(engine: Engine, token: str, action: str, detail: str = "") -> None:
    """Record an export of the session of ``token``; a failure is logged, never shown to the
    user (the page goes on).
    """
    try:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT record_audit(:token, :action, :detail)"),
                {"token": token, "action": action, "detail": detail},
            )
    except Exception:  # the trail must not take the page down with it
        log.exception("could not record %s in the audit trail", action)


def _admin_read(engine: Engine, query: str, params: dict) -> pd.DataFrame:
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query), params)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
            raise LayerAccessError(
                "only an admin's session may read the audit trail and the sessions",
                "revizijsko sled in seje sme brati le skrbnikova seja",
            ) from None
        raise
    for column in frame.select_dtypes("datetimetz"):
        frame[column] = frame[column].dt.tz_convert(LJUBLJANA).dt.strftime("%d. %m. %Y %H:%M:%S")
    return frame


def recent_events(engine: Engine, token: str, limit: int = 500) -> pd.DataFrame:
    """The newest events, for an admin's session (times in Ljubljana's)."""
    return _admin_read(
        engine, "SELECT * FROM audit_trail(:token, :limit)", {"token": token, "limit": limit}
    )


def live_sessions(engine: Engine, token: str) -> pd.DataFrame:
    """The sessions signed in now, the most recently seen first, for an admin's session."""
    return _admin_read(engine, "SELECT * FROM session_list(:token)", {"token": token})


def sign_in_limits(engine: Engine, token: str) -> pd.DataFrame:
    """The accounts and addresses that failed to sign in lately, and their waits and lockouts."""
    return _admin_read(engine, "SELECT * FROM sign_in_limits(:token)", {"token": token})


def end_session(engine: Engine, token: str, session_id: int) -> None:
    """End another session (audited under the admin's name), from an admin's session."""
    _admin_read(
        engine,
        "SELECT session_end(:token, :id) AS ended",
        {"token": token, "id": session_id},
    )
