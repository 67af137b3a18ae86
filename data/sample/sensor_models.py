"""What each kind of sample sensor reports, in local time, one function a kind (``MODELS``).

PM10 is high in winter (heating, evenings, inversion days) and in the rush hours; NO₂ follows the
traffic; noise is loud by day, quiet at night and on Sunday mornings; car parks are full on
working days and on Saturday's market morning, and their boards show the spaces left; containers
fill until their weekly collection; homes draw electricity, water and gas in the morning and the
evening. The sewer's overflow chambers fill with the day's waste water and spill into the river
in the summer storms; classrooms fill with CO₂ while lessons run and the heating keeps them warm;
street lights are turned up at dusk, down after midnight and off by day, and now and then one
draws no power while turned up (a lamp gone). Every model gives the same values for the same
code and times whatever else is made, so the sample and the live feed agree.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.sensor_kinds import sensor_kinds

LOCAL_ZONE = "Europe/Ljubljana"


@dataclass(frozen=True)
class Clock:
    """The times of one sensor's readings, and the cycles the models share."""

    hour: np.ndarray  # local hour of day, with the minutes as a fraction
    weekday: np.ndarray  # 0 Monday … 6 Sunday
    day_of_year: np.ndarray
    days: np.ndarray  # whole days since 1970 (UTC): the weather's and the storms' clock
    weight: float  # how busy the sensor's place is (traffic, crowd, household size)

    @classmethod
    def of(cls, times: pd.DatetimeIndex, weight: float) -> Clock:
        local = times.tz_convert(LOCAL_ZONE)
        return cls(
            hour=local.hour.to_numpy() + local.minute.to_numpy() / 60,
            weekday=local.day_of_week.to_numpy(),
            day_of_year=local.day_of_year.to_numpy(),
            days=(times.asi8 // 86_400_000_000).astype(np.int64),
            weight=weight,
        )

    @property
    def n(self) -> int:
        return len(self.hour)

    @property
    def winter(self) -> np.ndarray:
        return 0.5 * (1 + np.cos(2 * np.pi * (self.day_of_year - 15) / 365))

    @property
    def working(self) -> np.ndarray:
        return self.weekday < 5

    @property
    def rush(self) -> np.ndarray:
        hour = self.hour
        peaks = np.exp(-(((hour - 7.5) / 1.2) ** 2)) + np.exp(-(((hour - 16) / 1.5) ** 2))
        return self.working * peaks

    @property
    def evening(self) -> np.ndarray:
        return np.exp(-(((self.hour - 20) / 2.5) ** 2))

    @property
    def day(self) -> np.ndarray:
        return (self.hour > 6) & (self.hour < 22)

    @property
    def weather(self) -> np.ndarray:
        """Days of still air (inversions) raise everything the air holds."""
        days, w = self.days, self.weight
        return np.exp(0.45 * np.sin(days * 0.9 + w) + 0.35 * np.sin(days * 0.23))

    @property
    def storm(self) -> np.ndarray:
        """Rain, 0 to 1, in the afternoon: a storm on one day in five in summer, one in 25 in
        winter."""
        summer = 0.5 * (1 - np.cos(2 * np.pi * (self.day_of_year - 15) / 365))
        stormy = (self.days * 2_654_435_761 % 1000) / 1000 < 0.04 + 0.16 * summer
        strength = 0.4 + 0.6 * (self.days * 40_503 % 997) / 997
        afternoon = np.exp(-(((self.hour - 17) / 1.8) ** 2))
        return stormy * strength * afternoon


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


def place(sensor: SampleSensor) -> str:
    """The place a sensor belongs to, shared by its fellows: ``RAZB-03`` of ``RAZB-03-NIVO``."""
    return sensor.code.rsplit("-", 1)[0]


def own(code: str, modulo: int) -> int:
    """A number of the sensor's own, from its code: the same each run, different by sensor."""
    return zlib.crc32(code.encode()) % modulo


def lit(clock: Clock) -> np.ndarray:
    """How far a street light is turned up: full from dusk, half after midnight, off by day."""
    light_hours = 3.5 * clock.winter  # dusk about 21:00 in June, 17:00 in December
    dusk, dawn = 20.5 - light_hours, 5.0 + light_hours / 2
    night = (clock.hour >= dusk) | (clock.hour < dawn)
    late = (clock.hour >= 0.0) & (clock.hour < dawn)
    return np.where(night, np.where(late, 50.0, 100.0), 0.0)


def _particles(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    pm10 = (12 + 26 * t.winter * (0.5 + t.evening) + 9 * t.weight * t.rush) * t.weather
    return pm10 * (0.68 if sensor.kind == "pm25" else 1.0) * rng.lognormal(0, 0.18, t.n)


def _no2(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    traffic = 9 + 8 * t.winter + 22 * t.weight * t.rush + 6 * t.day
    return traffic * t.weather * rng.lognormal(0, 0.2, t.n)


def _noise(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    sunday_morning = (t.weekday == 6) & (t.hour < 11)
    return 44 + 14 * t.day * t.weight + 4 * t.rush - 5 * sunday_morning + rng.normal(0, 2.5, t.n)


def _occupied_share(t: Clock) -> np.ndarray:
    market = (t.weekday == 5) & (t.hour > 7) & (t.hour < 13)
    busy = t.working & (t.hour > 7.5) & (t.hour < 17.5)
    return np.where(busy | market, 0.92 * t.weight, np.where(t.day, 0.45 * t.weight, 0.12))


def _parking(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return 100.0 * (rng.random(t.n) < _occupied_share(t))


def _parking_free(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    spaces = 60 * (1 + own(sensor.code, 5))  # the car park's size: 60 to 300 spaces
    return np.round(rng.binomial(spaces, 1 - np.clip(_occupied_share(t), 0, 1)).astype(float))


def _waste_fill(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    mine = own(sensor.code, 2**32)  # the container's own collection day and use
    collection = mine % 7
    per_hour = (0.45 + 0.4 * (mine % 100) / 100) * (1 + t.day)  # filled faster by day
    since = ((t.weekday - collection) % 7) * 24 + t.hour - 7
    since = np.where(since < 0, since + 168, since)
    return np.clip(per_hour * since / 1.5 + rng.normal(0, 2, t.n), 0, 100)


def _chlorine(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return 0.22 + 0.04 * np.sin(2 * np.pi * t.hour / 24) + rng.normal(0, 0.015, t.n)


def _turbidity(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return 0.15 + 1.2 * t.storm + rng.lognormal(-3, 0.5, t.n)  # storms stir the sources up


def _home_profile(t: Clock) -> np.ndarray:
    return 0.35 + 0.9 * np.exp(-(((t.hour - 7.5) / 1.0) ** 2)) + 1.6 * t.evening


def _electricity(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return t.weight * _home_profile(t) * (1 + 0.4 * t.winter) * rng.lognormal(0, 0.25, t.n)


def _water_use(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    night = (t.hour < 5) | (t.hour > 23)
    return 18 * t.weight * _home_profile(t) * ~night * rng.lognormal(0, 0.4, t.n) + 0.5


def _gas_use(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    heating = 0.05 + 0.9 * t.winter**2  # heating in winter, cooking and water all year
    return t.weight * heating * _home_profile(t) * rng.lognormal(0, 0.3, t.n)


def _chamber_level(t: Clock) -> np.ndarray:
    """Centimetres of water in an overflow chamber: the day's waste water, and the rain."""
    dry = 35 + 15 * np.exp(-(((t.hour - 9) / 3) ** 2)) + 10 * t.evening
    return dry + 210 * t.storm * t.weight


def _sewer_level(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return _chamber_level(t) + rng.normal(0, 2, t.n)


def _sewer_overflow(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    weir_cm = 120 + own(place(sensor), 40)  # each chamber's weir at its own height
    over = np.clip(_chamber_level(t) - weir_cm, 0, None)
    return 12 * over**1.5 * rng.lognormal(0, 0.1, t.n)  # over a sharp weir, Q ~ h^1.5


def _in_lessons(t: Clock) -> np.ndarray:
    return (
        t.working
        & (t.hour > 7.5)
        & (t.hour < 15)
        & ~((t.day_of_year > 178) & (t.day_of_year < 244))
    )


def _co2(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    aired = 0.6 + 0.4 * np.cos(2 * np.pi * (t.hour - 7.5))  # windows opened each break
    crowd = 350 + 650 * own(sensor.code, 100) / 100  # some rooms are aired worse than others
    return 430 + crowd * _in_lessons(t) * aired * rng.lognormal(0, 0.1, t.n)


def _temperature(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    heated = 21 + 1.2 * _in_lessons(t)
    summer = 24 + 4 * (1 - t.winter) * np.exp(-(((t.hour - 16) / 4) ** 2))
    return np.where(t.winter > 0.45, heated, summer) + rng.normal(0, 0.4, t.n)


def _humidity(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return 55 - 22 * t.winter + 8 * _in_lessons(t) + rng.normal(0, 3, t.n)


def _light_level(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    return lit(t)


def _light_power(sensor: SampleSensor, t: Clock, rng: np.random.Generator) -> np.ndarray:
    rated = 40 + own(place(sensor), 9) * 10  # 40 to 120 W LED lanterns
    broken = own(place(sensor), 25) == 0  # about one light in 25 has lost its lamp
    power = rated * lit(t) / 100 * rng.normal(1, 0.02, t.n) + 0.8  # the driver's own draw
    return np.where(broken & (t.days % 40 > 25), 0.8, power)


MODELS: dict[str, Callable[[SampleSensor, Clock, np.random.Generator], np.ndarray]] = {
    "pm10": _particles,
    "pm25": _particles,
    "no2": _no2,
    "noise": _noise,
    "chlorine": _chlorine,
    "turbidity": _turbidity,
    "parking": _parking,
    "parking_free": _parking_free,
    "waste_fill": _waste_fill,
    "energy": _electricity,
    "water_meter": _water_use,
    "gas_meter": _gas_use,
    "sewer_level": _sewer_level,
    "sewer_overflow": _sewer_overflow,
    "co2_indoor": _co2,
    "temperature_indoor": _temperature,
    "humidity_indoor": _humidity,
    "light_level": _light_level,
    "light_power": _light_power,
}


def model(sensor: SampleSensor, times: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Values of one sensor at ``times``."""
    values = MODELS[sensor.kind](sensor, Clock.of(times, sensor.weight), rng)
    return np.clip(values, *sensor_kinds()[sensor.kind].valid)
