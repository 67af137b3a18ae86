"""The vector loader contract: read, check, COPY into staging, swap in one transaction.

A load either replaces (or appends to) a layer's rows and records itself in the catalogue, or
fails and leaves the database exactly as it was: every step runs inside one transaction, and
readers see the old rows until it commits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import shapely
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from etl.catalog import CatalogEntry, last_checksum, record_load
from etl.read import file_sha256, read_vector
from etl.validate import Prepared, prepare
from layers.db import ROOT
from layers.errors import LoadError
from layers.registry import LayerSpec, layer

log = logging.getLogger(__name__)

COPY_BATCH = 5_000
DEFAULT_REJECTS_DIR = ROOT / ".local" / "rejects"
MODES = ("replace", "append")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a file and what to record about it."""

    crs: str | None = None
    encoding: str | None = None
    source_layer: str | None = None
    where: str | None = None
    mode: str = "replace"
    force: bool = False
    licence: str | None = None
    provider: str | None = None
    synthetic: bool = False
    rejects_dir: Path | None = DEFAULT_REJECTS_DIR
    progress: bool = True


@dataclass(frozen=True)
class LoadReport:
    """What a load did."""

    layer: str
    path: Path
    loaded: int
    rejected: int
    repaired: int
    skipped: bool = False
    rejects_file: Path | None = None


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
    started = time.perf_counter()
    checksum = file_sha256(path) if path.is_file() else ""
    with engine.connect() as conn:
        unchanged = checksum and last_checksum(conn, spec.id) == checksum
    if unchanged and options.mode == "replace" and not options.force:
        log.info("%s: unchanged since its last load into %s; skipped (use --force)", path, spec.id)
        return LoadReport(spec.id, path, 0, 0, 0, skipped=True)
    source = read_vector(
        path,
        spec.id,
        crs=options.crs,
        encoding=options.encoding,
        source_layer=options.source_layer,
        where=options.where,
    )
    prepared = prepare(source.frame, spec, path, source.source_crs)
    if prepared.rows.empty:
        raise LoadError(
            path,
            spec.id,
            f"no feature could be loaded ({len(prepared.rejects)} rejected)",
            f"nobenega elementa ni bilo mogoče naložiti ({len(prepared.rejects)} zavrnjenih)",
            "see the reasons above",
            "glejte razloge zgoraj",
        )
    entry = CatalogEntry(
        layer=spec.id,
        source_file=path.name,
        sha256=checksum,
        source_crs=source.source_crs,
        source_layer=source.source_layer,
        licence=options.licence,
        provider=options.provider,
        synthetic=options.synthetic,
        features_loaded=len(prepared.rows),
        features_rejected=len(prepared.rejects),
        features_repaired=prepared.repaired,
        duration_s=0.0,
    )
    try:
        with engine.begin() as conn:
            names = copy_to_staging(conn, spec, prepared, options.progress)
            swap_in(conn, spec, names, options.mode)
            record_load(conn, _with_duration(entry, time.perf_counter() - started))
    except DBAPIError as exc:
        raise LoadError(
            path,
            spec.id,
            f"the database refused the rows ({exc.orig})",
            f"baza je zavrnila vrstice ({exc.orig})",
            "fix the values named above",
            "popravite navedene vrednosti",
        ) from exc
    rejects_file = write_rejects(source.frame, prepared, spec, path, options.rejects_dir)
    return LoadReport(
        spec.id,
        path,
        len(prepared.rows),
        len(prepared.rejects),
        prepared.repaired,
        rejects_file=rejects_file,
    )


def _with_duration(entry: CatalogEntry, seconds: float) -> CatalogEntry:
    return CatalogEntry(**{**entry.__dict__, "duration_s": round(seconds, 3)})


def _columns(spec: LayerSpec, prepared: Prepared) -> list[str]:
    return [f.name for f in spec.loaded_fields if f.name in prepared.rows.columns]


def copy_to_staging(conn: Connection, spec: LayerSpec, prepared: Prepared, progress: bool) -> str:
    """COPY the prepared rows into a temporary table shaped like the layer's table.

    Returns the staged columns, quoted and joined, for the swap.
    """
    columns = _columns(spec, prepared)
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in [*columns, spec.geometry_column])
    table = quote(spec.load_table)  # names from the registry, quoted
    stage = (
        f"CREATE TEMP TABLE etl_stage ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: S608
    )
    conn.exec_driver_sql(stage)
    geometry = shapely.to_wkb(
        shapely.set_srid(prepared.geometry, spec.srid), hex=True, include_srid=True
    )
    values = prepared.rows[columns].astype(object).where(prepared.rows[columns].notna(), None)
    cursor = conn.connection.driver_connection.cursor()
    with (
        cursor.copy(f"COPY etl_stage ({names}) FROM STDIN") as copy,
        tqdm(
            total=len(values),
            unit=" rows",
            desc=f"{spec.id}",
            disable=not progress,
            mininterval=0.5,
        ) as bar,
    ):
        for start in range(0, len(values), COPY_BATCH):
            chunk = values.iloc[start : start + COPY_BATCH].itertuples(index=False)
            for row, geom in zip(chunk, geometry[start : start + COPY_BATCH], strict=True):
                copy.write_row((*row, geom))
            bar.update(min(COPY_BATCH, len(values) - start))
    return names


def swap_in(conn: Connection, spec: LayerSpec, names: str, mode: str) -> None:
    """Replace (or extend) the layer's rows with the staged ones, in the caller's transaction.

    DELETE rather than TRUNCATE: readers keep seeing the old rows until commit instead of
    waiting on an exclusive lock. Table and column names come from the registry, quoted.
    """
    table = conn.dialect.identifier_preparer.quote(spec.load_table)
    if mode == "replace":
        conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 (registry name, quoted)
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM etl_stage")  # noqa: S608
    conn.exec_driver_sql(f"ANALYZE {table}")


def write_rejects(
    frame, prepared: Prepared, spec: LayerSpec, path: Path, folder: Path | None
) -> Path | None:
    """Write the rejected source rows with their reasons as GeoJSON, so nothing is lost."""
    if not prepared.rejects or folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}.{spec.id}.rejects.geojson"
    rejected = frame.reset_index(drop=True).iloc[[i for i, _ in prepared.rejects]].copy()
    rejected["reject_reason"] = [reason for _, reason in prepared.rejects]
    rejected.to_file(target, driver="GeoJSON")
    return target
