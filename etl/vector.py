"""The vector loader: read in batches, check each, COPY the good rows into staging.

Shapefiles, GeoPackages, GeoJSON, CSV and (Geo)Parquet (``etl.read``), checked row by row
(``etl.validate``); the staged rows then replace the layer's, or join them (``--mode append``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection
from tqdm import tqdm

from etl.load import PREVIEW_ROWS, Load, Loader, LoadOptions, LoadReport, Plan, Staged
from etl.mapping import describe, map_columns, with_constants
from etl.read import Source, open_source
from etl.rejects import write_rejects
from etl.stage import Stage, copy_rows
from etl.validate import Prepared, prepare
from layers.errors import LoadError
from layers.spec import LayerSpec


def plan_load(path: Path, spec: LayerSpec, options: LoadOptions) -> Plan:
    """Replace the whole layer, or append to it; only a replace skips a file loaded unchanged."""
    if options.scenario:
        raise LoadError(
            path,
            spec.id,
            "--scenario applies to flood-depth rasters only",
            "--scenario velja le za rastre globin poplav",
            "leave --scenario out for a vector file",
            "pri vektorski datoteki izpustite --scenario",
        )
    return Plan(skip_unchanged=options.mode == "replace")


def stage_load(conn: Connection, load: Load) -> Staged:
    """Stream the file's checked rows into the staging table; the refused ones are kept."""
    options, spec = load.options, load.spec
    source = open_source(
        load.path,
        spec.id,
        crs=options.crs,
        encoding=options.encoding,
        source_layer=options.source_layer,
        where=options.where,
    )
    rejected_rows: list[gpd.GeoDataFrame] = []
    with Stage(conn, spec, mode=options.mode, dry_run=options.dry_run) as stage:
        stream_into_stage(source, spec, stage, options, load.report, rejected_rows)
    return Staged(
        source.crs_name,
        put=lambda _load_id: stage.swap_in(),
        source_layer=source.source_layer,
        write_rejects=partial(write_rejects, rejected_rows, load.report),
    )


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
        for batch in source.batches():
            frame = batch.frame
            if mapping is None:
                columns = list(frame.columns.drop(frame.geometry.name))
                mapping = map_columns(columns, spec, source.path, options.fields)
                report.mapping = describe(mapping, options.fields)
            read, read_mapping = with_constants(frame, mapping, options.fields)
            prepared = prepare(read, spec, source.path, read_mapping, batch.wkb, batch.problems)
            if len(prepared.rows):  # a batch of refused rows only has nothing to show or send
                if report.preview is None:
                    report.preview = preview(prepared)
                stage.write(copy_rows(spec, prepared))
            report.loaded += len(prepared.rows)
            report.repaired += prepared.repaired
            report.flattened += prepared.flattened
            if prepared.rejects:
                report.rejected += len(prepared.rejects)
                report.reasons.update(reason.split(":")[0] for _, reason in prepared.rejects)
                kept = frame.iloc[[i for i, _ in prepared.rejects]].copy()
                kept["reject_reason"] = [reason for _, reason in prepared.rejects]
                kept.index += offset
                rejected_rows.append(kept)
            offset += len(frame)
            bar.update(len(frame))
    report.notes += source.notes
    if source.straightened:
        report.notes.append(
            f"note: {source.straightened} curved geometries were made of straight segments by GDAL"
        )


def preview(prepared: Prepared, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows as they load: the fields' values and the geometry as (shortened) WKT."""
    shown = prepared.rows.head(rows).copy()
    shown["geometry"] = [
        shapely.to_wkt(g, rounding_precision=1)[:60] for g in prepared.geometry[: len(shown)]
    ]
    return shown.reset_index(drop=True)


LOADER = Loader(plan=plan_load, stage=stage_load)
