"""A sensor's readings over time, shown when it is clicked on the map, with its kind's limit.

The readings come from the process's readings cache (``layers.readings``), the one the map's
dense layer draws from, so the chart and the map agree and a click asks nothing of the
database. The chart is HoloViews on Bokeh: the readings as a curve in Ljubljana's time, the
kind's limit as a dashed line, and a second sensor of the same kind to compare with. A long
series (a year of an hourly sensor) is rasterised by datashader on the server, so the page gets
an image of the line and not its thousands of points.
"""

from __future__ import annotations

import datetime as dt
import html

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import CustomJSHover, CustomJSTickFormatter, DatetimeTickFormatter
from holoviews.operation.datashader import rasterize

from dashboards.tables import number
from dashboards.theme import html_pane
from layers.readings import ReadingCache
from layers.registry import LAYERS
from layers.sensor_kinds import SensorKind, sensor_kinds
from layers.settings import LJUBLJANA
from layers.spec import LayerSpec

hv.extension("bokeh", logo=False)

WINDOWS = {
    "Zadnji dan · Last day": dt.timedelta(days=1),
    "Zadnji teden · Last week": dt.timedelta(days=7),
    "Zadnji mesec · Last month": dt.timedelta(days=30),
    "Zadnje leto · Last year": dt.timedelta(days=365),
}
LONG_SERIES = 5_000  # points: more are rasterised (an hourly sensor's year is 8,760)
COLOURS = ("#1f3b4d", "#e6007e")  # the clicked sensor, and the one compared with it
LIMIT_COLOUR = "#b3261e"
NO_OTHER = "— brez · none —"
# numbers on the axis and in the tooltip as the page writes them elsewhere (exposure_tables.number):
# a decimal comma, a space between thousands
SLOVENIAN_NUMBER = (
    "return {x}.toLocaleString('sl-SI', {{maximumFractionDigits: 1}}).replace(/\\./g, ' ')"
)


def date_axis() -> DatetimeTickFormatter:
    """Times as Slovenian writes them (``1. 12.``, ``14:00``); a model per chart, as a Bokeh
    model belongs to one page."""
    return DatetimeTickFormatter(hours="%H:%M", days="%d. %m.", months="%m/%Y", years="%Y")


def readings_at(places: LayerSpec, role: str) -> LayerSpec | None:
    """The dense layer whose readings are taken at the features of ``places``, when ``role``
    may see it; None otherwise.
    """
    return next(
        (s for s in LAYERS.values() if s.dense and s.dense.places == places.id and role in s.roles),
        None,
    )


def local_times(t_us: np.ndarray) -> pd.DatetimeIndex:
    """Microseconds since 1970 (UTC) as Ljubljana's wall-clock times, for the chart's axis."""
    return pd.to_datetime(t_us, unit="us", utc=True).tz_convert(LJUBLJANA).tz_localize(None)


def slovenian_axes(plot, _element) -> None:
    """Dates and numbers on the chart's axes as Slovenian writes them (a HoloViews hook: it
    reaches the Bokeh figure whatever the elements are, rasterised ones too)."""
    plot.state.xaxis.formatter = date_axis()
    plot.state.yaxis.formatter = CustomJSTickFormatter(code=SLOVENIAN_NUMBER.format(x="tick"))


class SensorHistory(pn.viewable.Viewer):
    """One sensor's readings over a chosen period: the chart, the last reading, the status and
    the kind's limit; another sensor of the kind to compare with.

    ``sensor`` is the clicked feature's attributes (its id, label, kind and status fields).
    """

    def __init__(self, cache: ReadingCache, places: LayerSpec, sensor: dict, **params) -> None:
        super().__init__(**params)
        self.cache, self.places, self.sensor = cache, places, sensor
        self.kind: SensorKind = sensor_kinds()[sensor[cache.spec.dense.kind_column]]
        others = cache.places_of(self.kind.id)
        self.period = pn.widgets.Select(
            name="Obdobje · Period",
            options=list(WINDOWS),
            value="Zadnji teden · Last week",
            sizing_mode="stretch_width",
        )
        self.other = pn.widgets.Select(
            name="Primerjaj z · Compare with",
            options={NO_OTHER: None}
            | {
                str(label): int(place)
                for place, label in zip(others["id"], others["label"], strict=True)
                if place != sensor[places.id_column]
            },
            sizing_mode="stretch_width",
        )
        self.summary = html_pane("", sizing_mode="stretch_width", css_classes=["history-summary"])
        self.chart = pn.pane.HoloViews(None, sizing_mode="stretch_width", height=280)
        self.period.param.watch(self.draw, "value")
        self.other.param.watch(self.draw, "value")
        self.draw()

    def series(self, place: int) -> pd.DataFrame:
        """The readings of sensor ``place`` in the chosen period, in Ljubljana's time."""
        end = dt.datetime.now(dt.UTC)
        t, value = self.cache.series(self.kind.id, place, end - WINDOWS[self.period.value], end)
        return pd.DataFrame({"time": local_times(t), "value": value.astype(np.float64)})

    def draw(self, _event=None) -> None:
        """Read the period's readings and draw them, with the limit and the one compared."""
        mine = self.series(self.sensor[self.places.id_column])
        label = str(self.sensor[self.places.label_field])
        lines = [self.line(mine, label, COLOURS[0])]
        if self.other.value is not None:
            lines.append(self.line(self.series(self.other.value), self.other.label, COLOURS[1]))
        if self.kind.limit is not None:
            lines.append(
                hv.HLine(self.kind.limit).opts(
                    color=LIMIT_COLOUR, line_dash="dashed", line_width=1.5
                )
            )
        self.chart.object = hv.Overlay(lines).opts(
            responsive=True,
            height=280,
            show_legend=self.other.value is not None,
            legend_position="top_left",
            hooks=[slovenian_axes],
            xlabel="Čas · Time (Europe/Ljubljana)",
            ylabel=self.kind.unit,
            toolbar="above",
        )
        self.summary.object = self.summary_html(mine)

    def line(self, frame: pd.DataFrame, label: str, colour: str) -> hv.Element:
        """A sensor's readings as a curve, or as datashader's image of it when long."""
        curve = hv.Curve(frame, "time", "value", label=label)
        if len(frame) > LONG_SERIES:
            return rasterize(curve, dynamic=False, line_width=1).opts(
                cmap=[colour], colorbar=False, tools=[], alpha=0.75
            )
        return curve.opts(
            color=colour,
            line_width=1.5,
            tools=["hover"],
            hover_tooltips=[("Čas · Time", "@time{%d. %m. %Y %H:%M}"), ("", "@value{custom}")],
            hover_formatters={
                "@time": "datetime",
                "@value": CustomJSHover(code=SLOVENIAN_NUMBER.format(x="value")),
            },
        )

    def summary_html(self, mine: pd.DataFrame) -> str:
        """The last reading, the status and the limit, in both languages."""
        status = html.escape(str(self.sensor.get("status", "")))
        rows = [f"Stanje · Status: <b>{status}</b>"]
        if len(mine):
            last = mine.iloc[-1]
            rows.append(
                f"Zadnja meritev · Last reading: <b>{number(float(last['value']), 1)} "
                f"{html.escape(self.kind.unit)}</b>, {last['time']:%d. %m. %Y %H:%M}"
            )
        else:
            rows.append(
                "V tem obdobju ni meritev. <span class='en'>No readings in this period.</span>"
            )
        if self.kind.limit is not None:
            rows.append(
                f"<span style='color:{LIMIT_COLOUR}'>- - -</span> {html.escape(self.kind.limit_sl)}"
                f" <span class='en'>· {html.escape(self.kind.limit_en)}</span>: "
                f"{number(self.kind.limit)} {html.escape(self.kind.unit)}"
            )
        return f"<h4>{html.escape(self.kind.title)}</h4><p class='about'>{'<br>'.join(rows)}</p>"

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self.summary, self.period, self.chart, self.other, sizing_mode="stretch_width"
        )
