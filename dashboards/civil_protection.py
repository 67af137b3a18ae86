"""The civil-protection dashboard at ``/civil-protection``: flood scenarios and who is in harm's way.

The scenario chosen here is the flood layer's part on the map and the report's scenario at once,
so the two never disagree. The report covers the whole municipality, a chosen district, or an
area drawn on the map; it is computed in PostGIS off the event loop, with the report pane
showing that it is working meanwhile, and exported as PDF or CSV from the same figures.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable

import panel as pn
import shapely
from bokeh.models import ColumnDataSource, PolyDrawTool

from dashboards.addresses import AddressList
from dashboards.downloads import Made, download_button
from dashboards.evacuation_map import EvacuationOverlay, overlay_legend
from dashboards.exposure_pdf import report_pdf
from dashboards.exposure_tables import report_csv, report_tables
from dashboards.map import MAP_HEIGHT_PX, LayerMap
from dashboards.map_scale import add_cursor_position
from dashboards.measure import TO_GRID, Measure, draw_on_double_click
from dashboards.outline import Outline
from dashboards.planner import header, municipality_extent
from dashboards.print_map import TO_MERCATOR
from dashboards.search import SearchBox
from dashboards.tables import Table, number
from dashboards.theme import columns_row, html_pane, page_column
from data.profiles import Profile
from layers.errors import ConfigurationError
from layers.exposure import ExposureReport, exposure_report, may_read_addresses
from layers.queries import named_shapes
from layers.registry import LAYERS, layer_for, network_layer, visible_to
from layers.store import FeatureStore

WHOLE = "Vsa občina · Whole municipality"
DRAWN = "Narisano območje · Drawn area"
DEFAULT_SCENARIO = "Q100"  # the design flood of Slovenian practice
DISTRICT_COLOUR = "#1b1464"  # the chosen district's outline: no layer's style uses it
DRAW_HINT = (
    "<p class='hint'>Območje narišete z orodjem za risanje v orodni vrstici karte: dvoklik začne, "
    "kliki dodajo oglišča, dvoklik konča; nato »Uporabi narisano«.<br><span class='en'>To draw "
    "an area, pick the draw tool in the map's toolbar: double-click to start, click to add "
    "corners, double-click to finish; then “Use drawn”.</span></p>"
)


def shown_first() -> list[str]:
    """The layers drawn when the page opens: the context, the hazard zones, the exposed layers
    whose declaration asks for it and the shelters of the road network."""
    roads = network_layer()
    shelters = roads.network.shelters if roads else None
    return [
        s.id
        for s in LAYERS.values()
        if s.basemap
        or s.purpose == "hazard"
        or (s.exposure and s.exposure.on_map)
        or s.id == shelters
    ]


def table_html(table: Table) -> str:
    head = "".join(
        f"<th>{html.escape(sl)}<br><span class='en'>{html.escape(en)}</span></th>"
        for sl, en in table.headers
    )
    body = (
        "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in table.rows
        )
        or f"<tr><td colspan='{len(table.headers)}'>Ni izpostavljenih · None exposed</td></tr>"
    )
    return (
        f"<h4>{html.escape(table.title_sl)} <span class='en'>· {html.escape(table.title_en)}"
        f"</span></h4><table class='report report-{table.key}'><tr>{head}</tr>{body}</table>"
    )


def report_html(report: ExposureReport) -> str:
    return (
        f"<div class='report-head' data-scenario='{html.escape(report.scenario)}'>"
        f"<b>Scenarij · Scenario {html.escape(report.scenario)}</b> · "
        f"{html.escape(report.area_name)}<br><span class='en'>izračunano · computed "
        f"{report.made_at:%Y-%m-%d %H:%M:%S}</span></div>"
        + "".join(table_html(t) for t in report_tables(report))
    )


class CivilProtectionDashboard(pn.viewable.Viewer):
    """Choose a flood scenario and an area; see and export what lies in each hazard class.

    ``audit`` records each export (``Access.record_session`` on the server).
    """

    def __init__(
        self,
        store: FeatureStore,
        profile: Profile,
        role: str = "civil_protection",
        basemap_url: str | None = None,
        *,
        audit: Callable[[str, str], None],
        **params,
    ) -> None:
        super().__init__(**params)
        engine = store.engine
        self.engine, self.profile, self.role, self.audit = engine, profile, role, audit
        self.map = LayerMap(
            store, visible_to(role), role, municipality_extent(engine), basemap_url, shown_first(),
            height=MAP_HEIGHT_PX,
        )  # fmt: skip
        hazard = layer_for("hazard").id
        self.scenario = self.map.partitions[hazard]
        if not self.scenario.options:
            command = f"python -m etl load poplave_Q100.tif --layer {hazard} --scenario Q100"
            raise ConfigurationError(
                "no flood scenario is loaded",
                "naložen ni noben scenarij poplav",
                f"load one: {command}",
                f"naložite ga: {command}",
            )
        if DEFAULT_SCENARIO in self.scenario.options:
            self.scenario.value = DEFAULT_SCENARIO
        self.municipality = shapely.union_all(
            list(named_shapes(engine, layer_for("boundary"), role).values())
        )
        self.districts = named_shapes(engine, layer_for("report_areas"), role)
        self.area_choice = pn.widgets.Select(
            label="Območje poročila · Report area",
            options=[WHOLE, *self.districts],
            sizing_mode="stretch_width",
        )
        self.drawn = self._add_drawing()
        self.use_drawn = pn.widgets.Button(label="Uporabi narisano · Use drawn", width=170)
        self.clear = pn.widgets.Button(label="Počisti · Clear", width=110)
        guarded = self.map.outage.guarded  # the report waits out an outage as the map does
        self.use_drawn.on_click(guarded(lambda _event: self.apply_drawn()))
        self.clear.on_click(guarded(lambda _event: self.clear_area()))
        self.area, self.area_name = None, WHOLE
        self.search = SearchBox(self.map, role)
        self.measure = Measure(self.map.figure)
        add_cursor_position(self.map.figure)
        self.report_pane = html_pane("", sizing_mode="stretch_width", css_classes=["report-pane"])
        self.report: ExposureReport | None = None
        self.addresses = AddressList(self.map, role, audit) if may_read_addresses(role) else None
        planned = self.addresses is not None and network_layer() is not None
        self.evacuation = EvacuationOverlay(self.map.figure) if planned else None
        self.district_outline = Outline(self.map.figure, DISTRICT_COLOUR, "report_area")
        self.pdf = download_button("PDF", self.pdf_file, color="primary")
        self.csv = download_button("CSV", lambda: self.csv_file("en"))
        self.csv_sl = download_button("CSV (Excel, sl)", lambda: self.csv_file("sl"))
        self.scenario.param.watch(guarded(self._recompute), "value")
        self.area_choice.param.watch(guarded(self._choose_area), "value")
        self.show_report(self.compute_report())

    def _add_drawing(self) -> ColumnDataSource:
        """A layer on the map to draw one polygon in, and the tool to draw it."""
        source = ColumnDataSource({"xs": [], "ys": []})
        patches = self.map.figure.patches(
            "xs",
            "ys",
            source=source,
            fill_alpha=0.08,
            line_color="#1d1d1b",
            line_width=2.5,
            line_dash="dashed",
            fill_color="#1d1d1b",
        )
        tool = PolyDrawTool(
            renderers=[patches], num_objects=1, description="Nariši območje · Draw area"
        )
        self.map.figure.add_tools(tool)
        draw_on_double_click(self.map.figure, [tool])
        return source

    # --- the area --------------------------------------------------------------------------

    def set_area(self, area: shapely.Geometry | None, name: str) -> None:
        """Limit the report to ``area`` (EPSG:3794), or lift the limit with None."""
        self.area, self.area_name = area, name
        self.refresh_report()

    def _choose_area(self, event) -> None:
        if event.new == WHOLE:
            self.district_outline.clear()
            self.set_area(None, WHOLE)
        elif event.new in self.districts:
            district = shapely.transform(
                self.districts[event.new], TO_MERCATOR.transform, interleaved=False
            )
            self.district_outline.show([district])
            self.map.zoom_to(district.bounds)
            self.set_area(self.districts[event.new], event.new)

    def apply_drawn(self) -> None:
        """Use the polygon drawn on the map (EPSG:3857 in the page) as the report's area."""
        xs, ys = self.drawn.data["xs"], self.drawn.data["ys"]
        if not xs or len(xs[-1]) < 3:
            self.report_pane.object = (
                "<p class='error-box'>Najprej narišite območje (vsaj tri oglišča).<br>"
                "<span class='en'>Draw an area first (three corners at least).</span></p>"
            )
            return
        x, y = TO_GRID.transform(list(xs[-1]), list(ys[-1]))
        area = shapely.make_valid(shapely.Polygon(zip(x, y, strict=True)))
        self.set_area(area, DRAWN)

    def clear_area(self) -> None:
        self.drawn.data = {"xs": [], "ys": []}
        self.district_outline.clear()
        self.area_choice.value = WHOLE
        self.set_area(None, WHOLE)

    # --- the report ------------------------------------------------------------------------

    def compute_report(self) -> ExposureReport:
        return exposure_report(
            self.engine, self.scenario.value, self.role, self.area, self.area_name
        )

    def show_report(self, report: ExposureReport) -> None:
        self.report = report
        self.report_pane.object = report_html(report)
        if self.addresses:
            self.addresses.show(report)
        if self.evacuation:  # its own Bokeh models: changed under the document's lock
            self.map.next_tick(lambda: self.evacuation.show(report.evacuation))

    def refresh_report(self) -> None:
        """Compute and show the report now (used by tests and by the area controls)."""
        self.show_report(self.compute_report())

    async def _recompute(self, _event=None) -> None:
        """Recompute off the event loop; the pane shows a spinner until the figures are in."""
        self.report_pane.loading = True
        try:
            self.show_report(await asyncio.to_thread(self.compute_report))
        finally:
            self.report_pane.loading = False

    def pdf_bytes(self) -> bytes:
        return report_pdf(
            self.engine,
            self.report,
            self.area or self.municipality,
            self.role,
            f"{self.profile.name} · {self.profile.name_en}",
        )

    def _export_detail(self) -> str:
        return f"{self.report.scenario}; {self.report.area_name}"

    def pdf_file(self) -> Made:
        pdf = self.pdf_bytes()
        self.audit("export_pdf", self._export_detail())
        return f"poplave_{self.report.scenario}.pdf", pdf

    def csv_file(self, convention: str) -> Made:
        """The report as CSV in ``convention`` ("en", or "sl" for a Slovenian spreadsheet)."""
        self.audit("export_csv", f"{self._export_detail()}; {convention}")
        suffix = "_sl" if convention == "sl" else ""
        # a byte-order mark: Excel then reads the file as UTF-8
        content = report_csv(self.report, convention).encode("utf-8-sig")
        return f"poplave_{self.report.scenario}{suffix}.csv", content

    def _evacuation_legend(self) -> pn.viewable.Viewable:
        depth = network_layer().network.drivable_depth_m
        return html_pane(
            "<div class='panel-title'>Evakuacija · Evacuation</div>"
            f"<div class='legend evacuation-legend'>{overlay_legend()}</div>"
            f"<p class='hint'>Cesta je zaprta, kjer je voda globlja od {number(depth, 1)} m; "
            "poti vodijo po odprtih cestah do najbližjega suhega zbirnega mesta s prostim "
            f"mestom.<br><span class='en'>A road is closed where the water is deeper than "
            f"{depth:g} m; routes follow the open roads to the nearest dry shelter with "
            "room.</span></p>",
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            self.search,
            html_pane("<div class='panel-title'>Scenarij in območje · Scenario and area</div>"),
            self.scenario,
            self.area_choice,
            html_pane(DRAW_HINT, sizing_mode="stretch_width"),
            pn.Row(self.use_drawn, self.clear),
            html_pane("<div class='panel-title'>Izvoz · Export</div>"),
            pn.Row(self.pdf, self.csv, self.csv_sl),
            self.measure,
            *([self._evacuation_legend()] if self.evacuation else []),
            html_pane("<div class='panel-title'>Sloji · Layers</div>"),
            self.map.layer_list(),
            width=320,
            sizing_mode="stretch_height",
            scroll=True,
            css_classes=["side-panel"],
        )
        report = pn.Column(
            html_pane(
                "<div class='panel-title'>Poročilo o izpostavljenosti · Exposure report</div>"
            ),
            self.report_pane,
            html_pane("<div class='panel-title'>Podrobnosti · Details</div>"),
            self.map.details_pane,
            width=460,
            sizing_mode="stretch_height",
            scroll=True,
            css_classes=["details-column"],
        )
        drawn = pn.Column(
            self.map,
            *([self.addresses] if self.addresses else []),
            sizing_mode="stretch_both",
            scroll=True,
            margin=0,
            css_classes=["map-column"],
        )
        return page_column(
            header("Civilna zaščita: poplave", "Civil protection: floods", self.profile, self.role),
            columns_row(controls, drawn, report),
        )
