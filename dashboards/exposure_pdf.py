"""The exposure report as a printable PDF: map with legend and scale, the tables, the sources.

The map is drawn with matplotlib in EPSG:3794 (true metres, so the scale bar is right) from the
same per-viewport queries as the dashboard; the document is laid out with ReportLab in DejaVu
Sans (shipped with matplotlib), which has every Slovenian letter.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import geopandas as gpd
import matplotlib
import shapely
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable
from sqlalchemy import Engine

from dashboards.evacuation_map import CLOSED, ROUTES
from dashboards.exposure_tables import address_table, report_tables
from dashboards.print_map import draw_map, printed_layers
from dashboards.tables import Table
from layers.catalog import newest_load
from layers.evacuation import Evacuation
from layers.exposure import LJUBLJANA, ExposureReport
from layers.registry import LAYERS, layer_for, network_layer
from layers.spec import STORAGE_SRID, LayerSpec
from styles import style

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
MAP_WIDTH_PX = 2000
MAP_BOX = (25 * cm, 9.5 * cm)  # room for the summary table below it on the first page


def _register_fonts() -> None:
    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", FONT_DIR / "DejaVuSans.ttf"))
        pdfmetrics.registerFont(TTFont("DejaVu-Bold", FONT_DIR / "DejaVuSans-Bold.ttf"))


def map_png(engine: Engine, report: ExposureReport, area: shapely.Geometry, role: str) -> bytes:
    """The report's area with the scenario's hazard classes, as a PNG for print."""
    box = area.buffer(max(area.length / 40, 100)).bounds
    figure = Figure(figsize=(9, 5.2), dpi=200)
    ax = figure.add_axes((0, 0, 1, 1))
    handles = draw_map(
        ax,
        engine,
        printed_layers(role),
        box,
        role,
        lambda spec: report.scenario if spec.partition_column else None,
        MAP_WIDTH_PX,
    )
    if report.evacuation is not None:
        handles += draw_evacuation(ax, report.evacuation)
    gpd.GeoSeries([area.boundary], crs=STORAGE_SRID).plot(
        ax=ax, color="#1d1d1b", linewidth=1.6, linestyle="--"
    )
    handles.append(
        Line2D([], [], color="#1d1d1b", linestyle="--", label="Območje poročila · Report area")
    )
    # beside the map, not on it: the page is wider than the map, and the legend has grown
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    out = io.BytesIO()
    figure.savefig(out, format="png", bbox_inches="tight", pad_inches=0.05)
    return out.getvalue()


def draw_evacuation(ax: Axes, evacuation: Evacuation) -> list:
    """The closed roads and the routes to the shelters by their print styles; their legend."""
    handles = []
    for key, frame in ((CLOSED, evacuation.closed), (ROUTES, evacuation.routes)):
        entry, label = style(key), style(key)["legend"][0]
        printed = entry["print"]
        if not frame.empty:
            frame.plot(ax=ax, color=printed["color"], linewidth=printed["linewidth"],
                       linestyle=printed["linestyle"])  # fmt: skip
        handles.append(
            Line2D([], [], color=printed["color"], linestyle=printed["linestyle"],
                   label=f"{label['sl']} · {label['en']}")
        )  # fmt: skip
    return handles


def map_image(png: bytes, box: tuple[float, float]) -> Image:
    """The map at the largest size that fits ``box`` (width, height in points), aspect kept."""
    width, height = ImageReader(io.BytesIO(png)).getSize()
    scale = min(box[0] / width, box[1] / height)
    return Image(io.BytesIO(png), width=width * scale, height=height * scale)


def pdf_styles() -> dict[str, ParagraphStyle]:
    _register_fonts()
    base = ParagraphStyle("body", fontName="DejaVu", fontSize=8.5, leading=11)
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontName="DejaVu-Bold", fontSize=16, leading=20),
        "h2": ParagraphStyle(
            "h2", base, fontName="DejaVu-Bold", fontSize=11, leading=14, spaceBefore=8
        ),
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", base, fontName="DejaVu-Bold", fontSize=7.5, leading=9),
    }


def pdf_table(table: Table, styles: dict) -> list:
    def para(value: object, kind: str = "cell") -> Paragraph:
        return Paragraph(html.escape(str(value)), styles[kind])

    head = [
        Paragraph(
            f"{html.escape(sl)}<br/><font color='#555555'>{html.escape(en)}</font>", styles["head"]
        )
        for sl, en in table.headers
    ]
    body = [[para(v) for v in row] for row in table.rows] or [
        [para("Ni izpostavljenih · None exposed")] + [para("")] * (len(head) - 1)
    ]
    grid = PdfTable([head, *body], repeatRows=1, hAlign="LEFT")
    grid.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    title = Paragraph(
        f"{html.escape(table.title_sl)} · <font color='#555555'>{html.escape(table.title_en)}</font>",
        styles["h2"],
    )
    # a table of a page or less is kept with its title; a longer one runs on over pages
    return [KeepTogether([title, grid])] if len(body) < 40 else [title, grid]


def sources_table(rows: list[list[str]]) -> Table:
    """The data sources of a PDF: a layer's file, provider, licence and load time a row."""
    headers = [
        ("Sloj", "Layer"),
        ("Datoteka", "File"),
        ("Vir", "Provider"),
        ("Licenca", "Licence"),
        ("Naloženo", "Loaded"),
    ]
    return Table("sources", "Viri podatkov", "Data sources", headers, rows)


def source_row(spec: LayerSpec, load: dict) -> list[str]:
    """A row of the sources table: where ``spec`` came from and when it was loaded (Ljubljana)."""
    loaded = load["loaded_at"].astimezone(LJUBLJANA)
    return [
        spec.title, load["source_file"], load["provider"] or "", load["licence"] or "",
        f"{loaded:%d. %m. %Y %H:%M}",
    ]  # fmt: skip


def sources(engine: Engine, report: ExposureReport, role: str) -> list[list[str]]:
    """Where each layer of the report, of its evacuation and of its map came from, from the
    catalogue."""
    rows, printed = [], printed_layers(role)
    network = network_layer().network if report.evacuation is not None else None
    planned = {network.shelters, network.settlements} if network else set()
    for spec in LAYERS.values():
        reported = (
            report.sections.get(spec.id) is not None
            or spec.purpose in ("hazard", "boundary")
            or spec.id in planned
        )
        if role not in spec.roles or not (reported or spec in printed):
            continue
        found = newest_load(engine, spec, report.scenario if spec.partition_column else None)
        if found:
            rows.append(source_row(spec, found))
    return rows


EVACUATION_METHOD = (
    " Evakuacija · Evacuation: cesta je zaprta, kjer jo doseže voda, globlja od meje za "
    "vožnjo; zbirno mesto, ki ga doseže voda, se ne uporabi. Ljudi poberejo na najbližji "
    "odprti cesti, ki vodi do zbirnega mesta (kjer je cesta pred stavbo zaprta, najprej čez "
    "vodo); poti so najkrajše po odprtih cestah (pgRouting), najhujši razred in najbližji "
    "najprej, vsaka stavba cela v najbližje zbirno mesto s prostorom. Odrezana je stavba, katere "
    "cesta je zaprta ali ne vodi do nobenega zbirnega mesta. · A road is closed where water "
    "deeper than the driving limit reaches it; a shelter the water reaches is not used. People "
    "are picked up on the nearest open road that leads to a shelter (through water first where "
    "the road in front is closed); routes are the shortest over open roads (pgRouting), the most "
    "severe class and the nearest first, each building whole in the nearest shelter with room. "
    "A building is cut off when its road is closed or leads to no shelter."
)


def report_pdf(
    engine: Engine, report: ExposureReport, area: shapely.Geometry, role: str, place: str
) -> bytes:
    """The whole report as PDF bytes (A4 landscape)."""
    styles = pdf_styles()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title=f"Izpostavljenost poplavam {report.scenario} · Flood exposure {report.scenario}",
        author=place,
    )
    flood = style(layer_for("hazard").style_key)
    story = [
        Paragraph(
            f"Izpostavljenost poplavam · Flood exposure: scenarij {html.escape(report.scenario)}",
            styles["title"],
        ),
        Paragraph(
            f"{html.escape(place)} · Območje · Area: {html.escape(report.area_name)} · "
            f"Izdelano · Made: {report.made_at:%Y-%m-%d %H:%M %Z}",
            styles["body"],
        ),
        Spacer(1, 0.2 * cm),
        map_image(map_png(engine, report, area, role), MAP_BOX),
    ]
    for table in report_tables(report):
        story.extend(pdf_table(table, styles))
    story.append(
        Paragraph(
            "Metoda · Method: razredi po globini vode (meje "
            f"{', '.join(str(b) for b in flood['depth_breaks_m'])} m), pri poplavah redkejših od "
            f"Q{flood['residual_above_return_period']} preostala nevarnost. Stavba je izpostavljena, "
            "če jo poplavna cona vsaj deloma prekriva, in šteje enkrat, v najhujšem razredu; "
            "prebivalci so vsi prijavljeni prebivalci takih stavb (zgornja ocena). Podnevi so "
            "šteti ljudje v šolah, vrtcih, domovih starejših in bolnišnici po njihovi zmogljivosti, "
            "ponoči prebivalci doma ter ljudje v domovih in bolnišnici. Globina vode pri "
            "stavbi je vrednost rastra globin na točki stavbe, v njenem razredu. · Classes by "
            "water depth; a building touched by a zone counts once, in its most severe class; "
            "residents are all registered occupants of exposed buildings (an upper estimate). By "
            "day the people in schools, kindergartens, retirement homes and the hospital are "
            "counted at their capacity; by night the residents at home and those in care. "
            "The water depth at a building is the depth raster's value at a point of it in "
            "its class." + EVACUATION_METHOD * (report.evacuation is not None),
            styles["body"],
        )
    )
    story.extend(pdf_table(sources_table(sources(engine, report, role)), styles))
    if report.addresses is not None:  # the annex: whom to warn and evacuate
        story.append(PageBreak())
        story.extend(pdf_table(address_table(report), styles))
    document.build(story)
    return out.getvalue()
