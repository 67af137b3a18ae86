"""Sample sensors across the municipality and a year of their readings, with daily and weekly
cycles and the faults real networks have.

Where they stand: air-quality stations (PM10, PM2.5 and NO₂ each) in the old town and along the
arterial roads, noise meters mostly by the arterials, a bay sensor in every space of the car
parks near the centre, fill-level sensors on containers by blocks of flats and houses in the
town's districts, free-chlorine sensors on the water mains and smart electricity meters in homes.

What they report, in local time: PM10 high in winter (heating, evenings, inversion days) and in
the rush hours; NO₂ with the traffic; noise loud by day, quiet at night and on Sunday mornings;
car parks full on working days and on Saturday's market morning; containers filling until their
weekly collection; homes' demand peaking in the morning and the evening. Faults: sensors that
stopped reporting (status ``v okvari``), removed ones, gaps of hours to days, values stuck at one
reading and the odd spike.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from data.sample.buildings import RESIDENTIAL
from data.sample.geography import Geography
from data.sample.network import Segment
from layers.sensor_kinds import sensor_kinds

log = logging.getLogger(__name__)

LOCAL_ZONE = "Europe/Ljubljana"
MAX_DAYS = 365
CHUNK_DAYS = 30  # readings are made a month at a time, so 50 million fit in memory easily
SCHEMA = pa.schema(
    [
        ("sensor", pa.dictionary(pa.int16(), pa.string())),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("value", pa.float32()),
    ]
)


@dataclass(frozen=True)
class SampleSensor:
    code: str
    kind: str
    point: shapely.Point
    status: str
    installed: dt.date
    interval_min: float
    last_day: int  # readings stop this many days before the end (faulty or removed sensors)
    weight: float  # how busy its place is: traffic, crowd, household size


def _points_along(lines: list, count: int, rng: np.random.Generator) -> list[shapely.Point]:
    picks = rng.integers(0, len(lines), count)
    return [lines[i].interpolate(rng.random(), normalized=True) for i in picks]


def _near(point: shapely.Point, radius: float, rng: np.random.Generator) -> shapely.Point:
    return shapely.Point(
        point.x + rng.uniform(-radius, radius), point.y + rng.uniform(-radius, radius)
    )


def place_sensors(
    config: dict,
    geo: Geography,
    segments: list[Segment],
    buildings: list[dict],
    mains: list,
    rng: np.random.Generator,
) -> list[tuple[str, str, shapely.Point, float]]:
    """(code, kind, place, weight) of every sensor, by the rules in the module's docstring."""
    centre = geo.centre
    arterial = [s.line for s in segments if s.arterial and s.line.distance(centre) < 6000]
    central = [s.line for s in segments if s.urban and s.line.distance(centre) < 900]
    placed = []
    stations = _points_along(central, config["air_centre"], rng) + _points_along(
        arterial, config["air_stations"] - config["air_centre"], rng
    )
    for n, point in enumerate(stations, 1):
        traffic = 1.0 + 0.6 * (point.distance(centre) < 900)
        placed += [
            (f"ZRAK-{n:02d}-{k.upper()}", k, point, traffic) for k in ("pm10", "pm25", "no2")
        ]
    loud = _points_along(arterial, config["noise"] * 2 // 3, rng)
    loud += _points_along(central, config["noise"] - len(loud), rng)
    placed += [
        (f"HRUP-{n:02d}", "noise", p, 1.0 + 0.5 * (p.distance(centre) < 900))
        for n, p in enumerate(loud, 1)
    ]
    car_parks = _points_along(
        [s.line for s in segments if s.urban and 150 < s.line.distance(centre) < 1300],
        config["car_parks"],
        rng,
    )
    for park, point in enumerate(car_parks, 1):
        demand = float(np.clip(1.15 - point.distance(centre) / 1500, 0.4, 1.0))
        for bay in range(config["spaces_per_car_park"]):
            spot = shapely.Point(point.x + 2.6 * (bay % 6), point.y + 5.5 * (bay // 6))
            placed.append((f"PARK-{park:02d}-{bay + 1:02d}", "parking", spot, demand))
    homes = [
        b
        for b in buildings
        if b["NAMEMBNOST"] in RESIDENTIAL and b["geometry"].centroid.distance(centre) < 3500
    ]
    for n, i in enumerate(rng.choice(len(homes), config["waste_containers"], replace=False), 1):
        home = homes[i]
        placed.append(
            (f"ODPAD-{n:03d}", "waste_fill", _near(home["geometry"].centroid, 8, rng), 1.0)
        )
    placed += [
        (f"VODA-{n:02d}", "chlorine", p, 1.0)
        for n, p in enumerate(_points_along(mains, config["water_quality"], rng), 1)
    ]
    for n, i in enumerate(rng.choice(len(homes), config["energy_meters"], replace=False), 1):
        home = homes[i]
        flats = 12.0 if home["NAMEMBNOST"] == "večstanovanjska" else 1.0
        placed.append((f"ENER-{n:03d}", "energy", home["geometry"].centroid, flats))
    return placed


def build_sensors(
    config: dict,
    geo: Geography,
    segments: list[Segment],
    buildings: list[dict],
    mains: list,
    rng: np.random.Generator,
    days: int,
    interval_scale: float,
) -> list[SampleSensor]:
    """The sensors with their status, installation date and reporting interval."""
    placed = place_sensors(config, geo, segments, buildings, mains, rng)
    faulty = set(rng.choice(len(placed), config["faulty"], replace=False).tolist())
    removed = set(
        rng.choice(sorted(set(range(len(placed))) - faulty), config["removed"], replace=False)
    )
    sensors = []
    for i, (code, kind, point, weight) in enumerate(placed):
        status, last_day = "deluje", 0
        if i in faulty:
            status, last_day = "v okvari", int(rng.integers(1, 12))
        elif i in removed:
            status, last_day = "odstranjen", int(rng.integers(days // 3, days // 2))
        sensors.append(
            SampleSensor(
                code=code,
                kind=kind,
                point=point,
                status=status,
                installed=dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700))),
                interval_min=config["interval_min"][kind] * interval_scale,
                last_day=last_day,
                weight=weight,
            )
        )
    return sensors


def period(config: dict, target: int, end: dt.datetime) -> tuple[dt.datetime, float]:
    """The first time of the readings and the factor on every interval, for about ``target``.

    Up to a year, the period grows to reach the target at the natural intervals; past a year,
    sensors report more often instead.
    """
    per_day = sum(
        count * 1440 / config["interval_min"][kind] for kind, count in sensor_counts(config).items()
    )
    days = target / per_day
    scale = min(1.0, MAX_DAYS / days)
    return end - dt.timedelta(days=min(days, MAX_DAYS)), scale


def sensor_counts(config: dict) -> dict[str, int]:
    return {
        "pm10": config["air_stations"],
        "pm25": config["air_stations"],
        "no2": config["air_stations"],
        "noise": config["noise"],
        "parking": config["car_parks"] * config["spaces_per_car_park"],
        "waste_fill": config["waste_containers"],
        "chlorine": config["water_quality"],
        "energy": config["energy_meters"],
    }


def readings(
    sensors: list[SampleSensor], start: dt.datetime, end: dt.datetime, seed: int
) -> Iterator[pa.Table]:
    """The readings a month at a time, each month in time order, as Arrow tables."""
    rng = np.random.default_rng(seed)
    codes = pa.array([s.code for s in sensors])
    fault_state = {s.code: np.random.default_rng(seed + i) for i, s in enumerate(sensors)}
    chunk_start = start
    while chunk_start < end:
        chunk_end = min(chunk_start + dt.timedelta(days=CHUNK_DAYS), end)
        parts = []
        for i, sensor in enumerate(sensors):
            stop = end - dt.timedelta(days=sensor.last_day)
            times = _times(sensor, chunk_start, min(chunk_end, stop))
            if not len(times):
                continue
            values = model(sensor, times, rng)
            keep = _with_faults(values, fault_state[sensor.code])
            np.clip(values, *sensor_kinds()[sensor.kind].valid, out=values)  # spikes saturate
            parts.append((np.full(keep.sum(), i, np.int16), times.asi8[keep], values[keep]))
        if parts:
            index, times, values = (np.concatenate(c) for c in zip(*parts, strict=True))
            order = np.argsort(times, kind="stable")
            yield pa.table(
                [
                    pa.DictionaryArray.from_arrays(pa.array(index[order]), codes),
                    pa.array(times[order], type=SCHEMA.field("observed_at").type),
                    pa.array(values[order].astype(np.float32)),
                ],
                schema=SCHEMA,
            )
        chunk_start = chunk_end


def _times(sensor: SampleSensor, start: dt.datetime, end: dt.datetime) -> pd.DatetimeIndex:
    step = pd.Timedelta(minutes=sensor.interval_min).round("1s")
    first = pd.Timestamp(start).ceil(step)
    if first >= end:
        return pd.DatetimeIndex([], tz="UTC")
    return pd.date_range(first, end, freq=step, inclusive="left", tz="UTC", unit="us")


def _with_faults(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaps, stuck values and spikes, in place; returns which readings were sent at all."""
    n = len(values)
    sent = np.ones(n, bool)
    if rng.random() < 0.15:  # a gap: the sensor or its network was down for a while
        length = int(rng.integers(3, max(4, n // 10)))
        at = int(rng.integers(0, max(1, n - length)))
        sent[at : at + length] = False
    if rng.random() < 0.05:  # stuck: the same reading over and over
        length = int(rng.integers(5, max(6, n // 20)))
        at = int(rng.integers(0, max(1, n - length)))
        values[at : at + length] = values[at]
    spikes = rng.random(n) < 0.0005
    values[spikes] *= 3
    return sent


def model(sensor: SampleSensor, times: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Values of one sensor at ``times``, after the cycles in the module's docstring."""
    local = times.tz_convert(LOCAL_ZONE)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60
    weekday = local.day_of_week.to_numpy()
    winter = 0.5 * (1 + np.cos(2 * np.pi * (local.day_of_year.to_numpy() - 15) / 365))
    working = weekday < 5
    rush = working * (np.exp(-(((hour - 7.5) / 1.2) ** 2)) + np.exp(-(((hour - 16) / 1.5) ** 2)))
    evening = np.exp(-(((hour - 20) / 2.5) ** 2))
    day = (hour > 6) & (hour < 22)
    kinds = sensor_kinds()
    w, n = sensor.weight, len(times)
    # slow weather: days of still air (inversions) raise everything the air holds
    days = (times.asi8 // 86_400_000_000).astype(np.int64)
    weather = np.exp(0.45 * np.sin(days * 0.9 + w) + 0.35 * np.sin(days * 0.23))
    if sensor.kind in ("pm10", "pm25"):
        pm10 = (12 + 26 * winter * (0.5 + evening) + 9 * w * rush) * weather
        values = pm10 * (0.68 if sensor.kind == "pm25" else 1.0) * rng.lognormal(0, 0.18, n)
    elif sensor.kind == "no2":
        values = (9 + 8 * winter + 22 * w * rush + 6 * day) * weather * rng.lognormal(0, 0.2, n)
    elif sensor.kind == "noise":
        sunday_morning = (weekday == 6) & (hour < 11)
        values = 44 + 14 * day * w + 4 * rush - 5 * sunday_morning + rng.normal(0, 2.5, n)
    elif sensor.kind == "parking":
        market = (weekday == 5) & (hour > 7) & (hour < 13)
        busy = working & (hour > 7.5) & (hour < 17.5)
        p = np.where(busy | market, 0.92 * w, np.where(day, 0.45 * w, 0.12))
        values = 100.0 * (rng.random(n) < p)
    elif sensor.kind == "waste_fill":
        own = zlib.crc32(sensor.code.encode())  # the container's own collection day and use
        collection = own % 7
        per_hour = (0.45 + 0.4 * (own % 100) / 100) * (1 + day)  # filled faster by day
        since = ((weekday - collection) % 7) * 24 + hour - 7
        since = np.where(since < 0, since + 168, since)
        values = np.clip(per_hour * since / 1.5 + rng.normal(0, 2, n), 0, 100)
    elif sensor.kind == "chlorine":
        values = 0.22 + 0.04 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 0.015, n)
    else:  # energy: a home, or a block of flats (weight = flats)
        profile = 0.35 + 0.9 * np.exp(-(((hour - 7.5) / 1.0) ** 2)) + 1.6 * evening
        values = w * profile * (1 + 0.4 * winter) * rng.lognormal(0, 0.25, n)
    low, high = kinds[sensor.kind].valid
    return np.clip(values, low, high)


def sensor_records(sensors: list[SampleSensor]) -> list[dict]:
    """The sensor layer in source column names, in EPSG:3794."""
    return [
        {
            "ID": s.code,
            "VRSTA": s.kind,
            "ENOTA": sensor_kinds()[s.kind].unit,
            "NAMESCEN": s.installed.isoformat(),
            "STANJE": s.status,
            "geometry": s.point,
        }
        for s in sensors
    ]


def write_readings(
    sensors: list[SampleSensor], start: dt.datetime, end: dt.datetime, seed: int, path
) -> int:
    """Write the readings to a Parquet file; returns how many."""
    count = 0
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        for table in readings(sensors, start, end, seed):
            writer.write_table(table, row_group_size=1_000_000)
            count += table.num_rows
            log.info("readings up to %s: %d", table["observed_at"][-1], count)
    return count
