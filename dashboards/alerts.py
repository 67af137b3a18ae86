"""The open alerts on a page: marks on its map, and a banner (the wall) or a list (the planner).

The ingest raises and clears them (``etl.alerts``); a page reads the open ones every few
seconds, a small query.
"""

from __future__ import annotations

import contextlib
import html

import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from sqlalchemy import Engine

from dashboards.access import off_loop
from dashboards.map import LayerMap
from dashboards.tables import number
from layers.alerts import alert_rules, open_alerts
from layers.db import DATABASE_ERRORS
from layers.settings import LJUBLJANA

REFRESH_MS = 5_000
SHOWN_SUBJECTS = 4  # per rule in the banner; the rest are counted
LISTED = 30  # alerts in the planner's list, newest first
ALERT_COLOUR = "#e3001b"


def read_alerts(engine: Engine) -> pd.DataFrame:
    """The open alerts (``layers.alerts.open_alerts``) with their rule's title."""
    with engine.connect() as conn:
        alerts = open_alerts(conn)
    rules = alert_rules()
    alerts["title"] = [rules[r].title if r in rules else r for r in alerts["rule"]]
    return alerts


class AlertMarks:
    """A red ring at each open alert's place on ``plot``, above every layer."""

    def __init__(self, plot: figure) -> None:
        self.source = ColumnDataSource({"x": [], "y": []})
        plot.scatter(
            "x",
            "y",
            source=self.source,
            size=26,
            fill_color=ALERT_COLOUR,
            fill_alpha=0.15,
            line_color=ALERT_COLOUR,
            line_width=4,
            level="overlay",
            name="alerts",
        )

    def show(self, alerts: pd.DataFrame) -> None:
        self.source.data = {"x": alerts["x"].to_numpy(), "y": alerts["y"].to_numpy()}


def banner_html(alerts: pd.DataFrame) -> str:
    """One line per rule with open alerts: its title, the first subjects and how many more."""
    if alerts.empty:
        return ""
    lines = []
    for title, group in alerts.groupby("title", sort=False):
        subjects = ", ".join(html.escape(s) for s in group["subject"].head(SHOWN_SUBJECTS))
        more = len(group) - SHOWN_SUBJECTS
        since = group["raised_at"].min().astimezone(LJUBLJANA)
        lines.append(
            f"<div>⚠ {html.escape(title)}: {subjects}"
            + (f" in še {more} · and {more} more" if more > 0 else "")
            + f" <span class='since'>(od · since {since:%H:%M})</span></div>"
        )
    return f"<div class='wall alerts' role='alert'>{''.join(lines)}</div>"


class AlertList(pn.viewable.Viewer):
    """The planner's card of open alerts, newest first: a click zooms the map to one."""

    def __init__(self, layer_map: LayerMap) -> None:
        super().__init__()
        self.map = layer_map
        self.marks = AlertMarks(layer_map.figure)
        self.items = pn.Column(sizing_mode="stretch_width", margin=0)
        self.card = pn.Card(
            self.items,
            title="Opozorila · Alerts",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["alert-list"],
        )
        self.shown: pd.DataFrame | None = None
        with contextlib.suppress(DATABASE_ERRORS):  # the map says the database is away
            self.show(read_alerts(layer_map.engine))
        if pn.state.curdoc and pn.state.curdoc.session_context:
            pn.state.add_periodic_callback(self.refresh, period=REFRESH_MS)

    async def refresh(self) -> None:
        """Read the open alerts on a worker thread; show them if they changed. Every page's list
        refreshes on the one event loop, and a new list of buttons walks the page's whole
        document: unchanged, nothing is sent."""
        try:
            alerts = await off_loop(read_alerts, self.map.engine)
        except DATABASE_ERRORS:  # the map says the database is away; the list keeps its items
            return
        if self.shown is None or not alerts.equals(self.shown):
            self.show(alerts)

    def show(self, alerts: pd.DataFrame) -> None:
        self.shown = alerts
        self.marks.show(alerts)
        self.card.title = f"Opozorila · Alerts ({number(len(alerts), 0)})"
        self.items.objects = [self._button(row) for row in alerts.head(LISTED).itertuples()] or [
            pn.pane.HTML("<em>Ni opozoril · No alerts</em>")
        ]

    def _button(self, alert) -> pn.widgets.Button:
        raised = alert.raised_at.astimezone(LJUBLJANA)
        button = pn.widgets.Button(
            label=f"{alert.subject} · {raised:%d. %m. %H:%M}",
            description=alert.title,
            sizing_mode="stretch_width",
            css_classes=["alert-item"],
        )
        button.on_click(lambda _event: self.map.zoom_to((alert.x, alert.y, alert.x, alert.y)))
        return button

    def __panel__(self) -> pn.viewable.Viewable:
        return self.card
