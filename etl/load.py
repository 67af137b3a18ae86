"""The loader contract, and the one function that runs a load whatever its kind.

A load either replaces (or appends to) a layer's rows and records itself in the catalogue, or
fails and leaves the database exactly as it was. ``load_file`` owns what every kind shares: the
checksum and the skip of a file loaded unchanged last time, the one transaction, the dry run's
rollback, the catalogue entry and the wrapping of database errors. A loader (``etl.vector``,
``etl.raster``, ``etl.readings``) only reads, checks and writes, in the transaction it is given;
so a refused row, a database error or the process being killed mid-way roll everything back,
and readers see the old rows until the commit.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyogrio.errors
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from etl.catalog import load_entry, record_load, reserve_load_id
from etl.mapping import FieldMap
from etl.read import RASTER_SUFFIXES, file_sha256
from etl.rejects import refuse_empty_load
from layers.catalog import last_checksum
from layers.db import ROOT
from layers.errors import LoadError
from layers.exposure_store import hits_current, keep_hits
from layers.network import rebuild_network
from layers.open_data import write_downloads
from layers.registry import LAYERS, layer
from layers.search import rebuild_entries
from layers.spec import LayerSpec

log = logging.getLogger(__name__)

MODES = ("replace", "append")
DEFAULT_REJECTS_DIR = ROOT / ".local" / "rejects"
PREVIEW_ROWS = 5  # the rows a dry run shows
# The one place a loader kind becomes code. By module name, so that rasterio (0.2 s to import)
# is imported for a raster load only.
LOADERS = {"vector": "etl.vector", "raster": "etl.raster", "readings": "etl.readings"}


@dataclass(frozen=True)
class LoadOptions:
    """How to read a file, what to record about it, and whether to write at all."""

    crs: str | None = None
    encoding: str | None = None
    source_layer: str | None = None
    where: str | None = None
    mode: str = "replace"
    force: bool = False
    dry_run: bool = False
    licence: str | None = None
    provider: str | None = None
    synthetic: bool = False
    rejects_dir: Path | None = DEFAULT_REJECTS_DIR
    progress: bool = True
    scenario: str | None = None  # the flood scenario a raster is (Q10, Q100, Q500)
    fields: FieldMap = field(
        default_factory=FieldMap
    )  # which column is which field, where names do not say
    open_data_dir: Path | None = None  # where the open layers' downloads are rewritten after it


@dataclass
class LoadReport:
    """What a load did (or, for a dry run, would do)."""

    layer: str
    path: Path
    loaded: int = 0
    rejected: int = 0
    repaired: int = 0
    flattened: int = 0
    reasons: Counter = field(default_factory=Counter)
    skipped: bool = False
    dry_run: bool = False
    rejects_file: Path | None = None
    notes: list[str] = field(default_factory=list)  # what a person should know, one line each
    mapping: list[str] = field(default_factory=list)  # each field and where it was read from
    preview: pd.DataFrame | None = None  # the first PREVIEW_ROWS rows as they load


@dataclass(frozen=True)
class Plan:
    """What a load will do, settled from the options before the file is read.

    ``skip_unchanged``: whether the file the last load (of ``part``) came from, unchanged, is
    skipped unless forced. It is for a load that replaces, which would put back the same rows,
    and for readings, each of which would be refused as loaded already; not for an append of
    features, which adds them again as asked.
    """

    skip_unchanged: bool
    part: str | None = None  # the part of the layer a load replaces (a flood scenario); None: all


@dataclass(frozen=True)
class Load:
    """One load, as its loader is given it: the report is the loader's to fill."""

    path: Path
    spec: LayerSpec
    options: LoadOptions
    report: LoadReport
    part: str | None


def _no_rejects(folder: Path | None) -> None:
    """For a loader that refuses a file whole or not at all (a raster): no row is refused."""


@dataclass(frozen=True)
class Staged:
    """What a loader read, checked and staged in the load's transaction, ready to be put in place.

    ``put`` puts the staged rows in place (of the layer's, its part's, or beside them), given the
    id the load's catalogue entry will have: readings carry it as the dashboards' watermark.
    ``write_rejects`` writes the refused rows with their reasons into a folder (None: nowhere)
    and returns their file.
    """

    source_crs: str  # for the catalogue, as the file had it or was given it
    put: Callable[[int], None]
    source_layer: str | None = None
    write_rejects: Callable[[Path | None], Path | None] = _no_rejects


@dataclass(frozen=True)
class Loader:
    """One loader kind: how files of its family are read, checked and written.

    ``plan`` refuses what cannot be loaded before a byte is read (a wrong option, a missing
    file); ``stage`` reads, checks and stages inside the connection's open transaction, filling
    the report. Neither opens, commits nor rolls back a transaction, nor records the load.
    """

    plan: Callable[[Path, LayerSpec, LoadOptions], Plan]
    stage: Callable[[Connection, Load], Staged]
    rows: tuple[str, str] = ("rows", "vrstice")  # what the database may refuse, for the error


def load_file(
    engine: Engine, path: Path, layer_id: str, options: LoadOptions = LoadOptions()
) -> LoadReport:
    """Load ``path`` into layer ``layer_id`` with the loader of its kind.

    Raises
    ------
    LoadError
        The file was refused; nothing in the database changed.
    """
    started = time.perf_counter()
    spec = layer(layer_id)
    if spec.drawn_from:
        raise LoadError(
            path,
            spec.id,
            f"is drawn from the table of layer {spec.drawn_from} and is loaded with it",
            f"je izrisan iz tabele sloja {spec.drawn_from} in se naloži z njim",
            f"load the file into {spec.drawn_from}",
            f"datoteko naložite v {spec.drawn_from}",
        )
    _check_mode(path, spec, options)
    loader = loader_for(path, spec)
    plan = loader.plan(path, spec, options)
    checksum = file_sha256(path) if path.is_file() else ""
    # asked even when forced: an unreachable database is then said to be one, before any reading
    unchanged = _unchanged(engine, spec, plan.part, checksum)
    if unchanged and plan.skip_unchanged and not options.force and not options.dry_run:
        log.info("%s: unchanged since its last load into %s; skipped (use --force)", path, spec.id)
        return LoadReport(spec.id, path, skipped=True)
    report = LoadReport(spec.id, path, dry_run=options.dry_run)
    staged = _write(engine, loader, Load(path, spec, options, report, plan.part), checksum, started)
    report.rejects_file = staged.write_rejects(_rejects_dir(options))
    searched = [s for s in LAYERS.values() if s.search and s.loaded_as == spec.id]
    if searched and not options.dry_run:
        # the search finds what the map now has (in the layers drawn from this one's table
        # too); in a transaction of its own, so that the layer's readers never wait on its
        # names (a bulk load holds the table until commit)
        with engine.begin() as conn:
            for found in searched:
                rebuild_entries(conn, found)
    if options.open_data_dir and not options.dry_run:
        report.notes += rewrite_downloads(engine, options.open_data_dir)
    return report


def rewrite_downloads(engine: Engine, folder: Path) -> list[str]:
    """Write the open downloads again after a load, which any layer's may change (the districts'
    residents come from the buildings); a failure is said, not raised: the load has landed.
    """
    try:
        write_downloads(engine, folder)
    except (OSError, DBAPIError, pyogrio.errors.DataSourceError) as exc:
        log.exception("the open-data downloads could not be written")
        return [
            f"warning: the open-data downloads were not rewritten ({exc}); the load stands:"
            " run `python -m etl open-data` / prenosi niso posodobljeni"
        ]
    return []


def loader_for(path: Path, spec: LayerSpec) -> Loader:
    """The loader of ``path``: a raster's by its suffix, otherwise the one the layer declares.

    A layer of rasters (flood hazard zones) takes its zones as vector files too, so any file
    that is no raster goes to the vector loader there.
    """
    if path.suffix.lower() in RASTER_SUFFIXES:
        if spec.loader != "raster":
            rasters = ", ".join(s.id for s in LAYERS.values() if s.loader == "raster")
            raise LoadError(
                path,
                spec.id,
                "is a raster, and this layer takes vector files only",
                "je rastrski sloj, ta sloj pa sprejema le vektorske datoteke",
                f"load flood-depth GeoTIFFs into {rasters} with --scenario, e.g. Q100",
                f"GeoTIFF globin naložite v {rasters} z --scenario, npr. Q100",
            )
        kind = "raster"
    else:
        kind = "vector" if spec.loader == "raster" else spec.loader
    return importlib.import_module(LOADERS[kind]).LOADER


def _rejects_dir(options: LoadOptions) -> Path | None:
    """Where the refused rows are written: nowhere in a dry run, which writes nothing."""
    return None if options.dry_run else options.rejects_dir


def _check_mode(path: Path, spec: LayerSpec, options: LoadOptions) -> None:
    if options.mode not in MODES:
        raise LoadError(
            path,
            spec.id,
            f"unknown mode {options.mode!r}",
            f"neznan način {options.mode!r}",
            f"use one of {MODES}",
            f"uporabite {MODES}",
        )


def _unchanged(engine: Engine, spec: LayerSpec, part: str | None, checksum: str) -> bool:
    """Whether the last load of the layer (of its ``part``) came from a file of ``checksum``."""
    with engine.connect() as conn:
        return bool(checksum) and last_checksum(conn, spec.id, part) == checksum


def _write(engine: Engine, loader: Loader, load: Load, checksum: str, started: float) -> Staged:
    """Stage, put in place and record the load in one transaction; a dry run rolls it back."""
    report, options = load.report, load.options
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            staged = loader.stage(conn, load)
            if not report.loaded:  # the refused rows are kept before the load is refused
                report.rejects_file = staged.write_rejects(_rejects_dir(options))
                refuse_empty_load(report)
            if options.dry_run:
                transaction.rollback()  # checked end to end; nothing kept
                return staged
            load_id = reserve_load_id(conn)
            staged.put(load_id)
            if load.spec.network:  # the graph is never older than the roads
                report.notes.append(rebuild_network(conn, load.spec).note())
            if not hits_current(conn):  # the load wrote what the exposure report reads
                keep_hits(conn)
            # recorded last, so that its duration is the whole load's
            entry = load_entry(
                report,
                checksum,
                options,
                started,
                staged.source_crs,
                staged.source_layer,
                load.part,
            )
            record_load(conn, load_id, entry)
    except DBAPIError as exc:
        en, sl = loader.rows
        raise LoadError(
            load.path,
            load.spec.id,
            f"the database refused the {en} ({exc.orig})",
            f"baza je zavrnila {sl} ({exc.orig})",
            "fix the values named above",
            "popravite navedene vrednosti",
        ) from exc
    return staged
