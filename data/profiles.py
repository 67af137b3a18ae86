"""Municipality profiles: which real files to load and how to build the sample, as data.

A profile is a TOML file in ``data/profiles/``; Ptuj is the default, ``GIS_PROFILE`` picks another.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.load import LoadOptions
from layers.errors import ConfigurationError
from layers.settings import DEFAULT_PROFILE

DATA_DIR = Path(__file__).resolve().parent
PROFILES_DIR = DATA_DIR / "profiles"
GENERATED_DIR = DATA_DIR / "generated"


@dataclass(frozen=True)
class Dataset:
    """One file to load into one layer, with how to read it and what to record."""

    layer: str
    path: Path
    options: LoadOptions


@dataclass(frozen=True)
class Profile:
    """A municipality: its identity, its real files and the sample generator's parameters."""

    id: str
    name: str
    name_en: str
    ob_mid: int
    residents: int
    real: tuple[Dataset, ...]
    sample: dict[str, Any] = field(default_factory=dict)
    wall_tiles: tuple[str, ...] = ()  # the wall's indicators; none: dashboards/wall.toml's

    @property
    def generated_dir(self) -> Path:
        return GENERATED_DIR / self.id


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Read ``data/profiles/<name>.toml`` (the setting ``GIS_PROFILE`` names it)."""
    path = PROFILES_DIR / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise ConfigurationError(
            f"no profile {name!r} ({path})",
            f"profila {name!r} ni ({path})",
            f"use one of: {known}",
            f"uporabite enega od: {known}",
        )
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    real = tuple(
        Dataset(d.pop("layer"), DATA_DIR / d.pop("path"), LoadOptions(**d))
        for d in raw.get("real", [])
    )
    return Profile(
        id=raw["id"],
        name=raw["name"],
        name_en=raw["name_en"],
        ob_mid=raw["ob_mid"],
        residents=raw["residents"],
        real=real,
        sample=raw.get("sample", {}),
        wall_tiles=tuple(raw.get("wall", {}).get("tiles", ())),
    )
