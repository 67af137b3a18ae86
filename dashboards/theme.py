"""The look of the staff dashboards: one stylesheet, given to every HTML pane.

Panel renders each pane in its own shadow root, so a page-wide stylesheet would not reach it.
"""

from __future__ import annotations

from pathlib import Path

import panel as pn

THEME_CSS = (Path(__file__).parent / "theme.css").read_text(encoding="utf-8")


def html_pane(markup: str, **params) -> pn.pane.HTML:
    """An HTML pane styled by the theme."""
    return pn.pane.HTML(markup, stylesheets=[THEME_CSS], **params)


# On a screen narrower than a phone turned sideways, the page's columns stack: the map first,
# as wide as the screen, then the details of what was clicked, then the side panel. Set on the
# row that holds them, whose shadow root holds the columns.
NARROW_SCREEN = "(max-width: 760px)"
NARROW_SCREEN_CSS = f"""
@media {NARROW_SCREEN} {{
  :host {{ flex-direction: column !important; min-width: 0 !important; }}
  .map-column {{ order: -1; width: 100% !important; height: 75vh !important; flex: none !important; }}
  .side-panel, .details-column {{
    width: 100% !important; height: auto !important; max-height: none !important; flex: none !important;
  }}
  .details-column {{ order: 0; }}
  .side-panel {{ order: 1; }}
}}
"""


def page_column(*objects: pn.viewable.Viewable) -> pn.Column:
    """A page's outermost column (its header, its row of columns): on a narrow screen it asks
    no more width than the screen has."""
    return pn.Column(
        *objects, sizing_mode="stretch_both", margin=0, stylesheets=[NARROW_SCREEN_CSS]
    )


def columns_row(*columns: pn.viewable.Viewable) -> pn.Row:
    """The page's columns side by side, stacked on a narrow screen (where the width they
    need side by side, which Bokeh sets as the row's least, is no longer asked for)."""
    return pn.Row(*columns, sizing_mode="stretch_both", stylesheets=[NARROW_SCREEN_CSS])
