"""Alerts on the live readings: raised when a rule holds, cleared when it no longer does, each
with its time, its place and a line in the audit trail; and raised by the ingest itself."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from etl.alerts import evaluate_alerts
from tests.etl.feeding import Sensors, ingesting, new_root


def readings(
    database, code: str, values: list[float], minutes_apart: float = 10, ago: float = 0
) -> None:
    """``values`` of sensor ``code``, the last one ``ago`` minutes ago, as a load stores them."""
    with database.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sensor_reading (observed_at, sensor_id, value, load_id)"
                " SELECT now() - (:ago + :apart * (n - 1)) * interval '1 minute', s.id, v, 0"
                " FROM sensor s, unnest(CAST(:values AS float8[])) WITH ORDINALITY AS x(v, n)"
                " WHERE s.code = :code"
            ),
            {"code": code, "values": values[::-1], "apart": minutes_apart, "ago": ago},
        )


def evaluate(database):
    with database.writer.begin() as conn:
        return evaluate_alerts(conn)


def alerts(database) -> list[tuple]:
    with database.writer.connect() as conn:
        return conn.execute(
            text(
                "SELECT rule, subject, cleared_at IS NOT NULL, round(ST_X(geom)), round(ST_Y(geom))"
                " FROM alert ORDER BY id"
            )
        ).all()


def audited(database) -> list[tuple]:
    with database.writer.connect() as conn:
        return conn.execute(
            text("SELECT action, detail FROM audit_event WHERE action LIKE 'alert%' ORDER BY id")
        ).all()


def test_a_sensors_days_mean_over_the_limit_is_raised_and_cleared(sensors):
    readings(sensors, "PARK-T1", [0])  # reporting: not silent
    readings(sensors, "ZRAK-T1", [40, 60, 70])  # mean 56.7
    changes = evaluate(sensors)
    assert changes.raised == [("pm10_daily_mean", "ZRAK-T1")]
    assert alerts(sensors) == [("pm10_daily_mean", "ZRAK-T1", False, 566000, 142000)]
    assert evaluate(sensors).raised == []  # raised once, not at every batch
    readings(sensors, "ZRAK-T1", [10, 10], minutes_apart=1)  # the mean falls to 38
    changes = evaluate(sensors)
    assert changes.cleared == [("pm10_daily_mean", "ZRAK-T1")]
    assert alerts(sensors) == [("pm10_daily_mean", "ZRAK-T1", True, 566000, 142000)]
    assert audited(sensors) == [
        ("alert_raised", "pm10_daily_mean: ZRAK-T1 (56.7)"),
        ("alert_cleared", "pm10_daily_mean: ZRAK-T1"),
    ]


def test_a_working_sensor_silent_for_twice_its_cadence_is_raised_until_it_reports(sensors):
    readings(sensors, "ZRAK-T1", [20])
    readings(sensors, "PARK-T1", [0, 100], ago=6)  # the last one 6 minutes ago...
    # ...parking reports every 2 minutes: silent for more than twice that
    assert evaluate(sensors).raised == [("sensor_silent", "PARK-T1")]
    with sensors.writer.begin() as conn:
        conn.execute(text("UPDATE sensor SET status = 'v okvari' WHERE code = 'PARK-T1'"))
    assert evaluate(sensors).cleared == [("sensor_silent", "PARK-T1")]  # known to be broken


def test_five_full_containers_in_one_district_raise_one_alert_at_the_district(sensors):
    with sensors.writer.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO district (code, name, geom) VALUES"
                " (1, 'Četrt Center', ST_Multi(ST_MakeEnvelope(565000, 141000, 567000, 143000, 3794))),"
                " (2, 'Četrt Ljudski vrt', ST_Multi(ST_MakeEnvelope(567000, 141000, 569000, 143000, 3794)))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sensor (id, code, kind, unit, status, geom)"
                " SELECT 0, 'ODPAD-T' || n, 'waste_fill', '%', 'deluje',"
                " ST_SetSRID(ST_Point(565500 + n * 100, 141500), 3794) FROM generate_series(1, 6) n"
            )
        )
    readings(sensors, "ZRAK-T1", [20])
    readings(sensors, "PARK-T1", [0])
    for n in range(1, 7):
        readings(sensors, f"ODPAD-T{n}", [50, 95 if n <= 5 else 40])
    assert evaluate(sensors).raised == [("containers_full", "Četrt Center")]
    *_, x, y = alerts(sensors)[0]
    assert 565000 < x < 567000 and 141000 < y < 143000  # a point inside the district
    readings(sensors, "ODPAD-T1", [10])  # emptied: four left
    assert evaluate(sensors).cleared == [("containers_full", "Četrt Center")]


def test_the_ingest_raises_an_alert_from_what_it_has_just_stored(sensors):
    root = new_root()
    publisher = Sensors(root)
    now = dt.datetime.now(dt.UTC)
    with ingesting(sensors, root) as ingest:
        publisher.publish("PARK-T1", {"observed_at": now.isoformat(), "value": 0})
        publisher.publish(
            "ZRAK-T1",
            [
                {"observed_at": (now - dt.timedelta(hours=h)).isoformat(), "value": 80}
                for h in range(3)
            ],
        )
        ingest.wait_for("alerts raised: pm10_daily_mean ZRAK-T1")
    publisher.close()
    # (the air station was silent until its readings came, if they came in a later batch)
    still_open = [a for a in alerts(sensors) if not a[2]]
    assert still_open == [("pm10_daily_mean", "ZRAK-T1", False, 566000, 142000)]
