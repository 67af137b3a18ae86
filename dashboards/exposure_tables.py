"""The exposure report as tables: one model read by the page, the PDF and the CSV alike.

Numbers are written the Slovenian way (a space between thousands, a decimal comma), which the
English reader of the bilingual report reads just as well.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from layers.exposure import ExposureReport
from styles import style


@dataclass(frozen=True)
class Table:
    """A titled table: headers in both languages, rows of plain values."""

    key: str
    title_sl: str
    title_en: str
    headers: list[tuple[str, str]]  # (sl, en)
    rows: list[list[object]]


def number(value: object, decimals: int = 0) -> str:
    """``12556`` → ``12 556``; ``30.634`` → ``30,63``; text as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",")


def class_label(hazard_class: str, language: str = "sl") -> str:
    labels = {c["value"]: c[language] for c in style("flood_hazard")["classes"]}
    return labels.get(hazard_class, hazard_class)


def class_short(hazard_class: str) -> str:
    """``velika`` → ``Velika · High``: the class name without its depth range."""
    english = {"velika": "High", "srednja": "Medium", "majhna": "Low", "preostala": "Residual"}
    return f"{hazard_class.capitalize()} · {english.get(hazard_class, hazard_class)}"


def use_label(use_class: str) -> str:
    labels = {c["value"]: f"{c['sl']} · {c['en']}" for c in style("buildings")["classes"]}
    return labels.get(use_class, use_class)


def _allowed(report: ExposureReport, section: str) -> bool:
    return report.sections.get(section) is not None


def summary_table(report: ExposureReport) -> Table:
    """Per hazard class (columns) and in total: area, buildings, residents, km, sites, hotspots."""
    measures = [
        ("zone_area", "hectares", ("Površina (ha)", "Area (ha)"), 1),
        ("buildings", "buildings", ("Stavbe", "Buildings"), 0),
        ("buildings", "residents", ("Prebivalci", "Residents"), 0),
        ("roads", "km", ("Ceste (km)", "Roads (km)"), 2),
        ("water_mains", "km", ("Vodovod (km)", "Water mains (km)"), 2),
        ("critical_sites", None, ("Objekti posebnega pomena", "Critical sites"), 0),
        ("wifi_hotspots", None, ("Točke WiFi", "Wi-Fi hotspots"), 0),
    ]
    classes = [*report.classes(), None]  # None: all classes together

    def value(section: str, column: str | None, hazard_class: str | None) -> float:
        if column is None:  # a list: count its entries
            return sum(
                1
                for row in report.rows(section)
                if hazard_class is None or row["hazard_class"] == hazard_class
            )
        return report.total(section, column, hazard_class)

    return Table(
        "summary",
        "Povzetek po razredih nevarnosti",
        "Summary by hazard class",
        [("", ""), *((class_short(c), "") for c in classes[:-1]), ("Skupaj", "Total")],
        [
            [f"{sl} · {en}", *(number(value(section, column, c), decimals) for c in classes)]
            for section, column, (sl, en), decimals in measures
            if _allowed(report, section)
        ],
    )


def crosstab(
    report: ExposureReport,
    section: str,
    key: tuple[str, str, str],
    measure: str,
    label,
    decimals: int = 0,
) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Rows of a section's ``measure`` by its ``key`` column and hazard class, and the headers.

    ``key`` is the column and its header in Slovenian and English; the last column is the total.
    """
    column, header_sl, header_en = key
    classes = report.classes()
    rows = []
    for item in sorted({row[column] for row in report.rows(section)}):
        values = [
            sum(
                r[measure]
                for r in report.rows(section)
                if r[column] == item and r["hazard_class"] == c
            )
            for c in classes
        ]
        rows.append([label(item), *(number(v, decimals) for v in [*values, sum(values)])])
    return rows, [
        (header_sl, header_en),
        *((class_short(c), "") for c in classes),
        ("Skupaj", "Total"),
    ]


def buildings_table(report: ExposureReport) -> Table:
    rows, headers = crosstab(
        report, "buildings", ("use_class", "Namembnost", "Use"), "buildings", use_label
    )
    return Table("buildings", "Stavbe po namembnosti", "Buildings by use", headers, rows)


def roads_table(report: ExposureReport) -> Table:
    rows, headers = crosstab(
        report, "roads", ("category", "Kategorija", "Category"), "km", str, decimals=2
    )
    return Table("roads", "Ceste po kategoriji (km)", "Roads by category (km)", headers, rows)


def sites_table(report: ExposureReport) -> Table:
    return Table(
        "critical_sites",
        "Ogroženi objekti posebnega pomena",
        "Critical sites at risk",
        [
            ("Ime", "Name"),
            ("Vrsta", "Kind"),
            ("Naslov", "Address"),
            ("Zmogljivost", "Capacity"),
            ("Razred", "Class"),
        ],
        [
            [
                r["name"],
                r["kind"],
                r["address"] or "",
                number(r["capacity"]),
                class_short(r["hazard_class"]),
            ]
            for r in report.rows("critical_sites")
        ],
    )


def hotspots_table(report: ExposureReport) -> Table:
    return Table(
        "wifi_hotspots",
        "Ogrožene točke WiFi",
        "Wi-Fi hotspots at risk",
        [("Lokacija", "Location"), ("Stanje", "Status"), ("Razred", "Class")],
        [
            [r["name"], r["status"], class_short(r["hazard_class"])]
            for r in report.rows("wifi_hotspots")
        ],
    )


def report_tables(report: ExposureReport) -> list[Table]:
    """Every table the role may see, in reading order."""
    tables = [summary_table(report)]
    for section, build in (
        ("buildings", buildings_table),
        ("roads", roads_table),
        ("critical_sites", sites_table),
        ("wifi_hotspots", hotspots_table),
    ):
        if _allowed(report, section):
            tables.append(build(report))
    return tables


CSV_COLUMNS = ("scenario", "area", "section", "hazard_class", "item", "measure", "value", "unit")


def report_csv(report: ExposureReport) -> str:
    """The report in long form, one measured value per line, for spreadsheets and other tools."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)

    def put(section: str, hazard_class: str, item: str, measure: str, value, unit: str) -> None:
        writer.writerow(
            [report.scenario, report.area_name, section, hazard_class, item, measure, value, unit]
        )

    for row in report.rows("zone_area"):
        put("zone_area", row["hazard_class"], "", "area", round(row["hectares"], 2), "ha")
    for row in report.rows("buildings"):
        put("buildings", row["hazard_class"], row["use_class"], "buildings", row["buildings"], "")
        put("buildings", row["hazard_class"], row["use_class"], "residents", row["residents"], "")
    for row in report.rows("roads"):
        put("roads", row["hazard_class"], row["category"], "length", round(row["km"], 3), "km")
    for row in report.rows("water_mains"):
        put("water_mains", row["hazard_class"], "", "length", round(row["km"], 3), "km")
    for row in report.rows("critical_sites"):
        put("critical_sites", row["hazard_class"], row["name"], row["kind"], row["capacity"], "")
    for row in report.rows("wifi_hotspots"):
        put("wifi_hotspots", row["hazard_class"], row["name"], "status", row["status"], "")
    return out.getvalue()
