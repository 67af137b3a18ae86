"""Print the view: the map on screen as a PDF at a stated scale, with its legend and sources.

A4 or A3, landscape or portrait. The printed map is centred where the screen's is, at a standard
scale (1 : 5 000, …): the one that holds the screen's width unless another is chosen. It is
drawn by the map renderer every PDF shares (``dashboards.print_map``), with a scale bar, grid
north and its corners' D96/TM coordinates; below it the legend of the layers shown, in both
languages, and their sources from the load catalogue. Times are Ljubljana's.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable
from dataclasses import dataclass

import panel as pn
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A3, A4, landscape, portrait
from reportlab.lib.units import cm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable
from sqlalchemy import Engine

from dashboards.downloads import Made, download_button
from dashboards.exposure_pdf import pdf_styles, pdf_table, source_row, sources_table
from dashboards.map import LayerMap
from dashboards.measure import TO_GRID
from dashboards.print_map import can_print, draw_map
from dashboards.tables import number
from dashboards.theme import html_pane
from layers.catalog import newest_load
from layers.exposure import LJUBLJANA
from layers.registry import layer
from layers.spec import LayerSpec
from styles import legend_entries

PAPERS = {"A4": A4, "A3": A3}
ORIENTATIONS = {"Ležeče · Landscape": landscape, "Pokončno · Portrait": portrait}
SCALES = (500, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000)
AS_ON_SCREEN = "Kot na zaslonu · As on screen"
MARGIN = 1.2 * cm
HEAD = 2.0 * cm  # the title and the line below it
LEGEND_BAND = 4.2 * cm  # kept below the map on its page for the first rows of the legend
DPI = 200


@dataclass(frozen=True)
class PrintedView:
    """What is printed: the centre (EPSG:3794), the scale's denominator, the layers."""

    centre: tuple[float, float]
    scale: int
    specs: list[LayerSpec]
    part_of: Callable[[LayerSpec], str | None]


def map_size(paper: str, orientation: str) -> tuple[float, float]:
    """The printed map's width and height in points on the chosen page."""
    width, height = ORIENTATIONS[orientation](PAPERS[paper])
    return width - 2 * MARGIN, height - 2 * MARGIN - HEAD - LEGEND_BAND


def scale_holding(view_width_m: float, map_width_pt: float) -> int:
    """The largest standard scale (smallest denominator) at which the view's width fits."""
    needed = view_width_m / (map_width_pt / cm / 100)
    return next((s for s in SCALES if s >= needed), SCALES[-1])


def ground_box(view: PrintedView, size: tuple[float, float]) -> tuple[float, ...]:
    """The ground (EPSG:3794) the printed map covers: its paper size times the scale."""
    half_w, half_h = (points / cm / 100 * view.scale / 2 for points in size)
    x, y = view.centre
    return x - half_w, y - half_h, x + half_w, y + half_h


def corner_labels(ax, box: tuple[float, ...]) -> None:
    """The D96/TM coordinates of the map's corners, in its corners."""
    x0, y0, x1, y1 = box
    for (fx, fy), (x, y), align in (
        ((0.005, 0.995), (x0, y1), ("left", "top")),
        ((0.995, 0.995), (x1, y1), ("right", "top")),
        ((0.005, 0.06), (x0, y0), ("left", "bottom")),
        ((0.995, 0.005), (x1, y0), ("right", "bottom")),
    ):
        ax.annotate(
            f"E {number(x)} · N {number(y)}", xy=(fx, fy), xycoords="axes fraction",
            ha=align[0], va=align[1], fontsize=6.5,
            bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0, "pad": 1.5},
        )  # fmt: skip


def corners_line(box: tuple[float, ...]) -> str:
    """The map's north-west and south-east corners in D96/TM, as a line below it."""
    x0, y0, x1, y1 = box
    return (
        f"Vogala · Corners (D96/TM): SZ · NW E {number(x0)} N {number(y1)}; "
        f"JV · SE E {number(x1)} N {number(y0)}"
    )


def map_png(engine: Engine, view: PrintedView, role: str, size: tuple[float, float]) -> bytes:
    """The printed map as a PNG of exactly ``size`` (points) at ``DPI``: at its scale."""
    inches = size[0] / 72, size[1] / 72
    figure = Figure(figsize=inches, dpi=DPI)
    ax = figure.add_axes((0, 0, 1, 1))
    box = ground_box(view, size)
    draw_map(ax, engine, view.specs, box, role, view.part_of, int(inches[0] * DPI), True)
    corner_labels(ax, box)
    out = io.BytesIO()
    figure.savefig(out, format="png")  # no tight box: the size is the scale
    return out.getvalue()


def legend_table(specs: list[LayerSpec], styles: dict) -> PdfTable:
    """Each layer's legend rows: a swatch, the layer, the entry in Slovenian and English."""
    rows, swatches = [], []
    for spec in specs:
        for entry in legend_entries(spec.style_key, spec.geometry):
            swatches.append((len(rows), entry["color"]))
            rows.append(
                [
                    "",
                    Paragraph(html.escape(spec.title), styles["cell"]),
                    Paragraph(
                        f"{html.escape(entry['sl'])} · <font color='#555555'>"
                        f"{html.escape(entry['en'])}</font>",
                        styles["cell"],
                    ),
                ]
            )
    table = PdfTable(rows, colWidths=[0.6 * cm, 6 * cm, None], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
            + [("BACKGROUND", (0, i), (0, i), colors.HexColor(c)) for i, c in swatches]
        )
    )
    return table


def source_rows(engine: Engine, view: PrintedView) -> list[list[str]]:
    """Where each printed layer came from, from the catalogue, loaded when (Ljubljana)."""
    loads = ((spec, newest_load(engine, spec, view.part_of(spec))) for spec in view.specs)
    return [source_row(spec, load) for spec, load in loads if load]


def view_pdf(
    engine: Engine,
    view: PrintedView,
    role: str,
    place: str,
    paper: str = "A4",
    orientation: str = "Ležeče · Landscape",
) -> bytes:
    """The view as PDF bytes on one page of ``paper`` (and a next one if the legend is long)."""
    styles = pdf_styles()
    size = map_size(paper, orientation)
    made = dt.datetime.now(LJUBLJANA)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=ORIENTATIONS[orientation](PAPERS[paper]),
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{place}: zemljevid 1 : {number(view.scale)} · map",
        author=place,
    )
    story = [
        Paragraph(f"{html.escape(place)} · Zemljevid · Map", styles["title"]),
        Paragraph(
            f"Merilo · Scale <b>1 : {number(view.scale)}</b> (natisnjeno v 100 % · printed at "
            f"100 %) · D96/TM (EPSG:3794), sever mreže · grid north · "
            f"Izdelano · Made {made:%d. %m. %Y %H:%M} ({made:%Z}, Europe/Ljubljana)",
            styles["body"],
        ),
        Spacer(1, 0.15 * cm),
        Image(io.BytesIO(map_png(engine, view, role, size)), width=size[0], height=size[1]),
        Paragraph(corners_line(ground_box(view, size)), styles["body"]),
        Paragraph("Legenda · Legend", styles["h2"]),
        legend_table(view.specs, styles),
    ]
    story.extend(pdf_table(sources_table(source_rows(engine, view)), styles))
    document.build(story)
    return out.getvalue()


class PrintPanel(pn.viewable.Viewer):
    """The paper, orientation and scale to print the map's view at, and the PDF to download."""

    def __init__(self, layer_map: LayerMap, role: str, place: str, **params) -> None:
        super().__init__(**params)
        self.map, self.role, self.place = layer_map, role, place
        self.paper = pn.widgets.Select(name="Papir · Paper", options=list(PAPERS), width=80)
        self.orientation = pn.widgets.Select(
            name="Postavitev · Orientation", options=list(ORIENTATIONS), width=180
        )
        self.scale = pn.widgets.Select(
            name="Merilo · Scale",
            options={AS_ON_SCREEN: 0} | {f"1 : {number(s)}": s for s in SCALES},
            sizing_mode="stretch_width",
        )
        self.download = download_button(
            "Natisni pogled (PDF) · Print the view",
            self.pdf_file,
            button_type="primary",
            sizing_mode="stretch_width",
        )

    def printed_view(self) -> PrintedView:
        """The map's view as it will be printed, at the chosen or the holding scale."""
        view = self.map.viewport
        x0, y0 = TO_GRID.transform(view.xmin, view.ymin)
        x1, y1 = TO_GRID.transform(view.xmax, view.ymax)
        size = map_size(self.paper.value, self.orientation.value)
        # bottom first, as the map draws them
        shown = [layer(i) for i, toggle in self.map.toggles.items() if toggle.value]
        return PrintedView(
            centre=((x0 + x1) / 2, (y0 + y1) / 2),
            scale=self.scale.value or scale_holding(x1 - x0, size[0]),
            specs=[spec for spec in shown if can_print(spec)],
            part_of=self.map.part,
        )

    def pdf_file(self) -> Made:
        view = self.printed_view()
        pdf = view_pdf(
            self.map.engine, view, self.role, self.place, self.paper.value, self.orientation.value
        )
        return f"zemljevid_1-{view.scale}.pdf", pdf

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            html_pane("<div class='panel-title'>Tisk · Print</div>"),
            pn.Row(self.paper, self.orientation),
            self.scale,
            self.download,
            sizing_mode="stretch_width",
        )
