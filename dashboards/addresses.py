"""The exposed addresses on ``/civil-protection``: whom to warn and evacuate, a building a row.

The list comes with the report (``ExposureReport.addresses``), so it always agrees with the
report's figures, and only for the roles the buildings' exposure declaration names. Any column
sorts it; a row zooms the map to its building and shows its details; it is exported as CSV in
either convention or as a GeoPackage in D96/TM (a point on each building), each export
audited.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import panel as pn
import shapely

from dashboards.downloads import Made, download_button
from dashboards.exports import exported
from dashboards.exposure_tables import address_columns, address_rows, addresses_csv
from dashboards.map import LayerMap
from dashboards.outline import Outline
from dashboards.search import MARK_COLOUR
from dashboards.tables import number
from dashboards.theme import html_pane
from layers.exposure import ExposureReport
from layers.registry import address_layer
from layers.selection import Scope, outlines

PAGE_ROWS = 12
# what a GeoPackage of them holds: the declared fields, the class, the depth at the building
# and the zone's depths
KEPT = ("hazard_class", "depth_m", "depth_from_m", "depth_to_m", "district", "geometry")
EVACUATION_KEPT = ("shelter", "route_km", "water_m", "access")  # with a road network


class AddressList(pn.viewable.Viewer):
    """The address list below the civil-protection map; ``audit`` records each export."""

    def __init__(self, layer_map: LayerMap, role: str, audit: Callable[[str, str], None]) -> None:
        super().__init__()
        self.map, self.role, self.audit = layer_map, role, audit
        self.spec = address_layer()
        self.report: ExposureReport | None = None
        columns = address_columns()
        self.names = ["id", *(name for name, _ in columns)]
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=self.names), titles={n: f"{sl} · {en}" for n, (sl, en) in columns},
            hidden_columns=["id"], pagination="remote", page_size=PAGE_ROWS, disabled=True,
            show_index=False, sizing_mode="stretch_width", selectable=False,
        )  # fmt: skip
        self.table.on_click(layer_map.outage.guarded(self._row_clicked))
        self.mark = Outline(layer_map.figure, MARK_COLOUR, "address_mark")
        self.summary = html_pane("", sizing_mode="stretch_width")
        self.downloads = pn.Row(
            download_button("CSV", lambda: self.exported_file("csv_en")),
            download_button("CSV (Excel, sl)", lambda: self.exported_file("csv_sl")),
            download_button("GeoPackage", lambda: self.exported_file("gpkg")),
        )

    def show(self, report: ExposureReport) -> None:
        """The report's addresses, most severe class first."""
        self.report = report
        frame = report.addresses
        rows = address_rows(report)
        self.table.value = pd.DataFrame(
            [[i, *row] for i, row in zip(frame["id"], rows, strict=True)], columns=self.names
        )
        residents = self.spec.exposure.occupants
        self.summary.object = (
            f"<p class='totals' role='status'><b>{number(len(frame))}</b> naslovov · addresses;"
            f" {residents.label}: <b>{number(int(frame[residents.column].sum()))}</b></p>"
        )

    def _row_clicked(self, event) -> None:
        """Zoom the map to the row's building, drawn and marked as the search marks what it
        found, and show its details."""
        feature_id = int(self.table.value.iloc[event.row]["id"])
        self.map.show_layer(self.spec.id)
        found = outlines(
            self.map.engine, Scope(self.spec, ids=frozenset([feature_id])), self.role, 0
        )
        if found:
            self.mark.show(found)
            self.map.zoom_to(shapely.bounds(found[0]).tolist())
        self.map.show_feature(self.spec, feature_id)

    def exported_file(self, file_format: str) -> Made:
        """The addresses as a file of ``file_format`` (csv_en, csv_sl or gpkg), recorded."""
        report = self.report
        count = len(report.addresses)
        self.audit(
            "export_gpkg" if file_format == "gpkg" else "export_csv",
            f"addresses; {report.scenario}; {report.area_name}; {count} addresses; {file_format}",
        )
        name = f"naslovi_{report.scenario}"
        if file_format == "gpkg":
            planned = [c for c in EVACUATION_KEPT if c in report.addresses.columns]
            kept = [*self.spec.exposure.addresses, *planned, *KEPT]
            return f"{name}.gpkg", exported(report.addresses[kept], self.spec, "gpkg")
        convention = file_format.removeprefix("csv_")
        suffix = "_sl" if convention == "sl" else ""
        # a byte-order mark: Excel then reads the file as UTF-8
        return f"{name}{suffix}.csv", addresses_csv(report, convention).encode("utf-8-sig")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            html_pane(
                "<div class='panel-title'>Izpostavljeni naslovi · Exposed addresses</div>"
                "<p class='hint'>Klik na vrstico pokaže stavbo na karti. · A click on a row shows "
                "the building on the map.</p>",
                sizing_mode="stretch_width",
            ),
            self.summary,
            self.table,
            self.downloads,
            sizing_mode="stretch_width",
            css_classes=["address-list"],
        )
