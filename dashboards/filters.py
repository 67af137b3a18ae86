"""A layer's filter in its card: a set of values for a text field, a range for a number or a
date, made into one ``layers.filters.Filter`` the map, the table and the exports all apply.

The choices are read when a person first opens the filter, not when the page is built: most
pages never filter, and a page is built for every visitor.
"""

from __future__ import annotations

import datetime as dt

import panel as pn
import param
from sqlalchemy import Engine

from dashboards.tables import number
from dashboards.theme import html_pane
from layers.filters import NO_FILTER, Choice, Condition, Filter, choices
from layers.spec import LayerSpec

ALL = "vse · all"


def slider(choice: Choice):
    """A range slider over the choice's span, at its full width (nothing narrowed)."""
    kind = {
        "integer": pn.widgets.IntRangeSlider,
        "real": pn.widgets.RangeSlider,
        "date": pn.widgets.DateRangeSlider,
    }[choice.field.type]
    low, high = choice.low, choice.high
    if isinstance(low, dt.datetime):  # a timestamp is narrowed by the day
        low, high = low.date(), high.date()
    return kind(
        name=choice.field.label, start=low, end=high, value=(low, high),
        sizing_mode="stretch_width",
    )  # fmt: skip


def value_picker(choice: Choice) -> pn.widgets.MultiChoice:
    """The values to keep; none chosen keeps them all."""
    return pn.widgets.MultiChoice(
        name=choice.field.label, options=list(choice.values), placeholder=ALL,
        sizing_mode="stretch_width",
    )  # fmt: skip


def condition_of(choice: Choice, widget) -> Condition | None:
    """What ``widget`` narrows its field to, or None while it keeps every feature."""
    name = choice.field.name
    if not choice.is_range:
        return Condition(name, values=frozenset(widget.value)) if widget.value else None
    low, high = widget.value
    if (low, high) == (widget.start, widget.end):
        return None
    if choice.field.type == "integer":
        low, high = round(low), round(high)
    if isinstance(low, dt.datetime):  # a date slider's ends come as midnights
        low, high = low.date(), high.date()
    return Condition(name, low=low, high=high)


def filter_said(where: Filter, fields: dict) -> str:
    """How many conditions hold, in both languages, for the card's status line."""
    count = len(where.conditions)
    if not count:
        return "<p class='hint'>Brez filtra · No filter</p>"
    names = ", ".join(fields[c.field].label_sl for c in where.conditions)
    return (
        f"<p class='hint filtered' role='status'>Filtrirano po · Filtered by: {names}"
        f" ({number(count)})</p>"
    )


class LayerFilter(pn.viewable.Viewer):
    """The filter of one layer, folded in its card until opened; ``current`` is the filter."""

    current = param.ClassSelector(class_=Filter, default=NO_FILTER)

    def __init__(self, engine: Engine, spec: LayerSpec, **params) -> None:
        super().__init__(**params)
        self.engine, self.spec = engine, spec
        self.widgets: list[tuple[Choice, object]] = []
        self.status = None  # made with the controls, when first opened
        self.card = pn.Card(
            title="Filter · Filter",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["layer-filter"],
        )
        self.card.param.watch(self._opened, "collapsed")

    def _opened(self, event) -> None:
        if not event.new:
            self._build()

    def _build(self) -> None:
        """The controls, from the values and ranges the layer holds now (once)."""
        if self.status:
            return
        self.status = html_pane(filter_said(NO_FILTER, {}), sizing_mode="stretch_width")
        clear_button = pn.widgets.Button(
            name="Počisti filter · Clear the filter", button_type="light"
        )
        clear_button.on_click(lambda _event: self.clear())
        for choice in choices(self.engine, self.spec):
            widget = slider(choice) if choice.is_range else value_picker(choice)
            widget.param.watch(
                lambda _event: self._changed(), "value_throttled" if choice.is_range else "value"
            )
            self.widgets.append((choice, widget))
        self.card.objects = [*(w for _, w in self.widgets), self.status, clear_button]

    def _changed(self) -> None:
        found = (condition_of(choice, widget) for choice, widget in self.widgets)
        self.current = Filter(tuple(c for c in found if c))
        self.status.object = filter_said(self.current, {f.name: f for f in self.spec.fields})

    def clear(self) -> None:
        """Every feature again: each control back to keeping all."""
        for choice, widget in self.widgets:
            widget.value = (widget.start, widget.end) if choice.is_range else []
        self._changed()

    def link_value(self) -> str:
        """The filter as a link writes it: ``use_class:a|b;year_built:1950..1990``."""
        return ";".join(
            f"{c.field}:{'|'.join(sorted(map(str, c.values)))}"
            if c.values is not None
            else f"{c.field}:{c.low}..{c.high}"
            for c in self.current.conditions
        )

    def follow_link(self, text: str) -> list[str]:
        """Set the controls as ``text`` (``link_value``'s form) says; the parts it could not
        use are returned (a field not filtered by, a value the layer does not hold)."""
        self._build()
        controls = {choice.field.name: (choice, widget) for choice, widget in self.widgets}
        ignored = []
        for part in (p for p in text.split(";") if p):
            name, _, wanted = part.partition(":")
            found = controls.get(name)
            value = found and linked_value(found[0], found[1], wanted)
            if value is None:
                ignored.append(f"{self.spec.id}:{name}")
                continue
            found[1].value = value
        self._changed()
        self.card.collapsed = not self.current
        return ignored

    def __panel__(self) -> pn.viewable.Viewable:
        return self.card


def linked_value(choice: Choice, widget, text: str) -> object:
    """A control's value from a link's text, or None when the control cannot take it."""
    if not choice.is_range:
        values = text.split("|")
        return values if set(values) <= set(choice.values) else None
    low, separator, high = text.partition("..")
    read = {"integer": int, "real": float, "date": dt.date.fromisoformat}[choice.field.type]
    try:
        low, high = read(low), read(high)
    except ValueError:
        return None
    if not separator or low > high:
        return None
    return max(low, widget.start), min(high, widget.end)
