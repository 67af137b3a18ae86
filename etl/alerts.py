"""Raising and clearing the alerts (``layers/alerts.toml``) on the readings stored so far.

Run by the ingest after each batch it commits (at most once a second): each rule's query says
what it holds for now; an alert not yet open is raised, an open one that no longer holds is
cleared, each with its time and a line in the audit trail. One evaluation at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from layers.alerts import alert_rules

ALERTS_LOCK = 37940002  # advisory lock: two ingests never raise the same alert twice


@dataclass(frozen=True)
class Changes:
    """What one evaluation raised and cleared, as (rule, subject)."""

    raised: list[tuple[str, str]]
    cleared: list[tuple[str, str]]


def evaluate_alerts(conn: Connection) -> Changes:
    """Raise and clear the alerts in the caller's transaction."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": ALERTS_LOCK})
    holding = {}
    for rule in alert_rules().values():
        for subject, value, geom in conn.execute(text(rule.query()), rule.parameters()):
            holding[rule.id, subject] = (value, geom)
    open_now = {
        (rule, subject): id_
        for id_, rule, subject in conn.execute(
            text("SELECT id, rule, subject FROM alert WHERE cleared_at IS NULL")
        )
    }
    raised = [key for key in holding if key not in open_now]
    cleared = [key for key in open_now if key not in holding]
    for rule, subject in raised:
        value, geom = holding[rule, subject]
        conn.execute(
            text("INSERT INTO alert (rule, subject, value, geom) VALUES (:r, :s, :v, :g)"),
            {"r": rule, "s": subject, "v": value, "g": geom},
        )
        _audit(conn, "alert_raised", rule, subject, value)
    for key in cleared:
        conn.execute(
            text("UPDATE alert SET cleared_at = clock_timestamp() WHERE id = :id"),
            {"id": open_now[key]},
        )
        _audit(conn, "alert_cleared", *key, None)
    still = [key for key in holding if key in open_now]
    if still:  # the open ones say where they stand now
        conn.execute(
            text(
                "UPDATE alert a SET value = v.value FROM unnest(CAST(:ids AS bigint[]),"
                " CAST(:values AS float8[])) AS v(id, value) WHERE a.id = v.id"
            ),
            {"ids": [open_now[k] for k in still], "values": [holding[k][0] for k in still]},
        )
    return Changes(raised, cleared)


def _audit(conn: Connection, action: str, rule: str, subject: str, value: float | None) -> None:
    detail = f"{rule}: {subject}" + ("" if value is None else f" ({value:.3g})")
    conn.execute(
        text("SELECT append_audit('ingest', 'system', :action, :detail, NULL)"),
        {"action": action, "detail": detail},
    )
