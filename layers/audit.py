"""The audit trail: appended through ``record_audit()`` (the dashboards may write nothing else),
read by admins only.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Engine, text

from layers.errors import LayerAccessError

log = logging.getLogger(__name__)


def record_event(
    engine: Engine,
    action: str,
    user: str | None,
    role: str | None,
    detail: str = "",
    address: str = "",
) -> None:
    """Append one event; a failure is logged, never shown to the user (the page goes on)."""
    try:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT record_audit(:user, :role, :action, :detail, :address)"),
                {
                    "user": user,
                    "role": role,
                    "action": action,
                    "detail": detail,
                    "address": address,
                },
            )
    except Exception:  # the trail must not take the page down with it
        log.exception("could not record %s of %s in the audit trail", action, user)


def recent_events(engine: Engine, role: str, limit: int = 500) -> pd.DataFrame:
    """The newest events, for an admin."""
    if role != "admin":
        raise LayerAccessError(
            f"role {role!r} may not read the audit trail",
            f"vloga {role!r} ne sme brati revizijske sledi",
        )
    with engine.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT to_char(at, 'YYYY-MM-DD HH24:MI:SS') AS at, username, role, action, detail,"
                " address FROM audit_event ORDER BY at DESC, id DESC LIMIT :limit"
            ),
            conn,
            params={"limit": limit},
        )
