"""A layer's features as files: GeoJSON in WGS 84, GeoPackage in D96/TM, CSV for spreadsheets.

GDAL writes the geographic formats (through pyogrio), so any GIS reads them back; the CSV is
ours, in either convention: the international one, or the one a spreadsheet set to Slovenian
opens in columns (``;`` between fields, a decimal comma), each row placed by a point of its
feature in D96/TM.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import geopandas as gpd

from layers.queries import read_columns
from layers.spec import LayerSpec

WGS84 = 4326
# a CSV's field separator and decimal mark: the international convention, and the one a
# spreadsheet set to Slovenian reads (a comma is its decimal mark, so fields part on ";")
CSV_CONVENTIONS = {"en": (",", "."), "sl": (";", ",")}


class DecimalWriter:
    """``csv.writer`` with a decimal mark of its own for floats."""

    def __init__(self, out: io.StringIO, convention: str) -> None:
        delimiter, self.mark = CSV_CONVENTIONS[convention]
        self.writer = csv.writer(out, delimiter=delimiter)

    def writerow(self, row: list) -> None:
        self.writer.writerow(
            [str(v).replace(".", self.mark) if isinstance(v, float) else v for v in row]
        )


@dataclass(frozen=True)
class FileFormat:
    """One kind of file a selection is exported as."""

    label: str
    suffix: str
    action: str  # its name in the audit trail


FORMATS = {
    "gpkg": FileFormat("GeoPackage (D96/TM)", ".gpkg", "export_gpkg"),
    "geojson": FileFormat("GeoJSON (WGS 84)", ".geojson", "export_geojson"),
    "csv_sl": FileFormat("CSV (Excel, sl: ; in 0,5)", "_sl.csv", "export_csv"),
    "csv_en": FileFormat("CSV (, and 0.5)", ".csv", "export_csv"),
}


def _written(frame: gpd.GeoDataFrame, spec: LayerSpec, driver: str, **options) -> bytes:
    out = io.BytesIO()
    frame.to_file(out, driver=driver, layer=spec.id, engine="pyogrio", **options)
    return out.getvalue()


def csv_text(frame: gpd.GeoDataFrame, names: list[str], convention: str) -> str:
    """The columns ``names`` of each feature, then the D96/TM easting and northing of a point
    on it."""
    out = io.StringIO()
    writer = DecimalWriter(out, convention)
    writer.writerow([*names, "e_d96tm", "n_d96tm"])
    placed = frame.geometry.representative_point()
    for row, x, y in zip(frame[names].itertuples(index=False), placed.x, placed.y, strict=True):
        values = ["" if v is None or v != v else v for v in row]  # v != v: a missing number
        values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        writer.writerow([*values, round(float(x), 2), round(float(y), 2)])
    return out.getvalue()


def exported(frame: gpd.GeoDataFrame, spec: LayerSpec, file_format: str) -> bytes:
    """``frame`` (the layer's features in its storage CRS) as a file of ``file_format``."""
    if file_format == "gpkg":
        return _written(frame, spec, "GPKG")
    if file_format == "geojson":
        return _written(frame.to_crs(WGS84), spec, "GeoJSON", RFC7946="YES")
    # a byte-order mark: Excel then reads the file as UTF-8
    convention = file_format.removeprefix("csv_")
    return csv_text(frame, read_columns(spec), convention).encode("utf-8-sig")
