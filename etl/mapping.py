"""Which column of a file is which field of a layer: by name and alias, or as the user says.

A file from outside names its columns its own way. ``--map TARGET=SOURCE`` (or a mapping file)
says which column a field is read from, ``--set TARGET=VALUE`` gives a field one value for every
row; the fields left are found by their names and aliases (``layers/layers.toml``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.validate import convert_column
from layers.errors import LoadError
from layers.spec import Field, LayerSpec

CONSTANT_COLUMN = "--set {}"  # the column a constant is given as, named so no file can clash


@dataclass(frozen=True)
class FieldMap:
    """What the user said of a file's columns: ``given`` maps a field to the column it is read
    from, ``constants`` a field to the value every row gets.
    """

    given: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.given or self.constants)

    def merged(self, other: FieldMap) -> FieldMap:
        """The entries of both, ``other``'s where both have one (the command line over a file)."""
        return FieldMap({**self.given, **other.given}, {**self.constants, **other.constants})


def read_mapping_file(path: Path, layer: str) -> FieldMap:
    """A mapping file: TOML with a ``[map]`` table (field = "COLUMN") and a ``[set]`` table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LoadError(
            path,
            layer,
            f"the mapping file cannot be read ({exc})",
            f"datoteke s preslikavo ni mogoče prebrati ({exc})",
            'write it as TOML: [map] location_name = "NAZIV", [set] status = "aktivna"',
            'zapišite jo v TOML: [map] location_name = "NAZIV", [set] status = "aktivna"',
        ) from None
    unknown = set(data) - {"map", "set"}
    tables = [data.get("map", {}), data.get("set", {})]
    if unknown or not all(isinstance(t, dict) for t in tables):
        raise LoadError(
            path,
            layer,
            f"the mapping file may hold only the tables [map] and [set] (it has: {', '.join(data)})",
            f"datoteka s preslikavo sme vsebovati le tabeli [map] in [set] (ima: {', '.join(data)})",
            'write [map] location_name = "NAZIV" and [set] status = "aktivna"',
            'zapišite [map] location_name = "NAZIV" in [set] status = "aktivna"',
        )
    return FieldMap(*({str(k): str(v) for k, v in t.items()} for t in tables))


def map_columns(
    columns: list[str], spec: LayerSpec, path: Path, fields: FieldMap = FieldMap()
) -> dict[str, str]:
    """Return ``{target field: source column}``; refuse a file missing a required field.

    Fields given a constant are not looked for in the file.
    """
    _check_targets(spec, path, fields)
    _check_constants(spec, path, fields)
    by_lower = {str(c).lower(): c for c in columns}
    mapping = {target: _given_column(by_lower, target, source, spec, path, columns)
               for target, source in fields.given.items()}  # fmt: skip
    missing: list[Field] = []
    for fld in spec.loaded_fields:
        if fld.name in mapping or fld.name in fields.constants:
            continue
        names = (fld.name, *fld.aliases)
        source = next((by_lower[n.lower()] for n in names if n.lower() in by_lower), None)
        if source is not None:
            mapping[fld.name] = source
        elif fld.required:
            missing.append(fld)
    if missing:
        shown = ", ".join(map(str, columns))
        raise LoadError(
            path,
            spec.id,
            f"required fields missing: {_listed(missing, 'or')} (its columns: {shown})",
            f"manjkajo obvezna polja: {_listed(missing, 'ali')} (njeni stolpci: {shown})",
            "say which column holds each with --map FIELD=COLUMN (or give one value to all rows"
            " with --set FIELD=VALUE)",
            "povejte, kateri stolpec ga vsebuje, z --map POLJE=STOLPEC (ali dajte vsem vrsticam"
            " eno vrednost z --set POLJE=VREDNOST)",
        )
    return mapping


def _listed(fields: list[Field], either: str) -> str:
    """``location_name (or LOKACIJA, NAME); status (or STANJE)``, ``or`` in the message's language."""
    return "; ".join(
        f"{f.name} ({either} {', '.join(f.aliases)})" if f.aliases else f.name for f in fields
    )


def with_constants(
    frame: pd.DataFrame, mapping: dict[str, str], fields: FieldMap
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame with a column for each constant, and the mapping that reads fields from them."""
    if not fields.constants:
        return frame, mapping
    named = {CONSTANT_COLUMN.format(t): v for t, v in fields.constants.items()}
    constant_mapping = {t: CONSTANT_COLUMN.format(t) for t in fields.constants}
    return frame.assign(**named), {**mapping, **constant_mapping}


def describe(mapping: dict[str, str], fields: FieldMap) -> list[str]:
    """The mapping a load used, a line per field, as a dry run prints it."""
    lines = []
    for target, source in mapping.items():
        how = "--map" if target in fields.given else "by name"
        lines.append(f"{target} <- {source} ({how})")
    lines += [f"{t} = {v!r} (--set)" for t, v in fields.constants.items()]
    return lines


def _check_targets(spec: LayerSpec, path: Path, fields: FieldMap) -> None:
    loaded = [f.name for f in spec.loaded_fields]
    unknown = [t for t in (*fields.given, *fields.constants) if t not in loaded]
    both = set(fields.given) & set(fields.constants)
    if unknown or both:
        wrong = ", ".join(unknown or sorted(both))
        what_en = "no field of this layer" if unknown else "both --map and --set"
        what_sl = "ni polje tega sloja" if unknown else "podano z --map in z --set"
        raise LoadError(
            path,
            spec.id,
            f"{wrong}: {what_en} (its fields: {', '.join(loaded)})",
            f"{wrong}: {what_sl} (polja sloja: {', '.join(loaded)})",
            "map or set each field once, by its name in the layer",
            "vsako polje preslikajte ali nastavite enkrat, z imenom v sloju",
        )


def _check_constants(spec: LayerSpec, path: Path, fields: FieldMap) -> None:
    for target, value in fields.constants.items():
        fld = spec.field(target)
        converted, bad = convert_column(pd.Series([value], dtype=object), fld)
        outside = fld.allowed and converted.notna()[0] and converted[0] not in fld.allowed
        if bad[0] or outside:
            en, sl = (
                (f"one of {fld.allowed}", f"ena od {fld.allowed}")
                if outside
                else (f"of type {fld.type}", f"vrste {fld.type}")
            )
            raise LoadError(
                path,
                spec.id,
                f"--set {target}={value!r} is not {en}",
                f"--set {target}={value!r} ni {sl}",
                f"give {target} a value {en}",
                f"podajte {target} vrednost, ki je {sl}",
            )


def _given_column(
    by_lower: dict[str, str],
    target: str,
    source: str,
    spec: LayerSpec,
    path: Path,
    columns: list[str],
) -> str:
    if source.lower() in by_lower:
        return by_lower[source.lower()]
    shown = ", ".join(map(str, columns))
    raise LoadError(
        path,
        spec.id,
        f"has no column {source!r} (--map {target}={source}); its columns: {shown}",
        f"nima stolpca {source!r} (--map {target}={source}); njeni stolpci: {shown}",
        "map the field to one of its columns",
        "polje preslikajte v enega od njenih stolpcev",
    )
