"""Nothing is lost: every refused row goes to a file with its reason, next to a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from layers.errors import LoadError

if TYPE_CHECKING:
    from etl.load import LoadReport


def refuse_empty_load(report: LoadReport) -> None:
    """An empty file, or one whose every row was refused, replaces nothing."""
    if not report.rejected:
        raise LoadError(
            report.path,
            report.layer,
            "has no features",
            "nima nobenega elementa",
            "check that this is the right file and layer",
            "preverite datoteko in sloj",
        )
    reasons = ", ".join(f"{k}: {v}" for k, v in report.reasons.items())
    fix = ("fix the rows for the reasons above", "popravite vrstice iz navedenih razlogov")
    if report.rejects_file:  # none in a dry run, which writes nothing
        fix = (
            f"fix the rows listed with their reasons in {report.rejects_file}",
            f"popravite vrstice, naštete z razlogi v {report.rejects_file}",
        )
    raise LoadError(
        report.path,
        report.layer,
        f"no feature could be loaded ({report.rejected} rejected; {reasons})",
        f"nobenega elementa ni bilo mogoče naložiti ({report.rejected} zavrnjenih; {reasons})",
        *fix,
    )


def write_rejects(
    rejected: list[gpd.GeoDataFrame], report: LoadReport, folder: Path | None
) -> Path | None:
    """Write the rejected source rows with their reasons as GeoJSON, and a summary beside them.

    Nothing is lost: every row of the file is either in the layer or in this file.
    """
    if not rejected or folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{report.path.stem}.{report.layer}"
    target = folder / f"{stem}.rejects.geojson"
    frame = pd.concat(rejected)
    frame = frame.set_geometry(frame.geometry.where(frame.geometry.notna()))
    frame.to_file(target, driver="GeoJSON")
    write_summary(report, folder / f"{stem}.summary.json", target)
    return target


def write_summary(report: LoadReport, path: Path, rejects: Path) -> None:
    """What a load did, as JSON beside its reject file, for whoever fixes the rows."""
    summary = {
        "file": str(report.path),
        "layer": report.layer,
        "loaded": report.loaded,
        "rejected": report.rejected,
        "repaired": report.repaired,
        "z_or_m_dropped": report.flattened,
        "reasons": dict(report.reasons),
        "rejects": rejects.name,
    }
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")


def write_table_rejects(
    rejected: list[pd.DataFrame], report: LoadReport, folder: Path | None
) -> Path | None:
    """Write refused rows of a table (readings) as CSV with their reasons, and a summary beside."""
    if not rejected or folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{report.path.stem}.{report.layer}"
    target = folder / f"{stem}.rejects.csv"
    pd.concat(rejected).sort_values("row").to_csv(target, index=False)
    write_summary(report, folder / f"{stem}.summary.json", target)
    return target
