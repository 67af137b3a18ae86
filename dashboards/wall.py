"""The mayor's wall display at ``/wall``: indicator tiles and a rotating map, for days unattended.

Each tile is recomputed on the server at its own cadence, without reloading the page. A tile
whose data is older than its indicator's cadence turns grey and says how old. When the database
cannot be reached the page says so in one line, keeps the last values with their times, and
picks up by itself when the database is back. Nothing grows per refresh: the tiles are one pane
re-rendered in place, the readings one dict, and the map reuses its renderers.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import panel as pn

from dashboards.access import off_loop
from dashboards.alerts import AlertMarks, banner_html, read_alerts
from dashboards.map import LayerMap
from dashboards.planner import municipality_extent
from dashboards.tables import number
from data.profiles import Profile
from layers.db import DATABASE_ERRORS
from layers.indicators import Reading, available, compute
from layers.queries import holds_data
from layers.registry import visible_to
from layers.settings import LJUBLJANA, Settings
from layers.store import FeatureStore
from styles import legend_html

log = logging.getLogger(__name__)
CONFIG = Path(__file__).with_name("wall.toml")
WALL_CSS = Path(__file__).with_name("wall.css").read_text(encoding="utf-8")
TILE_ROWS = 4  # rows of tiles that read from 4 m on a 16:9 screen
THEME = "dark"  # styles/styles.toml: the map and its colour bars, dark, sized for the room


@dataclass(frozen=True)
class WallConfig:
    tick_seconds: float
    rotate_seconds: float
    tiles: tuple[str, ...]
    views: tuple[dict, ...]
    refresh_seconds: float | None  # overrides every indicator's cadence (tests, a demo)


def wall_config(settings: Settings, profile: Profile) -> WallConfig:
    """``wall.toml``; the profile's tiles and the settings' wall timers (``GIS_WALL_TICK_SECONDS``,
    …) override it."""
    raw = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    return WallConfig(
        tick_seconds=settings.wall_tick_seconds or float(raw["tick_seconds"]),
        rotate_seconds=settings.wall_rotate_seconds or float(raw["rotate_seconds"]),
        tiles=profile.wall_tiles or tuple(raw["tiles"]),
        views=tuple(raw["views"]),
        refresh_seconds=settings.wall_refresh_seconds,
    )


def age_text(age: dt.timedelta) -> str:
    days = age.days
    if days >= 2:
        return f"pred {days} dnevi · {days} days old"
    hours = int(age.total_seconds() // 3600)
    return f"pred {hours} h · {hours} h old"


def tile_html(reading: Reading, now: dt.datetime) -> str:
    item = reading.indicator
    change = reading.change
    if change is None or abs(change) < 10**-item.decimals / 2:
        trend = "<div class='trend'>— brez spremembe · no change</div>"
    else:
        better = (change > 0) == (item.good == "up")
        arrow = "▲" if change > 0 else "▼"
        trend = (
            f"<div class='trend {'better' if better else 'worse'}'>{arrow} "
            f"{'+' if change > 0 else ''}{number(change, item.decimals)} {html.escape(item.unit)}"
            " · prej · before</div>"
        )
    stale = reading.stale(now)
    when = reading.data_time.astimezone(LJUBLJANA)
    time_line = (
        f"zastarelo: {age_text(reading.age(now))} (podatki {when:%d. %m. %Y})"
        if stale
        else f"podatki · data {when:%d. %m. %Y %H:%M}"
    )
    return (
        f"<div class='tile{' stale' if stale else ''}' data-indicator='{item.id}'"
        f" data-computed='{reading.computed_at.isoformat()}'>"
        f"<div class='name'>{html.escape(item.name_sl)}<br>"
        f"<span class='en'>{html.escape(item.name_en)}</span></div>"
        f"<div class='value'>{number(reading.value, item.decimals) if reading.value is not None else '—'}"
        f"<span class='unit'>{html.escape(item.unit)}</span></div>{trend}"
        f"<div class='time'>{time_line}</div></div>"
    )


class WallPage(pn.viewable.Viewer):
    """Tiles and a rotating map; ``tick`` and ``rotate`` run on timers in a served session."""

    def __init__(
        self,
        store: FeatureStore,
        profile: Profile,
        role: str = "mayor_office",
        basemap_url: str | None = None,
        settings: Settings | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        engine = store.engine
        self.engine, self.profile, self.config = (
            engine,
            profile,
            wall_config(settings or Settings(), profile),
        )
        with engine.connect() as conn:
            shown = {i.id: i for i in available(conn)}
        self.indicators = [shown[t] for t in self.config.tiles if t in shown]
        if left_out := [t for t in self.config.tiles if t not in shown]:
            log.info("wall: tiles left out, their sources hold no data: %s", ", ".join(left_out))
        self.readings: dict[str, Reading] = {}
        self.due: dict[str, float] = {}
        self.down_since: dt.datetime | None = None
        view_layers = {name for view in self.config.views for name in view["layers"]}
        specs = [s for s in visible_to(role) if s.basemap or s.id in view_layers]
        self.basemaps = {s.id for s in specs if s.basemap}
        self.specs = {s.id: s for s in specs}
        self.views = [v for v in self.config.views if self._shows_data(v)]
        first = self.views[0]["layers"] if self.views else []
        self.map = LayerMap(
            store,
            specs,
            role,
            municipality_extent(engine),
            basemap_url,
            visible=[*self.basemaps, *first],
            theme_name=THEME,
        )
        self.map.figure.toolbar_location = None
        self.marks = AlertMarks(self.map.figure)
        self.alerts = pd.DataFrame({"subject": [], "x": [], "y": []})
        self.view_index = 0
        self.head = pn.pane.HTML("", stylesheets=[WALL_CSS], sizing_mode="stretch_width", margin=0)
        self.banner = pn.pane.HTML(
            "", stylesheets=[WALL_CSS], sizing_mode="stretch_width", margin=0
        )
        self.alert_banner = pn.pane.HTML(
            "", stylesheets=[WALL_CSS], sizing_mode="stretch_width", margin=0, visible=False
        )
        self.tiles = pn.pane.HTML(  # a little more than half the width: three tiles a row
            "",
            stylesheets=[WALL_CSS],
            sizing_mode="stretch_both",
            margin=0,
            styles={"flex": "56 1 0"},
        )
        self.view_title = pn.pane.HTML(
            "", stylesheets=[WALL_CSS], sizing_mode="stretch_width", margin=0
        )
        self.show_view()
        self.update()
        self.render()
        if pn.state.curdoc and pn.state.curdoc.session_context:
            pn.state.onload(self._start_timers)

    def _shows_data(self, view: dict) -> bool:
        """Whether every layer of ``view`` may be seen by the role and holds data (in the view's
        part): a view of nothing is left out, never drawn empty."""
        for name in view["layers"]:
            spec = self.specs.get(name)
            if spec is None or not holds_data(self.engine, spec, view.get("part")):
                log.info(
                    "wall: view %r left out: %s %s",
                    view["title_en"],
                    name,
                    "is not the role's to see" if spec is None else "holds no data",
                )
                return False
        return True

    def _start_timers(self) -> None:
        pn.state.add_periodic_callback(self.tick, period=int(self.config.tick_seconds * 1000))
        if len(self.views) > 1:
            pn.state.add_periodic_callback(
                self.rotate, period=int(self.config.rotate_seconds * 1000)
            )

    async def tick(self) -> None:
        """The timer: the due tiles recomputed on a worker thread, for the event loop serves
        every page meanwhile; then drawn."""
        await off_loop(self.update)
        self.render()

    def update(self) -> None:
        """Recompute the tiles that are due; on a database error keep the last values and note
        since when."""
        clock = time.monotonic()
        due = [i for i in self.indicators if self.due.get(i.id, 0) <= clock]
        try:
            if due:
                with self.engine.connect() as conn:
                    for item in due:
                        self.readings[item.id] = compute(conn, item)
                        self.due[item.id] = clock + (self.config.refresh_seconds or item.refresh_s)
            self.alerts = read_alerts(self.engine)
            if self.down_since is not None:
                log.info("the database is back after %s", dt.datetime.now(dt.UTC) - self.down_since)
            self.down_since = None
        except DATABASE_ERRORS as exc:
            if self.down_since is None:
                self.down_since = dt.datetime.now(dt.UTC)
                log.warning("the database cannot be reached: %s", type(exc).__name__)

    def render(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.head.object = (
            f"<div class='wall wall-head'><h1>{html.escape(self.profile.name)} · "
            "kazalniki · indicators</h1>"
            f"<div class='clock'>{now.astimezone(LJUBLJANA):%d. %m. %Y %H:%M}</div></div>"
        )
        if self.down_since is None:
            self.banner.object = ""
            self.banner.visible = False
        else:
            since = self.down_since.astimezone(LJUBLJANA)
            self.banner.object = (
                f"<div class='wall banner' role='alert'>Baza ni dosegljiva od {since:%H:%M:%S}; "
                "prikazane so zadnje vrednosti · The database is unreachable; showing the last "
                "values</div>"
            )
            self.banner.visible = True
        self.alert_banner.object = banner_html(self.alerts)
        self.alert_banner.visible = not self.alerts.empty
        self.marks.show(self.alerts)
        tiles = "".join(
            tile_html(self.readings[i.id], now) for i in self.indicators if i.id in self.readings
        )
        # columns enough for every tile to fit on the screen in TILE_ROWS rows, never scrolled
        columns = max(1, -(-len(self.indicators) // TILE_ROWS))
        self.tiles.object = (
            f"<div class='wall tiles' style='grid-template-columns: repeat({columns}, 1fr)'>"
            f"{tiles}</div>"
        )

    def show_view(self) -> None:
        if not self.views:
            return
        view = self.views[self.view_index]
        legends = "".join(
            legend_html(spec.style_key, spec.geometry)
            for spec in (self.specs[name] for name in view["layers"])
        )
        self.view_title.object = (
            f"<div class='wall view-title'>{html.escape(view['title_sl'])} · "
            f"{html.escape(view['title_en'])}</div>"
            + (f"<div class='wall view-legend'>{legends}</div>" if legends else "")
        )
        if "part" in view:
            for choice in self.map.partitions.values():
                if view["part"] in choice.options:
                    choice.value = view["part"]
        shown = set(view["layers"]) | self.basemaps
        for layer_id, toggle in self.map.toggles.items():
            toggle.value = layer_id in shown  # an unchanged value fetches nothing

    def rotate(self) -> None:
        """The next view; a database error leaves the map as it was until the next turn."""
        self.view_index = (self.view_index + 1) % len(self.views)
        try:
            self.show_view()
        except DATABASE_ERRORS:
            log.warning("the map's next view could not be read; the database is unreachable")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self.head,
            self.banner,
            self.alert_banner,
            pn.Row(
                self.tiles,
                pn.Column(
                    self.view_title,
                    self.map,
                    sizing_mode="stretch_both",
                    # Bokeh redraws a changed view at its old height for a moment: clipped, it
                    # cannot make a wall that no one scrolls grow a scroll bar
                    styles={"flex": "44 1 0", "overflow": "hidden"},
                ),
                sizing_mode="stretch_both",
            ),
            sizing_mode="stretch_both",
            margin=0,
            styles={"background": "#0b1016"},
        )


WAITING = (
    "<div class='wall banner' role='alert'>Baza ni dosegljiva; stran se odpre sama, ko bo spet"
    " dosegljiva · The database is unreachable; this page opens by itself when it is back</div>"
)


def wall_or_wait(*args, retry_seconds: float = 5, **kwargs) -> pn.viewable.Viewable:
    """The wall, or, while the database cannot be reached, a notice that turns into the wall by
    itself once it can: a screen switched on during an outage needs no one to reload it."""
    holder = pn.Column(sizing_mode="stretch_both", margin=0, styles={"background": "#0b1016"})
    waiting = pn.pane.HTML(WAITING, stylesheets=[WALL_CSS], sizing_mode="stretch_width")

    def attempt() -> bool:
        try:
            holder.objects = [WallPage(*args, **kwargs)]
            return True
        except DATABASE_ERRORS:
            holder.objects = [waiting]
            return False

    if not attempt() and pn.state.curdoc and pn.state.curdoc.session_context:
        retry = pn.state.add_periodic_callback(
            lambda: attempt() and retry.stop(), period=int(retry_seconds * 1000)
        )
    return holder
