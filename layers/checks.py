"""Start-up check: every layer spec against the live database and the styles."""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, text

from layers.errors import ConfigurationError
from layers.registry import LAYERS
from layers.spec import Geometry, LayerSpec
from styles import all_styles

COLUMNS = text(
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = :table"
)
GEOMETRY = text(
    "SELECT type, srid FROM geometry_columns"
    " WHERE f_table_schema = current_schema() AND f_table_name = :table AND f_geometry_column = :column"
)


# what a vector layer's style must give to draw its geometry
STYLE_NEEDS = {
    Geometry.POINT: {"marker", "size"},
    Geometry.LINE: {"line_width"},
    Geometry.POLYGON: {"line_color"},
}


def style_problems(spec: LayerSpec) -> list[str]:
    """What is wrong between ``spec`` and its style; empty when nothing is."""
    if spec.style_key not in all_styles():
        return [f"{spec.id}: style {spec.style_key!r} is not in styles/styles.toml"]
    if spec.renderer != "vector":
        return []
    missing = STYLE_NEEDS[spec.geometry] - set(all_styles()[spec.style_key])
    return (
        [
            f"{spec.id}: style {spec.style_key!r} draws a {spec.geometry} without {', '.join(sorted(missing))}"
        ]
        if missing
        else []
    )


def spec_problems(engine: Engine, spec: LayerSpec) -> list[str]:
    """What is wrong between ``spec`` and the database or its style; empty when nothing is."""
    problems = style_problems(spec)
    with engine.connect() as conn:
        columns = set(conn.scalars(COLUMNS, {"table": spec.read_table}))
        if not columns:
            return [*problems, f"{spec.id}: table or view {spec.read_table!r} does not exist"]
        wanted = {spec.id_column, spec.geometry_column, *(f.name for f in spec.fields)}
        problems += [
            f"{spec.id}: column {c!r} missing in {spec.read_table}"
            for c in sorted(wanted - columns)
        ]
        geometry = conn.execute(
            GEOMETRY.bindparams(
                bindparam("table", spec.read_table), bindparam("column", spec.geometry_column)
            )
        ).first()
    if geometry and (geometry.type.upper() != spec.geometry.upper() or geometry.srid != spec.srid):
        problems.append(
            f"{spec.id}: {spec.read_table}.{spec.geometry_column} is {geometry.type} "
            f"in SRID {geometry.srid}, the spec says {spec.geometry} in {spec.srid}"
        )
    return problems


def check_database(engine: Engine) -> None:
    """Raise a ConfigurationError naming every mismatch between the registry and the database."""
    problems = [p for spec in LAYERS.values() for p in spec_problems(engine, spec)]
    if problems:
        listed = "; ".join(problems)
        raise ConfigurationError(
            f"the layer registry does not match the database: {listed}",
            f"register slojev se ne ujema z bazo: {listed}",
            "run `python -m etl migrate`, or fix the spec in layers/registry.py",
            "zaženite `python -m etl migrate` ali popravite specifikacijo",
        )
