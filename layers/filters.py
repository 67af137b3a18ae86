"""Attribute filters: a layer kept to the features whose declared fields a person narrowed.

A filter is frozen and hashable, so the feature store caches a filtered view as it caches the
whole layer, and the map, the table, the counts and the exports all read the same rows: each
applies the filter in SQL, through ``Filter.clauses``. A text field is filtered by a set of its
values, a number or a date by a range whose ends are included; a feature without a value is
kept only while its field is not narrowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, TableClause, column, func, select, table

from layers.spec import Field, LayerSpec

VALUES_OFFERED = 100  # a text field of more values than this is not offered as a set


@dataclass(frozen=True)
class Condition:
    """One field narrowed: to ``values``, or to ``low`` ≤ value ≤ ``high``."""

    field: str
    values: frozenset | None = None
    low: object = None
    high: object = None

    def said(self) -> str:
        """The condition as the exports' notes and the audit trail write it."""
        if self.values is not None:
            return f"{self.field} ∈ {{{', '.join(sorted(map(str, self.values)))}}}"
        return f"{self.low} ≤ {self.field} ≤ {self.high}"


@dataclass(frozen=True)
class Filter:
    """The conditions a layer's features must all meet; none: every feature."""

    conditions: tuple[Condition, ...] = ()

    def clauses(self, source: TableClause) -> list:
        """The SQL conditions on ``source`` (a table of the layer's columns)."""
        found = []
        for condition in self.conditions:
            value = source.c[condition.field]
            if condition.values is not None:
                found.append(value.in_(sorted(condition.values)))
            else:
                found.append(value.between(condition.low, condition.high))
        return found

    def said(self) -> str:
        """The conditions as the exports' notes and the audit trail write them."""
        return "; ".join(c.said() for c in self.conditions) or "—"

    def __bool__(self) -> bool:
        return bool(self.conditions)


NO_FILTER = Filter()


@dataclass(frozen=True)
class Choice:
    """What a field may be narrowed to: its values (text) or the range it spans."""

    field: Field
    values: tuple = ()
    low: int | float | dt.date | None = None
    high: int | float | dt.date | None = None

    @property
    def is_range(self) -> bool:
        """Whether the field is narrowed by a range (a number, a date), not by its values."""
        return self.field.type != "text"


def choices(engine: Engine, spec: LayerSpec) -> list[Choice]:
    """Each filterable field of ``spec`` with the values or the range its features hold; a
    field with no values (or one) is left out: there is nothing to choose.
    """
    source = table(spec.read_table, *(column(n) for n in spec.filters))
    found = []
    with engine.connect() as conn:
        for name in spec.filters:
            field, value = spec.field(name), source.c[name]
            if field.type == "text":
                query = select(value).where(value.is_not(None)).group_by(value)
                values = conn.scalars(query.order_by(value).limit(VALUES_OFFERED + 1)).all()
                if 1 < len(values) <= VALUES_OFFERED:
                    found.append(Choice(field, tuple(values)))
                continue
            low, high = conn.execute(select(func.min(value), func.max(value))).one()
            if low is not None and low != high:
                found.append(Choice(field, low=low, high=high))
    return found
