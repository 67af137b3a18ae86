"""The vector loader contract: read in batches, check, COPY into staging, swap in one transaction.

A load either replaces (or appends to) a layer's rows and records itself in the catalogue, or
fails and leaves the database exactly as it was: every step runs inside one transaction, so a
refused row, a database error or the process being killed mid-way all roll back, and readers see
the old rows until the commit.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from etl.catalog import last_checksum, load_entry, record_load
from etl.read import RASTER_SUFFIXES, Source, file_sha256, open_source
from etl.readings import load_readings
from etl.rejects import refuse_empty_load, write_rejects
from etl.stage import Stage, copy_rows
from etl.validate import map_columns, prepare
from layers.db import ROOT
from layers.errors import LoadError
from layers.registry import layer
from layers.spec import LayerSpec

log = logging.getLogger(__name__)

MODES = ("replace", "append")
DEFAULT_REJECTS_DIR = ROOT / ".local" / "rejects"


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


def load_file(
    engine: Engine, path: Path, layer_id: str, options: LoadOptions = LoadOptions()
) -> LoadReport:
    """Load ``path`` into layer ``layer_id``.

    Raises
    ------
    LoadError
        The file was refused; nothing in the database changed.
    """
    spec = layer(layer_id)
    if options.mode not in MODES:
        raise LoadError(
            path,
            layer_id,
            f"unknown mode {options.mode!r}",
            f"neznan način {options.mode!r}",
            f"use one of {MODES}",
            f"uporabite {MODES}",
        )
    if path.suffix.lower() in RASTER_SUFFIXES:
        from etl.raster import load_raster  # rasterio takes 0.2 s to import: not for vectors

        report = LoadReport(spec.id, path, dry_run=options.dry_run)
        load_raster(engine, path, spec, options, report)
        return report
    if spec.loader == "readings":
        report = LoadReport(spec.id, path, dry_run=options.dry_run)
        load_readings(engine, path, spec, options, report)
        return report
    if options.scenario:
        raise LoadError(
            path,
            layer_id,
            "--scenario applies to flood-depth rasters only",
            "--scenario velja le za rastre globin poplav",
            "leave --scenario out for a vector file",
            "pri vektorski datoteki izpustite --scenario",
        )
    started = time.perf_counter()
    checksum = file_sha256(path) if path.is_file() else ""
    with engine.connect() as conn:
        unchanged = checksum and last_checksum(conn, spec.id) == checksum
    if unchanged and options.mode == "replace" and not options.force and not options.dry_run:
        log.info("%s: unchanged since its last load into %s; skipped (use --force)", path, spec.id)
        return LoadReport(spec.id, path, skipped=True)
    source = open_source(
        path,
        spec.id,
        crs=options.crs,
        encoding=options.encoding,
        source_layer=options.source_layer,
        where=options.where,
    )
    report = LoadReport(spec.id, path, dry_run=options.dry_run)
    rejected_rows: list[gpd.GeoDataFrame] = []
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            with Stage(conn, spec, mode=options.mode, dry_run=options.dry_run) as stage:
                stream_into_stage(source, spec, stage, options, report, rejected_rows)
            if not report.loaded:  # the refused rows are kept before the load is refused
                report.rejects_file = write_rejects(rejected_rows, report, options.rejects_dir)
                refuse_empty_load(report)
            if options.dry_run:
                transaction.rollback()  # checked end to end; nothing kept
            else:
                stage.swap_in()
                record_load(
                    conn,
                    load_entry(
                        report, checksum, options, started, source.crs_name, source.source_layer
                    ),
                )
    except DBAPIError as exc:
        raise LoadError(
            path,
            spec.id,
            f"the database refused the rows ({exc.orig})",
            f"baza je zavrnila vrstice ({exc.orig})",
            "fix the values named above",
            "popravite navedene vrednosti",
        ) from exc
    report.rejects_file = write_rejects(rejected_rows, report, options.rejects_dir)
    return report


def stream_into_stage(
    source: Source,
    spec: LayerSpec,
    stage: Stage,
    options: LoadOptions,
    report: LoadReport,
    rejected_rows: list,
) -> None:
    """Check each batch and hand its good rows to the stage; count and keep the rest."""
    mapping = None
    offset = 0
    with tqdm(unit=" rows", desc=spec.id, disable=not options.progress, mininterval=0.5) as bar:
        for batch, wkb in source.batches():
            mapping = mapping or map_columns(
                list(batch.columns.drop(batch.geometry.name)), spec, source.path
            )
            prepared = prepare(batch, spec, source.path, mapping, wkb)
            stage.write(copy_rows(spec, prepared))
            report.loaded += len(prepared.rows)
            report.repaired += prepared.repaired
            report.flattened += prepared.flattened
            if prepared.rejects:
                report.rejected += len(prepared.rejects)
                report.reasons.update(reason.split(":")[0] for _, reason in prepared.rejects)
                kept = batch.iloc[[i for i, _ in prepared.rejects]].copy()
                kept["reject_reason"] = [reason for _, reason in prepared.rejects]
                kept.index += offset
                rejected_rows.append(kept)
            offset += len(batch)
            bar.update(len(batch))
