"""Sample sensors across the municipality and a year of their readings, with daily and weekly
cycles and the faults real networks have.

Where they stand: air-quality stations (PM10, PM2.5 and NO₂ each) in the old town and along the
arterial roads, noise meters mostly by the arterials, a bay sensor in every space of the car
parks near the centre, fill-level sensors on containers by blocks of flats and houses in the
town's districts, free-chlorine sensors on the water mains and smart electricity meters in homes.
Where a profile asks for the smart city's measures too: an information board at each car park,
turbidity sensors on the mains, water and gas meters in homes, level and discharge sensors at the
sewer's overflow chambers on the river's bank, CO₂, temperature and humidity in the public
buildings nearest the centre, and adaptive street lights along the town's streets.

What they report is in ``data.sample.sensor_models``. Faults: sensors that stopped reporting
(status ``v okvari``), removed ones, gaps of hours to days, values stuck at one reading and the
odd spike.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
import shapely.ops

from data.sample.buildings import RESIDENTIAL
from data.sample.geography import Geography
from data.sample.network import Segment
from data.sample.sensor_models import SampleSensor, model
from layers.sensor_kinds import sensor_kinds

log = logging.getLogger(__name__)

MAX_DAYS = 365
CHUNK_DAYS = 30  # readings are made a month at a time, so 50 million fit in memory easily
SCHEMA = pa.schema(
    [
        ("sensor", pa.dictionary(pa.int16(), pa.string())),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("value", pa.float32()),
    ]
)


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
        placed.append((f"ENER-{n:03d}", "energy", home["geometry"].centroid, _households(home)))
    if config.get("parking_boards"):
        placed += [
            (f"PARK-{n:02d}-TABLA", "parking_free", point, 1.0)
            for n, point in enumerate(car_parks, 1)
        ]
    return placed + _smart_city_sensors(config, geo, segments, buildings, mains, homes, rng)


def _smart_city_sensors(
    config: dict,
    geo: Geography,
    segments: list[Segment],
    buildings: list[dict],
    mains: list,
    homes: list[dict],
    rng: np.random.Generator,
) -> list[tuple[str, str, shapely.Point, float]]:
    """The measures of Maribor's strategy, each where the profile asks for it."""
    centre = geo.centre
    placed = [
        (f"VODA-M-{n:02d}", "turbidity", p, 1.0)
        for n, p in enumerate(_points_along(mains, config.get("water_turbidity", 0), rng), 1)
    ]
    for kind, prefix in (("water_meter", "VODOMER"), ("gas_meter", "PLIN")):
        count = config.get(f"{kind}s", 0)
        for n, i in enumerate(rng.choice(len(homes), count, replace=False), 1):
            home = homes[i]
            placed.append((f"{prefix}-{n:03d}", kind, home["geometry"].centroid, _households(home)))
    if config.get("sewer_overflows"):
        river = geo.water[geo.water["name"] == config["overflow_river"]].geometry.union_all()
        bank = river.boundary.intersection(centre.buffer(config["overflow_reach_m"]))
        for n, point in enumerate(_points_along([bank], config["sewer_overflows"], rng), 1):
            chamber = _away_from(point, river, 15)
            share = 0.7 + 0.6 * rng.random()  # how much of the town drains to this chamber
            placed += [
                (f"RAZB-{n:02d}-NIVO", "sewer_level", chamber, share),
                (f"RAZB-{n:02d}-PRETOK", "sewer_overflow", chamber, share),
            ]
    public = sorted(
        (b for b in buildings if b["NAMEMBNOST"] == "javna"),
        key=lambda b: b["geometry"].centroid.distance(centre),
    )
    for n, building in enumerate(public[: config.get("indoor_buildings", 0)], 1):
        inside = building["geometry"].representative_point()
        placed += [
            (f"NZ-{n:02d}-{suffix}", kind, inside, 1.0)
            for suffix, kind in (
                ("CO2", "co2_indoor"),
                ("T", "temperature_indoor"),
                ("RH", "humidity_indoor"),
            )
        ]
    streets = [s.line for s in segments if s.urban and s.line.distance(centre) < 2500]
    for n, post in enumerate(_points_along(streets, config.get("street_lights", 0), rng), 1):
        placed += [
            (f"LUC-{n:03d}-RAVEN", "light_level", post, 1.0),
            (f"LUC-{n:03d}-MOC", "light_power", post, 1.0),
        ]
    return placed


def _households(home: dict) -> float:
    """A meter's weight: the households behind it (a block of flats counts as twelve)."""
    return 12.0 if home["NAMEMBNOST"] == "večstanovanjska" else 1.0


def _away_from(point: shapely.Point, water: shapely.Geometry, metres: float) -> shapely.Point:
    """``point`` on the water's edge moved ``metres`` onto the land."""
    inner = shapely.ops.nearest_points(water.buffer(-1), point)[0]
    dx, dy = point.x - inner.x, point.y - inner.y
    length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
    return shapely.Point(point.x + dx / length * metres, point.y + dy / length * metres)


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
    """How many sensors of each kind the profile's ``[sample.sensors]`` asks for."""
    stations, chambers = config["air_stations"], config.get("sewer_overflows", 0)
    rooms, lights = config.get("indoor_buildings", 0), config.get("street_lights", 0)
    counts = {
        "pm10": stations,
        "pm25": stations,
        "no2": stations,
        "noise": config["noise"],
        "parking": config["car_parks"] * config["spaces_per_car_park"],
        "waste_fill": config["waste_containers"],
        "chlorine": config["water_quality"],
        "energy": config["energy_meters"],
        "parking_free": config["car_parks"] if config.get("parking_boards") else 0,
        "turbidity": config.get("water_turbidity", 0),
        "water_meter": config.get("water_meters", 0),
        "gas_meter": config.get("gas_meters", 0),
        "sewer_level": chambers,
        "sewer_overflow": chambers,
        "co2_indoor": rooms,
        "temperature_indoor": rooms,
        "humidity_indoor": rooms,
        "light_level": lights,
        "light_power": lights,
    }
    return {kind: count for kind, count in counts.items() if count}


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
