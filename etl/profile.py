"""Loading a whole municipality profile: its real files, then its generated sample."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from sqlalchemy import Engine

from data.profiles import DATA_DIR, PROFILES_DIR, Dataset, Profile
from data.sample.generate import MANIFEST, write_sample
from etl.load import LoadOptions, LoadReport, load_file
from layers.catalog import loaded_parts
from layers.open_data import write_downloads

log = logging.getLogger(__name__)
SAMPLE_DIR = DATA_DIR / "sample"  # the generator: a newer one makes the sample again


def outdated(manifest: Path, profile: Profile) -> bool:
    """Whether the sample at ``manifest`` is missing or older than its generator or profile (a
    layer added to the sample reaches a checkout that generated it before).
    """
    if not manifest.exists():
        return True
    sources = [*SAMPLE_DIR.glob("*.py"), PROFILES_DIR / f"{profile.id}.toml"]
    return manifest.stat().st_mtime < max(p.stat().st_mtime for p in sources if p.exists())


def sample_datasets(profile: Profile, directory: Path | None = None) -> list[Dataset]:
    """The generated files of ``profile``, generating them first when they are missing or older
    than what makes them.
    """
    directory = directory or profile.generated_dir
    manifest = directory / MANIFEST
    if outdated(manifest, profile):
        log.info("generating the sample data of %s", profile.id)
        write_sample(profile, directory)
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    return [
        Dataset(e["layer"], directory / e["path"], LoadOptions(**e["options"])) for e in entries
    ]


def load_profile_data(
    engine: Engine,
    profile: Profile,
    sample_dir: Path | None = None,
    progress: bool = True,
    missing_only: bool = False,
    open_data_dir: Path | None = None,
) -> list[LoadReport]:
    """Load every dataset of ``profile``: the real files as they are, then the sample.

    With ``missing_only``, only the layers (and flood scenarios) never loaded are: a database
    made by an older version gains the new layers, and nothing loaded by hand is replaced.
    The open layers' downloads are written into ``open_data_dir`` once, after all the loads
    (and when none was needed: a database older than the downloads gets them).
    """
    present = loaded_parts(engine) if missing_only else set()
    reports = []
    for dataset in (*profile.real, *sample_datasets(profile, sample_dir)):
        if (dataset.layer, dataset.options.scenario) in present:
            continue
        options = dataclasses.replace(dataset.options, progress=progress)
        reports.append(load_file(engine, dataset.path, dataset.layer, options))
    if open_data_dir:  # even when nothing was missing: the downloads are made from the layers
        write_downloads(engine, open_data_dir)
    return reports
