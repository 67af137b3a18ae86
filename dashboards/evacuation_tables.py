"""A report's evacuation (``layers.evacuation``) as tables and CSV lines: what the water closes
and cuts off, and the shelters with the evacuees placed in each and the room left.

The page, the PDF and the CSV read these, so they agree to the last person.
"""

from __future__ import annotations

from collections.abc import Iterator

from dashboards.tables import Table, number
from layers.evacuation import Evacuation
from layers.exposure import ExposureReport
from layers.registry import address_layer


def _people(report: ExposureReport, access: str, through_water: bool = False) -> int:
    """The occupants of the exposed addresses with ``access``, those first taken through water
    when ``through_water``."""
    frame = report.addresses
    chosen = frame["access"] == access
    if through_water:
        chosen &= frame["water_m"] > 0
    return int(frame.loc[chosen, address_layer().exposure.occupants.column].sum())


def evacuation_figures(report: ExposureReport) -> list[tuple[str, str, str, object, str]]:
    """The evacuation's figures: (key, Slovenian, English, value, unit), in reading order."""
    evacuation: Evacuation = report.evacuation
    depth = number(evacuation.drivable_depth_m, 1)
    places = ", ".join(evacuation.cut_off_places) or "—"
    return [
        ("closed_km", f"Zaprte ceste v občini (voda nad {depth} m)",
         f"Roads closed in the municipality (water over {evacuation.drivable_depth_m:g} m)",
         round(float(evacuation.closed.length.sum()) / 1000, 2), "km"),
        ("cut_off_buildings", "Odrezane stavbe (brez odprte ceste do zbirnega mesta)",
         "Buildings cut off (no open road to a shelter)", evacuation.cut_off_buildings, ""),
        ("cut_off_dry", "od tega suhe, na otokih", "of them dry, on islands",
         evacuation.cut_off_dry, ""),
        ("cut_off_residents", "Prebivalci odrezanih stavb", "Residents of buildings cut off",
         evacuation.cut_off_residents, ""),
        ("cut_off_places", "Odrezana naselja", "Settlements cut off", places, ""),
        ("placed", "Evakuirani z mestom v zbirnem mestu", "Evacuees with a place in a shelter",
         _people(report, "shelter"), ""),
        ("through_water", "od tega najprej čez vodo (čoln, gaz)",
         "of them first taken through water (boat, wading)",
         _people(report, "shelter", through_water=True), ""),
        ("unplaced", "Evakuirani brez prostora v zbirnih mestih", "Evacuees with no room left",
         evacuation.unplaced, ""),
    ]  # fmt: skip


def evacuation_table(report: ExposureReport) -> Table:
    rows = [
        [f"{sl} · {en}", number(value, 2 if unit else 0) + (f" {unit}" if unit else "")]
        for _, sl, en, value, unit in evacuation_figures(report)
    ]
    return Table("evacuation", "Evakuacija", "Evacuation", [("", ""), ("", "")], rows)


SHELTER_STATE = {
    "open": "suho, ob odprti cesti · dry, on an open road",
    "flooded": "pod vodo · flooded",
    "cut_off": "odrezano · cut off",
}


def shelter_table(report: ExposureReport) -> Table:
    """Each shelter: its capacity, whether it is used, the evacuees placed and the room left."""
    rows = [
        [
            row["name"],
            number(row["capacity"]),
            SHELTER_STATE[row["state"]],
            number(int(row["evacuees"])) if row["state"] == "open" else "—",
            number(int(row["left"])) if row["state"] == "open" else "—",
        ]
        for row in report.evacuation.shelters.to_dict("records")
    ]
    if not rows:
        rows = [["Ni naloženih zbirnih mest · No shelters loaded", "", "", "", ""]]
    headers = [
        ("Zbirno mesto", "Shelter"),
        ("Zmogljivost", "Capacity"),
        ("Stanje", "State"),
        ("Evakuirani", "Evacuees"),
        ("Prostih mest", "Room left"),
    ]
    return Table("evacuation_shelters", "Zbirna mesta", "Shelters", headers, rows)


def evacuation_csv_lines(report: ExposureReport) -> Iterator[tuple]:
    """The evacuation in the report CSV's long form: (section, class, item, measure, value,
    unit) per value."""
    for key, _, _, value, unit in evacuation_figures(report):
        yield "evacuation", "", "", key, value, unit
    for row in report.evacuation.shelters.to_dict("records"):
        yield "evacuation_shelters", "", row["name"], "capacity", int(row["capacity"]), ""
        yield "evacuation_shelters", "", row["name"], "state", row["state"], ""
        if row["state"] == "open":
            yield "evacuation_shelters", "", row["name"], "evacuees", int(row["evacuees"]), ""
            yield "evacuation_shelters", "", row["name"], "left", int(row["left"]), ""
