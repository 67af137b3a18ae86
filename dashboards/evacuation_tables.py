"""A report's evacuation (``layers.evacuation``) as tables and CSV lines: what the water closes
and cuts off, and the shelters with the evacuees placed in each and the room left.

The page, the PDF and the CSV read these, so they agree to the last person.
"""

from __future__ import annotations

from collections.abc import Iterator

from dashboards.tables import Table, class_short, missing, number
from layers.evacuation import Evacuation
from layers.exposure import ExposureReport
from layers.registry import address_layer

ACCESS_TEXT = {"no_room": "ni prostora · no room", "no_route": "ni poti · no route"}


def _people(report: ExposureReport, access: str, through_water: bool = False) -> int:
    """The occupants of the exposed addresses with ``access``, those first taken through water
    when ``through_water``; without, the people in care by night with that access too."""
    frame = report.addresses
    chosen = frame["access"] == access
    if through_water:
        return int(frame.loc[chosen & (frame["water_m"] > 0), _residents()].sum())
    return int(frame.loc[chosen, _residents()].sum()) + _cared(report, "night", access)


def _residents() -> str:
    return address_layer().exposure.occupants.column


def _cared(report: ExposureReport, time: str, access: str) -> int:
    """The people the institutions hold at ``time`` ("day" or "night") with ``access``."""
    cared = report.evacuation.cared
    return int(cared.loc[cared[f"access_{time}"] == access, time].sum())


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
        ("placed", "Evakuirani ponoči z mestom v zbirnem mestu (doma in v oskrbi)",
         "Evacuees by night with a place in a shelter (at home and in care)",
         _people(report, "shelter"), ""),
        ("through_water", "od tega najprej čez vodo (čoln, gaz)",
         "of them first taken through water (boat, wading)",
         _people(report, "shelter", through_water=True), ""),
        ("unplaced", "Evakuirani ponoči brez prostora v zbirnih mestih",
         "Evacuees by night with no room left", evacuation.unplaced, ""),
        ("placed_day", "Evakuirani podnevi z mestom v zbirnem mestu (iz šol, vrtcev, domov, "
         "bolnišnice)", "Evacuees by day with a place in a shelter (from schools, "
         "kindergartens, homes, the hospital)", _cared(report, "day", "shelter"), ""),
        ("unplaced_day", "Evakuirani podnevi brez prostora v zbirnih mestih",
         "Evacuees by day with no room left", evacuation.unplaced_day, ""),
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


SHELTER_FIGURES = ("evacuees", "left", "evacuees_day", "left_day")
SHOWN_FIGURES = ("evacuees", "evacuees_day")  # the room left is the capacity less them


def shelter_table(report: ExposureReport) -> Table:
    """Each shelter: its capacity, whether it is used, and the evacuees placed by night and by
    day."""
    rows = [
        [
            row["name"],
            number(row["capacity"]),
            SHELTER_STATE[row["state"]],
            *(number(int(row[f])) if row["state"] == "open" else "—" for f in SHOWN_FIGURES),
        ]
        for row in report.evacuation.shelters.to_dict("records")
    ]
    if not rows:
        rows = [["Ni naloženih zbirnih mest · No shelters loaded", "", "", "", ""]]
    headers = [
        ("Zbirno mesto", "Shelter"),
        ("Zmogljivost", "Capacity"),
        ("Stanje", "State"),
        ("Evakuirani ponoči", "Evacuees by night"),
        ("Evakuirani podnevi", "Evacuees by day"),
    ]
    return Table("evacuation_shelters", "Zbirna mesta", "Shelters", headers, rows)


def shelter_cells(shelter: str | None, access: str, route_km: float) -> list[str]:
    """Where a place's people go, as written: the shelter (or why none) and the route's length
    (a dash where no open road leads to any shelter)."""
    return [
        shelter if access == "shelter" else ACCESS_TEXT[access],
        "—" if missing(route_km) else number(route_km, 2),
    ]


def _goes(row: dict, time: str) -> list[str]:
    """The people an institution holds at ``time``, their shelter (or why none) and route."""
    if not row[time]:
        return ["—", "—", "—"]
    where = shelter_cells(row[f"shelter_{time}"], row[f"access_{time}"], row[f"route_km_{time}"])
    return [number(int(row[time])), *where]


def cared_table(report: ExposureReport) -> Table:
    """Each exposed institution: where its people go by day and by night."""
    rows = [
        [row["name"], class_short(row["hazard_class"]), *_goes(row, "day"), *_goes(row, "night")]
        for row in report.evacuation.cared.to_dict("records")
    ]
    headers = [
        ("Ustanova", "Institution"),
        ("Razred", "Class"),
        ("Podnevi (oseb)", "By day (people)"),
        ("Zbirno mesto podnevi", "Shelter by day"),
        ("Pot (km)", "Route (km)"),
        ("Ponoči (oseb)", "By night (people)"),
        ("Zbirno mesto ponoči", "Shelter by night"),
        ("Pot (km)", "Route (km)"),
    ]
    return Table(
        "evacuation_institutions",
        "Ustanove: kam podnevi in ponoči",
        "Institutions: where their people go by day and by night",
        headers,
        rows,
    )


def evacuation_csv_lines(report: ExposureReport) -> Iterator[tuple]:
    """The evacuation in the report CSV's long form: (section, class, item, measure, value,
    unit) per value."""
    for key, _, _, value, unit in evacuation_figures(report):
        yield "evacuation", "", "", key, value, unit
    for row in report.evacuation.shelters.to_dict("records"):
        yield "evacuation_shelters", "", row["name"], "capacity", int(row["capacity"]), ""
        yield "evacuation_shelters", "", row["name"], "state", row["state"], ""
        if row["state"] == "open":
            for figure in SHELTER_FIGURES:
                yield "evacuation_shelters", "", row["name"], figure, int(row[figure]), ""
    for row in report.evacuation.cared.to_dict("records"):
        for time in ("day", "night"):
            if row[time]:
                item, hazard_class = row["name"], row["hazard_class"]
                yield "evacuation_institutions", hazard_class, item, f"people_{time}", row[time], ""
                for measure in ("shelter", "route_km", "access"):
                    value = row[f"{measure}_{time}"]
                    value = None if missing(value) else value  # no route
                    yield (
                        "evacuation_institutions",
                        hazard_class,
                        item,
                        f"{measure}_{time}",
                        value,
                        "",
                    )
