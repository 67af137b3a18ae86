"""Styles as data: ``styles.toml`` holds every colour, class break and legend label by key, and
the themes that change them (the wall's dark one)."""

from __future__ import annotations

import html
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

STYLES_FILE = Path(__file__).resolve().parent / "styles.toml"


@cache
def _file() -> dict[str, dict[str, Any]]:
    return tomllib.loads(STYLES_FILE.read_text(encoding="utf-8"))


def all_styles() -> dict[str, dict[str, Any]]:
    """Every style, by key."""
    return {key: entry for key, entry in _file().items() if key != "themes"}


def theme(name: str | None) -> dict[str, dict[str, Any]]:
    """A theme's changes by style key, plus its ``map`` and ``colour_bar``; none: no changes."""
    return _file()["themes"][name] if name else {}


def style(key: str, theme_name: str | None = None) -> dict[str, Any]:
    """The style named ``key``, changed by the theme; a missing key is caught at start-up."""
    return {**all_styles()[key], **theme(theme_name).get(key, {})}


def legend_entries(key: str, geometry: str) -> list[dict[str, Any]]:
    """Legend rows (``color``, ``sl``, ``en``, ``symbol``) of a style, classes included.

    ``geometry`` is the layer's (``layers.spec.Geometry``): a class's swatch is its line, point
    or area.
    """
    spec = style(key)
    if "classes" in spec:
        symbol = {"MultiLineString": "line", "Point": "point"}.get(geometry, "area")
        marker = spec.get("marker", "").split("_")[0]
        if symbol == "point" and marker in MARKER_SWATCHES:
            symbol = MARKER_SWATCHES[marker]  # the swatch looks like the marker on the map
        return [{**c, "symbol": symbol} for c in spec["classes"]]
    return spec["legend"]


def class_colors(key: str) -> dict[Any, str]:
    """``{class value: colour}`` of a style coloured by an attribute."""
    return {c["value"]: c["color"] for c in style(key).get("classes", [])}


MARKER_SWATCHES = {"square": "square", "circle": "circle", "diamond": "square"}  # a square on end
SWATCH = {
    "line": "display:inline-block;width:22px;height:0;border-top:3px solid {c};vertical-align:middle",
    "area": "display:inline-block;width:18px;height:12px;background:{c};border:1px solid #555",
    "hatch": (
        "display:inline-block;width:18px;height:12px;border:1px solid {c};"
        "background:repeating-linear-gradient(45deg,{c} 0 2px,transparent 2px 5px)"
    ),
    "square": (
        "display:inline-block;width:11px;height:11px;background:{c};border:1px solid #1d1d1b;"
        "transform:rotate(45deg);margin:0 3px"
    ),
    "circle": (
        "display:inline-block;width:11px;height:11px;background:{c};border:1px solid #555;"
        "border-radius:50%;margin:0 3px"
    ),
    "point": (
        "display:inline-block;width:0;height:0;border-left:7px solid transparent;"
        "border-right:7px solid transparent;border-bottom:12px solid {c}"
    ),
}


def legend_html(key: str, geometry: str) -> str:
    """The legend of a style as HTML rows: a swatch and the label in Slovenian and English."""
    rows = []
    for entry in legend_entries(key, geometry):
        swatch = SWATCH[entry["symbol"]].format(c=html.escape(entry["color"]))
        label = f"{html.escape(entry['sl'])} <span class='en'>· {html.escape(entry['en'])}</span>"
        rows.append(f"<div class='legend-row'><span style='{swatch}'></span> {label}</div>")
    return "".join(rows)
