"""The exposure report as tables: one model read by the page, the PDF and the CSV alike.

The tables follow the layers' exposure declarations: a summary row per measure and per list, a
table per grouped or listed section.

Numbers are written the Slovenian way (``dashboards.tables.number``), which the English reader
of the bilingual report reads just as well.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from dashboards.evacuation_tables import (
    cared_table,
    evacuation_csv_lines,
    evacuation_table,
    shelter_cells,
    shelter_table,
)
from dashboards.exports import DecimalWriter, csv_text
from dashboards.tables import Table, class_short, missing, number
from layers.exposure import ZONE_AREA, ExposureReport
from layers.registry import address_layer, exposed_layers, network_layer
from layers.spec import LayerSpec
from styles import style


def value_label(spec: LayerSpec, column: str) -> Callable[[object], str]:
    """How a value of ``column`` is written: by its style class's labels when the layer is
    coloured by that column (a building's use), else as it is."""
    entry = style(spec.style_key)
    if entry.get("color_by") != column:
        return lambda value: number(value)
    labels = {c["value"]: f"{c['sl']} · {c['en']}" for c in entry["classes"]}
    return lambda value: labels.get(value, number(value))


def in_class_order(spec: LayerSpec, column: str, values: set) -> list:
    """``values`` in the order of the layer's style classes when it is coloured by ``column``
    (a legend's order), else sorted; values no class names come last."""
    entry = style(spec.style_key)
    order = [c["value"] for c in entry["classes"]] if entry.get("color_by") == column else []
    known = [v for v in order if v in values]
    return known + sorted(values - set(known), key=str)


def shown(report: ExposureReport) -> list[LayerSpec]:
    """The layers of the report's sections the role may see, in the registry's order."""
    return [s for s in exposed_layers() if report.sections.get(s.id) is not None]


def _count(report: ExposureReport, section: str, hazard_class: str | None) -> int:
    return sum(
        1
        for row in report.rows(section)
        if hazard_class is None or row["hazard_class"] == hazard_class
    )


PEOPLE_BY_DAY = "Ljudje podnevi (šole, vrtci, domovi, bolnišnica) · People by day (in institutions)"
PEOPLE_BY_NIGHT = "Ljudje ponoči (doma, domovi, bolnišnica) · People by night (at home and in care)"


def summary_table(report: ExposureReport) -> Table:
    """Per hazard class (columns) and in total: the area, then every measure and list."""
    classes = [*report.classes(), None]  # None: all classes together
    rows = [
        [
            "Površina (ha) · Area (ha)",
            *(number(report.total(ZONE_AREA, "hectares", c), 1) for c in classes),
        ]
    ]
    for spec in shown(report):
        for measure in spec.exposure.measures:
            figures = (report.total(spec.id, measure.name, c) for c in classes)
            rows.append([measure.label, *(number(v, measure.decimals) for v in figures)])
        if spec.exposure.listed:
            rows.append([spec.title, *(number(_count(report, spec.id, c)) for c in classes)])
    people = [report.people(c) for c in classes]
    rows += [
        [PEOPLE_BY_DAY, *(number(day) for day, _ in people)],
        [PEOPLE_BY_NIGHT, *(number(night) for _, night in people)],
    ]
    return Table(
        "summary",
        "Povzetek po razredih nevarnosti",
        "Summary by hazard class",
        [("", ""), *((class_short(c), "") for c in classes[:-1]), ("Skupaj", "Total")],
        rows,
    )


def crosstab_table(report: ExposureReport, spec: LayerSpec) -> Table:
    """A section's first measure by its ``group_by`` value (rows) and hazard class (columns)."""
    exposure, classes = spec.exposure, report.classes()
    measure, column = exposure.measures[0], exposure.group_by
    label = value_label(spec, column)
    rows = []
    for item in in_class_order(spec, column, {row[column] for row in report.rows(spec.id)}):
        values = [
            sum(
                r[measure.name]
                for r in report.rows(spec.id)
                if r[column] == item and r["hazard_class"] == c
            )
            for c in classes
        ]
        rows.append([label(item), *(number(v, measure.decimals) for v in [*values, sum(values)])])
    group = spec.field(column)
    headers = [
        (group.label_sl, group.label_en),
        *((class_short(c), "") for c in classes),
        ("Skupaj", "Total"),
    ]
    return Table(spec.id, exposure.title_sl, exposure.title_en, headers, rows)


def list_table(report: ExposureReport, spec: LayerSpec) -> Table:
    """Each exposed feature of a listed section, with its fields and its class."""
    listed = spec.exposure.listed
    labels = [value_label(spec, name) for name in listed]
    headers = [(spec.field(n).label_sl, spec.field(n).label_en) for n in listed]
    rows = [
        [
            *(label(r[n]) for label, n in zip(labels, listed, strict=True)),
            class_short(r["hazard_class"]),
            water_depth(r),
        ]
        for r in report.rows(spec.id)
    ]
    exposure = spec.exposure
    headers += [("Razred", "Class"), DEPTH_HEADING]
    return Table(spec.id, exposure.title_sl, exposure.title_en, headers, rows)


def district_table(report: ExposureReport) -> Table:
    """Exposed addresses and their occupants per district and class (from the address list)."""
    spec = address_layer()
    sums = spec.exposure.sums
    headers = [("Četrtna skupnost", "District"), ("Razred", "Class"), ("Naslovi", "Addresses")]
    headers += [(m.label_sl, m.label_en) for m in sums]
    rows = [
        [row.district, class_short(row.hazard_class), number(row.count)]
        + [number(getattr(row, m.name)) for m in sums]
        for row in report.by_district().itertuples(index=False)
    ]
    return Table("by_district", "Po četrtnih skupnostih", "By district community", headers, rows)


def depth_text(low: float | None, high: float | None) -> str:
    """A zone's depths, ``0,5–1,5 m``, or ``nad 1,5 m · over 1.5 m`` where it has no bottom."""
    if missing(high):
        return f"nad {number(low, 1)} m · over {low:g} m"
    return f"{number(low, 1)}–{number(high, 1)} m"


def water_depth(row: dict) -> str:
    """The water depth at a building or site, ``1,24 m``; for a flood loaded before its depths
    were kept, its zone's band; none known, a dash."""
    if not missing(row["depth_m"]):
        return f"{number(row['depth_m'], 2)} m"
    if "depth_from_m" in row:
        return depth_text(row["depth_from_m"], row["depth_to_m"])
    return "—"


# at a point on each building or site (``layers.exposure.depth_at``)
DEPTH_HEADING = ("Globina vode", "Water depth")

# where each address's occupants go (``layers.evacuation``), when a road network is declared
EVACUATION_COLUMNS = [
    ("shelter", ("Zbirno mesto", "Shelter")),
    ("route_km", ("Pot (km)", "Route (km)")),
    ("water_m", ("Čez vodo (m)", "Through water (m)")),
]


def address_columns() -> list[tuple[str, tuple[str, str]]]:
    """The address list's columns and their headings: the declared fields, class, depth,
    district and, with a road network, the shelter, the route's length and the way through
    water to the pick-up road."""
    spec = address_layer()
    declared = [
        (n, (spec.field(n).label_sl, spec.field(n).label_en)) for n in spec.exposure.addresses
    ]
    found = [
        *declared,
        ("hazard_class", ("Razred", "Class")),
        ("depth", DEPTH_HEADING),
        ("district", ("Četrtna skupnost", "District")),
    ]
    if network_layer():
        found += EVACUATION_COLUMNS
    return found


def address_rows(report: ExposureReport) -> list[list[object]]:
    """The exposed addresses as written on screen and in print, most severe class first."""
    frame = report.addresses
    spec = address_layer()
    labels = {n: value_label(spec, n) for n in spec.exposure.addresses}
    routed = network_layer() is not None  # as the headings (``address_columns``) are
    return [
        [
            *(labels[n](row[n]) for n in spec.exposure.addresses),
            class_short(row["hazard_class"]),
            water_depth(row),
            row["district"] if isinstance(row["district"], str) else "—",  # none: off the map
            *(_evacuation_cells(row) if routed else []),
        ]
        for row in frame.to_dict("records")
    ]


def _evacuation_cells(row: dict) -> list[str]:
    """An address's shelter (or why it has none), route length and way through water."""
    return [
        *shelter_cells(row["shelter"], row["access"], row["route_km"]),
        number(row["water_m"]) if row["water_m"] > 0 else "—",
    ]


def address_table(report: ExposureReport) -> Table:
    headers = [heading for _, heading in address_columns()]
    return Table(
        "addresses", "Izpostavljeni naslovi", "Exposed addresses", headers, address_rows(report)
    )


def report_tables(report: ExposureReport) -> list[Table]:
    """Every table the role may see, in reading order (the address list is an annex of its
    own: ``address_table``)."""
    tables = [summary_table(report)]
    if report.addresses is not None:
        tables.append(district_table(report))
    if report.evacuation is not None:
        tables += [evacuation_table(report), shelter_table(report)]
        if not report.evacuation.cared.empty:
            tables.append(cared_table(report))
    for spec in shown(report):
        if spec.exposure.listed:
            tables.append(list_table(report, spec))
        elif spec.exposure.group_by:
            tables.append(crosstab_table(report, spec))
    return tables


CSV_COLUMNS = ("scenario", "area", "section", "hazard_class", "item", "measure", "value", "unit")


def csv_lines(report: ExposureReport, spec: LayerSpec) -> Iterator[tuple]:
    """A section in long form: (hazard class, item, measure, value, unit) per value."""
    exposure = spec.exposure
    for row in report.rows(spec.id):
        if exposure.listed:
            item = row[spec.label_field]
            for name in (n for n in exposure.listed if n != spec.label_field):
                yield row["hazard_class"], item, name, row[name], ""
            if not missing(row["depth_m"]):
                yield row["hazard_class"], item, "depth", row["depth_m"], "m"
            continue
        item = row[exposure.group_by] if exposure.group_by else ""
        for m in exposure.measures:
            value = row[m.name] if m.kind in ("count", "sum") else round(row[m.name], 3)
            yield row["hazard_class"], item, m.name, value, m.unit


def report_csv(report: ExposureReport, convention: str = "en") -> str:
    """The report in long form, one measured value per line, for spreadsheets and other tools;
    ``convention`` "sl" writes ``;`` between fields and decimal commas (a Slovenian Excel)."""
    out = io.StringIO()
    writer = DecimalWriter(out, convention)
    writer.writerow(CSV_COLUMNS)
    head = [report.scenario, report.area_name]
    for row in report.rows(ZONE_AREA):
        area = round(row["hectares"], 2)
        writer.writerow([*head, ZONE_AREA, row["hazard_class"], "", "area", area, "ha"])
    for spec in shown(report):
        for line in csv_lines(report, spec):
            writer.writerow([*head, spec.id, *line])
    for hazard_class in report.classes():
        day, night = report.people(hazard_class)
        writer.writerow([*head, "people", hazard_class, "", "by_day", day, ""])
        writer.writerow([*head, "people", hazard_class, "", "by_night", night, ""])
    if report.evacuation is not None:
        for line in evacuation_csv_lines(report):
            writer.writerow([*head, *line])
    if report.addresses is not None:
        for row in report.by_district().to_dict("records"):
            for measure in (c for c in row if c not in ("district", "hazard_class")):
                line = [row["hazard_class"], row["district"], measure, int(row[measure]), ""]
                writer.writerow([*head, "by_district", *line])
    return out.getvalue()


def addresses_csv(report: ExposureReport, convention: str = "en") -> str:
    """The exposed addresses, one a line, with a point on each building in D96/TM."""
    names = []
    for name, _ in address_columns():
        names += ["depth_m", "depth_from_m", "depth_to_m"] if name == "depth" else [name]
    names += ["access"] if network_layer() else []
    frame = report.addresses.assign(scenario=report.scenario)
    return csv_text(frame, ["scenario", *names], convention)
