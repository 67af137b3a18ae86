"""Tables as the reports print them, and numbers as a Slovenian reader writes them: a space
between thousands and a decimal comma, which the English reader of a bilingual page reads just
as well."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A titled table: headers in both languages, rows of plain values."""

    key: str
    title_sl: str
    title_en: str
    headers: list[tuple[str, str]]  # (sl, en)
    rows: list[list[object]]


def class_short(hazard_class: str) -> str:
    """``velika`` → ``Velika · High``: the class name without its depth range."""
    english = {"velika": "High", "srednja": "Medium", "majhna": "Low", "preostala": "Residual"}
    return f"{hazard_class.capitalize()} · {english.get(hazard_class, hazard_class)}"


def missing(value: float | None) -> bool:
    """Whether a figure is missing: None, or NaN as a frame holds a missing number."""
    return value is None or value != value  # only NaN differs from itself


def number(value: object, decimals: int = 0) -> str:
    """``12556`` → ``12 556``; ``30.634`` → ``30,63``; text as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",")
